# config: the declarative host config (parse, validate, resolve against a host snapshot).
LIB_SRCS += config/load.c config/resolve.c config/check.c config/plan.c
