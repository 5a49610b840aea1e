# config: the declarative host config (parse, validate, resolve against a host snapshot).
LIB_SRCS += config/load.c config/resolve.c config/check.c config/plan.c

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
