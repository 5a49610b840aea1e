# SR-IOV on a device without a netdev (QEMU's NVMe controller, sriov_max_vfs=4): VFs are
# created and destroyed through iovd like a NIC's; VF properties are refused with the reason
# (they live in the PF's network driver, which an NVMe controller does not have).
# rig-presets: nvme
# rig-timeout: 120

. /rig/scenarios/sriov_lib.sh

PF=
for d in $(pf_list); do [ "$(dev_driver "$d")" = nvme ] && PF=$d; done
[ -n "$PF" ] || fail "no NVMe PF in this test host"
log "NVMe PF $PF, sriov_totalvfs $(attr "$SYSPCI/$PF/sriov_totalvfs")"
start_iovd
run_ctl /tmp/n.out vfs create "$PF" 2
expect_eq "create 2: exit" "$rc" 0
expect_eq "sriov_numvfs" "$(attr "$SYSPCI/$PF/sriov_numvfs")" 2
expect_eq "virtfn links" "$(vf_addrs "$PF" | wc -l)" 2
expect_refused "vf set on an NVMe VF" 1 "no network interface" vf set "$PF/vf0" trust on
run_ctl /tmp/n.out vfs destroy "$PF"
expect_eq "destroy: exit" "$rc" 0
expect_eq "sriov_numvfs after destroy" "$(attr "$SYSPCI/$PF/sriov_numvfs")" 0
stop_iovd
log "sriov_nvme: $checks checks passed"
