# config sources
LIB_SRCS += config/plan.c
