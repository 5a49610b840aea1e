# iovm's virtio-blk against QEMU's (bench/disk_bench.sh, make bench-disk; the image needs
# IOV_RIG_WITH_QEMU=1): the same inner kernel, an initramfs that loads only virtio_blk and
# runs diskbench (tests/rig/diskbench.c, O_DIRECT) on /dev/vda, the same 128 MiB raw image
# in the test host's /tmp, 256 MiB and 1 vCPU, booted alternately by iovm and by QEMU
# (-accel kvm, q35 with qboot, virtio-blk-pci disable-legacy=on, cache=writeback like
# iovm's buffered preadv/pwritev), ROUNDS times. Per boot: sequential write and read (1 MiB
# requests, MB/s) and 4 KiB random read and write (IOPS). Prints "ROUND ..." and
# "FIGURE ..." lines (medians, ratio iovm/QEMU: above 1 is iovm faster).
# rig-presets: bench
# rig-timeout: 1500

. /rig/scenarios/vmm_lib.sh
vmm_prereqs
check "QEMU in the image (IOV_RIG_WITH_QEMU=1)" test -x /usr/bin/qemu-system-x86_64
check "diskbench in the image" test -x /usr/bin/diskbench
check "virtio_blk for the inner guest" test -f /lib/modules/inner/virtio_blk.ko
ROUNDS=${VMM_BENCH_ROUNDS:-3}
SEQ_MIB=${DISK_BENCH_SEQ_MIB:-64}
RAND_N=${DISK_BENCH_RAND:-2000}
MEM_MIB=256

W=/tmp/dbench
rm -rf "$W"
mkdir -p "$W/bin" "$W/dev" "$W/proc" "$W/sys"
cp /bin/busybox "$W/bin/busybox"
ln -s busybox "$W/bin/sh"
cp /lib/modules/inner/virtio_blk.ko /usr/bin/diskbench "$W/"
cat > "$W/init" <<INIT
#!/bin/sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
say() { echo "INNER: \$*"; }
insmod /virtio_blk.ko
i=0
while [ ! -b /dev/vda ] && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i + 1)); done
say "init up"
for m in seqwrite:$SEQ_MIB seqread:$SEQ_MIB randread:$RAND_N randwrite:$RAND_N; do
	if r=\$(/diskbench /dev/vda \${m%:*} \${m#*:}); then say "BENCH \$r"; else say "BENCH FAIL \$m"; fi
done
say "bench done"
reboot -f
INIT
chmod 755 "$W/init"
(cd "$W" && find . | cpio -o -H newc 2>/dev/null) > /tmp/dbench.cpio
dd if=/dev/zero of=/tmp/bench.img bs=1M count=128 2>/dev/null
check "bench image" test -s /tmp/bench.img

CMDLINE="$VMM_CMDLINE quiet"
QEMU_OPTS="-accel kvm -M q35,smm=off,vmport=off -cpu host -bios /usr/share/qemu/qboot.rom \
-nodefaults -no-user-config -display none -serial stdio -no-reboot -m $MEM_MIB -smp 1"

# run NAME CMD...: one boot; its BENCH lines as "NAME MODE VALUE" in /tmp/dbench.res
run() {
	name=$1
	shift
	timeout 600 "$@" < /dev/null > "/tmp/$name.out" 2>&1 || true	# iovm ends with 3 (reboot)
	grep -q "^INNER: bench done" "/tmp/$name.out" || { tail -n 30 "/tmp/$name.out"; fail "$name: the guest did not finish the benchmark"; }
	grep -q "BENCH FAIL" "/tmp/$name.out" && { grep "BENCH" "/tmp/$name.out"; fail "$name: a benchmark failed in the guest"; }
	sed -n "s/^INNER: BENCH \([a-z]*\) \([0-9.]*\) .*/$name \1 \2/p" "/tmp/$name.out" | tee -a /tmp/dbench.res
}

: > /tmp/dbench.res
r=1
while [ $r -le $ROUNDS ]; do
	# alternate who goes first: the host's page cache then favours neither
	for v in $( [ $((r % 2)) = 1 ] && echo "iovm qemu" || echo "qemu iovm"); do
		if [ $v = iovm ]; then
			run iovm /usr/bin/iovm --kernel "$VMM_KERNEL" --initrd /tmp/dbench.cpio \
				--mem ${MEM_MIB}M --cmdline "$CMDLINE" --disk /tmp/bench.img --stats
		else
			run qemu /usr/bin/qemu-system-x86_64 $QEMU_OPTS -kernel "$VMM_KERNEL" \
				-initrd /tmp/dbench.cpio -append "$CMDLINE" \
				-drive file=/tmp/bench.img,format=raw,if=none,id=d0,cache=writeback,aio=threads \
				-device virtio-blk-pci,drive=d0,disable-legacy=on
		fi
	done
	echo "ROUND $r $(awk -v r=$r 'NR > (r - 1) * 8 && NR <= r * 8 { printf "%s:%s=%s ", $1, $2, $3 }' /tmp/dbench.res)"
	r=$((r + 1))
done
grep '^iovm: virtio-blk0' /tmp/iovm.out || true

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)] }'; }
for m in seqwrite seqread randread randwrite; do
	a=$(awk -v m=$m '$1 == "iovm" && $2 == m { print $3 }' /tmp/dbench.res | median)
	b=$(awk -v m=$m '$1 == "qemu" && $2 == m { print $3 }' /tmp/dbench.res | median)
	u="MB/s"
	case $m in rand*) u="IOPS (4 KiB)";; esac
	echo "FIGURE disk_$m iovm $a qemu $b $u ratio $(awk -v a="$a" -v b="$b" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }') (median of $ROUNDS rounds)"
done
echo "FIGURE disk_bench_setup seq $SEQ_MIB MiB, random $RAND_N x 4 KiB, O_DIRECT in the guest, 128 MiB raw image, 1 vCPU, nested KVM under TCG"
