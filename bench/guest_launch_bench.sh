#!/bin/sh
# `iovctl vm start` against the same iovm by hand, launch to the guest's /init, rounds
# alternating in one test-host boot (tests/rig/scenarios/guest_launch_bench.sh).
#   bench/guest_launch_bench.sh      (make bench-guest; GUEST_BENCH_ROUNDS is not passed in:
#                                     the scenario's default is 4 rounds each way)
# Prints the ROUND lines and the FIGURE lines without the prefix. Exit 1 when the run failed.
set -eu
if ! command -v qemu-system-x86_64 > /dev/null 2>&1; then
	echo "no QEMU: skipped (./setup.sh installs it)"
	exit 0
fi
out=${IOV_RIG_OUT:-build/rig}
log=$out/logs/default/guest_launch_bench.log
tmp=$(mktemp)
if ! tests/rig/run.sh default guest_launch_bench > "$tmp" 2>&1; then
	cat "$tmp"
	rm -f "$tmp"
	echo "bench-guest: the test-host run failed (log: $log)"
	exit 1
fi
rm -f "$tmp"
sed -n 's/^\(ROUND .*\)/\1/p; s/^FIGURE //p' "$log"
