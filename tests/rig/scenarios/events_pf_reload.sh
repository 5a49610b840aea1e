# A PF driver reload converges back to the config: with 3 VFs declared (vf0 on vfio-pci with
# a MAC and a VLAN, vf1 with a MAC and spoof checking off, vf2 with a VLAN and QoS),
# `rmmod igb; insmod igb.ko` drops every VF; iovd sees it (udev, without udevd: the kernel's
# uevents), reports the PF as unplannable while it has no driver, and once igb is back
# re-creates the VFs, re-applies every property (checked with iproute2) and re-binds vf0 to
# vfio-pci (checked in sysfs and /dev/vfio), under the default on_drift "report": a reset is
# nobody's choice. The event stream shows it in order.
# rig-presets: default
# rig-timeout: 150

. /rig/scenarios/events_lib.sh

host_reset
cat > "$CFG" <<J
{ "pfs": [ { "name": "uplink", "match": { "address": "$PF" }, "num_vfs": 3,
             "vfs": { "0": { "mac": "02:1e:00:00:0b:00", "vlan": 100, "driver": "vfio-pci" },
                      "1": { "mac": "02:1e:00:00:0b:01", "spoofchk": false },
                      "2": { "vlan": 200, "qos": 2 } } } ] }
J
start_cfg_iovd
grep -q "udev monitor: pci and net events" "$IOVD_LOG" && ok "iovd runs its udev monitor" ||
	fail "no udev monitor in iovd's log"
converged() {
	[ "$(attr "$SYSPCI/$PF/sriov_numvfs")" = 3 ] &&
	vf_is 0 vfio-pci "02:1e:00:00:0b:00" "vlan 100" &&
	vf_is 1 igbvf "02:1e:00:00:0b:01" "spoof checking off" &&
	vf_is 2 igbvf "vlan 200, qos 2"
}
wait_for "converged at start" 10 converged
ok "declared state at start"

t0=$(now_ms)
rmmod igb || fail "rmmod igb"
log "figure: rmmod igb took $(($(now_ms) - t0)) ms"
wait_for "VFs gone with igb" 10 sh -c "[ ! -e $SYSPCI/$PF/virtfn0 ]"
expect_eq "PF has no driver" "$(dev_driver "$PF")" null
# iovd sees the window close and cannot plan (no PF driver): reported, nothing done.
wait_for "drift.found while igb is out" 10 sh -c "grep -q '\"type\":\"drift.found\"' $MON"
"$IOVCTL" --json status > /tmp/st.json || fail "status --json"
expect_eq "status: drift while the PF has no driver" "$(j /tmp/st.json '.drift.state')" unplannable

t1=$(now_ms)
insmod "$IGB_KO" || fail "insmod igb"
wait_for "iovd re-converged after igb came back" 30 converged
log "figure: declared state back $waited_ms ms after insmod igb (reload to converged: $(($(now_ms) - t0)) ms)"
[ "$waited_ms" -lt 15000 ] && ok "converged within 15 s of the driver coming back" ||
	fail "converging took $waited_ms ms"
expect_vf 0 vfio-pci "02:1e:00:00:0b:00" "vlan 100"
expect_vf 1 igbvf "02:1e:00:00:0b:01" "spoof checking off"
expect_vf 2 igbvf "vlan 200, qos 2"
expect_eq "vf0 driver_override" "$(attr "$SYSPCI/$(vf_addr 0)/driver_override")" vfio-pci
[ -e "/dev/vfio/$(dev_group "$(vf_addr 0)")" ] && ok "/dev/vfio/N of vf0 is back" ||
	fail "no /dev/vfio for vf0"
wait_for "status says the drift was repaired" 10 sh -c \
	"$IOVCTL --json status > /tmp/st.json && [ \"\$($JGET /tmp/st.json .drift.state)\" = repaired ]"
"$IOVCTL" --json status > /tmp/st.json || fail "status --json"
cp /tmp/st.json "$RIG_BLOBS/status-after-reload.json"
expect_eq "status: drift repaired" "$(j /tmp/st.json '.drift.state')" repaired
expect_eq "status: cause" "$(j /tmp/st.json '.drift.cause')" pf_reset
expect_eq "status: no difference left" "$(jcount /tmp/st.json '.difference.actions[]')" 0

# The stream, in order: the PF's driver back, the reset found, the apply, the repair.
cp "$MON" "$RIG_BLOBS/monitor.jsonl"
order=$(grep -o '"type":"[a-z.]*"' "$MON" | sed 's/"type":"//; s/"//' |
	grep -E '^(driver.changed|drift.found|apply.started|apply.finished|drift.repaired)$' | uniq | tr '\n' ' ')
log "event order: $order"
case "$order" in
*"drift.found apply.started apply.finished drift.repaired"*) ok "events in order: drift.found, apply.started, apply.finished, drift.repaired" ;;
*) fail "events out of order: $order" ;;
esac
grep '"type":"drift.repaired"' "$MON" | grep -q '"cause":"pf_reset"' && ok "drift.repaired says pf_reset" ||
	fail "drift.repaired without cause pf_reset"
grep '"type":"device.removed"' "$MON" | grep -q "$(vf_addr 0)" && ok "device.removed for vf0" ||
	fail "no device.removed for vf0"
stop_cfg_iovd
host_reset
