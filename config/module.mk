# config: the declarative host config (parse, validate, resolve against a host snapshot).
LIB_SRCS += config/load.c config/resolve.c config/check.c config/plan.c config/alloc.c config/export.c
# plan = f(host snapshot, config, recorded state), pure (config/plan.h); planhost: on the live host
LIB_SRCS += config/planhost.c

# Golden tests of the loader: tests/config/bad (each refused with its message) and
# tests/config/good (each accepted with its description), run by `make golden`.
.PHONY: config-golden config-golden-update
config-golden: $(BUILD)/iovctl $(BUILD)/iovd
	tests/config/run.sh $(BUILD)
config-golden-update: $(BUILD)/iovctl $(BUILD)/iovd
	tests/config/run.sh --update $(BUILD)
golden: config-golden

UNIT_TESTS += tests/unit/test_config.c
$(BUILD)/tests/test_config: $(BUILD)/obj/tests/unit/fakesys.o

# libFuzzer harness for the loader and resolve (needs clang): make config-fuzz [FUZZ_SECS=60]
CONFIG_FUZZ := $(BUILD)/config-fuzz/fuzz_config
CONFIG_FUZZ_SRCS := tests/config/fuzz_config.c config/load.c config/resolve.c lib/err.c \
	lib/log.c lib/atomicfile.c lib/pciaddr.c lib/host.c lib/sysfs.c lib/intremap.c \
	sriov/vfconf.c tests/unit/fakesys.c
$(CONFIG_FUZZ): $(CONFIG_FUZZ_SRCS) $(wildcard config/*.h lib/*.h sriov/*.h)
	@mkdir -p $(dir $@)
	clang -std=gnu11 -D_GNU_SOURCE -I. $(filter-out -Wno-format-truncation,$(WARN)) \
		-Wno-format-nonliteral -g -O1 $(shell $(PKG) --cflags $(PKGS)) \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -o $@ \
		$(CONFIG_FUZZ_SRCS) $(LIBS)
.PHONY: config-fuzz
config-fuzz: $(CONFIG_FUZZ)
	@mkdir -p $(BUILD)/config-fuzz/corpus
	cp tests/config/fuzz-corpus/* $(BUILD)/config-fuzz/corpus/
	for f in tests/config/good/*.json tests/config/bad/*.json; do \
		cp "$$f" $(BUILD)/config-fuzz/corpus/$$(basename $$(dirname $$f))-$$(basename $$f); done
	$(CONFIG_FUZZ) -max_total_time=$(or $(FUZZ_SECS),30) -max_len=8192 \
		-dict=tests/config/fuzz.dict $(BUILD)/config-fuzz/corpus
