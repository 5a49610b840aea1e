# VT-d without interrupt remapping (intel-iommu,intremap=off): the kernel has DMAR units with
# ecap bit 3 clear and no IR-* chips; iovctl must report the IOMMU on and interrupt remapping
# off, and iovctl verify must refuse a VF for that reason. The kernel agrees: VFIO_SET_IOMMU
# on the VF's group fails until vfio_iommu_type1 allow_unsafe_interrupts is set, which iovctl
# must then report.
# rig-presets: no-intremap

J=/tmp/list.json
check "no remapped interrupt chips in /proc/interrupts" sh -c "! grep -q ' IR-' /proc/interrupts"
units=$(ls /sys/class/iommu | sort | tr '\n' ' ')
[ -n "$units" ] || fail "no /sys/class/iommu units: this preset should have VT-d"
for u in /sys/class/iommu/*; do
	ecap=$(attr "$u/intel-iommu/ecap")
	check "${u##*/} ecap 0x$ecap has no IR (bit 3)" test $(( 0x$ecap & 8 )) -eq 0
done

iovctl_json "$J"
expect_eq "iommu.enabled" "$(jj "$J" .iommu.enabled)" true
expect_eq "iommu.vendor" "$(j "$J" .iommu.vendor)" intel
expect_eq "iommu.interrupt_remapping" "$(jj "$J" .iommu.interrupt_remapping)" false

pf=$(pf_list | head -n1)
create_vfs "$pf" 2
vf=$(vf_addrs "$pf" | sed -n 2p)
bind_vfio "$vf"
expect_eq "$vf driver after bind (groups exist without IR)" "$(dev_driver "$vf")" vfio-pci
"$IOVCTL" --json verify "$vf" > /tmp/verify.json && rc=0 || rc=$?
cp /tmp/verify.json "$RIG_BLOBS/"
expect_eq "iovctl verify $vf exit status" "$rc" 1
expect_eq "verify: isolated" "$(jj /tmp/verify.json .devices[0].isolated)" false
expect_eq "verify: interrupt_remapping check" "$(j /tmp/verify.json '.devices[0].checks[id=interrupt_remapping].status')" fail

# What the kernel does with that group, as a VMM would ask it.
g=$(dev_group "$vf")
vfiocheck "$g" && rc=0 || rc=$?
expect_eq "vfiocheck $g (VFIO_SET_IOMMU without interrupt remapping) exit status" "$rc" 1
check "kernel log names the missing interrupt remapping" sh -c "dmesg | grep -q 'No interrupt remapping support'"
P=/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts
expect_eq "allow_unsafe_interrupts" "$(attr $P)" N
echo Y > $P || fail "cannot set $P"
iovctl_json "$J"
expect_eq "iommu.unsafe_interrupts_allowed (after setting it)" "$(jj "$J" .iommu.unsafe_interrupts_allowed)" true
vfiocheck "$g" && rc=0 || rc=$?
echo N > $P
expect_eq "vfiocheck $g with allow_unsafe_interrupts=Y exit status" "$rc" 0
