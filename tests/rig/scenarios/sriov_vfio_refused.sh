# `iovctl vfs create PF N --vfio` where the VFs cannot go to vfio-pci, on a real kernel:
# - shared-group: the igb behind the switch without ACS shares one IOMMU group with its VFs
#   and the switch port; the VFs are created, binding them is refused (the group holds the
#   PF), and iovd must put everything back: no VFs, autoprobe on, no driver_override.
# - no-iommu: refused before anything is touched (no IOMMU, no groups).
# Either way the host ends exactly as it was.
# rig-presets: shared-group no-iommu
# rig-timeout: 180

. /rig/scenarios/sriov_lib.sh

start_iovd
if [ -d /sys/kernel/iommu_groups ] && [ -n "$(ls /sys/kernel/iommu_groups)" ]; then
	PF=0000:04:00.0
	[ -f "$SYSPCI/$PF/sriov_totalvfs" ] || fail "no igb PF at $PF (shared-group preset?)"
	before=$(host_state)
	t0=$(now_ms)
	run_ctl /tmp/r.out vfs create "$PF" 2 --vfio
	t1=$(now_ms)
	expect_eq "create --vfio in a shared group: exit" "$rc" 1
	grep -qi "restored" /tmp/r.out && ok "says the old setup was restored" || fail "no restore note"
	log "figure: failed create + roll-back took $((t1 - t0)) ms"
	expect_eq "sriov_numvfs back" "$(attr "$SYSPCI/$PF/sriov_numvfs")" 0
	expect_eq "autoprobe back" "$(attr "$SYSPCI/$PF/sriov_drivers_autoprobe")" 1
	expect_eq "host exactly as before" "$(host_state)" "$before"
	grep -q "$PF" /var/lib/iovd/bind-state.json 2>/dev/null && fail "bind state still names $PF" || ok "bind state clean"

	# The same PF without --vfio works: VFs for host use.
	run_ctl /tmp/r.out vfs create "$PF" 2
	expect_eq "create without --vfio: exit" "$rc" 0
	run_ctl /tmp/r.out vfs destroy "$PF"
	expect_eq "destroy: exit" "$rc" 0
else
	PF=$(pf_list | head -n1)
	expect_refused "create --vfio without an IOMMU" 1 "no IOMMU" vfs create "$PF" 2 --vfio
	run_ctl /tmp/r.out vfs create "$PF" 2
	expect_eq "create without --vfio: exit" "$rc" 0
	expect_eq "2 VFs" "$(vf_addrs "$PF" | wc -l)" 2
	run_ctl /tmp/r.out vfs destroy "$PF"
	expect_eq "destroy: exit" "$rc" 0
fi
stop_iovd
cp "$IOVD_LOG" "$RIG_BLOBS/iovd-sriov_vfio_refused.log"
log "sriov_vfio_refused: $checks checks passed"
