# Unit tests (cmocka): tests/unit/test_*.c, one binary each.
UNIT_TESTS += tests/unit/test_pciaddr.c tests/unit/test_sysfs.c tests/unit/test_par.c
UNIT_TESTS += tests/unit/test_varlink.c tests/unit/test_varlink_iovd.c tests/unit/test_sriov_parse.c tests/unit/test_sriov_rtnl.c
UNIT_TESTS += tests/unit/test_varlink_flood.c tests/unit/test_log.c tests/unit/test_varlink_fds.c
UNIT_TESTS += tests/unit/test_nvme.c
UNIT_TESTS += tests/unit/test_verify.c tests/unit/test_bind.c tests/unit/test_verify_fixtures.c
UNIT_TESTS += tests/unit/test_varlink_defer.c
UNIT_TESTS += tests/unit/test_varlink_stream.c tests/unit/test_iovd_monitor.c tests/unit/test_quirks.c tests/unit/test_udevmon.c tests/unit/test_identity.c tests/unit/test_drift.c
# vfio tests share hand-built models and temp trees (tests/unit/fakesys.c).
$(BUILD)/tests/test_verify $(BUILD)/tests/test_bind $(BUILD)/tests/test_verify_fixtures: \
	$(BUILD)/obj/tests/unit/fakesys.o
# Guest NIC allocation (VFs, MACs) on hand-built hosts and configs.
UNIT_TESTS += tests/unit/test_alloc.c tests/unit/test_irq_place.c
$(BUILD)/tests/test_alloc: $(BUILD)/obj/tests/unit/fakesys.o
$(BUILD)/tests/test_irq_place: $(BUILD)/obj/tests/unit/fakesys.o

# Golden tests: iovctl on every fixture against the expected output.
.PHONY: golden
golden: $(BUILD)/iovctl $(BUILD)/iovd $(BUILD)/iovm
	tests/golden/run.sh $(BUILD)/iovctl
	tests/daemon.sh $(BUILD)
	tests/monitor.sh $(BUILD)
	tests/progress.sh $(BUILD)
	tests/cli.sh $(BUILD)
	tests/sysroot.sh $(BUILD)
	tests/golden/schema.py --goldens
	tests/golden/plans.sh $(BUILD)/iovctl
	tests/hardening.sh $(BUILD)
	tests/vmm/sandbox.sh $(BUILD)/iovm
# Rewrites tests/golden/expected/: review every diff against docs/hardware.md and tests/rig/README.md (tests/golden/REVIEW.md).
.PHONY: golden-update
golden-update: $(BUILD)/iovctl
	tests/golden/run.sh --update $(BUILD)/iovctl

-include tests/rig/rig.mk
# The config planner and the apply journal/executor (fake hosts, temp state dirs).
UNIT_TESTS += tests/unit/test_config_plan.c
$(BUILD)/tests/test_config_plan: $(BUILD)/obj/tests/unit/fakesys.o
UNIT_TESTS += tests/unit/test_apply.c
$(BUILD)/tests/test_apply: $(BUILD)/obj/tests/unit/fakesys.o

# An independent client (python3-varlink, Debian's package) against iovd on a fake tree:
# every method and error of the interface description, and a Monitor subscription.
.PHONY: varlink-client
varlink-client: $(BUILD)/iovd $(BUILD)/iovctl
	tests/varlink/iovd_client.py $(BUILD)
	tests/varlink/console_pty.py $(BUILD)
	tests/varlink/console_daemon.sh $(BUILD)
	tests/varlink/standin_daemon.sh $(BUILD)
-include tests/fuzz/fuzz.mk
UNIT_TESTS += tests/unit/test_sdnotify.c
UNIT_TESTS += tests/unit/test_export.c
$(BUILD)/tests/test_export: $(BUILD)/obj/tests/unit/fakesys.o
UNIT_TESTS += tests/unit/test_iovd_config.c
UNIT_TESTS += tests/unit/test_guest_retry.c
$(BUILD)/tests/test_guest_retry: $(BUILD)/obj/tests/unit/fakesys.o
