# The base layer: what every program shares (errors, log, sysfs under a sysroot, PCI
# addresses, the host model and its JSON, interrupt-remapping evidence, varlink).
# Nothing here includes a folder above it (tests/layers.sh checks).
LIB_SRCS += lib/err.c lib/log.c lib/sysfs.c lib/pciaddr.c lib/host.c lib/hostjson.c \
            lib/intremap.c lib/varlink.c lib/atomicfile.c lib/par.c lib/suggest.c lib/group.c
LIB_SRCS += lib/sdnotify.c
