# VFs created and destroyed through iovd (iovctl vfs create/destroy), checked against sysfs:
# counts, a count change through 0, the autoprobe switch for --vfio, the refusal to destroy
# VFs on vfio-pci without --force, and refusals (count above sriov_totalvfs, unknown PF,
# bad count) that leave the host exactly as it was.
# rig-presets: default
# rig-timeout: 240

. /rig/scenarios/sriov_lib.sh

PF=$(pf_list | head -n1)
[ -n "$PF" ] || fail "no SR-IOV PF in this test host"
TOTAL=$(attr "$SYSPCI/$PF/sriov_totalvfs")
log "PF $PF ($(pf_netdev "$PF")), sriov_totalvfs $TOTAL"
start_iovd
[ "$(attr "$SYSPCI/$PF/sriov_numvfs")" = 0 ] || check "start from 0 VFs" "$IOVCTL" vfs destroy "$PF" --force

# Create 4.
t0=$(now_ms)
run_ctl /tmp/c.out vfs create "$PF" 4
t1=$(now_ms)
expect_eq "vfs create 4: exit" "$rc" 0
log "figure: vfs create $PF 4 took $((t1 - t0)) ms (iovctl wall time, igb under TCG)"
expect_eq "sriov_numvfs" "$(attr "$SYSPCI/$PF/sriov_numvfs")" 4
expect_eq "virtfn links" "$(vf_addrs "$PF" | wc -l)" 4
for vf in $(vf_addrs "$PF"); do
	grep -q "$vf" /tmp/c.out && ok "iovctl names $vf" || fail "iovctl output lacks $vf"
done
expect_eq "autoprobe stays on" "$(attr "$SYSPCI/$PF/sriov_drivers_autoprobe")" 1
settle
for vf in $(vf_addrs "$PF"); do expect_eq "$vf driver" "$(dev_driver "$vf")" igbvf; done

# The same count again: nothing to do, nothing touched.
before=$(host_state)
run_ctl /tmp/c.out vfs create "$PF" 4
expect_eq "again: exit" "$rc" 0
grep -q "nothing to do" /tmp/c.out && ok "again: nothing to do" || fail "again: not a no-op"
expect_eq "again: host unchanged" "$(host_state)" "$before"

# 4 -> 2 goes through 0 (the kernel refuses a non-zero change with EBUSY).
run_ctl /tmp/c.out --json vfs create "$PF" 2 --dry-run
expect_eq "dry run 4->2: exit" "$rc" 0
expect_eq "dry run: first step writes" "$(j /tmp/c.out '.plan[0].file')=$(j /tmp/c.out '.plan[0].value')" "sriov_numvfs=0"
expect_eq "dry run: nothing changed" "$(attr "$SYSPCI/$PF/sriov_numvfs")" 4
run_ctl /tmp/c.out vfs create "$PF" 2
expect_eq "4->2: exit" "$rc" 0
expect_eq "4->2: sriov_numvfs" "$(attr "$SYSPCI/$PF/sriov_numvfs")" 2
expect_eq "4->2: virtfn links" "$(vf_addrs "$PF" | wc -l)" 2

# Refusals: the host stays exactly as it was.
expect_refused "count above total" 1 "at most $TOTAL" vfs create "$PF" $((TOTAL + 1))
expect_refused "unknown PF" 2 "no such" vfs create 0000:7f:00.0 2
expect_refused "bad count" 2 "whole number" vfs create "$PF" two
expect_refused "negative count" 2 "whole number" vfs create "$PF" -1
expect_refused "not a PF" 2 "not an SR-IOV" vfs create "$(vf_addrs "$PF" | head -n1)" 1

