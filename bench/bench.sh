#!/bin/sh
# make bench: every benchmark, then one table with every ratio (issue 13).
#   MAKE=make BUILD=build bench/bench.sh        (run by `make bench`)
#   BUILD=build bench/bench.sh --table          (only the table, from the last outputs)
# Environment: NO_RIG=1 skips what needs the test host (bench-vmm's test-host part and
# bench-datapath); IOV_RIG_LOCK=FILE holds that lock (flock) only while a test host runs.
# Each benchmark's full output is kept in $BUILD/bench/NAME.txt (BENCH_DIR overrides the
# directory: bench/bench-selftest.sh checks the table on made-up outputs).
# The table gives each figure a verdict against its target: "met", "NOT MET", "FAILED" (the
# benchmark failed), "no figure" (it ran but printed none), "not run" (not asked for, or a
# peer it needs is missing: no QEMU, NO_RIG=1) or "no target" (a figure without a bound).
# Exit 1 when a benchmark failed, a figure is missing or a target is NOT MET.
set -u
MAKE=${MAKE:-make}
BUILD=${BUILD:-build}
NO_RIG=${NO_RIG:-}
LOCK=${IOV_RIG_LOCK:-}
D=${BENCH_DIR:-$BUILD/bench}
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
	# make turns a script's 77 ("not run: a peer it needs is missing") into its own failure.
	[ "$rc" = 0 ] || ! grep -q '^not run: ' "$D/$name.txt" || rc=77
	echo "$rc" > "$D/$name.rc"
	[ "$rc" = 0 ] || [ "$rc" = 77 ] || status=1
}
# has_target T: the makefiles define T (their database, printed without building anything:
# `make -n` would still run recipes that call $(MAKE)).
has_target() { $MAKE --no-print-directory -pRrq -f Makefile : 2> /dev/null | grep -q "^$1:"; }

if [ "${1:-}" != --table ]; then
	rm -f "$D"/*.txt "$D"/*.rc "$D"/when
	step list 0 bench-list
	step plan 0 bench-plan
	step scale 0 bench-scale
	if has_target bench-vmm; then
		if [ "$NO_RIG" = 1 ]; then step vmm 0 bench-vmm NO_RIG=1; else step vmm 1 bench-vmm; fi
	fi
	[ "$NO_RIG" = 1 ] || step datapath 1 bench-datapath
	[ "$NO_RIG" = 1 ] || ! has_target bench-guest || step guest 1 bench-guest
	date -u '+%Y-%m-%d %H:%M UTC' > "$D/when"
else
	for f in "$D"/*.rc; do [ -f "$f" ] || continue; case "$(cat "$f" 2> /dev/null)" in 0|77) ;; *) status=1 ;; esac; done
fi
when=$(cat "$D/when" 2> /dev/null || echo "date not recorded")

# ---------------------------------------------------------------- the table
# get FILE SED-EXPR: the first match in D/FILE.txt
get() { [ -f "$D/$1.txt" ] && sed -n "$2" "$D/$1.txt" | head -n1; }
# res STEP: ok, FAILED or not run (no .rc; 77: a peer it needs is missing).
res() {
	[ -f "$D/$1.rc" ] || { echo "not run"; return; }
	case "$(cat "$D/$1.rc")" in 0) echo ok ;; 77) echo "not run" ;; *) echo FAILED ;; esac
}
notmet=0 notrun=0
# verdict STEP VALUE OP LIMIT [NOTRUN-PATTERN]: sets V (never called inside $(...): it also
# sets status). OP is <=, < or ==; "-" as OP: no target. NOTRUN-PATTERN: a line of
# D/STEP.txt that says this figure's part did not run (e.g. "^test host: not run").
verdict() {
	case "$(res "$1")" in
	"not run") V="not run"; notrun=$((notrun + 1)); return ;;
	FAILED)
		# A benchmark that checks its own targets exits 1 when one is missed (plan_bench.py):
		# a figure it printed over its target is NOT MET; anything else is FAILED.
		status=1
		if [ -n "$2" ] && [ "$2" != - ] && [ "$2" != "?" ] && [ "$3" != - ] &&
		   ! awk -v v="$2" -v l="$4" -v op="$3" 'BEGIN { exit !((op == "<=" && v + 0 <= l + 0) || (op == "<" && v + 0 < l + 0) || (op == "==" && v + 0 == l + 0)) }'; then
			V="NOT MET"; notmet=$((notmet + 1))
		else
			V=FAILED
		fi
		return ;;
	esac
	if [ -n "${5:-}" ] && grep -q "$5" "$D/$1.txt" 2> /dev/null; then V="not run"; notrun=$((notrun + 1)); return; fi
	if [ -z "$2" ] || [ "$2" = - ] || [ "$2" = "?" ]; then V="no figure"; status=1; return; fi
	[ "$3" = - ] && { V="no target"; return; }
	if awk -v v="$2" -v l="$4" -v op="$3" 'BEGIN { exit !((op == "<=" && v + 0 <= l + 0) || (op == "<" && v + 0 < l + 0) || (op == "==" && v + 0 == l + 0)) }'; then
		V=met
	else
		V="NOT MET"; status=1; notmet=$((notmet + 1))
	fi
}
row() { printf '%-34s %-30s %-9s %-11s %-4s %s\n' "$1" "$2" "${3:--}" "$4" "$5" "$6"; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b > 0) printf "%.2f", a / b; else print "-" }'; }

echo
echo "==== make bench: $when, $(uname -m), $(nproc) CPUs, $(awk '/^model name/ { sub(/.*: /, ""); print; exit }' /proc/cpuinfo)"
row "figure" "measured" "ratio" "target" "emu" "verdict"
row "----------------------------------" "------------------------------" "---------" "-----------" "----" "-------"

l_ratio=$(get list 's/^ratio iovctl\/lspci: wall \([0-9.]*\).*/\1/p')
l_ms=$(get list 's/^iovctl list --json  wall: median \([0-9.]*\) ms.*/\1/p')
p_ms=$(get list 's/^lspci -D -nnk       wall: median \([0-9.]*\) ms.*/\1/p')
l_rss=$(get list 's/^peak RSS: \([0-9.]*\) MiB.*/\1/p')
verdict list "$l_ratio" "<=" 0.70
row "listing iovctl/lspci (wall)" "${l_ms:-?} / ${p_ms:-?} ms" "$l_ratio" "<= 0.70" "no" "$V"
verdict list "$l_rss" "<" 20
row "listing peak RSS" "${l_rss:-?} MiB" "$(div "$l_rss" 20)" "< 20 MiB" "no" "$V"

