#!/bin/sh
# The VF data path in the test host (tests/rig/scenarios/vf_datapath.sh): the same ping6
# series and bulk TCP transfer from an iovm guest through its VF and from the test host through
# another VF of the same PF, their ratio, and iovm's exits during the guest's transfer.
#   bench/datapath_bench.sh        (make bench-datapath; environment as for tests/rig/run.sh)
# Prints the scenario's FIGURE lines without the prefix. Exit 1 when the run failed.
set -eu
if ! command -v qemu-system-x86_64 > /dev/null 2>&1; then
	echo "no QEMU: skipped (./setup.sh installs it)"
	exit 0
fi
out=${IOV_RIG_OUT:-build/rig}
log=$out/logs/default/vf_datapath.log
tmp=$(mktemp)
if ! tests/rig/run.sh default vf_datapath > "$tmp" 2>&1; then
	cat "$tmp"
	rm -f "$tmp"
	[ -f "$log" ] && sed -n 's/^FIGURE //p' "$log"
	echo "bench-datapath: the test-host run failed (log: $log)"
	exit 1
fi
rm -f "$tmp"
sed -n 's/^FIGURE //p' "$log"
echo "bench-datapath: passed"
