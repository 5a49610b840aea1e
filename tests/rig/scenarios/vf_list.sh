# VFs created through sysfs, then `iovctl list --json` must agree with the kernel's own sysfs:
# the set of devices, IDs, roles, drivers, IOMMU groups, netdevs, SR-IOV fields of each PF,
# and for each VF its PF, its index and its address (from the PF's virtfnN links), and the
# IOMMU groups with their members. Both sides are written as one line per object and compared
# as a whole (a mismatch prints the diff).
# rig-presets: default shared-group nvme

J=/tmp/list.json
pfs=$(pf_list)
[ -n "$pfs" ] || fail "no SR-IOV PF in this test host"
for pf in $pfs; do
	read -r total < "$SYSPCI/$pf/sriov_totalvfs"
	n=4; [ "$total" -lt 4 ] && n=$total
	create_vfs "$pf" "$n"
	expect_eq "$pf: VFs in sysfs" "$(vf_addrs "$pf" | wc -l)" "$n"
done

iovctl_json "$J"

# lname VAR LINK: VAR = basename of LINK's target, or null.
lname() { if [ -L "$2" ]; then _t=$(readlink "$2"); eval "$1=\${_t##*/}"; else eval "$1=null"; fi; }

# ---- devices: address vendor device class driver group role netdevs
for d in "$SYSPCI"/*; do
	read -r ven < "$d/vendor"; read -r dev < "$d/device"; read -r cls < "$d/class"
	lname drv "$d/driver"; lname grp "$d/iommu_group"
	role=other
	[ -f "$d/sriov_totalvfs" ] && role=pf
	[ -L "$d/physfn" ] && role=vf
	nets=""
	for n in "$d"/net/*; do [ -e "$n" ] && nets="${nets:+$nets,}${n##*/}"; done
	echo "${d##*/} ${ven#0x} ${dev#0x} ${cls#0x} $drv $grp $role ${nets:-<none>}"
done > /tmp/exp.devices
jget "$J" '.devices[]' .address .vendor .device .class .driver .iommu_group .role '.netdevs[]' > /tmp/got.devices
expect_same_lines "devices (address vendor device class driver group role netdevs)" /tmp/exp.devices /tmp/got.devices

# ---- PFs: address total num offset stride vf_device autoprobe vfs (VF index order)
for pf in $pfs; do
	d="$SYSPCI/$pf"
	read -r total < "$d/sriov_totalvfs"; read -r num < "$d/sriov_numvfs"
	read -r off < "$d/sriov_offset"; read -r stride < "$d/sriov_stride"
	read -r vfdev < "$d/sriov_vf_device"; read -r ap < "$d/sriov_drivers_autoprobe"
	# sysfs prints the VF device ID with %x (NVMe: "10"); iovctl writes IDs as 4 hex digits.
	vfdev=$(printf '%04x' "0x$vfdev")
	[ "$ap" = 1 ] && ap=true || ap=false
	vfs=$(vf_addrs "$pf" | tr '\n' ',')
	echo "$pf $total $num $off $stride $vfdev $ap ${vfs%,}"
done > /tmp/exp.pfs
jget "$J" '.devices[role=pf]' .address .sriov.total_vfs .sriov.num_vfs .sriov.offset .sriov.stride \
	.sriov.vf_device .sriov.drivers_autoprobe '.vfs[]' > /tmp/got.pfs
expect_same_lines "PFs (address total num offset stride vf_device autoprobe vfs)" /tmp/exp.pfs /tmp/got.pfs

# ---- VFs: address pf vf_index, from the PFs' virtfnN links
for pf in $pfs; do
	for l in "$SYSPCI/$pf"/virtfn*; do
		lname vf "$l"
		echo "$vf $pf ${l##*virtfn}"
	done
done > /tmp/exp.vfs
jget "$J" '.devices[role=vf]' .address .pf .vf_index > /tmp/got.vfs
expect_same_lines "VFs (address pf vf_index)" /tmp/exp.vfs /tmp/got.vfs

# ---- groups: id members
if [ -d /sys/kernel/iommu_groups ]; then
	for g in /sys/kernel/iommu_groups/*; do
		[ -d "$g" ] || continue
		m=""
		for x in "$g"/devices/*; do m="${m:+$m,}${x##*/}"; done
		echo "${g##*/} $m"
	done > /tmp/exp.groups
	jget "$J" '.groups[]' .id '.devices[]' > /tmp/got.groups
	expect_same_lines "groups (id members)" /tmp/exp.groups /tmp/got.groups
fi
log "vf_list: $checks checks passed"
