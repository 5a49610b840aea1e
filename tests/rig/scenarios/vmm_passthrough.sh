# iovm end to end: iovm boots the test host's own kernel (nested KVM) with a minimal
# initramfs and one igb VF passed through by VFIO. In the guest igbvf binds, its MSI-X
# vectors show in /proc/interrupts and ping6 to the PF's link-local address answers through
# the VF. Then the guest points the VF's TX ring outside its RAM (IOVA 4 GiB) and bumps the
# tail: the host's IOMMU must log a DMAR fault for the VF and the host must keep running.
# The guest ends with `reboot -f` (i8042 reset, iovm exit 3); afterwards the VF, reset by
# iovm, works again on the host's igbvf.
# rig-presets: default

KERNEL=""
for k in /boot/vmlinuz /rig/vmlinuz; do [ -f "$k" ] && KERNEL=$k && break; done
[ -n "$KERNEL" ] || fail "no kernel for the inner guest in the test-host image (tests/rig/image.sh should copy vmlinuz to /boot/vmlinuz)"
check "iovm in the image" test -x /usr/bin/iovm
check "/dev/kvm" test -c /dev/kvm
check "igbvf module file" test -f /lib/modules/igbvf.ko

pf=$(pf_list | head -n1)
[ -n "$pf" ] || fail "no SR-IOV PF"
pfnet=$(ls "$SYSPCI/$pf/net" 2>/dev/null | head -n1)
[ -n "$pfnet" ] || fail "PF $pf has no netdev"
$IP link set "$pfnet" up || fail "ip link set $pfnet up"
create_vfs "$pf" 2
vf=$(vf_addrs "$pf" | head -n1)
bind_vfio "$vf"
expect_eq "$vf driver" "$(dev_driver "$vf")" vfio-pci
grp=$(dev_group "$vf")
check "/dev/vfio/$grp" test -c "/dev/vfio/$grp"

# The PF's link-local address (the inner guest pings it through the VF).
i=0
pf6=""
while [ -z "$pf6" ] && [ $i -lt 50 ]; do
	pf6=$($IP -6 addr show dev "$pfnet" scope link 2>/dev/null | awk '/inet6 fe80/ && !/tentative/ { sub(/\/.*/, "", $2); print $2; exit }')
	[ -n "$pf6" ] || sleep 0.2
	i=$((i + 1))
done
[ -n "$pf6" ] || fail "$pfnet has no usable link-local address"
log "PF $pf ($pfnet) $pf6; VF $vf in group $grp"