pl_ms=$(get plan 's/^host model + usage + resolve + plan: best [0-9.]* ms, median \([0-9.]*\) ms.*/\1/p')
verdict plan "$pl_ms" "<" 150
row "config plan, 16 PFs (median)" "${pl_ms:-?} ms" "$(div "$pl_ms" 150)" "< 150 ms" "no" "$V"

sc_n=$(get scale 's/^scale_starts_per_s \([0-9.]*\).*/\1/p')
sc_l=$(get scale 's/^scale_vm_list_ms \([0-9.]*\).*/\1/p')
sc_k=$(get scale 's/^scale_kib_per_guest \([0-9.-]*\).*/\1/p')
sc_t=$(get scale 's/^scale_longest_turn_ms \([0-9.]*\).*/\1/p')
verdict scale "$sc_n" - -
row "iovd, 256 guests: starts" "${sc_n:-?} guests/s" "-" "-" "no" "$V"
verdict scale "$sc_l" "<=" 20
row "iovd, 256 guests: vm list --json" "${sc_l:-?} ms" "$(div "$sc_l" 20)" "<= 20 ms" "no" "$V"
verdict scale "$sc_k" "<=" 64
row "iovd, 256 guests: RSS per guest" "${sc_k:-?} KiB" "$(div "$sc_k" 64)" "<= 64 KiB" "no" "$V"
verdict scale "$sc_t" "<=" 50
row "iovd, 256 guests: longest turn" "${sc_t:-?} ms" "$(div "$sc_t" 50)" "<= 50 ms" "no" "$V"

