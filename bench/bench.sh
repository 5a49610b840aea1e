#!/bin/sh
# make bench: every benchmark, then one table with every ratio (issue 13).
#   MAKE=make BUILD=build bench/bench.sh        (run by `make bench`)
#   BUILD=build bench/bench.sh --table          (only the table, from the last outputs)
# Environment: NO_RIG=1 skips what needs the test host (bench-vmm's test-host part and
# bench-datapath); IOV_RIG_LOCK=FILE holds that lock (flock) only while a test host runs.
# Each benchmark's full output is kept in $BUILD/bench/NAME.txt. Exit 1 when one failed or
# is over its target (the table says which).
set -u
MAKE=${MAKE:-make}
BUILD=${BUILD:-build}
NO_RIG=${NO_RIG:-}
LOCK=${IOV_RIG_LOCK:-}
D=$BUILD/bench
mkdir -p "$D"
status=0

# step NAME RIG TARGET [VAR=VALUE...]: run `make TARGET`, output to the terminal and D/NAME.txt
step() {
	name=$1 rig=$2 target=$3
	shift 3
	echo "==== make $target $*"
	if [ "$rig" = 1 ] && [ -n "$LOCK" ]; then
		flock "$LOCK" $MAKE --no-print-directory "$target" "$@" > "$D/$name.txt" 2>&1
	else
		$MAKE --no-print-directory "$target" "$@" > "$D/$name.txt" 2>&1
	fi
	rc=$?
	cat "$D/$name.txt"
	echo "$rc" > "$D/$name.rc"
	[ "$rc" = 0 ] || status=1
}
# has_target T: the makefiles define T (their database, printed without building anything:
# `make -n` would still run recipes that call $(MAKE)).
has_target() { $MAKE --no-print-directory -pRrq -f Makefile : 2> /dev/null | grep -q "^$1:"; }

if [ "${1:-}" != --table ]; then
	rm -f "$D"/*.txt "$D"/*.rc "$D"/when
	step list 0 bench-list
	step plan 0 bench-plan
	if has_target bench-vmm; then
		if [ "$NO_RIG" = 1 ]; then step vmm 0 bench-vmm NO_RIG=1; else step vmm 1 bench-vmm; fi
	fi
	[ "$NO_RIG" = 1 ] || step datapath 1 bench-datapath
	[ "$NO_RIG" = 1 ] || ! has_target bench-guest || step guest 1 bench-guest
	date -u '+%Y-%m-%d %H:%M UTC' > "$D/when"
else
	for f in "$D"/*.rc; do [ "$(cat "$f" 2> /dev/null)" = 0 ] || status=1; done
fi
when=$(cat "$D/when" 2> /dev/null || echo "date not recorded")

# ---------------------------------------------------------------- the table
# get FILE SED-EXPR: the first match in D/FILE.txt
get() { [ -f "$D/$1.txt" ] && sed -n "$2" "$D/$1.txt" | head -n1; }
res() { [ -f "$D/$1.rc" ] || { echo "not run"; return; }; [ "$(cat "$D/$1.rc")" = 0 ] && echo ok || echo FAILED; }
row() { printf '%-34s %-30s %-9s %-11s %-4s %s\n' "$1" "$2" "${3:--}" "$4" "$5" "$6"; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b > 0) printf "%.2f", a / b; else print "-" }'; }

echo
echo "==== make bench: $when, $(uname -m), $(nproc) CPUs, $(awk '/^model name/ { sub(/.*: /, ""); print; exit }' /proc/cpuinfo)"
row "figure" "measured" "ratio" "target" "emu" "run"
row "----------------------------------" "------------------------------" "---------" "-----------" "----" "------"

l_ratio=$(get list 's/^ratio iovctl\/lspci: wall \([0-9.]*\).*/\1/p')
l_ms=$(get list 's/^iovctl list --json  wall: median \([0-9.]*\) ms.*/\1/p')
p_ms=$(get list 's/^lspci -D -nnk       wall: median \([0-9.]*\) ms.*/\1/p')
l_rss=$(get list 's/^peak RSS: \([0-9.]*\) MiB.*/\1/p')
row "listing iovctl/lspci (wall)" "${l_ms:-?} / ${p_ms:-?} ms" "$l_ratio" "<= 0.70" "no" "$(res list)"
row "listing peak RSS" "${l_rss:-?} MiB" "$(div "$l_rss" 20)" "< 20 MiB" "no" "$(res list)"

pl_ms=$(get plan 's/^host model + usage + resolve + plan: best [0-9.]* ms, median \([0-9.]*\) ms.*/\1/p')
row "config plan, 16 PFs (median)" "${pl_ms:-?} ms" "$(div "$pl_ms" 150)" "< 150 ms" "no" "$(res plan)"