# ---- the inner guest's initramfs: busybox + igbvf + a test init
W=/tmp/inner
rm -rf "$W"
mkdir -p "$W/bin" "$W/dev" "$W/proc" "$W/sys" "$W/tmp"
cp /bin/busybox "$W/bin/busybox"
ln -s busybox "$W/bin/sh"
cp /lib/modules/igbvf.ko "$W/igbvf.ko"
cat > "$W/init" <<'INIT'
#!/bin/sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
# Progress goes through the kernel log too (printed by polling, independent of the tty).
say() { echo "INNER: $*"; echo "INNER: $*" > /dev/kmsg; }
# iovm mark 0x31 at init: launch-to-init time (iovm --stats)
printf '1' | dd of=/dev/port bs=1 seek=1281 count=1 2>/dev/null
say "init up"
arg() { for w in $(cat /proc/cmdline); do case "$w" in "$1="*) echo "${w#*=}";; esac; done; }
pf6=$(arg pf6)
insmod /igbvf.ko || say "FAIL insmod igbvf"
i=0
while [ ! -d /sys/class/net/eth0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
dev=$(ls -d /sys/bus/pci/devices/*/net/eth0 2>/dev/null | head -n1)
[ -n "$dev" ] && say "igbvf bound: $(basename $(readlink ${dev%/net/eth0}/driver))"
say "eth0 up next"
ip link set eth0 up
i=0
while [ "$(cat /sys/class/net/eth0/carrier 2>/dev/null)" != 1 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
sleep 2
grep -E 'eth0' /proc/interrupts | while read -r l; do say "irq $l"; done
printf '2' | dd of=/dev/port bs=1 seek=1281 count=1 2>/dev/null
if ping6 -c 5 -W 2 -I eth0 "$pf6" > /tmp/ping.out 2>&1; then
	say "ping6 ok"
else
	say "ping6 FAIL"
fi
while read -r l; do say "| $l"; done < /tmp/ping.out
printf '3' | dd of=/dev/port bs=1 seek=1281 count=1 2>/dev/null
grep -E 'eth0' /proc/interrupts | while read -r l; do say "irq-after $l"; done
# The attack: TX ring base at IOVA 0x1_0000_0000 (outside guest RAM), then bump the tail.
bar0=$(head -n1 "${dev%/net/eth0}/resource" | cut -d' ' -f1)
if [ -n "$bar0" ]; then
	b=$((bar0))
	devmem $((b + 0x3800)) 32 0x00000000
	devmem $((b + 0x3804)) 32 0x00000001
	tdt=$(devmem $((b + 0x3818)) 32)
	devmem $((b + 0x3818)) 32 $(( (tdt + 1) % 256 ))
	say "TX ring moved to 0x100000000, TDT $tdt -> $(( (tdt + 1) % 256 ))"
	sleep 1
fi
say "rebooting"
reboot -f
INIT
chmod 755 "$W/init"
(cd "$W" && find . | cpio -o -H newc 2>/dev/null) > /tmp/inner.cpio
check "inner initramfs built" test -s /tmp/inner.cpio

# ---- boot it
dmesg -c > /dev/null
t0=$(date +%s)
timeout 100 /usr/bin/iovm --kernel "$KERNEL" --initrd /tmp/inner.cpio --mem 256M --stats \
	-v --cmdline "console=ttyS0 acpi=off pci=conf1 reboot=k panic=-1 iomem=relaxed i8042.noaux i8042.nopnp tsc=reliable pf6=$pf6" \
	--vfio "$vf" < /dev/null > /tmp/iovm.out 2>&1
rc=$?
t1=$(date +%s)
kmsg=$(dmesg)
cp /tmp/iovm.out "$RIG_BLOBS/iovm.out"
grep -E 'INNER:|^iovm' /tmp/iovm.out
log "iovm ran $((t1 - t0)) s, exit status $rc"
grep -q "INNER: init up" /tmp/iovm.out || { tail -n 40 /tmp/iovm.out; fail "inner guest never reached init"; }
expect_eq "iovm exit status (guest reboot -f)" "$rc" 3
check "igbvf bound in the guest" grep -q "INNER: igbvf bound: igbvf" /tmp/iovm.out
check "MSI-X vectors in the guest's /proc/interrupts" grep -q "INNER: irq .*eth0-\(rx\|tx\)-0" /tmp/iovm.out
check "ping6 through the VF" grep -q "INNER: ping6 ok" /tmp/iovm.out
check "the attack ran" grep -q "INNER: TX ring moved" /tmp/iovm.out
vfshort=${vf#0000:}
echo "$kmsg" | grep -i dmar | head -n 5
check "DMAR fault for $vfshort at 0x100000000" sh -c "echo \"\$1\" | grep -qi \"DMAR.*\[$vfshort\] fault addr 0x100000000\"" _ "$kmsg"
check "host still running" test -d /proc/1

# ---- the VF after iovm: reset, back on igbvf, pings the PF from the host side
echo "" > "$SYSPCI/$vf/driver_override"
echo "$vf" > "$SYSPCI/$vf/driver/unbind" 2>/dev/null
echo "$vf" > /sys/bus/pci/drivers_probe
i=0
while [ -z "$(ls "$SYSPCI/$vf/net" 2>/dev/null)" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
vfnet=$(ls "$SYSPCI/$vf/net" 2>/dev/null | head -n1)
[ -n "$vfnet" ] || fail "VF $vf has no netdev on igbvf after iovm"
expect_eq "$vf driver after iovm" "$(dev_driver "$vf")" igbvf
$IP link set "$vfnet" up
sleep 3
check "ping6 from the host's VF netdev to the PF" ping6 -c 2 -W 2 -I "$vfnet" "$pf6"
