# iovm's virtio-blk root disk: a stock Debian kernel with an inner initramfs that only loads
# virtio_blk and ext4 (and their dependencies; virtio_pci is built in) and switches root to
# an ext4 image on the disk (tests/rig/disk/init is its /sbin/init). iovm runs as nobody
# with its seccomp allow-list, so the I/O thread's calls are the sandbox's too.
#  1. --disk PATH: the guest writes a 4 MiB file, syncs it and says so; a second iovm on
#     the same image is refused (OFD lock); kill -9 of the first iovm.
#  2. --disk-fd N (opened read-write by the shell): the next boot reads the file back
#     intact (checksum) and powers off (status 0).
#  3. --disk PATH,ro: writes fail in the guest (file and raw device), the file still
#     reads back, and the image's checksum is the same before and after.
#  4. A read-only fd without ,ro is refused before the guest starts.
# Old-style command line (acpi=off pci=conf1): iovm has no ACPI yet.
# rig-presets: guests
# rig-timeout: 540

. /rig/scenarios/vmm_lib.sh
vmm_prereqs
check "root disk image in the test host" test -s /rig/disk/root.ext4
check "inner guest modules" test -s /lib/modules/inner/order

vmm_disk_initramfs /tmp/disk.cpio

cp /rig/disk/root.ext4 /tmp/root.ext4
IOVM="/usr/bin/iovm --user 65534:65534 --stats -v --kernel $VMM_KERNEL --initrd /tmp/disk.cpio --mem 256M"
show() { grep -E '^INNER:|^iovm' "$1" | grep -v '^iovm: set-up phase' || true; }

# 1. write, sync, kill -9
$IOVM --cmdline "$VMM_CMDLINE step=write" --disk /tmp/root.ext4 < /dev/null > /tmp/iovm-dw.out 2>&1 &
ipid=$!
i=0
while ! grep -q "INNER: written" /tmp/iovm-dw.out && kill -0 $ipid 2>/dev/null && [ $i -lt 2400 ]; do
	sleep 0.1
	i=$((i + 1))
done
timeout 30 $IOVM --cmdline "$VMM_CMDLINE step=read" --disk /tmp/root.ext4 < /dev/null \
	> /tmp/iovm-dbusy.out 2>&1 && brc=0 || brc=$?
kill -9 $ipid
wait $ipid && rc=0 || rc=$?
cp /tmp/iovm-dw.out "$RIG_BLOBS/iovm-disk-write.out"
show /tmp/iovm-dw.out
sum=$(sed -n 's/.*INNER: written \([0-9a-f]*\).*/\1/p' /tmp/iovm-dw.out | head -n1)
check "the guest's root is the ext4 disk" grep -q "INNER: root on /dev/root ext4 rw\|INNER: root on /dev/vda ext4 rw" /tmp/iovm-dw.out
check "GET_ID: the serial is the image's name" grep -q "INNER: serial root.ext4 ro 0 size 65536" /tmp/iovm-dw.out
check "MSI-X vectors for config and queue" grep -q "INNER: irqs virtio0-config virtio0-req.0" /tmp/iovm-dw.out
check "the guest wrote and synced its file" test -n "$sum"
expect_eq "iovm killed by SIGKILL" "$rc" 137
cat /tmp/iovm-dbusy.out
expect_eq "a second iovm on the image (exit status)" "$brc" 1
check "it says the image is in use" grep -q "in use: another process holds" /tmp/iovm-dbusy.out

# 2. the next boot reads it back (disk given as an fd opened read-write)
timeout 150 $IOVM --cmdline "$VMM_CMDLINE step=read" --disk-fd 7 < /dev/null > /tmp/iovm-dr.out 2>&1 \
	7<>/tmp/root.ext4 && rc=0 || rc=$?
cp /tmp/iovm-dr.out "$RIG_BLOBS/iovm-disk-read.out"
show /tmp/iovm-dr.out
check "read back intact after kill -9" grep -q "INNER: read back ok $sum" /tmp/iovm-dr.out
expect_eq "iovm exit status (poweroff)" "$rc" 0
check "requests done by the I/O thread" grep -q "iovm: virtio-blk0 (--disk-fd 7): [1-9][0-9]* reads" /tmp/iovm-dr.out
check "no device reset needed" grep -q " 0 I/O errors, 0 needs-reset" /tmp/iovm-dr.out
# Queue notifications go through KVM's ioeventfd: far fewer exits to the BAR than requests.
reqs=$(sed -n 's/^iovm: virtio-blk0 .*: \([0-9]*\) reads .*, \([0-9]*\) writes .*/\1 \2/p' /tmp/iovm-dr.out | awk '{ print $1 + $2 }')
bar=$(awk '$1 == "mmio" && $3 == "virtio-blk0" { print $4 }' /tmp/iovm-dr.out)
log "requests $reqs, exits to the disk's BAR ${bar:-0}"
check "notifications do not exit to iovm (ioeventfd)" test "${bar:-0}" -lt "$((reqs / 2))"

# 3. read-only: writes refused, image unchanged
before=$(md5sum < /tmp/root.ext4)
timeout 150 $IOVM --cmdline "$VMM_CMDLINE step=ro" --disk /tmp/root.ext4,ro < /dev/null \
	> /tmp/iovm-dro.out 2>&1 && rc=0 || rc=$?
after=$(md5sum < /tmp/root.ext4)
cp /tmp/iovm-dro.out "$RIG_BLOBS/iovm-disk-ro.out"
show /tmp/iovm-dro.out
check "the guest sees a read-only disk" grep -q "INNER: serial root.ext4 ro 1" /tmp/iovm-dro.out
check "file write refused" grep -q "INNER: ro: file write refused" /tmp/iovm-dro.out
check "raw device write refused" grep -q "INNER: ro: raw write refused" /tmp/iovm-dro.out
check "the file still reads" grep -q "INNER: ro: read ok" /tmp/iovm-dro.out
expect_eq "iovm exit status (poweroff)" "$rc" 0
expect_eq "image checksum unchanged by the read-only boot" "$after" "$before"

# 4. a read-only fd for a read-write disk
timeout 30 $IOVM --cmdline "$VMM_CMDLINE" --disk-fd 8 < /dev/null > /tmp/iovm-dbad.out 2>&1 \
	8</tmp/root.ext4 && rc=0 || rc=$?
cat /tmp/iovm-dbad.out
expect_eq "read-only fd without ,ro (exit status)" "$rc" 1
check "it says why" grep -q "open read-only, the disk needs reading and writing" /tmp/iovm-dbad.out
