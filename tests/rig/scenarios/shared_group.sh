# A PF behind a switch downstream port without ACS: the kernel puts the port, the PF and all
# its VFs in one IOMMU group. iovctl must show that group with exactly those members, and
# verify must refuse one of its VFs because of the group, while a VF of the other NIC (behind
# a root port with ACS, its own group) is fine on that count. VFIO itself refuses the shared
# group (not viable).
# rig-presets: shared-group

J=/tmp/list.json
PF=0000:04:00.0
PORT=0000:03:00.0
check "$PF is an SR-IOV PF" test -f "$SYSPCI/$PF/sriov_totalvfs"
create_vfs "$PF" 4
create_vfs 0000:01:00.0 2
g=$(dev_group "$PF")
[ "$g" != null ] || fail "$PF has no IOMMU group"
members=$(ls "/sys/kernel/iommu_groups/$g/devices" | sort | tr '\n' ' ')
log "kernel: group $g = $members"
# The rig's own premise, checked against the kernel: port + PF + VFs share the group.
want=$( (echo $PORT; echo $PF; vf_addrs $PF) | sort | tr '\n' ' ')
expect_eq "kernel group $g members" "$members" "$want"

iovctl_json "$J"
expect_eq "iovctl group $g members" "$(j "$J" ".groups[id=$g].devices[]" | sort | tr '\n' ' ')" "$members"
for vf in $(vf_addrs $PF); do
	expect_eq "$vf iommu_group" "$(j "$J" ".devices[address=$vf].iommu_group")" "$g"
done
expect_eq "$PORT iommu_group" "$(j "$J" ".devices[address=$PORT].iommu_group")" "$g"
expect_ne "group of 0000:01:00.0 (root port, ACS)" "$(j "$J" '.devices[address=0000:01:00.0].iommu_group')" "$g"

vf=$(vf_addrs $PF | sed -n 2p)
bind_vfio "$vf"
"$IOVCTL" --json verify "$vf" > /tmp/verify.json && rc=0 || rc=$?
cp /tmp/verify.json "$RIG_BLOBS/verify-shared.json"
expect_eq "iovctl verify $vf exit status" "$rc" 1
expect_eq "verify $vf: isolated" "$(jj /tmp/verify.json .devices[0].isolated)" false
expect_eq "verify $vf: group_viable" "$(j /tmp/verify.json '.devices[0].checks[id=group_viable].status')" fail
# The kernel agrees: the group is not viable for VFIO while the others use host drivers.
vfiocheck "$g" && rc=0 || rc=$?
expect_eq "vfiocheck $g (shared group, members on host drivers) exit status" "$rc" 1

other=$(vf_addrs 0000:01:00.0 | sed -n 2p)
bind_vfio "$other"
"$IOVCTL" --json verify "$other" > /tmp/verify2.json && rc=0 || rc=$?
check "verify $other: exit status $rc (0 or 1: a verdict, not a usage error)" test "$rc" -le 1
cp /tmp/verify2.json "$RIG_BLOBS/verify-own-group.json"
expect_eq "verify $other: group_viable" "$(j /tmp/verify2.json '.devices[0].checks[id=group_viable].status')" ok
