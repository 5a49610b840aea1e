#!/bin/sh
# iovm figures.
#   bench/vmm_bench.sh IOVM PAYLOAD [--no-rig]
# 1. On this machine's /dev/kvm, with the test payload (a minimal bzImage): time from exec to
#    the guest's first mark (iovm set-up + boot protocol + first guest instructions), iovm's
#    resident memory outside guest RAM, exits to userspace.
# 2. In the test host (QEMU rig, nested KVM, igb VF passed through; skipped with --no-rig or
#    when QEMU or the rig image is missing): launch to guest /init of a real kernel, iovm's
#    memory overhead, exits during boot and during 50 pings through the VF.
# 3. In the test host with QEMU inside (preset default, two vCPUs: iovm faults guest RAM in
#    with two threads, as it would on a real host with more CPUs; the runner boots it once more
#    if it stalls): iovm and QEMU boot the same guest alternately
#    (tests/rig/scenarios/vmm_vs_qemu.sh): per-round and median
#    launch-to-/init, the ratio, KVM exits and injections (test host debugfs), memory outside
#    guest RAM, the guest's own uptime and interrupts at /init; iovm's CPUID variants; where the
#    boot goes initcall by initcall (bench/boot_diff.py); the test host's KVM trace of one boot
#    each; iovm's first and tenth launch of the run; the targets of issue 20, MET or NOT MET.
set -eu
IOVM=${1:?usage: vmm_bench.sh IOVM PAYLOAD [--no-rig]}
PAYLOAD=${2:?usage: vmm_bench.sh IOVM PAYLOAD [--no-rig]}
RIG=${3:-}
RUNS=${VMM_BENCH_RUNS:-20}

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)] }'; }

echo "== iovm on this machine's /dev/kvm (payload, 64 MiB, 1 vCPU, $RUNS runs)"
if [ -c /dev/kvm ]; then
	t=$(mktemp)
	i=0
	while [ $i -lt $RUNS ]; do
		"$IOVM" --kernel "$PAYLOAD" --mem 64M --stats --cmdline "mode=poweroff" < /dev/null > "$t" 2>&1 || true
		sed -n 's/^iovm: guest mark 0x10 at \([0-9.]*\) ms.*/mark \1/p; s/.*iovm overhead \([0-9]*\) KiB/ovh \1/p
			s/^iovm: set-up (start to first vCPU run) \([0-9.]*\) ms/setup \1/p' "$t"
		i=$((i + 1))
	done > "$t.all"
	echo "launch_to_first_mark_ms $(awk '$1 == "mark" { print $2 }' "$t.all" | median) ms (median)"
	echo "setup_ms $(awk '$1 == "setup" { print $2 }' "$t.all" | median) ms (median: exec to first vCPU run)"
	echo "iovm_overhead_kib $(awk '$1 == "ovh" { print $2 }' "$t.all" | median) KiB (median)"
	sed -n '/exits to userspace/,/device accesses/p' "$t" | grep -E '^  (io|mmio) ' |
		awk '{ print "exits_" $1 " " $2 " (whole payload run)" }'
	/usr/bin/time -f "iovm_max_rss_kib %M KiB (whole process, 64 MiB guest, mostly untouched)" \
		"$IOVM" --kernel "$PAYLOAD" --mem 64M --cmdline "mode=poweroff" < /dev/null > /dev/null 2> "$t" || true
	tail -n 1 "$t"
	rm -f "$t" "$t.all"
else
	echo "this machine: not run (no /dev/kvm)"
fi

[ "$RIG" = "--no-rig" ] && { echo "test host: not run (--no-rig)"; exit 0; }
echo "== iovm in the test host (nested KVM under QEMU TCG, igb VF, 256 MiB, quiet)"
if ! command -v qemu-system-x86_64 > /dev/null 2>&1; then
	echo "test host: not run (no QEMU here; ./setup.sh installs it)"
	exit 0
fi
out=${IOV_RIG_OUT:-build/rig}
if ! tests/rig/run.sh default vmm_bench > /tmp/vmm_bench.rig.$$ 2>&1; then
	cat /tmp/vmm_bench.rig.$$
	rm -f /tmp/vmm_bench.rig.$$
	echo "vmm_bench: the test-host run failed (log: $out/logs/default/vmm_bench.log)"
	exit 1
fi
rm -f /tmp/vmm_bench.rig.$$
sed -n 's/^FIGURE //p' "$out/logs/default/vmm_bench.log"

echo "== iovm against QEMU in the test host (same kernel, initramfs, command line, VF, 256 MiB, 1 vCPU)"
# A separate image with QEMU inside (IOV_RIG_WITH_QEMU=1), so the suite's image stays small.
bout=${IOV_RIG_BENCH_OUT:-$out-bench}
if ! IOV_RIG_WITH_QEMU=1 IOV_RIG_OUT=$bout IOV_RIG_HELPERS=${IOV_RIG_HELPERS:-$out/helpers} \
	tests/rig/run.sh default vmm_vs_qemu > /tmp/vmm_bench.rig.$$ 2>&1; then
	cat /tmp/vmm_bench.rig.$$
	rm -f /tmp/vmm_bench.rig.$$
	echo "vmm_bench: the iovm-against-QEMU run failed (log: $bout/logs/default/vmm_vs_qemu.log)"
	exit 1
fi
rm -f /tmp/vmm_bench.rig.$$
bench/vmm_targets.sh "$bout/logs/default"
