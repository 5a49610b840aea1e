# bench sources (C benchmarks would be listed in BENCH_SRCS)
# Benchmarks: they print figures. `make bench` runs them all.
.PHONY: bench-list
bench-list: $(BUILD)/iovctl
	bench/list_bench.sh $(BUILD)/iovctl

bench: bench-list

# The config plan on the same 2,080-device tree with a config naming all 16 PFs (< 150 ms).
.PHONY: bench-plan
$(BUILD)/plan_bench: $(BUILD)/obj/bench/plan_bench.o $(BUILD)/libiov.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
bench-plan: $(BUILD)/plan_bench
	bench/plan_bench.py $(BUILD)/plan_bench
bench: bench-plan
