# config: the declarative host config (parse, validate, resolve against a host snapshot).
LIB_SRCS += config/load.c config/resolve.c config/check.c config/plan.c config/alloc.c config/export.c
# plan = f(host snapshot, config, recorded state), pure (config/plan.h); planhost: on the live host
LIB_SRCS += config/planhost.c
