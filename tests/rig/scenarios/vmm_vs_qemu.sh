# iovm against QEMU in one run (bench/vmm_bench.sh; the image needs IOV_RIG_WITH_QEMU=1): the same
# inner kernel, initramfs and command line, the same igb VF, 256 MiB and 1 vCPU, booted
# alternately by iovm and by QEMU (-accel kvm, q35 with qboot, direct kernel boot,
# -nodefaults, vfio-pci), ROUNDS times. For each boot: launch to the guest's /init (its
# first console line, seen by polling the console file), the test host's KVM per-VM
# statistics at that moment (/sys/kernel/debug/kvm/PID-FD: exits, io, mmio, halt) and the
# VMM's resident memory outside guest RAM (smaps: RSS minus the guest RAM mapping).
# Prints "ROUND ..." and "FIGURE ..." lines.
# rig-presets: bench
# rig-timeout: 500

. /rig/scenarios/vmm_lib.sh
vmm_prereqs
check "QEMU in the image (IOV_RIG_WITH_QEMU=1)" test -x /usr/bin/qemu-system-x86_64
check "KVM debugfs statistics" test -d /sys/kernel/debug/kvm
vmm_setup_vf
vmm_initramfs /tmp/inner.cpio
ROUNDS=${VMM_BENCH_ROUNDS:-5}
MEM_MIB=256
# No ping target: the guest reaches /init, waits 2 s and reboots (both VMMs then exit).
CMDLINE="$VMM_CMDLINE quiet"
QEMU_OPTS="-accel kvm -M q35,smm=off,vmport=off -cpu host -bios /usr/share/qemu/qboot.rom \
-nodefaults -no-user-config -display none -serial stdio -no-reboot -m $MEM_MIB -smp 1"

now_cs() { awk '{ split($1, a, "."); print a[1] * 100 + a[2] }' /proc/uptime; }

# measure NAME CMD...: launches CMD in the background (console to /tmp/NAME.out) and
# samples the moment the guest's /init writes its first line. Writes
# "ms exits io mmio halt overhead_kib" to /tmp/NAME.m, or fails the scenario (it is called
# directly, never inside $(...), where a fail would only leave the subshell).
measure() {
	name=$1
	shift
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
	d=$(ls -d /sys/kernel/debug/kvm/$pid-* 2>/dev/null | head -n1)
	st="- - - -"
	[ -n "$d" ] && st="$(cat "$d/exits") $(cat "$d/io_exits") $(cat "$d/mmio_exits") $(cat "$d/halt_exits")"
	# Every non-zero exit and injection counter of that VM, for telling where exits differ.
	[ -n "$d" ] && echo "EXITSBY $name $(cd "$d" && for f in *exits* *injections* insn_emulation \
		pf_taken pf_fixed halt_wakeup; do [ -f "$f" ] && v=$(cat "$f") && [ "$v" != 0 ] &&
		printf '%s=%s ' "$f" "$v"; done)" >> /tmp/exitsby
	# RSS outside guest RAM: every mapping but the one of guest RAM's size (+ up to 8 MiB
	# of alignment, as QEMU maps it).
	ovh=$(awk -v ram=$((MEM_MIB * 1024)) '
		/^[0-9a-f]+-[0-9a-f]+ / { cur = "" }
		/^Size:/ { big = ($2 >= ram && $2 <= ram + 8192) }
		/^Rss:/ { if (!big) o += $2 }
		END { print o + 0 }' /proc/$pid/smaps 2>/dev/null) || ovh=-	# the VMM ended already
	wait $pid || true	# iovm ends with 3 (guest reboot), QEMU with its own status
	grep -q "^INNER: init up" "/tmp/$name.out" || { tail -n 20 "/tmp/$name.out"; fail "$name: the guest never reached /init"; }
	echo "$(( (t1 - t0) * 10 )) $st $ovh" > "/tmp/$name.m"
}
run_iovm() {
	measure iovm /usr/bin/iovm --kernel "$VMM_KERNEL" --initrd /tmp/inner.cpio \
		--mem ${MEM_MIB}M --cmdline "$CMDLINE" --vfio "$vf"
	set -- $(cat /tmp/iovm.m)
	echo "ROUND $r iovm ms $1 exits $2 io $3 mmio $4 halt $5 overhead_kib $6"
	tail -n 1 /tmp/exitsby
	echo "$r $*" >> /tmp/iovm.rounds
}
run_qemu() {
	measure qemu /usr/bin/qemu-system-x86_64 $QEMU_OPTS -kernel "$VMM_KERNEL" \
		-initrd /tmp/inner.cpio -append "$CMDLINE" -device vfio-pci,host="$vf"
	set -- $(cat /tmp/qemu.m)
	echo "ROUND $r qemu ms $1 exits $2 io $3 mmio $4 halt $5 overhead_kib $6"
	tail -n 1 /tmp/exitsby
	echo "$r $*" >> /tmp/qemu.rounds
}

r=1
: > /tmp/exitsby
: > /tmp/iovm.rounds
: > /tmp/qemu.rounds
# The rounds alternate who goes first: iovm in odd rounds, QEMU in even ones.
while [ $r -le $ROUNDS ]; do
	if [ $((r % 2)) = 1 ]; then
		echo "ROUND $r first iovm"
		run_iovm; run_qemu
	else
		echo "ROUND $r first qemu"
		run_qemu; run_iovm
	fi
	r=$((r + 1))
done
ok "$ROUNDS rounds each, alternating who boots first"
cp /tmp/iovm.out "$RIG_BLOBS/iovm-last.out"
cp /tmp/qemu.out "$RIG_BLOBS/qemu-last.out"
# One way of taking medians everywhere: each figure's iovm/QEMU ratio per round, then the
# median of those ratios (the lower middle one for an even count); the medians of each side
# are printed beside it for reference only.
med() { awk -v c=$1 '{ print $c }' "$2" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
ratio_med() { paste /tmp/iovm.rounds /tmp/qemu.rounds | awk -v c=$1 -v n=$((7 + $1)) \
	'{ if ($n > 0) print $c / $n }' | sort -n | awk '{ a[NR] = $1 } END { if (NR) printf "%.2f", a[int((NR + 1) / 2)]; else print "-" }'; }
echo "FIGURE vs_qemu_launch_to_init_ratio $(ratio_med 2) x (median of $ROUNDS per-round ratios)"
for k in "2 launch_to_init_ms ms" "3 exits exits" "4 io_exits exits" "5 mmio_exits exits" "6 halt_exits exits" "7 overhead_kib KiB"; do
	set -- $k
	echo "FIGURE vs_qemu_$2 iovm $(med $1 /tmp/iovm.rounds) qemu $(med $1 /tmp/qemu.rounds) $3 (medians of each side; ratio = median of per-round ratios $(ratio_med $1))"
done
echo "FIGURE vs_qemu_options $QEMU_OPTS"