# iovm against QEMU: every ratio is the median of per-round ratios (vmm_vs_qemu.sh).
NR_VMM='^test host: not run'
v_ratio=$(get vmm 's/^vs_qemu_launch_to_init_ratio \([0-9.]*\) x.*/\1/p')
v_ms=$(get vmm 's/^vs_qemu_launch_to_init_ms iovm \([0-9.]*\) qemu \([0-9.]*\) .*/\1 \/ \2 ms/p')
v_ex=$(get vmm 's/^vs_qemu_exits iovm \([0-9.]*\) qemu \([0-9.]*\) .*/\1 \/ \2/p')
v_exr=$(get vmm 's/^vs_qemu_exits iovm .*per-round ratios \([0-9.-]*\)).*/\1/p')
v_ov=$(get vmm 's/^vs_qemu_overhead_kib iovm \([0-9.]*\) qemu \([0-9.]*\) .*/\1 \/ \2 KiB/p')
v_ovi=$(get vmm 's/^vs_qemu_overhead_kib iovm \([0-9.]*\) .*/\1/p')
verdict vmm "$v_ratio" "<=" 0.50 "$NR_VMM"
row "boot to /init iovm/QEMU (median)" "${v_ms:-?}" "$v_ratio" "<= 0.50" "yes" "$V"
verdict vmm "$v_exr" "<=" 0.80 "$NR_VMM"
row "KVM exits in boot iovm/QEMU" "${v_ex:-?}" "$v_exr" "<= 0.80" "yes" "$V"
verdict vmm "$v_ovi" "<" 3072 "$NR_VMM"
row "memory outside RAM iovm/QEMU" "${v_ov:-?}" "$(div "$v_ovi" 3072)" "< 3 MiB" "no" "$V"

g_ratio=$(get guest 's/^guest_launch_ratio \([0-9.]*\) x.*/\1/p')
g_i=$(get guest 's/^guest_launch_vm_start_ms \([0-9]*\) ms.*/\1/p')
g_h=$(get guest 's/^guest_launch_by_hand_ms \([0-9]*\) ms.*/\1/p')
verdict guest "$g_ratio" "<=" 1.10 '^not run'
row "launch to /init vm start/by hand" "${g_i:-?} / ${g_h:-?} ms" "$g_ratio" "<= 1.10" "yes" "$V"

d_tr=$(get datapath 's/^datapath_tcp_ratio \([0-9.-]*\) x.*/\1/p')
d_th=$(get datapath 's/^datapath_tcp_host_ms \([0-9]*\) ms (\([0-9.]*\) MiB\/s).*/\2/p')
d_tg=$(get datapath 's/^datapath_tcp_guest_ms \([0-9]*\) ms (\([0-9.]*\) MiB\/s).*/\2/p')
d_mib=$(get datapath 's/^datapath_tcp_mib \([0-9]*\) MiB.*/\1/p')
d_pr=$(get datapath 's/^datapath_ping_ratio \([0-9.-]*\) x.*/\1/p')
d_ph=$(get datapath 's/^datapath_ping_host_avg_ms \([0-9.]*\) ms.*/\1/p')
d_pg=$(get datapath 's/^datapath_ping_guest_avg_ms \([0-9.]*\) ms.*/\1/p')
d_io=$(get datapath 's/^datapath_xfer_exits_io \([0-9-]*\) .*/\1/p')
d_mm=$(get datapath 's/^datapath_xfer_exits_mmio \([0-9-]*\) .*/\1/p')
d_irq=$(get datapath 's/^datapath_xfer_guest_vf_irqs \([0-9-]*\) .*/\1/p')
# "~1 (native)" is what the data path would be on hardware; under emulation it is a figure
# without a bound ("no target"), not a pass.
verdict datapath "$d_tr" - - '^not run'
row "TCP ${d_mib:-?} MiB guest/host (time)" "${d_tg:-?} / ${d_th:-?} MiB/s" "$d_tr" "~1 (native)" "yes" "$V"
verdict datapath "$d_pr" - - '^not run'
row "ping6 rtt guest/host (avg)" "${d_pg:-?} / ${d_ph:-?} ms" "$d_pr" "~1 (native)" "yes" "$V"
verdict datapath "$(awk -v a="${d_io:-}" -v b="${d_mm:-}" 'BEGIN { if (a != "" && b != "") print a + b }')" "==" 0 '^not run'
row "iovm exits in the transfer io/mmio" "${d_io:-?} / ${d_mm:-?} (${d_irq:-?} VF irqs)" "-" "0 / 0" "no" "$V"
echo "ratio: measured / target (or iovm / QEMU, guest / host); emu yes: measured under emulation"
echo "(the test host is QEMU TCG, its guests nested KVM on it): the absolute times say little about"
echo "real hardware, only the same-run ratios carry over. Full outputs: $D/*.txt"
echo "make bench: $notmet figure(s) NOT MET, $notrun not run; exit $status"
exit $status
