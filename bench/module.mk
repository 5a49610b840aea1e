# bench sources (C benchmarks would be listed in BENCH_SRCS)
# Benchmarks: they print figures. `make bench` runs them all.
.PHONY: bench-list
bench-list: $(BUILD)/iovctl
	bench/list_bench.sh $(BUILD)/iovctl

bench: bench-list
