# Unit tests (cmocka): tests/unit/test_*.c, one binary each.
UNIT_TESTS += tests/unit/test_pciaddr.c tests/unit/test_sysfs.c

# Golden tests: iovctl on every fixture against the expected output.
.PHONY: golden
golden: $(BUILD)/iovctl
	tests/golden/run.sh $(BUILD)/iovctl

-include tests/rig/rig.mk
