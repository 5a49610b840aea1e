#!/bin/sh
# The bench table's verdicts on made-up outputs (make bench-selftest; part of make test):
# figures over their targets must say NOT MET and make the exit status 1, a missing peer
# "not run" (never "ok"), a failed benchmark FAILED, a missing figure "no figure", and a
# run with every target met must exit 0.
set -u
here=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/iov-bench-st.XXXXXX")
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
# table NAME: the table of the outputs in $T/NAME into $T/NAME.table; sets trc.
table() { BENCH_DIR=$T/$1 "$here/bench.sh" --table > "$T/$1.table" 2>&1 && trc=0 || trc=$?; }
# expect NAME ROW-START VERDICT: the row starting with ROW-START ends with VERDICT.
expect() {
	if grep -q "^$2 .* $3\$" "$T/$1.table"; then pass=$((pass + 1))
	else fail=$((fail + 1)); echo "FAIL: $1: row '$2' does not end with '$3':"; grep "^$2" "$T/$1.table" | sed 's/^/  | /'; fi
}
expect_rc() {
	if [ "$trc" = "$2" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1: exit $trc, want $2"; sed 's/^/  | /' "$T/$1.table"; fi
}
out() { # NAME STEP RC: stdin is STEP's output
	mkdir -p "$T/$1"; cat > "$T/$1/$2.txt"; echo "$3" > "$T/$1/$2.rc"
}
list_ok='ratio iovctl/lspci: wall 0.55x
iovctl list --json  wall: median 110.0 ms
lspci -D -nnk       wall: median 200.0 ms
peak RSS: 12.5 MiB'
vmm() { # LAUNCH-RATIO EXITS-RATIO OVERHEAD-KIB
	printf '%s\n' "vs_qemu_launch_to_init_ratio $1 x (median of 5 per-round ratios)" \
		"vs_qemu_launch_to_init_ms iovm 7000 qemu 16000 ms (medians of each side; ratio = median of per-round ratios $1)" \
		"vs_qemu_exits iovm 4000 qemu 8000 exits (medians of each side; ratio = median of per-round ratios $2)" \
		"vs_qemu_overhead_kib iovm $3 qemu 40000 KiB (medians of each side; ratio = median of per-round ratios 0.05)"
}

# 1. Every target met, no test host: exit 0, the test-host rows "not run".
echo "$list_ok" | out met list 0
echo "host model + usage + resolve + plan: best 40.0 ms, median 52.0 ms" | out met plan 0
{ vmm 0.40 0.45 2000; } | out met vmm 0
echo "not run: no QEMU here" | out met datapath 77
table met
expect_rc met 0
expect met "listing iovctl/lspci (wall)" met
expect met "listing peak RSS" met
expect met "config plan, 16 PFs (median)" met
expect met "boot to /init iovm/QEMU (median)" met
expect met "KVM exits in boot iovm/QEMU" met
expect met "memory outside RAM iovm/QEMU" met
expect met "TCP ? MiB guest/host (time)" "not run"
expect met "launch to /init vm start/by hand" "not run"

# 2. Today's figures (docs/perf.md): 0.74 and 1.09 against <= 0.50, the listing over 0.70.
printf 'ratio iovctl/lspci: wall 0.74x\npeak RSS: 12.5 MiB\n' | out notmet list 0
echo "host model + usage + resolve + plan: best 40.0 ms, median 151.0 ms" | out notmet plan 0
{ vmm 0.74 1.09 2000; } | out notmet vmm 0
table notmet
expect_rc notmet 1
expect notmet "listing iovctl/lspci (wall)" "NOT MET"
expect notmet "config plan, 16 PFs (median)" "NOT MET"
expect notmet "boot to /init iovm/QEMU (median)" "NOT MET"
expect notmet "KVM exits in boot iovm/QEMU" "NOT MET"
expect notmet "memory outside RAM iovm/QEMU" met
if grep -q "make bench: 4 figure(s) NOT MET" "$T/notmet.table"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: notmet: no count of 4 NOT MET"; fi

# 3. The peer missing (vmm_bench.sh without QEMU): "not run", not ok; a failed step FAILED;
#    a step that ran without its figure "no figure" (exit 1).
printf '%s\n' "launch_to_first_mark_ms 12 ms (median)" "test host: not run (no QEMU here)" | out peer vmm 0
echo "$list_ok" | out peer list 0
echo "plan_bench: cannot build" | out peer plan 2
printf 'guest_launch_vm_start_ms 9000 ms\n' | out peer guest 0
table peer
expect_rc peer 1
expect peer "boot to /init iovm/QEMU (median)" "not run"
expect peer "KVM exits in boot iovm/QEMU" "not run"
expect peer "config plan, 16 PFs (median)" FAILED
expect peer "launch to /init vm start/by hand" "no figure"
expect peer "listing iovctl/lspci (wall)" met

# 4. vf_datapath's figures as it prints them (rounds, medians for reference beside the median
#    of per-round ratios): the table reads them; an exit to iovm is NOT MET.
dp() { # IO-EXITS
	printf '%s\n' "ROUND 1 first host" "ROUND 1 host tcp_ms 1800 rtt_ms 3.047 (first this round)" \
		"ROUND 1 guest tcp_ms 20000 rtt_ms 5.306 vf_irqs 9000 kvm_exits/io/mmio/halt/inj 1 2 0 3 4" \
		"datapath_rounds 5 rounds (one sample a side each, who goes first alternating)" \
		"datapath_tcp_mib 8 MiB" \
		"datapath_tcp_host_ms 1800 ms (4.44 MiB/s) median of 5, for reference" \
		"datapath_tcp_guest_ms 20000 ms (0.40 MiB/s) median of 5, for reference" \
		"datapath_tcp_ratio 11.27 x (median of 5 per-round ratios guest time / host time)" \
		"datapath_ping_host_avg_ms 3.047 ms (median of 5, for reference)" \
		"datapath_ping_guest_avg_ms 5.306 ms (median of 5, for reference)" \
		"datapath_ping_ratio 1.74 x (median of 5 per-round ratios guest rtt / host rtt)" \
		"datapath_xfer_exits_io $1 exits (iovm, during the guest's 5 transfers)" \
		"datapath_xfer_exits_mmio 0 exits (iovm, during the guest's 5 transfers)" \
		"datapath_xfer_guest_vf_irqs 9000 interrupts (guest eth0 MSI-X, median of 5 transfers)" \
		"bench-datapath: passed"
}
echo "$list_ok" | out dp list 0
dp 0 | out dp datapath 0
table dp
expect dp "TCP 8 MiB guest/host (time)" "no target"
expect dp "ping6 rtt guest/host (avg)" "no target"
expect dp "iovm exits in the transfer io/mmio" met
if grep -q "^ping6 rtt guest/host (avg) *5.306 / 3.047 ms *1.74 " "$T/dp.table" &&
   grep -q "^TCP 8 MiB guest/host (time) *0.40 / 4.44 MiB/s *11.27 " "$T/dp.table"; then pass=$((pass + 1))
else fail=$((fail + 1)); echo "FAIL: dp: the data-path rows do not show the figures as printed:"; grep -E "^(TCP|ping6)" "$T/dp.table" | sed 's/^/  | /'; fi
dp 1 | out dpexit datapath 0
echo "$list_ok" | out dpexit list 0
table dpexit
expect_rc dpexit 1
expect dpexit "iovm exits in the transfer io/mmio" "NOT MET"

# 5. A benchmark that checks its own target and exits 1 over it (plan_bench.py: "bench-plan:
#    OVER TARGET"): its figure is NOT MET, not FAILED; one that failed without its figure,
#    FAILED; one whose peer is missing ("not run: no /dev/kvm", exit 77) "not run".
printf '%s\n' "host model + usage + resolve + plan: best 507.8 ms, median 861.5 ms over 15 runs (target < 150 ms)" \
	"bench-plan: OVER TARGET" | out own plan 1
echo "$list_ok" | out own list 0
echo "not run: no /dev/kvm on this machine (iovd refuses VmStart without it)" | out own scale 77
table own
expect_rc own 1
expect own "config plan, 16 PFs (median)" "NOT MET"
expect own "iovd, 256 guests: vm list --json" "not run"
if grep -q "make bench: 1 figure(s) NOT MET" "$T/own.table"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: own: no count of 1 NOT MET"; fi

echo "bench-selftest: $pass passed, $fail failed"
[ "$fail" = 0 ]
