# iovm with a device that is not a VF: the e1000e behind the PCIe switch (alone in its IOMMU
# group with its downstream port) passed through twice:
# - legacy INTx (e1000e.IntMode=0): KVM resample irqfd, level-triggered IOAPIC pin from the
#   MP table; the guest's driver must count interrupts;
# - MSI (IntMode=1): iovm must switch VFIO from INTx to MSI and back. QEMU's e1000e does not
#   deliver plain MSI at all here (the test host's own e1000e driver fails its MSI self-test
#   too, measured 2026-11-21), so the guest driver falls back to INTx: that fallback must
#   then work through iovm (MSI off -> INTx on again).
# Also: a VF of the igb in the switch's shared, non-viable group must be refused.
# rig-presets: shared-group

. /rig/scenarios/vmm_lib.sh
vmm_prereqs
check "e1000e module file" test -f /lib/modules/e1000e.ko

nic=""
for d in "$SYSPCI"/*; do
	[ "$(attr "$d/vendor")" = 0x8086 ] && [ "$(attr "$d/device")" = 0x10d3 ] && nic=$(basename "$d")
done
[ -n "$nic" ] || fail "no e1000e (8086:10d3) in this preset"
grp=$(dev_group "$nic")
log "e1000e $nic in IOMMU group $grp: $(ls /sys/kernel/iommu_groups/$grp/devices | tr '\n' ' ')"
bind_vfio "$nic"
expect_eq "$nic driver" "$(dev_driver "$nic")" vfio-pci
vmm_initramfs /tmp/e1000e.cpio e1000e

for mode in 0:INTx 1:MSI; do
	im=${mode%%:*} name=${mode#*:}
	timeout 100 /usr/bin/iovm --kernel "$VMM_KERNEL" --initrd /tmp/e1000e.cpio --mem 256M --stats -v \
		--cmdline "$VMM_CMDLINE mod=e1000e modargs=IntMode=$im" --vfio "$nic" \
		< /dev/null > /tmp/iovm-$name.out 2>&1 && rc=0 || rc=$?
	cp /tmp/iovm-$name.out "$RIG_BLOBS/iovm-$name.out"
	grep -E 'INNER:|^iovm|e1000e' /tmp/iovm-$name.out | grep -v '^\[.*INNER' | head -n 40
	expect_eq "$name: iovm exit status" "$rc" 3
	check "$name: e1000e bound in the guest" grep -q "INNER: e1000e bound: e1000e" /tmp/iovm-$name.out
	line=$(grep "INNER: irq-after .*eth0" /tmp/iovm-$name.out | head -n1)
	log "$name: $line"
	count=$(echo "$line" | awk '{ print $4 }')
	check "$name: interrupts delivered ($count)" test "${count:-0}" -gt 0
	case $name in
	INTx) check "INTx: IO-APIC level line" sh -c "echo '$line' | grep -q 'IO-APIC.*fasteoi'" ;;
	MSI) check "MSI: iovm enabled MSI in VFIO" grep -q "iovm: info: $nic: MSI on, 1 vectors" /tmp/iovm-$name.out
	     check "MSI: iovm disabled it again" grep -q "iovm: info: $nic: MSI off" /tmp/iovm-$name.out
	     if grep -q 'MSI interrupt test failed' /tmp/iovm-$name.out; then
		     # MSI is not expected here: the guest's driver tested it and fell back.
		     skip "MSI: delivered to the guest as PCI-MSI" \
			     "QEMU's e1000e delivers no plain MSI (the test host's own e1000e fails its MSI test too)"
		     check "MSI: INTx after the guest driver's fallback" sh -c "echo '$line' | grep -q 'IO-APIC.*fasteoi'"
	     else
		     # MSI expected (the guest's driver kept it): it must be delivered as MSI.
		     check "MSI: PCI-MSI line" sh -c "echo '$line' | grep -q 'PCI-MSI'"
	     fi ;;
	esac
done

# The igb behind the switch shares a group with its PF (bound to igb) and the port: iovm must
# refuse it with a message naming the group, and exit 1.
pf=""
for p in $(pf_list); do
	[ "$(ls "/sys/kernel/iommu_groups/$(dev_group "$p")/devices" | wc -l)" -gt 1 ] && pf=$p
done
[ -n "$pf" ] || fail "no PF in a shared IOMMU group in this preset"
create_vfs "$pf" 1
vf=$(vf_addrs "$pf" | head -n1)
bind_vfio "$vf"
sgrp=$(dev_group "$vf")
log "VF $vf in group $sgrp: $(ls /sys/kernel/iommu_groups/$sgrp/devices | tr '\n' ' ')"
/usr/bin/iovm --kernel "$VMM_KERNEL" --mem 64M --vfio "$vf" < /dev/null > /tmp/iovm-nv.out 2>&1 && rc=0 || rc=$?
cat /tmp/iovm-nv.out
expect_eq "non-viable group: iovm exit status" "$rc" 1
check "non-viable group: message names the group" grep -q "IOMMU group $sgrp is not viable" /tmp/iovm-nv.out
