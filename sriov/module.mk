# sriov sources
LIB_SRCS += sriov/vfconf.c sriov/vfinfo.c sriov/numvfs.c
