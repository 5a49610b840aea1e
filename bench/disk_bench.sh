#!/bin/sh
# iovm's virtio-blk against QEMU's in the test host (scenario vmm_disk_bench): sequential and
# 4 KiB random read/write in the guest on the same image, alternating VMMs, ROUNDS rounds
# (VMM_BENCH_ROUNDS, default 3). Prints the ROUND lines and the FIGURE lines (medians and
# the ratio iovm/QEMU). Environment as for tests/rig/run.sh; the image is built with QEMU
# in it (IOV_RIG_WITH_QEMU=1) under $IOV_RIG_OUT-bench, beside the usual one.
set -eu
if ! command -v qemu-system-x86_64 > /dev/null 2>&1; then
	echo "no QEMU: skipped (./setup.sh installs it)"
	exit 0
fi
out=${IOV_RIG_OUT:-build/rig}
bout=${IOV_RIG_BENCH_OUT:-$out-bench}
log=$bout/logs/guests/vmm_disk_bench.log
tmp=$(mktemp)
if ! IOV_RIG_WITH_QEMU=1 IOV_RIG_OUT=$bout IOV_RIG_HELPERS=${IOV_RIG_HELPERS:-$out/helpers} \
	tests/rig/run.sh guests vmm_disk_bench > "$tmp" 2>&1; then
	cat "$tmp"
	rm -f "$tmp"
	[ -f "$log" ] && sed -n 's/^\(ROUND .*\)/\1/p; s/^FIGURE //p' "$log"
	echo "bench-disk: the test-host run failed (log: $log)"
	exit 1
fi
rm -f "$tmp"
sed -n 's/^\(ROUND .*\)/\1/p; s/^FIGURE //p' "$log"
echo "bench-disk: passed"
