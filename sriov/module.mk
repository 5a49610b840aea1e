# sriov sources
LIB_SRCS += sriov/vfconf.c sriov/vfinfo.c sriov/numvfs.c sriov/quirks.c
LIB_SRCS += sriov/vfconf.c sriov/vfinfo.c sriov/numvfs.c
LIB_SRCS += sriov/permaddr.c

# libFuzzer harness for the varlink decoder and the VF property parsers (needs clang):
# make sriov-fuzz [FUZZ_SECS=60]
SRIOV_FUZZ := $(BUILD)/sriov-fuzz/fuzz_iovd
$(SRIOV_FUZZ): tests/sriov/fuzz_iovd.c lib/varlink.c lib/log.c sriov/vfconf.c
	@mkdir -p $(dir $@)
	clang -std=gnu11 -D_GNU_SOURCE -I. $(filter-out -Wno-format-truncation,$(WARN)) -g -O1 \
		$(shell $(PKG) --cflags jansson) \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -o $@ $^ \
		$(shell $(PKG) --libs jansson)
.PHONY: sriov-fuzz
sriov-fuzz: $(SRIOV_FUZZ)
	@mkdir -p $(BUILD)/sriov-fuzz/corpus
	$(SRIOV_FUZZ) -max_total_time=$(or $(FUZZ_SECS),30) -max_len=4096 $(BUILD)/sriov-fuzz/corpus
