# config sources
LIB_SRCS += config/export.c
