# vfio sources: guard (host-critical, usage snapshot), verify (pure isolation verdict),
# plan/state/bind (moving whole groups to vfio-pci and back).
LIB_SRCS += vfio/guard.c vfio/verify.c vfio/state.c vfio/plan.c vfio/bind.c

# iov-bindtool: vfio/bind.c without the daemon. `make` builds it because the test host
# ships it (vfio_refuse drives the executor alone with `iov-bindtool move`); not installed.
all: $(BUILD)/iov-bindtool
.PHONY: iov-bindtool
iov-bindtool: $(BUILD)/iov-bindtool
$(BUILD)/iov-bindtool: $(BUILD)/obj/vfio/bindtool.o $(BUILD)/libiov.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# libFuzzer harness for the usage snapshot's proc parsers and the bind state file (clang):
#   make vfio-fuzz [FUZZ_SECS=60]
VFIO_FUZZ := $(BUILD)/vfio-fuzz/fuzz_usage
$(VFIO_FUZZ): vfio/fuzz_usage.c vfio/guard.c vfio/state.c lib/sysfs.c lib/log.c lib/err.c lib/pciaddr.c
	@mkdir -p $(dir $@)
	clang -std=gnu11 -D_GNU_SOURCE -I. -g -O1 -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=all -o $@ $^ $(shell $(PKG) --libs jansson)
.PHONY: vfio-fuzz
vfio-fuzz: $(VFIO_FUZZ)
	@mkdir -p $(BUILD)/vfio-fuzz/corpus
	$(VFIO_FUZZ) -max_total_time=$(or $(FUZZ_SECS),30) -max_len=8192 $(BUILD)/vfio-fuzz/corpus
