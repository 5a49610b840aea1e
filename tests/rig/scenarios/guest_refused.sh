# Starting a guest on a VF that is not isolated is refused with the verify check's reason
# and fix, and nothing is left bound or changed: on shared-group the VFs share the PF's
# IOMMU group (group_viable), on no-intremap there is no interrupt remapping.
# rig-presets: shared-group no-intremap
# rig-timeout: 90

. /rig/scenarios/sriov_lib.sh
. /rig/scenarios/vmm_lib.sh

GSTATE=/tmp/guest-state-rf
rm -rf "$GSTATE"
: > "$IOVD_LOG"		# other scenarios of this boot wrote to it too
# The last PF: on shared-group the igb behind the switch without ACS (04:00.0).
PF=$(pf_list | tail -n1)
[ -n "$PF" ] || fail "no SR-IOV PF"
start_iovd --state-dir "$GSTATE"
run_ctl /tmp/r.out vfs create "$PF" 2
expect_eq "2 VFs (host driver)" "$rc" 0
settle
vf=$(vf_addrs "$PF" | sed -n 1p)
drv=$(dev_driver "$vf")
expect_refused "vm start on $vf" 1 "is not isolated" vm start x --kernel "$VMM_KERNEL" --nic "$PF/vf0"
check "the reason names a failing check" grep -Eq "group_viable fail|interrupt_remapping fail" /tmp/refused.out
check "a fix is given" grep -q "fix:" /tmp/refused.out
expect_eq "$vf still on $drv" "$(dev_driver "$vf")" "$drv"
check "no guest recorded" sh -c "! grep -q '\"x\"' $GSTATE/guests.json 2>/dev/null"
check "no MAC handed out" sh -c "! grep -q '\"x\"' $GSTATE/macs.json 2>/dev/null"
run_ctl /tmp/r.out vm list
check "vm list has no running x" sh -c "! grep -q '^x  *running' /tmp/r.out"
run_ctl /tmp/r.out vfs destroy "$PF" --force
expect_eq "vfs destroy --force" "$rc" 0
stop_iovd
