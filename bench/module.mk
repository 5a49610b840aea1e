# bench sources (C benchmarks would be listed in BENCH_SRCS)
# Benchmarks: they print figures. `make bench` runs them all (bench/bench.sh), then prints one
# table with every ratio (docs/perf.md). NO_RIG=1: without the test host.
.PHONY: bench-list
bench-list: $(BUILD)/iovctl
	bench/list_bench.sh $(BUILD)/iovctl

bench:
	MAKE="$(MAKE)" BUILD=$(BUILD) NO_RIG=$(NO_RIG) bench/bench.sh

# The table's verdicts on made-up outputs (NOT MET, not run, FAILED, no figure, met).
.PHONY: bench-selftest
bench-selftest:
	bench/bench-selftest.sh

# The config plan on the same 2,080-device tree with a config naming all 16 PFs (< 150 ms).
.PHONY: bench-plan
$(BUILD)/plan_bench: $(BUILD)/obj/bench/plan_bench.o $(BUILD)/libiov.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
bench-plan: $(BUILD)/plan_bench
	bench/plan_bench.py $(BUILD)/plan_bench

# The VF data path in the test host: guest through its VF against the host through another VF.
.PHONY: bench-datapath
bench-datapath: $(RIG_PROGS) $(RIG_HELPERS)
	$(RIG_ENV) bench/rig_bench.sh vf_datapath bench-datapath

# iovm's virtio-blk against QEMU's: sequential and 4 KiB random I/O in the guest, same image,
# in the test host (not in make test or make bench: about 15 minutes under TCG). Run it under
# the rig lock.
.PHONY: bench-disk
bench-disk: $(RIG_PROGS) $(RIG_HELPERS)
	$(RIG_ENV) bench/disk_bench.sh

# `iovctl vm start` against iovm by hand, launch to the guest's /init, in the test host.
.PHONY: bench-guest
bench-guest: $(RIG_PROGS) $(RIG_HELPERS)
	$(RIG_ENV) bench/rig_bench.sh guest_launch_bench bench-guest

# iovm against QEMU on real KVM (issue 20): `make bench-kvm` builds a self-contained bundle
# (bench/kvm/bundle.sh: the binaries with their libraries and loader, QEMU and its firmware,
# the test host's kernel, a one-line /init) and runs bench/kvm/run.sh on this machine: /dev/kvm
# check, iovm's payload tests, iovm vs QEMU microvm and q35 launch to /init (20 alternated
# rounds), the listing benchmark. On a machine without the packages: carry
# $(BUILD)/kvm-bundle.tar.xz, unpack it, run `sh kvm-bundle/run.sh kvm-bundle REPO`.
.PHONY: bench-kvm bench-kvm-bundle
KVM_BUNDLE := $(BUILD)/kvm-bundle
bench-kvm-bundle: $(BUILD)/iovm $(BUILD)/iovctl $(VMM_PAYLOAD) $(RIG_OUT)/helpers/kvmcheck rig-image
	bench/kvm/bundle.sh $(BUILD) $(RIG_OUT)/helpers $(RIG_OUT)/image/vmlinuz $(KVM_BUNDLE)
bench-kvm: bench-kvm-bundle
	sh $(KVM_BUNDLE)/run.sh $(KVM_BUNDLE) $(CURDIR)

# iovd at fleet-node scale on the same synthetic tree, no test host: 256 stand-in guests
# started and stopped through the API, `vm list`, GetHost, RSS and fds per guest, the loop's
# longest turn (bench/scale_bench.py; targets 20 ms, 64 KiB, 50 ms).
.PHONY: bench-scale
bench-scale: $(BUILD)/iovd $(BUILD)/iovctl
	bench/scale_bench.py $(BUILD)
