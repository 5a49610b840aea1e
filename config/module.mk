# config: the declarative host config (parse, validate, resolve against a host snapshot).
LIB_SRCS += config/load.c config/ldjson.c config/guestspec.c config/resolve.c config/check.c config/plan.c config/alloc.c config/export.c
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

# libFuzzer harness for the loader and resolve (needs clang): make config-fuzz [FUZZ_SECS=60];
# built and run by tests/fuzz/fuzz.mk (fuzz-config: seeds tests/config/fuzz-corpus, good/ and
# bad/, the dictionary tests/config/fuzz.dict).
.PHONY: config-fuzz
config-fuzz: fuzz-config

# The guest-spec codec (config/guestspec.c): round trip, limits, the VmStart flavour.
UNIT_TESTS += tests/unit/test_guestspec.c
