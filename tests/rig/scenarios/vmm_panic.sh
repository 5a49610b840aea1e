# A panicking guest ends iovm with status 4: the guest's pvpanic-pci driver reports the
# panic through iovm's pvpanic PCI device (1b36:0011). Needs pvpanic-pci.ko in the test-host
# image (tests/rig/image.sh MODULES); without it the scenario says so and checks nothing.
# rig-presets: guests

. /rig/scenarios/vmm_lib.sh
vmm_prereqs
if [ ! -f /lib/modules/pvpanic-pci.ko ] || [ ! -f /lib/modules/pvpanic.ko ]; then
	skip_scenario "no pvpanic-pci.ko in the test-host image (add pvpanic-pci to MODULES in tests/rig/image.sh)"
fi
W=/tmp/panic
rm -rf "$W"
mkdir -p "$W/bin" "$W/dev" "$W/proc" "$W/sys"
cp /bin/busybox "$W/bin/busybox"
ln -s busybox "$W/bin/sh"
cp /lib/modules/pvpanic.ko /lib/modules/pvpanic-pci.ko "$W/"
cat > "$W/init" <<'INIT'
#!/bin/sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
insmod /pvpanic.ko
insmod /pvpanic-pci.ko && echo "INNER: pvpanic-pci loaded" > /dev/kmsg
ls /sys/bus/pci/drivers/pvpanic-pci/ | grep -q 0000 && echo "INNER: pvpanic-pci bound" > /dev/kmsg
echo "INNER: panicking" > /dev/kmsg
echo c > /proc/sysrq-trigger
INIT
chmod 755 "$W/init"
(cd "$W" && find . | cpio -o -H newc 2>/dev/null) > /tmp/panic.cpio
timeout 100 /usr/bin/iovm --kernel "$VMM_KERNEL" --initrd /tmp/panic.cpio --mem 128M -v \
	--cmdline "$VMM_CMDLINE panic=-1" < /dev/null > /tmp/iovm-panic.out 2>&1 && rc=0 || rc=$?
cp /tmp/iovm-panic.out "$RIG_BLOBS/iovm-panic.out"
grep -E 'INNER|^iovm|Kernel panic' /tmp/iovm-panic.out || true
check "pvpanic-pci bound in the guest" grep -q "INNER: pvpanic-pci bound" /tmp/iovm-panic.out
expect_eq "iovm exit status (guest panic)" "$rc" 4
check "iovm names the reason" grep -q "stopping: guest panic (pvpanic)" /tmp/iovm-panic.out
