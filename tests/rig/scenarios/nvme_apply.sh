# NVMe VFs made usable from a config (issue 18): 2 VFs with 2 queues (VQ) and 1 interrupt (VI)
# each, VF i with namespace i+1, on the host's nvme driver. After the apply nvme-cli shows
# both secondary controllers online with their resources and namespaces, the VFs have
# controllers of their own, `nvme list` lists the namespaces; planning again is empty; a
# reload with 1 VF takes the second offline and its resources back; asking for more than a
# controller may get is refused in the plan with the numbers, nothing touched.
# rig-presets: nvme
# rig-timeout: 200

. /rig/scenarios/nvme_lib.sh

nvme_reset
nvme_cfg 2
t0=$(now_ms)
start_nvme_iovd
log "figure: iovd start with the NVMe apply (2 VFs, 12 steps): $(( $(now_ms) - t0 )) ms"
grep "apply" "$IOVD_LOG" | tail -n 16
expect_eq "sriov_numvfs" "$(attr "$SYSPCI/$PF/sriov_numvfs")" 2
expect_vf_live 0
expect_vf_live 1
expect_ctrl_empty 3
"$NVME" list
ls /sys/block
# Native multipath: one block device per namespace, named after the subsystem (nvme0n1,
# nvme0n2); the paths through the VFs' controllers are checked by expect_vf_live.
expect_eq "namespace block devices (nvmeXnY)" "$(ls /sys/block | grep -cE '^nvme[0-9]+n[0-9]+$')" 2
run_ctl /tmp/show.out show "$PF"
check "iovctl show: vf0's controller online with its namespace" grep -q "nvme vf0 .*controller 1 online, VQ 2, VI 1, namespaces 1" /tmp/show.out
"$IOVCTL" --json show "$PF" > /tmp/show.json || fail "iovctl --json show"
expect_eq "show --json: VQ free" "$(j /tmp/show.json .nvme.primary.vq.free)" 4
expect_eq "show --json: vf1 namespaces" "$(jj /tmp/show.json '.nvme.secondary[vf=1].namespaces')" "[2]"
"$IOVCTL" list --json > /tmp/list.json || fail "iovctl list --json"
expect_eq "list --json: vf0's controller" "$(j /tmp/list.json '.nvme[0].secondary[vf=0].state')" online
plan_empty "after the apply"
VF0=$(link_name "$SYSPCI/$PF/virtfn0")
run_ctl /tmp/v.out verify "$VF0"
check "verify $VF0: storage usable" grep -q "storage: $VF0 is usable" /tmp/v.out
check "verify $VF0: namespace 1 attached" grep -q "nvme_namespace .*ok .*namespace 1 attached to controller 1" /tmp/v.out

# Reload with 1 VF: the second controller goes offline, its resources return.
nvme_cfg 1
run_ctl /tmp/r.out reload
expect_eq "reload: exit" "$rc" 0
expect_eq "sriov_numvfs after reload" "$(attr "$SYSPCI/$PF/sriov_numvfs")" 1
expect_vf_live 0
expect_ctrl_empty 2
run_ctl /tmp/v.out verify "$VF0"
expect_eq "verify $VF0 after the reload: exit (isolated, usable)" "$rc" 0
check "VQ back in the pool (nvme-cli: 2 of 8 assigned)" sh -c "'$NVME' primary-ctrl-caps '$DEV' | grep -q 'vqrfa.*: 2\$'"
check "VI back in the pool (1 of 4 assigned)" sh -c "'$NVME' primary-ctrl-caps '$DEV' | grep -q 'virfa.*: 1\$'"
plan_empty "after the reload"

# More than a controller may get: refused in the plan, with the numbers; nothing changes.
nvme_cfg 2 3
before=$("$NVME" list-secondary "$DEV" | md5sum)
run_ctl /tmp/x.out plan --config "$CFG"
expect_eq "plan with 3 queues per VF: exit" "$rc" 1
check "the refusal names the numbers" grep -q "asks for 3 VQ resources; the drive gives one secondary controller at most 2" /tmp/x.out
expect_eq "controllers unchanged" "$("$NVME" list-secondary "$DEV" | md5sum)" "$before"

# Back to nothing through the config: num_vfs 0 detaches and empties every controller.
nvme_cfg 0
run_ctl /tmp/r.out reload
expect_eq "reload to 0 VFs: exit" "$rc" 0
expect_ctrl_empty 1
expect_ctrl_empty 2
stop_iovd
nvme_reset
log "nvme_apply: $checks checks passed"
