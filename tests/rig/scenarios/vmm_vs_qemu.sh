# iovm against QEMU in one run (bench/vmm_bench.sh; the image needs IOV_RIG_WITH_QEMU=1): the same
# inner kernel, initramfs and command line, the same igb VF, 256 MiB and 1 vCPU, booted
# alternately by iovm and by QEMU (-accel kvm, q35 with qboot, direct kernel boot,
# -nodefaults, vfio-pci), ROUNDS times, who boots first alternating, with iovm's CPUID
# variants (VARIANTS: IOVM_CPUID values, vmm/vm.c) in each round beside the default. For each
# boot: launch to the guest's /init (its first console line, seen by polling the console
# file), the test host's KVM per-VM statistics at that moment (/sys/kernel/debug/kvm/PID-FD:
# exits, io, mmio, halt, injections), the VMM's resident memory outside guest RAM (smaps: RSS
# minus the guest RAM mapping) and, from the guest (diag=1 on its command line), its uptime and
# /proc/interrupts at /init and its clock and timer lines. Then (issue 20):
# - DIAG_PAIRS pairs: iovm and QEMU with initcall_debug; the guest prints its initcalls of
#   100 us or more and every other boot message (blobs boot-iovm-diagN.out,
#   boot-qemu-diagN.out; bench/boot_diff.py compares them on the host);
# - one traced pair: the test host's KVM tracepoints during each boot up to /init, summed by
#   exit reason, injected vector, port, MMIO address, MSR and emulated instruction (blobs
#   trace-iovm.txt, trace-qemu.txt);
# - SERIES launches of iovm in a row. Every iovm launch of the run is numbered (LAUNCH lines:
#   launch to /init, iovm's set-up phases, the guest's uptime, the guest RAM's huge-page
#   coverage, the test host's THP and compaction counters, free 2 MiB blocks and speed
#   (calib_ms) before the launch).
# Prints "ROUND ...", "LAUNCH ...", "TRACE ..." and "FIGURE ..." lines.
# rig-presets: bench
# rig-timeout: 1500

. /rig/scenarios/vmm_lib.sh
vmm_prereqs
check "QEMU in the image (IOV_RIG_WITH_QEMU=1)" test -x /usr/bin/qemu-system-x86_64
check "KVM debugfs statistics" test -d /sys/kernel/debug/kvm
vmm_setup_vf
vmm_initramfs /tmp/inner.cpio
ROUNDS=${VMM_BENCH_ROUNDS:-5}
# iovm CPUID variants measured in every round beside the default (IOVM_CPUID values, e.g.
# "nopv nox2apic"; docs/iovm.md has what they measured; none by default: 5 boots each).
VARIANTS=""
DIAG_PAIRS=1
SERIES=10
MEM_MIB=256
# No ping target: the guest reaches /init, loads igbvf, brings eth0 up and reboots (both VMMs
# then exit); diag=1: it reports its uptime and interrupts at /init and its timer lines.
CMDLINE="$VMM_CMDLINE quiet rest=0 diag=1"
QEMU_OPTS="-accel kvm -M q35,smm=off,vmport=off -cpu host -bios /usr/share/qemu/qboot.rom \
-nodefaults -no-user-config -display none -serial stdio -no-reboot -m $MEM_MIB -smp 1"

# calib: the test host's speed right now, in ms for a fixed piece of work (md5 of 8 MiB of
# zeros): the machine under the test host is shared, and a launch's time is worth comparing
# with the others only beside it (LAUNCH lines give both).
calib() {
	k0=$(now_cs)
	head -c 8388608 /dev/zero | md5sum > /dev/null
	echo $(( ($(now_cs) - k0) * 10 ))
}
now_cs() { awk '{ split($1, a, "."); print a[1] * 100 + a[2] }' /proc/uptime; }
vmstat() { awk -v k="$1" '$1 == k { print $2 }' /proc/vmstat; }
# Free blocks of 2 MiB or more, in 2 MiB units (orders 9 and 10 of every zone).
free2m() { awk '{ n += $(NF - 1) + 2 * $NF } END { print n + 0 }' /proc/buddyinfo; }

