# Another driver and class: the SR-IOV NVMe controller of the nvme preset.
#  - with VFs enabled, binding the PF is refused (unbinding nvme would remove them), nothing
#    changes
#  - without VFs the PF moves nvme -> vfio-pci and back to nvme, the host as before
# rig-presets: nvme

. /rig/scenarios/vfio_lib.sh
log "bind path: $(bind_path)"

N=""
for d in $(ls "$SYSPCI"); do
	[ "$(attr "$SYSPCI/$d/class")" = 0x010802 ] && [ -f "$SYSPCI/$d/sriov_totalvfs" ] && N=$d
done
[ -n "$N" ] || fail "no SR-IOV NVMe controller in this test host"
expect_eq "$N driver" "$(dev_driver "$N")" nvme

create_vfs "$N" 2
before=$(host_snapshot)
vbind bind "$N" > /tmp/nvme.out 2>&1 && rc=0 || rc=$?
cat /tmp/nvme.out
expect_ne "bind $N with 2 VFs: exit status" "$rc" 0
check "the refusal says the VFs would go" grep -q "with 2 VFs enabled" /tmp/nvme.out
expect_eq "host after the refused bind" "$(host_snapshot)" "$before"

echo 0 > "$SYSPCI/$N/sriov_numvfs" || fail "sriov_numvfs=0 on $N"
g=$(dev_group "$N")
verify_json "$N" /tmp/verify-nvme.json
expect_eq "verify $N (no VFs): group_viable" "$(vstatus /tmp/verify-nvme.json group_viable)" ok
before=$(host_snapshot)
vbind bind "$N" && rc=0 || rc=$?
expect_eq "bind $N exit status" "$rc" 0
expect_eq "$N driver after bind" "$(dev_driver "$N")" vfio-pci
check "/dev/vfio/$g exists" test -c "/dev/vfio/$g"
expect_eq "state: original driver of $N" "$(j "$STATE" ".devices[device=$N].driver")" nvme
vbind release "$N" && rc=0 || rc=$?
expect_eq "release $N exit status" "$rc" 0
expect_eq "$N driver after release" "$(dev_driver "$N")" nvme
expect_eq "host after release = host before bind" "$(host_snapshot)" "$before"
log "vfio_nvme: $checks checks passed"
