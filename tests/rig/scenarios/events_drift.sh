# Drift: a VF MAC changed by hand (`ip link set PF vf 0 mac ...`: no uevent, an rtnetlink
# notification) is reported (drift.found, `iovctl status`) and, under on_drift "report",
# left alone; with "reapply" iovd puts it back by itself (drift.repaired). A VF moved off
# vfio-pci by hand and a VF count written to sysfs are put back the same way.
# rig-presets: default
# rig-timeout: 150

. /rig/scenarios/events_lib.sh

write_cfg() {
	cat > "$CFG" <<J
{ "policy": { "on_drift": "$1" },
  "pfs": [ { "name": "uplink", "match": { "address": "$PF" }, "num_vfs": 2,
             "vfs": { "0": { "mac": "02:1e:00:00:0c:00" },
                      "1": { "mac": "02:1e:00:00:0c:01", "driver": "vfio-pci" } } } ] }
J
}
host_reset
write_cfg report
start_cfg_iovd
NET=$(pf_netdev "$PF")
# The kernel announces VF changes (RTM_NEWLINK) only for a PF that is up, as on any real host.
"$IP" link set "$NET" up
wait_for "declared state at start" 10 vf_is 0 igbvf "02:1e:00:00:0c:00"
expect_vf 1 vfio-pci "02:1e:00:00:0c:01"

# -- report: found, shown, left as it is --
"$IP" link set "$NET" vf 0 mac 02:1e:00:00:0c:99 || fail "ip link set vf 0 mac"
wait_for "drift.found after a hand-made MAC change" 10 sh -c "grep -q '\"type\":\"drift.found\"' $MON"
log "figure: drift.found $waited_ms ms after the MAC change"
grep '"type":"drift.found"' "$MON" | grep -q 'uplink/vf0 mac 02:1e:00:00:0c:99 -> 02:1e:00:00:0c:00' &&
	ok "drift.found names the MAC: 02:1e:00:00:0c:99 -> 02:1e:00:00:0c:00" ||
	fail "drift.found lacks the MAC line: $(grep drift.found "$MON")"
run_ctl /tmp/st.out status
grep -q "^drift: *found" /tmp/st.out && ok "status: drift found" || fail "status: no drift line"
grep -q "uplink/vf0 mac 02:1e:00:00:0c:99 -> 02:1e:00:00:0c:00" /tmp/st.out &&
	ok "status: the difference" || fail "status: no difference line"
# Report mode repairs nothing: once iovd's windows are over (its drift checks ran), the
# hand-made MAC is still there.
iovd_quiet
expect_vf 0 igbvf "02:1e:00:00:0c:99"
expect_eq "report: no apply" "$(grep -c '"type":"apply.started"' "$MON")" 0

# -- reapply: put back by iovd itself --
write_cfg reapply
run_ctl /tmp/r.out reload		# also applies the config: the MAC is back
expect_eq "reload: exit" "$rc" 0
expect_vf 0 igbvf "02:1e:00:00:0c:00"
"$IP" link set "$NET" vf 0 mac 02:1e:00:00:0c:98 || fail "ip link set vf 0 mac (2)"
wait_for "MAC put back by iovd" 10 vf_is 0 igbvf "02:1e:00:00:0c:00"
log "figure: hand-made MAC change repaired $waited_ms ms after it was made"
wait_for "drift.repaired" 5 sh -c "grep -q '\"type\":\"drift.repaired\"' $MON"
"$IOVCTL" --json status > /tmp/st.json || fail "status --json"
expect_eq "status: repaired" "$(j /tmp/st.json '.drift.state')" repaired
expect_eq "status: cause" "$(j /tmp/st.json '.drift.cause')" changed

# a VF moved off vfio-pci by hand (uevents: unbind, bind)
V1=$(vf_addr 1)
echo "$V1" > "$SYSPCI/$V1/driver/unbind" || fail "unbind vf1"
echo > "$SYSPCI/$V1/driver_override"
echo "$V1" > /sys/bus/pci/drivers/igbvf/bind 2>/dev/null || true	# iovd may have taken it back already
wait_for "vf1 back on vfio-pci" 10 vf_is 1 vfio-pci "02:1e:00:00:0c:01"
log "figure: vf1 back on vfio-pci $waited_ms ms after the hand-made unbind"

# the VF count written by hand
echo 0 > "$SYSPCI/$PF/sriov_numvfs" || fail "numvfs 0 by hand"
both_back() { vf_is 0 igbvf 02:1e:00:00:0c:00 && vf_is 1 vfio-pci 02:1e:00:00:0c:01; }
wait_for "2 VFs back with their settings" 15 both_back
log "figure: VF count restored $waited_ms ms after a hand-made sriov_numvfs 0"
cp "$MON" "$RIG_BLOBS/monitor.jsonl"
stop_cfg_iovd
host_reset
