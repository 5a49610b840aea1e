# VFs created through sysfs, then `iovctl list --json` must agree with the kernel's own sysfs:
# the set of devices, IDs, roles, drivers, IOMMU groups, netdevs, SR-IOV fields of each PF,
# and for each VF its PF, its index and its address (from the PF's virtfnN links).
# rig-presets: default shared-group nvme

J=/tmp/list.json
pfs=$(pf_list)
[ -n "$pfs" ] || fail "no SR-IOV PF in this test host"
for pf in $pfs; do
	total=$(attr "$SYSPCI/$pf/sriov_totalvfs")
	n=4; [ "$total" -lt 4 ] && n=$total
	create_vfs "$pf" "$n"
	expect_eq "$pf: VFs in sysfs" "$(vf_addrs "$pf" | wc -l)" "$n"
done

iovctl_json "$J"

# The same set of devices.
expect_eq "device addresses" "$(j "$J" '.devices[].address' | sort)" "$(ls "$SYSPCI" | sort)"

nocase0x() { sed 's/^0x//'; }
for d in $(ls "$SYSPCI"); do
	D=".devices[address=$d]"
	expect_eq "$d vendor" "$(j "$J" "$D.vendor")" "$(attr "$SYSPCI/$d/vendor" | nocase0x)"
	expect_eq "$d device" "$(j "$J" "$D.device")" "$(attr "$SYSPCI/$d/device" | nocase0x)"
	expect_eq "$d class" "$(j "$J" "$D.class")" "$(attr "$SYSPCI/$d/class" | nocase0x)"
	expect_eq "$d driver" "$(j "$J" "$D.driver")" "$(dev_driver "$d")"
	expect_eq "$d iommu_group" "$(j "$J" "$D.iommu_group")" "$(dev_group "$d")"
	nets=$(ls "$SYSPCI/$d/net" 2>/dev/null | sort | tr '\n' ' ')
	expect_eq "$d netdevs" "$(j "$J" "$D.netdevs[]" | sort | tr '\n' ' ')" "$nets"
	if [ -f "$SYSPCI/$d/sriov_totalvfs" ]; then
		expect_eq "$d role" "$(j "$J" "$D.role")" pf
		expect_eq "$d sriov.total_vfs" "$(j "$J" "$D.sriov.total_vfs")" "$(attr "$SYSPCI/$d/sriov_totalvfs")"
		expect_eq "$d sriov.num_vfs" "$(j "$J" "$D.sriov.num_vfs")" "$(attr "$SYSPCI/$d/sriov_numvfs")"
		expect_eq "$d sriov.offset" "$(j "$J" "$D.sriov.offset")" "$(attr "$SYSPCI/$d/sriov_offset")"
		expect_eq "$d sriov.stride" "$(j "$J" "$D.sriov.stride")" "$(attr "$SYSPCI/$d/sriov_stride")"
		# sysfs prints the VF device ID with %x (NVMe: "10"); iovctl writes IDs as 4 hex digits.
		expect_eq "$d sriov.vf_device" "$(j "$J" "$D.sriov.vf_device")" \
			"$(printf '%04x' "0x$(attr "$SYSPCI/$d/sriov_vf_device")")"
		ap=$(attr "$SYSPCI/$d/sriov_drivers_autoprobe"); [ "$ap" = 1 ] && ap=true || ap=false
		expect_eq "$d sriov.drivers_autoprobe" "$(jj "$J" "$D.sriov.drivers_autoprobe")" "$ap"
		# VF addresses, in VF index order, as the virtfnN links give them.
		expect_eq "$d vfs" "$(j "$J" "$D.vfs[]" | tr '\n' ' ')" "$(vf_addrs "$d" | tr '\n' ' ')"
	elif [ -L "$SYSPCI/$d/physfn" ]; then
		pf=$(link_name "$SYSPCI/$d/physfn")
		expect_eq "$d role" "$(j "$J" "$D.role")" vf
		expect_eq "$d pf" "$(j "$J" "$D.pf")" "$pf"
		idx=$(for l in "$SYSPCI/$pf"/virtfn*; do
			[ "$(link_name "$l")" = "$d" ] && echo "${l##*virtfn}"; done)
		expect_eq "$d vf_index" "$(j "$J" "$D.vf_index")" "$idx"
	else
		expect_eq "$d role" "$(j "$J" "$D.role")" other
	fi
done

# The VFs of this run are all there with the right PF, counted both ways.
nvf=0
for pf in $pfs; do nvf=$((nvf + $(vf_addrs "$pf" | wc -l))); done
expect_eq "number of VFs" "$(jcount "$J" '.devices[role=vf]')" "$nvf"
expect_eq "number of PFs" "$(jcount "$J" '.devices[role=pf]')" "$(echo "$pfs" | wc -w)"

# Groups: the same ids, the same members.
if [ -d /sys/kernel/iommu_groups ]; then
	expect_eq "group ids" "$(j "$J" '.groups[].id' | sort -n | tr '\n' ' ')" \
		"$(ls /sys/kernel/iommu_groups | sort -n | tr '\n' ' ')"
	for g in $(ls /sys/kernel/iommu_groups); do
		expect_eq "group $g members" "$(j "$J" ".groups[id=$g].devices[]" | sort | tr '\n' ' ')" \
			"$(ls "/sys/kernel/iommu_groups/$g/devices" | sort | tr '\n' ' ')"
	done
fi
log "vf_list: $checks checks passed"
