# Fuzzers that cannot rot (issue 10). Every libFuzzer harness links against one clang build
# of the whole library (LIB_SRCS, the daemon's IOVD_LIB_SRCS, the VMM's IOVM_LIB_SRCS) in
# $(FUZZ_DIR)/libfuzz.a, so a new dependency between sources never breaks a harness's link;
# `make fuzz-test` (part of `make test`) builds every harness and runs each for FUZZ_SECS
# (default 15) on its committed seeds in tests/fuzz/seeds/NAME/ (new inputs go to
# $(FUZZ_DIR)/corpus/NAME, never into the tree). A crash, a leak, a sanitizer report or a
# harness abort() fails the run. Needs clang. Included from tests/module.mk.
#
#   make fuzz-test [FUZZ_SECS=15]     all harnesses
#   make fuzz-NAME [FUZZ_SECS=60]     one (sriov, vfio, vmm, config, journal, virtq)

FUZZ_DIR    := $(BUILD)/fuzz
FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS := -std=gnu11 -D_GNU_SOURCE -I. -g -O1 $(filter-out -Werror -Wno-format-truncation,$(WARN)) \
               $(shell $(PKG) --cflags $(PKGS))
FUZZ_LIB    := $(FUZZ_DIR)/libfuzz.a
FUZZ_OBJS    = $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(LIB_SRCS) $(IOVD_LIB_SRCS) $(IOVM_LIB_SRCS) \
               tests/unit/fakesys.c)

# NAME:harness:max_len
FUZZERS := sriov:tests/sriov/fuzz_iovd.c:4096 vfio:vfio/fuzz_usage.c:8192 \
           vmm:tests/vmm/fuzz_vmm.c:4096 config:tests/config/fuzz_config.c:8192 \
           journal:tests/fuzz/fuzz_journal.c:16384 virtq:tests/fuzz/fuzz_virtq.c:16387
fuzz_name = $(word 1,$(subst :, ,$(1)))
fuzz_src  = $(word 2,$(subst :, ,$(1)))
fuzz_len  = $(word 3,$(subst :, ,$(1)))
# Seeds: tests/fuzz/seeds/NAME unless FUZZ_SEEDS_NAME names others; FUZZ_OPTS_NAME adds options.
FUZZ_SEEDS_config := tests/config/fuzz-corpus tests/config/good tests/config/bad
FUZZ_OPTS_config  := -dict=tests/config/fuzz.dict
FUZZ_BINS := $(foreach f,$(FUZZERS),$(FUZZ_DIR)/fuzz_$(call fuzz_name,$(f)))

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_SAN) -MMD -MP -c -o $@ $<

$(FUZZ_LIB): $(FUZZ_OBJS)
	rm -f $@ && ar rcs $@ $^

define fuzz_rules
$(FUZZ_DIR)/fuzz_$(call fuzz_name,$(1)): $(call fuzz_src,$(1)) $(FUZZ_LIB)
	clang $(FUZZ_CFLAGS) -Werror -fsanitize=fuzzer $(FUZZ_SAN) -o $$@ $$< $(FUZZ_LIB) $(LIBS)
.PHONY: fuzz-$(call fuzz_name,$(1))
fuzz-$(call fuzz_name,$(1)): $(FUZZ_DIR)/fuzz_$(call fuzz_name,$(1))
	@mkdir -p $(FUZZ_DIR)/corpus/$(call fuzz_name,$(1))
	$$< -max_total_time=$$(or $$(FUZZ_SECS),15) -max_len=$(call fuzz_len,$(1)) -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 $(FUZZ_OPTS_$(call fuzz_name,$(1))) \
		$(FUZZ_DIR)/corpus/$(call fuzz_name,$(1)) \
		$(or $(FUZZ_SEEDS_$(call fuzz_name,$(1))),tests/fuzz/seeds/$(call fuzz_name,$(1)))
endef
$(foreach f,$(FUZZERS),$(eval $(call fuzz_rules,$(f))))

.PHONY: fuzz-build fuzz-test
fuzz-build: $(FUZZ_BINS)
fuzz-test: fuzz-build
	@set -e; for n in $(foreach f,$(FUZZERS),$(call fuzz_name,$(f))); do \
		echo "== fuzz-$$n ($(or $(FUZZ_SECS),15) s)"; \
		$(MAKE) --no-print-directory fuzz-$$n > $(FUZZ_DIR)/fuzz-$$n.log 2>&1 || \
			{ tail -40 $(FUZZ_DIR)/fuzz-$$n.log; echo "fuzz-$$n FAILED (log: $(FUZZ_DIR)/fuzz-$$n.log)"; exit 1; }; \
		grep -E '^stat::number_of_executed_units|^Done' $(FUZZ_DIR)/fuzz-$$n.log | tr '\n' ' '; echo; \
	done; echo "fuzz-test: every harness ran clean"

-include $(shell find $(FUZZ_DIR)/obj -name '*.d' 2>/dev/null)
