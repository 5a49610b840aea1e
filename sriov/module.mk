# sriov sources
LIB_SRCS += sriov/vfconf.c sriov/vfinfo.c sriov/numvfs.c sriov/quirks.c
LIB_SRCS += sriov/vfconf.c sriov/vfinfo.c sriov/numvfs.c
LIB_SRCS += sriov/permaddr.c

# libFuzzer harness for the varlink decoder and the VF property parsers (needs clang):
# make sriov-fuzz [FUZZ_SECS=60]; built and linked by tests/fuzz/fuzz.mk (fuzz-sriov).
.PHONY: sriov-fuzz
sriov-fuzz: fuzz-sriov
