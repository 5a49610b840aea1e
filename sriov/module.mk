# sriov sources
LIB_SRCS += sriov/vfconf.c
