LIB_SRCS += src/err.c src/log.c src/sysfs.c src/pciaddr.c src/host.c src/hostjson.c src/varlink.c src/iovd_api.c
IOVD_SRCS += src/iovd.c