# measure NAME CMD...: launches CMD in the background (console to /tmp/NAME.out) and
# samples the moment the guest's /init writes its first line. Writes
# "ms exits io mmio halt injections overhead_kib ram_huge_kib" to /tmp/NAME.m, or fails the
# scenario (it is called directly, never inside $(...), where a fail would only leave the
# subshell).
measure() {
	name=$1
	shift
	# Emptied here, not only by the redirection in the child: the loop below must not find the
	# previous boot's line before the child has opened the file.
	: > "/tmp/$name.out"
	t0=$(now_cs)
	"$@" < /dev/null > "/tmp/$name.out" 2>&1 &
	pid=$!
	i=0
	while ! grep -q "^INNER: init up" "/tmp/$name.out" 2>/dev/null; do
		kill -0 $pid 2>/dev/null || break
		[ $i -lt 3000 ] || break
		sleep 0.02
		i=$((i + 1))
	done
	t1=$(now_cs)
	[ -n "$TRACING" ] && echo 0 > "$TRACING/tracing_on"
	d=$(ls -d /sys/kernel/debug/kvm/$pid-* 2>/dev/null | head -n1)
	st="- - - - -"
	[ -n "$d" ] && st="$(cat "$d/exits") $(cat "$d/io_exits") $(cat "$d/mmio_exits") $(cat "$d/halt_exits") $(cat "$d/irq_injections")"
	# Every non-zero exit and injection counter of that VM, for telling where exits differ.
	[ -n "$d" ] && echo "EXITSBY $name $(cd "$d" && for f in *exits* *injections* insn_emulation \
		pf_taken pf_fixed halt_wakeup; do [ -f "$f" ] && v=$(cat "$f") && [ "$v" != 0 ] &&
		printf '%s=%s ' "$f" "$v"; done)" >> /tmp/exitsby
	# RSS outside guest RAM: every mapping but the one of guest RAM's size (+ up to 8 MiB
	# of alignment, as QEMU maps it); and how much of guest RAM huge pages back.
	ovh=$(awk -v ram=$((MEM_MIB * 1024)) '
		/^[0-9a-f]+-[0-9a-f]+ / { big = 0 }
		/^Size:/ { big = ($2 >= ram && $2 <= ram + 8192) }
		/^Rss:/ { if (!big) o += $2 }
		/^AnonHugePages:/ { if (big) h += $2 }
		END { print o + 0, h + 0 }' /proc/$pid/smaps 2>/dev/null) || ovh="- -"	# the VMM ended already
	wait $pid || true	# iovm ends with 3 (guest reboot), QEMU with its own status
	grep -q "^INNER: init up" "/tmp/$name.out" || { tail -n 20 "/tmp/$name.out"; fail "$name: the guest never reached /init"; }
	echo "$(( (t1 - t0) * 10 )) $st ${ovh:-- -}" > "/tmp/$name.m"
}

# guest NAME: from the last boot's console (diag=1): "uptime_at_init_s irqs_at_init
# timer_irqs_at_init" (interrupts summed over every /proc/interrupts line; the timer: LOC,
# the local APIC timer, plus IRQ 0, the PIT).
guest() {
	awk '/^DIAG uptime at init/ { up = $5 }
		/^DIAG irq-init +[0-9A-Z]+:/ { n = $4 + 0; s += n; if ($3 == "LOC:" || $3 == "0:") t += n }
		END { print (up == "" ? "-" : up), s + 0, t + 0 }' "/tmp/$1.out"
}

launch=0
# iovm_launch NAME [ENV=VALUE]: one iovm boot, with a LAUNCH line (every iovm launch of the run
# in order: launch to /init, set-up, RAM faulted in, DMA map, guest uptime at /init, huge pages
# behind guest RAM, THP faults and fallbacks and compaction stalls during the launch, free 2 MiB
# blocks before it). Sets R to measure's output.
iovm_launch() {
	name=$1
	shift
	launch=$((launch + 1))
	a0=$(vmstat thp_fault_alloc) f0=$(vmstat thp_fault_fallback) c0=$(vmstat compact_stall)
	fb=$(free2m) mf=$(awk '$1 == "MemFree:" { print $2 }' /proc/meminfo) cal=$(calib)
	measure "$name" env "$@" /usr/bin/iovm --kernel "$VMM_KERNEL" --initrd /tmp/inner.cpio \
		--mem ${MEM_MIB}M --cmdline "$CMDLINE${XARGS:+ $XARGS}" --vfio "$vf" --stats
	R=$(cat "/tmp/$name.m")
	ph() { sed -n "s/^iovm: set-up $1 *\([0-9.]*\) ms/\1/p" "/tmp/$name.out" | head -n1; }
	set -- $R
	echo "LAUNCH $launch $name ms $1 setup_ms $(ph '(start to first vCPU run)') populate_ms \
$(ph 'phase guest RAM faulted in (MADV_POPULATE_WRITE)') dmamap_ms \
$(ph 'phase VFIO: DMA map (pinning) of guest RAM, BARs, MSI-X') guest_up_s $(guest "$name" | cut -d' ' -f1) \
ram_huge_kib $8 thp_alloc $(($(vmstat thp_fault_alloc) - a0)) thp_fallback $(($(vmstat thp_fault_fallback) - f0)) \
compact_stall $(($(vmstat compact_stall) - c0)) free2m_before $fb memfree_kib_before $mf calib_ms $cal"
}

