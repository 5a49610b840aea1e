# No IOMMU at all: the kernel has no IOMMU units and no groups, vfio-pci cannot take a VF;
# iovctl must report the IOMMU off, no groups, no device in a group, and verify must refuse.
# rig-presets: no-iommu

J=/tmp/list.json
check "no IOMMU unit in /sys/class/iommu" test -z "$(ls /sys/class/iommu 2>/dev/null)"
check "no IOMMU group in /sys/kernel/iommu_groups" test -z "$(ls /sys/kernel/iommu_groups 2>/dev/null)"
check "kernel log has no DMAR unit" sh -c "! grep -q 'DMAR: dmar0' /tmp/dmesg-boot"

pf=$(pf_list | head -n1)
create_vfs "$pf" 2
vf=$(vf_addrs "$pf" | sed -n 2p)
bind_vfio "$vf"
expect_eq "$vf driver after bind (vfio-pci refuses a device without a group)" "$(dev_driver "$vf")" null

iovctl_json "$J"
expect_eq "iommu.enabled" "$(jj "$J" .iommu.enabled)" false
expect_eq "iommu.vendor" "$(jj "$J" .iommu.vendor)" null
expect_eq "number of iommu.units" "$(jcount "$J" '.iommu.units[]')" 0
expect_eq "number of groups" "$(jcount "$J" '.groups[]')" 0
expect_eq "devices with a group" "$(jj "$J" '.devices[].iommu_group' | grep -cv '^null$')" 0
expect_eq "$vf driver in iovctl" "$(jj "$J" ".devices[address=$vf].driver")" null

"$IOVCTL" --json verify "$vf" > /tmp/verify.json && rc=0 || rc=$?
cp /tmp/verify.json "$RIG_BLOBS/"
expect_eq "iovctl verify $vf exit status" "$rc" 1
expect_eq "verify: iommu check" "$(j /tmp/verify.json '.devices[0].checks[id=iommu].status')" fail
