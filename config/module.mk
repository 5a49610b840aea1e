# config sources
LIB_SRCS += config/alloc.c
