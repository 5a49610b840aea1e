# vfio sources: guard (host-critical, usage snapshot), verify (pure isolation verdict),
# plan/state/bind (moving whole groups to vfio-pci and back).
LIB_SRCS += vfio/guard.c vfio/verify.c vfio/state.c vfio/plan.c vfio/bind.c

# iov-bindtool: vfio/bind.c without the daemon. `make` builds it because the test host
# ships it (vfio_refuse drives the executor alone with `iov-bindtool move`); not installed.
all: $(BUILD)/iov-bindtool
.PHONY: iov-bindtool
iov-bindtool: $(BUILD)/iov-bindtool
$(BUILD)/iov-bindtool: $(BUILD)/obj/vfio/bindtool.o $(BUILD)/libiov.a
	$(CC) $(IOV_LDFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

# libFuzzer harness for the usage snapshot's proc parsers and the bind state file (clang):
#   make vfio-fuzz [FUZZ_SECS=60]; built and linked by tests/fuzz/fuzz.mk (fuzz-vfio).
.PHONY: vfio-fuzz
vfio-fuzz: fuzz-vfio
