# sriov sources
LIB_SRCS += sriov/vfconf.c sriov/vfinfo.c sriov/numvfs.c sriov/quirks.c
LIB_SRCS += sriov/vfconf.c sriov/vfinfo.c sriov/numvfs.c
LIB_SRCS += sriov/permaddr.c sriov/nvme.c
# NVMe admin commands through libnvme (Debian's libnvme-dev; its .pc needs json-c's, which
# the build does not: link it by name).
LIBS += -lnvme

# libFuzzer harness for the varlink decoder and the VF property parsers (needs clang):
# make sriov-fuzz [FUZZ_SECS=60]; built and linked by tests/fuzz/fuzz.mk (fuzz-sriov).
.PHONY: sriov-fuzz
sriov-fuzz: fuzz-sriov