qemu_launch() {
	name=$1
	measure "$1" /usr/bin/qemu-system-x86_64 $QEMU_OPTS -kernel "$VMM_KERNEL" \
		-initrd /tmp/inner.cpio -append "$CMDLINE${XARGS:+ $XARGS}" -device vfio-pci,host="$vf"
	R=$(cat "/tmp/$name.m")
}

TRACING=""
: > /tmp/exitsby
: > /tmp/rounds
r=1
# The rounds alternate who goes first: iovm (then QEMU, then iovm's variants) in odd rounds,
# QEMU in even ones.
while [ $r -le $ROUNDS ]; do
	if [ $((r % 2)) = 1 ]; then order="iovm qemu $VARIANTS"; else order="qemu iovm $VARIANTS"; fi
	echo "ROUND $r first ${order%% *}"
	for cfg in $order; do
		case $cfg in
		iovm) iovm_launch iovm ;;
		qemu) qemu_launch qemu ;;
		*) iovm_launch "iovm-$cfg" IOVM_CPUID="$cfg" ;;
		esac
		name=$cfg
		[ "$cfg" = iovm ] || [ "$cfg" = qemu ] || name="iovm-$cfg"
		set -- $R $(guest "$name")
		echo "ROUND $r $cfg ms $1 exits $2 io $3 mmio $4 halt $5 inj $6 overhead_kib $7 ram_huge_kib $8 guest_up_s $9 guest_irqs ${10} guest_timer_irqs ${11}"
		tail -n 1 /tmp/exitsby
		echo "$r $cfg $*" >> /tmp/rounds
		grep '^DIAG' "/tmp/$name.out" > "$RIG_BLOBS/round$r-$cfg.diag"
	done
	r=$((r + 1))
done
ok "$ROUNDS rounds each, alternating who boots first"
cp /tmp/iovm.out "$RIG_BLOBS/iovm-last.out"
cp /tmp/qemu.out "$RIG_BLOBS/qemu-last.out"

# Initcalls: with initcall_debug (the guest prints those of 100 us or more), not timed as rounds.
XARGS="initcall_debug log_buf_len=4M diag=2"
k=1
while [ $k -le $DIAG_PAIRS ]; do
	iovm_launch iovm
	cp /tmp/iovm.out "$RIG_BLOBS/boot-iovm-diag$k.out"
	qemu_launch qemu
	cp /tmp/qemu.out "$RIG_BLOBS/boot-qemu-diag$k.out"
	k=$((k + 1))
done
XARGS=""

# One traced pair: the test host's KVM tracepoints from launch to /init, summed.
T=/sys/kernel/tracing
[ -d $T/events/kvm ] || T=/sys/kernel/debug/tracing
EVENTS="kvm_exit kvm_inj_virq kvm_pio kvm_mmio kvm_msr kvm_emulate_insn kvm_apic_accept_irq"
if [ -d $T/events/kvm ]; then
	for cfg in iovm qemu; do
		echo 0 > $T/tracing_on
		echo 16384 > $T/buffer_size_kb
		: > $T/trace
		for e in $EVENTS; do [ -f $T/events/kvm/$e/enable ] && echo 1 > $T/events/kvm/$e/enable; done
		echo 1 > $T/tracing_on
		TRACING=$T
		if [ $cfg = iovm ]; then iovm_launch iovm-traced; else qemu_launch qemu; fi
		TRACING=""
		for e in $EVENTS; do [ -f $T/events/kvm/$e/enable ] && echo 0 > $T/events/kvm/$e/enable; done
		awk '
			/ kvm_exit: / { for (i = 1; i < NF; i++) if ($i == "reason") { c["exit " $(i + 1)]++; break } }
			/ kvm_inj_virq: / { c["inject " $(NF)]++ ; if ($NF == "[reinjected]") c["inject " $(NF - 1) " reinjected"]++ }
			/ kvm_apic_accept_irq: / { for (i = 1; i < NF; i++) if ($i == "vec") { c["accept vec " $(i + 1) " " $(i + 2)]++; break } }
			/ kvm_pio: / { for (i = 1; i < NF; i++) if ($i ~ /^pio_/) { c[$i " " $(i + 2)]++; break } }
			/ kvm_mmio: / { for (i = 1; i < NF; i++) if ($i == "mmio") { c["mmio " $(i + 1) " " $(i + 5)]++; break } }
			/ kvm_msr: / { for (i = 1; i < NF; i++) if ($i ~ /^msr_(read|write)$/) { c[$i " " $(i + 1)]++; break } }
			/ kvm_emulate_insn: / { s = $0; sub(/.*kvm_emulate_insn: [^:]*:[^:]*:/, "", s); sub(/ *\(.*/, "", s); c["emulate " s]++ }
			/ kvm_/ { n++; for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+:$/) { t = $i; break }
				if (first == "") first = t; last = t }
			END { for (k in c) print c[k], k; print n + 0, "events from", first, "to", last }' $T/trace |
			sort -rn > "$RIG_BLOBS/trace-$cfg.txt"
		: > $T/trace
		echo "TRACE $cfg $(tail -n 1 "$RIG_BLOBS/trace-$cfg.txt")"
		for cat in exit inject accept pio_ mmio msr_ emulate; do
			grep " $cat" "$RIG_BLOBS/trace-$cfg.txt" | head -n 8 | sed "s/^/TRACE $cfg /"
		done
	done
	echo 1408 > $T/buffer_size_kb
