#!/bin/sh
# The iovm-against-QEMU run's figures and issue 20's targets, MET or NOT MET:
#   bench/vmm_targets.sh LOGDIR     (LOGDIR: the test host's logs/PRESET folder of vmm_vs_qemu)
# Prints the scenario's ROUND, LAUNCH, TRACE and FIGURE lines (FIGURE without the prefix), the
# initcall diff of its diag boots (bench/boot_diff.py), then one line per target.
set -eu
dir=${1:?usage: vmm_targets.sh LOGDIR}
log=$dir/vmm_vs_qemu.log
[ -f "$log" ] || { echo "vmm_targets: no $log (did vmm_vs_qemu run?)"; exit 1; }
here=$(dirname "$0")
sed -n 's/^\(ROUND .*\)/\1/p; s/^\(LAUNCH .*\)/\1/p; s/^\(TRACE .*\)/\1/p; s/^FIGURE //p' "$log"

a=$(ls "$dir"/blobs/vmm_vs_qemu.boot-iovm-diag*.out 2>/dev/null | tr '\n' ',' | sed 's/,$//')
b=$(ls "$dir"/blobs/vmm_vs_qemu.boot-qemu-diag*.out 2>/dev/null | tr '\n' ',' | sed 's/,$//')
if [ -n "$a" ] && [ -n "$b" ]; then
	echo "== where the guest's boot goes: iovm against QEMU (bench/boot_diff.py)"
	python3 "$here/boot_diff.py" --names iovm,qemu "$a" "$b" || true
fi

fig() { sed -n "s/^FIGURE $1 //p" "$log" | head -n1; }
# target NAME MEASURED OP LIMIT TEXT: one line, MET or NOT MET (or "not measured").
target() {
	if [ -z "$2" ] || [ "$2" = - ]; then
		printf 'target %-44s %-8s %s %-6s not measured\n' "$1" "-" "$3" "$4"
		return
	fi
	awk -v n="$1" -v m="$2" -v op="$3" -v l="$4" -v t="$5" 'BEGIN {
		ok = (op == "<=") ? (m + 0 <= l + 0) : (m + 0 >= l + 0)
		printf "target %-44s %-8s %s %-6s %s  %s\n", n, m, op, l, ok ? "MET" : "NOT MET", t }'
}
ratio_of() { sed -n 's/.*ratios\{0,1\} \([0-9.-]*\)).*/\1/p'; }

echo "== issue 20 targets (test host, nested KVM under TCG: ratios of the same run)"
boot=$(fig vs_qemu_launch_to_init_ratio | awk '{ print $1 }')
target "boot to /init, iovm/QEMU (median of rounds)" "$boot" "<=" 0.50 "$(fig vs_qemu_launch_to_init_ms)"
ex=$(fig vs_qemu_exits | ratio_of)
target "KVM exits during boot, iovm/QEMU" "$ex" "<=" 0.80 "$(fig vs_qemu_exits)"
inj=$(fig vs_qemu_injections_per_launch_s | ratio_of)
target "interrupts injected per s of boot, iovm/QEMU" "$inj" "<=" 1.00 "$(fig vs_qemu_injections_per_launch_s)"
# Launches: the first and the tenth iovm launch of the run (alternated with QEMU), and the same
# divided by the test host's speed measured just before each (calib_ms: the machine under the
# test host is shared, so a launch is slower when the test host is).
lget() { sed -n "s/^LAUNCH $1 .* $2 \([0-9.]*\).*/\1/p" "$log" | head -n1; }
l1=$(lget 1 ms) l10=$(lget 10 ms) c1=$(lget 1 calib_ms) c10=$(lget 10 calib_ms)
lr=$(awk -v a="$l1" -v b="$l10" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", b / a; else print "-" }')
echo "launches: first ${l1:--} ms (calibration ${c1:--} ms), tenth ${l10:--} ms (calibration ${c10:--} ms), tenth/first $lr"
ln=$(awk -v a="$l1" -v b="$l10" -v x="$c1" -v y="$c10" 'BEGIN {
	if (a > 0 && b > 0 && x > 0 && y > 0) printf "%.2f", (b / y) / (a / x); else print "-" }')
target "tenth iovm launch / first, per test-host speed" "$ln" "<=" 1.20 "raw ratio $lr"
acpi=$(fig vs_qemu_acpi_launch_to_init_ratio_to_iovm | awk '{ print $1 }')
target "iovm with ACPI / without (boot to /init)" "$acpi" "<=" 1.05 \
	"$( [ -n "$acpi" ] || echo "no ACPI variant in this run")"
