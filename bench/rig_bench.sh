#!/bin/sh
# One benchmark scenario in the test host, its figures printed:
#   bench/rig_bench.sh SCENARIO TARGET     (environment as for tests/rig/run.sh)
# - vf_datapath (make bench-datapath): the same ping6 series and bulk TCP transfer from an iovm
#   guest through its VF and from the test host through another VF of the same PF, their
#   ratio, and iovm's exits during the guest's transfer;
# - guest_launch_bench (make bench-guest): `iovctl vm start` against the same iovm by hand,
#   launch to the guest's /init, rounds alternating in one boot.
# Prints the scenario's ROUND and FIGURE lines without the prefix. Exit 1 when the run failed,
# 77 when it could not run (no QEMU): bench.sh's table then says "not run", never "ok".
set -eu
scen=${1:?usage: rig_bench.sh SCENARIO TARGET}
target=${2:-$scen}
if ! command -v qemu-system-x86_64 > /dev/null 2>&1; then
	echo "not run: no QEMU here (./setup.sh installs it)"
	exit 77
fi
out=${IOV_RIG_OUT:-build/rig}
log=$out/logs/default/$scen.log
tmp=$(mktemp)
if ! tests/rig/run.sh default "$scen" > "$tmp" 2>&1; then
	cat "$tmp"
	rm -f "$tmp"
	[ -f "$log" ] && sed -n 's/^\(ROUND .*\)/\1/p; s/^FIGURE //p' "$log"
	echo "$target: the test-host run failed (log: $log)"
	exit 1
fi
rm -f "$tmp"
sed -n 's/^\(ROUND .*\)/\1/p; s/^FIGURE //p' "$log"
echo "$target: passed"