else
	log "no KVM tracepoints in the test host ($T): trace skipped"
fi

# Launches in a row (issue 20 item 3): iovm only, one after the other.
s=1
while [ $s -le $SERIES ]; do
	iovm_launch iovm-series
	s=$((s + 1))
done

# One way of taking medians everywhere: each figure's iovm/QEMU ratio per round, then the
# median of those ratios (the lower middle one for an even count); the medians of each side
# are printed beside it for reference only. /tmp/rounds: "round cfg ms exits io mmio halt
# injections overhead_kib ram_huge_kib guest_up_s guest_irqs guest_timer_irqs".
med() { awk -v c=$1 '$c != "-" { print $c }' "$2" | sort -n | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)]; else print "-" }'; }
# ratio_med COL [DIVCOL]: median over the rounds of iovm's COL / QEMU's COL (of the same
# round), each first divided by its DIVCOL when given (a rate; column 3, ms, in seconds).
ratio_med() { paste /tmp/cfg.rounds /tmp/qemu.rounds | awk -v c=$1 -v d=${2:-0} '
	function v(off,   x, y) { x = $(c + off); if (d) { y = $(d + off); if (d == 3) y /= 1000; x = (y > 0) ? x / y : 0 } return x }
	{ a = v(0); b = v(13); if (a != "-" && b > 0) print a / b }' | sort -n |
	awk '{ a[NR] = $1 } END { if (NR) printf "%.2f", a[int((NR + 1) / 2)]; else print "-" }'; }
# rate_med COL DIVCOL FILE: median of COL / DIVCOL (per second) over FILE's rounds.
rate_med() { awk -v i=$1 -v j=$2 '$i != "-" { d = (j == 3 ? $j / 1000 : $j); if (d > 0) print $i / d }' "$3" | sort -n |
	awk '{ a[NR] = $1 } END { if (NR) printf "%.0f", a[int((NR + 1) / 2)]; else print "-" }'; }
awk '$2 == "qemu"' /tmp/rounds > /tmp/qemu.rounds
for cfg in iovm $VARIANTS; do
	awk -v c=$cfg '$2 == c' /tmp/rounds > /tmp/cfg.rounds
	tag=""
	[ $cfg = iovm ] || tag="_$cfg"
	echo "FIGURE vs_qemu${tag}_launch_to_init_ratio $(ratio_med 3) x (median of $ROUNDS per-round ratios)"
	for k in "3 launch_to_init_ms ms" "4 exits exits" "5 io_exits exits" "6 mmio_exits exits" "7 halt_exits exits" \
		"8 injections injections" "9 overhead_kib KiB" "11 guest_uptime_at_init s" "12 guest_irqs_at_init irqs" \
		"13 guest_timer_irqs_at_init irqs"; do
		set -- $k
		echo "FIGURE vs_qemu${tag}_$2 iovm $(med $1 /tmp/cfg.rounds) qemu $(med $1 /tmp/qemu.rounds) $3 (medians of each side; ratio = median of per-round ratios $(ratio_med $1))"
	done
	# Interrupts injected per second of launch to /init and per second of the guest's own
	# uptime at /init.
	for x in "8 3 injections_per_launch_s" "8 11 injections_per_guest_s"; do
		set -- $x
		echo "FIGURE vs_qemu${tag}_$3 iovm $(rate_med $1 $2 /tmp/cfg.rounds) qemu $(rate_med $1 $2 /tmp/qemu.rounds) /s (medians of each side; ratio = median of per-round ratios $(ratio_med $1 $2))"
	done
done
echo "FIGURE vs_qemu_options $QEMU_OPTS"