# --vfio: autoprobe off, the VFs end on vfio-pci.
t0=$(now_ms)
run_ctl /tmp/c.out vfs create "$PF" 3 --vfio
t1=$(now_ms)
expect_eq "create 3 --vfio: exit" "$rc" 0
log "figure: vfs create $PF 3 --vfio took $((t1 - t0)) ms"
expect_eq "--vfio: autoprobe" "$(attr "$SYSPCI/$PF/sriov_drivers_autoprobe")" 0
expect_eq "--vfio: sriov_numvfs" "$(attr "$SYSPCI/$PF/sriov_numvfs")" 3
for vf in $(vf_addrs "$PF"); do
	expect_eq "$vf on vfio-pci" "$(dev_driver "$vf")" vfio-pci
	g=$(dev_group "$vf")
	[ -e "/dev/vfio/$g" ] && ok "/dev/vfio/$g exists" || fail "/dev/vfio/$g missing"
done

# Destroy refused while VFs are on vfio-pci; --force releases them first.
expect_refused "destroy with VFs on vfio-pci" 1 "bound to vfio-pci" vfs destroy "$PF"
run_ctl /tmp/c.out vfs destroy "$PF" --force
expect_eq "destroy --force: exit" "$rc" 0
expect_eq "destroy --force: sriov_numvfs" "$(attr "$SYSPCI/$PF/sriov_numvfs")" 0
expect_eq "destroy --force: no virtfn links" "$(vf_addrs "$PF" | wc -l)" 0

# Without --vfio, autoprobe goes back on and the VFs get igbvf again.
run_ctl /tmp/c.out vfs create "$PF" 2
expect_eq "create 2: exit" "$rc" 0
expect_eq "autoprobe back on" "$(attr "$SYSPCI/$PF/sriov_drivers_autoprobe")" 1
settle
for vf in $(vf_addrs "$PF"); do expect_eq "$vf driver" "$(dev_driver "$vf")" igbvf; done
# Same count with --vfio: the existing VFs move to vfio-pci, none is re-created.
before_addrs=$(vf_addrs "$PF")
run_ctl /tmp/c.out vfs create "$PF" 2 --vfio
expect_eq "2 -> 2 --vfio: exit" "$rc" 0
expect_eq "same VFs" "$(vf_addrs "$PF")" "$before_addrs"
for vf in $(vf_addrs "$PF"); do expect_eq "$vf moved to vfio-pci" "$(dev_driver "$vf")" vfio-pci; done
run_ctl /tmp/c.out vfs destroy "$PF" --force
expect_eq "destroy --force: exit" "$rc" 0

# Two clients at once: iovd serves them one after the other; the host ends in the state of
# whichever came last, consistent with sysfs, and both get an answer.
"$IOVCTL" vfs create "$PF" 3 > /tmp/c1.out 2>&1 &
p1=$!
"$IOVCTL" vfs create "$PF" 2 > /tmp/c2.out 2>&1 && rc2=0 || rc2=$?
wait $p1 && rc1=0 || rc1=$?
cat /tmp/c1.out /tmp/c2.out
expect_eq "concurrent creates: both succeed" "$rc1 $rc2" "0 0"
n=$(attr "$SYSPCI/$PF/sriov_numvfs")
case "$n" in 2|3) ok "sriov_numvfs is one of the two ($n)" ;; *) fail "sriov_numvfs $n" ;; esac
expect_eq "virtfn links match sriov_numvfs" "$(vf_addrs "$PF" | wc -l)" "$n"
settle

t0=$(now_ms)
run_ctl /tmp/c.out vfs destroy "$PF"
t1=$(now_ms)
expect_eq "destroy: exit" "$rc" 0
log "figure: vfs destroy $PF ($n VFs) took $((t1 - t0)) ms"
expect_eq "destroy: sriov_numvfs" "$(attr "$SYSPCI/$PF/sriov_numvfs")" 0
expect_eq "destroy: no VF devices left" "$(ls "$SYSPCI" | while read d; do [ -L "$SYSPCI/$d/physfn" ] && echo "$d"; done | wc -l)" 0

stop_iovd
cp "$IOVD_LOG" "$RIG_BLOBS/iovd-sriov_vfs.log"
log "sriov_vfs: $checks checks passed"
