# config: the declarative host config (parse, validate, resolve against a host snapshot).
LIB_SRCS += config/load.c config/resolve.c config/check.c
# plan = f(host snapshot, config, recorded state), pure (config/plan.h)
LIB_SRCS += config/plan.c config/planhost.c
