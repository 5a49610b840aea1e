# config: the declarative host config (parse, validate, resolve against a host snapshot).
LIB_SRCS += config/load.c config/resolve.c config/check.c config/plan.c
# guest NICs: VFs and MACs (pure)
LIB_SRCS += config/alloc.c
