# VT-d with interrupt remapping: the kernel shows remapped interrupt chips (IR-*) and DMAR
# units with ecap bit 3 (IR) set; iovctl must report the IOMMU on, Intel, its units, and
# interrupt remapping on. A VF on vfio-pci then passes iovctl verify, and the kernel lets a
# VMM set up its group (VFIO_SET_IOMMU).
# rig-presets: default

J=/tmp/list.json
# The kernel's truth first (a rig that lost VT-d must not pass by accident).
check "remapped interrupt chips in /proc/interrupts" grep -q ' IR-' /proc/interrupts
units=$(ls /sys/class/iommu | sort | tr '\n' ' ')
[ -n "$units" ] || fail "no /sys/class/iommu units"
for u in /sys/class/iommu/*; do
	ecap=$(attr "$u/intel-iommu/ecap")
	check "${u##*/} ecap 0x$ecap has IR (bit 3)" test $(( 0x$ecap & 8 )) -ne 0
done

iovctl_json "$J"
expect_eq "iommu.enabled" "$(jj "$J" .iommu.enabled)" true
expect_eq "iommu.vendor" "$(j "$J" .iommu.vendor)" intel
expect_eq "iommu.interrupt_remapping" "$(jj "$J" .iommu.interrupt_remapping)" true
expect_eq "iommu.units" "$(j "$J" '.iommu.units[].name' | sort | tr '\n' ' ')" "$units"
for u in /sys/class/iommu/*; do
	expect_eq "${u##*/} ecap" "$(j "$J" ".iommu.units[name=${u##*/}].ecap")" "$(attr "$u/intel-iommu/ecap")"
done
expect_eq "iommu.unsafe_interrupts_allowed" "$(jj "$J" .iommu.unsafe_interrupts_allowed)" \
	"$([ "$(attr /sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts)" = Y ] && echo true || echo false)"

# A VF alone in its group, on vfio-pci: isolated.
pf=$(pf_list | head -n1)
create_vfs "$pf" 2
vf=$(vf_addrs "$pf" | sed -n 2p)
bind_vfio "$vf"
expect_eq "$vf driver after bind" "$(dev_driver "$vf")" vfio-pci
check "/dev/vfio/$(dev_group "$vf") exists" test -c "/dev/vfio/$(dev_group "$vf")"
"$IOVCTL" --json verify "$vf" > /tmp/verify.json && rc=0 || rc=$?
cp /tmp/verify.json "$RIG_BLOBS/"
expect_eq "iovctl verify $vf exit status" "$rc" 0
expect_eq "verify: isolated" "$(jj /tmp/verify.json .devices[0].isolated)" true
expect_eq "verify: interrupt_remapping check" "$(j /tmp/verify.json '.devices[0].checks[id=interrupt_remapping].status')" ok
vfiocheck "$(dev_group "$vf")" && rc=0 || rc=$?
expect_eq "vfiocheck (VFIO_SET_IOMMU on $vf's group) exit status" "$rc" 0
