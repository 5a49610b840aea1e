# A guest whose VF the host takes back: with a guest running on a pooled VF (restart
# on-failure, saved with --save into a drop-in), `rmmod igb` does not hang on the VF iovm
# holds: vfio-pci's device request reaches iovm, which stops the guest and exits with status
# 6; iovd marks the guest degraded (event guest.degraded, `vm show`: waiting for its VFs).
# Once igb is back and the config re-applied, iovd starts the guest again on a VF of its
# pool (restarts 1, guest.restarted). Stopping it returns the VF. Then the drop-in --save
# wrote: iovd restarted starts the guest from it (autostart).
# rig-presets: guests
# rig-timeout: 300

. /rig/scenarios/events_lib.sh
. /rig/scenarios/vmm_lib.sh
vmm_prereqs

GS=/tmp/gpr-state
DROP=/tmp/gpr.d
host_reset
rm -rf "$GS" "$DROP"
mkdir -p "$DROP"
cat > "$CFG" <<J
{ "policy": { "mac_prefix": "02:1e:01" },
  "pfs": [ { "name": "uplink", "match": { "address": "$PF" }, "num_vfs": 2,
             "defaults": { "driver": "vfio-pci" } } ],
  "pools": [ { "name": "tenants", "vfs": ["uplink#0-1"] } ] }
J
start_iovd --config "$CFG" --config-dir "$DROP" --state-dir "$GS"
"$IOVCTL" --json monitor > "$MON" 2>/tmp/events-monitor.err &
MON_PID=$!
monitor_subscribed "$MON_PID"
fail_more() {
	[ -f "$GS/guests/g.log" ] && { echo "--- guest g:"; tail -n 20 "$GS/guests/g.log"; }
	tail -n 30 "$IOVD_LOG"
	fail "$*"
}
vmm_initramfs /tmp/inner.cpio
gshow() { "$IOVCTL" --json vm show g > /tmp/gpr.json 2>&1 || { cat /tmp/gpr.json; fail_more "vm show g"; }; }
gstate() { gshow; j /tmp/gpr.json .guest.state; }

run_ctl /tmp/gpr.out vm start g --kernel "$VMM_KERNEL" --initrd /tmp/inner.cpio --mem 128M \
	--cmdline "$VMM_CMDLINE hold=600" --nic tenants --restart on-failure --save
expect_eq "vm start g --save" "$rc" 0
check "drop-in written" test -f "$DROP/50-guest-g.json"
cat "$DROP/50-guest-g.json"; echo
run_ctl /tmp/gpr.out config check "$CFG" --config-dir "$DROP"
expect_eq "config check with the saved guest" "$rc" 0
gshow
vf1=$(j /tmp/gpr.json .guest.nics[0].vf)
pid1=$(j /tmp/gpr.json .guest.pid)
log "guest g on $vf1, iovm pid $pid1"
# iovm has the VF open (its kernel is booting): the device request channel is registered.
i=0
while ! tr -d '\r' < "$GS/guests/g.log" 2>/dev/null | grep -q "Linux version"; do
	i=$((i + 1)); [ $i -gt 300 ] && fail_more "guest g: no kernel output within 30 s"
	sleep 0.1
done

t0=$(now_ms)
timeout 60 rmmod igb && rc=0 || rc=$?
log "figure: rmmod igb with a guest on a VF took $(($(now_ms) - t0)) ms"
expect_eq "rmmod igb with a guest on its VF (not blocked by vfio-pci)" "$rc" 0
wait_for "VFs gone with igb" 10 sh -c "[ ! -e $SYSPCI/$PF/virtfn0 ]"
check "iovm $pid1 ended" sh -c "! grep -q '^State:.*[RSD] ' /proc/$pid1/status 2>/dev/null"
grep -q "the host took $vf1 back" "$GS/guests/g.log" && ok "iovm says the host took $vf1 back" ||
	fail_more "iovm's log does not say the host took the VF back"
expect_eq "guest g degraded" "$(gstate)" degraded
expect_eq "guest g waits for its VFs" "$(j /tmp/gpr.json .guest.waiting_for_vfs)" true
check "last exit says why" grep -q "exit status 6: the host took its VF back" /tmp/gpr.json
wait_for "event guest.degraded" 5 sh -c "grep -q '\"type\":\"guest.degraded\"' $MON"
grep '"type":"guest.degraded"' "$MON" | grep -q "\"$vf1\"" && ok "guest.degraded names $vf1" ||
	fail_more "guest.degraded without $vf1"
check "no quarantine for a VF that went with its PF" sh -c "! grep -q '\"vf\": \"$vf1\"' $GS/guests.json"
run_ctl /tmp/gpr.out vm list
grep -q "^g  *degraded" /tmp/gpr.out && ok "vm list: g degraded" || fail_more "vm list does not show g degraded"

t1=$(now_ms)
insmod "$IGB_KO" || fail "insmod igb"
wait_for "guest g started again once its VFs were back" 60 sh -c \
	"$IOVCTL --json vm show g 2>/dev/null | grep -q '\"state\": *\"running\"'"
log "figure: insmod igb to guest g running again: $(($(now_ms) - t1)) ms"
gshow
vf2=$(j /tmp/gpr.json .guest.nics[0].vf)
pid2=$(j /tmp/gpr.json .guest.pid)
expect_eq "restarts" "$(j /tmp/gpr.json .guest.restarts)" 1
expect_eq "pool of the new VF" "$(j /tmp/gpr.json .guest.nics[0].pool)" tenants
expect_eq "$vf2 on vfio-pci" "$(dev_driver "$vf2")" vfio-pci
check "a new iovm" test "$pid2" != "$pid1"
wait_for "event guest.restarted" 5 sh -c "grep -q '\"type\":\"guest.restarted\"' $MON"
# The guest's lifecycle events (guest.step lines, a start's progress, come in between).
order=$(grep -o '"type":"guest\.[a-z]*"' "$MON" | grep -v '"guest\.step"' | sed 's/"type":"//; s/"//' |
	tr '\n' ' ')
log "guest events: $order"
case "$order" in
*"guest.started guest.exited guest.degraded guest.restarted"*) ok "guest events in order" ;;
*) fail_more "guest events out of order: $order" ;;
esac
run_ctl /tmp/gpr.out vm stop g
expect_eq "vm stop g" "$rc" 0
check "$vf2 reset and returned" grep -q "$vf2 reset and returned to pool tenants" "$IOVD_LOG"
expect_eq "guest g stopped" "$(gstate)" stopped

# The drop-in --save wrote: a new iovd starts g from it (autostart).
kill "$MON_PID" || fail "the event monitor ended before it was stopped"
stop_iovd
start_iovd --config "$CFG" --config-dir "$DROP" --state-dir "$GS"
wait_for "guest g autostarted from its drop-in" 10 sh -c \
	"$IOVCTL --json vm show g 2>/dev/null | grep -q '\"state\": *\"running\"'"
grep -q "guest g started" "$IOVD_LOG" && ok "iovd started g from $DROP/50-guest-g.json" ||
	fail_more "no start of g in iovd's log"
run_ctl /tmp/gpr.out vm stop g
expect_eq "vm stop g (autostarted)" "$rc" 0
run_ctl /tmp/gpr.out vfs destroy "$PF" --force
expect_eq "vfs destroy --force" "$rc" 0
stop_iovd
