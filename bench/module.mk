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

# `iovctl vm start` against iovm by hand, launch to the guest's /init, in the test host.
.PHONY: bench-guest
bench-guest: $(RIG_PROGS) $(RIG_HELPERS)
	$(RIG_ENV) bench/rig_bench.sh guest_launch_bench bench-guest