if [ -f "$D/vmm.txt" ]; then
	v_ratio=$(get vmm 's/^vs_qemu_launch_to_init_ratio \([0-9.]*\) x.*/\1/p')
	v_ms=$(get vmm 's/^vs_qemu_launch_to_init_ms iovm \([0-9.]*\) qemu \([0-9.]*\) .*/\1 \/ \2 ms/p')
	v_ex=$(get vmm 's/^vs_qemu_exits iovm \([0-9.]*\) qemu \([0-9.]*\) .*/\1 \/ \2/p')
	v_exr=$(get vmm 's/^vs_qemu_exits iovm .*ratio \([0-9.-]*\)).*/\1/p')
	v_ov=$(get vmm 's/^vs_qemu_overhead_kib iovm \([0-9.]*\) qemu \([0-9.]*\) .*/\1 \/ \2 KiB/p')
	v_ovi=$(get vmm 's/^vs_qemu_overhead_kib iovm \([0-9.]*\) .*/\1/p')
	row "boot to /init iovm/QEMU (median)" "${v_ms:-?}" "$v_ratio" "<= 0.50" "yes" "$(res vmm)"
	row "KVM exits in boot iovm/QEMU" "${v_ex:-?}" "$v_exr" "<= 0.50" "yes" "$(res vmm)"
	row "memory outside RAM iovm/QEMU" "${v_ov:-?}" "$(div "$v_ovi" 3072)" "< 3 MiB" "no" "$(res vmm)"
else
	row "boot to /init iovm/QEMU" "not in this run" "-" "<= 0.50" "yes" "not run"
fi

if [ -f "$D/guest.txt" ]; then
	g_ratio=$(get guest 's/^guest_launch_ratio \([0-9.]*\) x.*/\1/p')
	g_i=$(get guest 's/^guest_launch_vm_start_ms \([0-9]*\) ms.*/\1/p')
	g_h=$(get guest 's/^guest_launch_by_hand_ms \([0-9]*\) ms.*/\1/p')
	row "launch to /init vm start/by hand" "${g_i:-?} / ${g_h:-?} ms" "$g_ratio" "<= 1.10" "yes" "$(res guest)"
fi

if [ -f "$D/datapath.txt" ]; then
	d_tr=$(get datapath 's/^datapath_tcp_ratio \([0-9.-]*\) x.*/\1/p')
	d_th=$(get datapath 's/^datapath_tcp_host_ms \([0-9]*\) ms (\([0-9.]*\) MiB\/s).*/\2/p')
	d_tg=$(get datapath 's/^datapath_tcp_guest_ms \([0-9]*\) ms (\([0-9.]*\) MiB\/s).*/\2/p')
	d_mib=$(get datapath 's/^datapath_tcp_mib \([0-9]*\) MiB/\1/p')
	d_pr=$(get datapath 's/^datapath_ping_ratio \([0-9.-]*\) x.*/\1/p')
	d_ph=$(get datapath 's/^datapath_ping_host_avg_ms \([0-9.]*\) ms/\1/p')
	d_pg=$(get datapath 's/^datapath_ping_guest_avg_ms \([0-9.]*\) ms/\1/p')
	d_io=$(get datapath 's/^datapath_xfer_exits_io \([0-9-]*\) .*/\1/p')
	d_mm=$(get datapath 's/^datapath_xfer_exits_mmio \([0-9-]*\) .*/\1/p')
	d_irq=$(get datapath 's/^datapath_xfer_guest_vf_irqs \([0-9-]*\) .*/\1/p')
	row "TCP ${d_mib:-?} MiB guest/host (time)" "${d_tg:-?} / ${d_th:-?} MiB/s" "$d_tr" "~1 (native)" "yes" "$(res datapath)"
	row "ping6 rtt guest/host (avg)" "${d_pg:-?} / ${d_ph:-?} ms" "$d_pr" "~1 (native)" "yes" "$(res datapath)"
	row "iovm exits in the transfer io/mmio" "${d_io:-?} / ${d_mm:-?} (${d_irq:-?} VF irqs)" "-" "0 / 0" "no" "$(res datapath)"
else
	row "VF data path guest/host" "skipped (NO_RIG=1)" "-" "~1 (native)" "yes" "not run"
fi
echo "ratio: measured / target (or iovm / QEMU, guest / host); emu yes: measured under emulation"
echo "(the test host is QEMU TCG, its guests nested KVM on it): the absolute times say little about"
echo "real hardware, only the same-run ratios carry over. Full outputs: $D/*.txt"
exit $status
