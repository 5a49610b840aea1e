# iovm end to end: iovm boots the test host's own kernel (nested KVM) with a minimal
# initramfs and one igb VF passed through by VFIO. In the guest igbvf binds, its MSI-X
# vectors show in /proc/interrupts and ping6 to the PF's link-local address answers through
# the VF. Then the guest points the VF's TX ring outside its RAM (IOVA 4 GiB) and bumps the
# tail: the host's IOMMU must log a DMAR fault for the VF and the host must keep running.
# The guest ends with `reboot -f` (i8042 reset, iovm exit 3); afterwards the VF, reset by
# iovm, works again on the host's igbvf.
# rig-kernel-allow: DMAR: DRHD: handling fault status reg
# rig-kernel-allow: DMAR: \[DMA Read NO_PASID\] Request device \[01:10\.0\] fault addr 0x1000[0-9a-f]{5}
# rig-no-retry: an attack scenario (the guest's DMA outside its RAM): a stuck CPU or a reset here is a failure
# rig-presets: guests

. /rig/scenarios/vmm_lib.sh
vmm_prereqs
vmm_setup_vf
vmm_initramfs /tmp/inner.cpio

dmesg -c > /dev/null
t0=$(date +%s)
timeout 100 /usr/bin/iovm --kernel "$VMM_KERNEL" --initrd /tmp/inner.cpio --mem 256M --stats -v \
	--cmdline "$VMM_CMDLINE iomem=relaxed pf6=$pf6 attack=1" \
	--vfio "$vf" < /dev/null > /tmp/iovm.out 2>&1 && rc=0 || rc=$?
t1=$(date +%s)
kmsg=$(dmesg)
cp /tmp/iovm.out "$RIG_BLOBS/iovm.out"
grep -E '^INNER:|^iovm|^  ' /tmp/iovm.out || true
log "iovm ran $((t1 - t0)) s, exit status $rc"
grep -q "INNER: init up" /tmp/iovm.out || { tail -n 40 /tmp/iovm.out; fail "inner guest never reached init"; }
expect_eq "iovm exit status (guest reboot -f)" "$rc" 3
check "igbvf bound in the guest" grep -q "INNER: igbvf bound: igbvf" /tmp/iovm.out
check "MSI-X vectors in the guest's /proc/interrupts" grep -q "INNER: irq .*MSIX.*eth0-\(rx\|tx\)-0" /tmp/iovm.out
check "ping6 through the VF" grep -q "INNER: ping6 ok" /tmp/iovm.out
check "the attack ran" grep -q "INNER: TX ring moved" /tmp/iovm.out
vfshort=${vf#0000:}
echo "$kmsg" | grep -i dmar | head -n 5
check "DMAR fault for $vfshort at 0x100000000" sh -c "echo \"\$1\" | grep -qi \"DMAR.*\[$vfshort\] fault addr 0x100000000\"" _ "$kmsg"
check "host still running" test -d /proc/1
# a VFIO group opens only once at a time: this fails while anything still holds it
check "iovm released /dev/vfio/$grp" sh -c "exec 9</dev/vfio/$grp"

# A VF still on its host driver (igbvf) cannot be passed through: clear error, status 1.
/usr/bin/iovm --kernel "$VMM_KERNEL" --mem 64M --vfio "$vf2" < /dev/null > /tmp/iovm-bound.out 2>&1 && rc=0 || rc=$?
cat /tmp/iovm-bound.out
expect_eq "VF on igbvf: iovm exit status" "$rc" 1
check "VF on igbvf: the message says to bind vfio-pci" grep -q "$vf2.*bound to vfio-pci" /tmp/iovm-bound.out

# The VF after iovm: reset, back on igbvf, pings the PF from the host side.
echo "" > "$SYSPCI/$vf/driver_override"
echo "$vf" > "$SYSPCI/$vf/driver/unbind" 2>/dev/null
echo "$vf" > /sys/bus/pci/drivers_probe
i=0
while [ -z "$(ls "$SYSPCI/$vf/net" 2>/dev/null)" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
vfnet=$(ls "$SYSPCI/$vf/net" 2>/dev/null | head -n1)
[ -n "$vfnet" ] || fail "VF $vf has no netdev on igbvf after iovm"
expect_eq "$vf driver after iovm" "$(dev_driver "$vf")" igbvf
$IP link set "$vfnet" up
# Ping once the link is up and its link-local address has passed DAD (15 s at most).
i=0
while { [ "$(cat "/sys/class/net/$vfnet/carrier" 2>/dev/null)" != 1 ] ||
	! $IP -6 addr show dev "$vfnet" scope link | grep -q 'inet6 fe80' ||
	$IP -6 addr show dev "$vfnet" | grep -q tentative; }; do
	i=$((i + 1)); [ $i -le 150 ] || fail "$vfnet: no carrier or no usable link-local address 15 s after link up"
	sleep 0.1
done
check "ping6 from the host's VF netdev to the PF" ping6 -c 2 -W 2 -I "$vfnet" "$pf6"
