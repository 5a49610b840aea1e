# The host config route: iovd --config applies it at start (VFs created, properties set, the
# right VFs on vfio-pci: checked in sysfs and `ip link`); applying again plans nothing and
# writes nothing; a change of num_vfs and a VLAN through `iovctl reload`; a config that does
# not load is refused and the previous one stays; a step igb refuses (link state) rolls the
# whole apply back to the exact previous state; a simulated reboot (VFs removed behind
# iovd's back, iovd restarted) re-creates everything.
# rig-presets: default
# rig-timeout: 240

. /rig/scenarios/config_lib.sh

host_reset
cat > "$CFG" <<J
{ "pfs": [ { "name": "uplink", "match": { "address": "$PF" }, "num_vfs": 3,
             "vfs": { "0": { "mac": "02:00:00:00:0a:00", "vlan": 100, "driver": "vfio-pci" },
                      "1": { "mac": "02:00:00:00:0a:01", "spoofchk": false },
                      "2": { "vlan": 200, "qos": 2 } } } ] }
J

# -- from nothing, at start --
t0=$(now_ms)
start_cfg_iovd
t1=$(now_ms)
log "figure: iovd start with an apply from nothing (3 VFs, 1 on vfio-pci) took $((t1 - t0)) ms"
grep -q "config applied at start: ok" "$IOVD_LOG" && ok "applied at start" || fail "not applied at start"
expect_eq "numvfs" "$(attr "$SYSPCI/$PF/sriov_numvfs")" 3
expect_eq "autoprobe stays on (VFs for igbvf)" "$(attr "$SYSPCI/$PF/sriov_drivers_autoprobe")" 1
expect_vf 0 vfio-pci "02:00:00:00:0a:00" "vlan 100"
expect_eq "vf0 driver_override" "$(attr "$SYSPCI/$(vf_addr 0)/driver_override")" vfio-pci
expect_vf 1 igbvf "02:00:00:00:0a:01" "spoof checking off"
expect_vf 2 igbvf "vlan 200, qos 2"
[ -e "/dev/vfio/$(dev_group "$(vf_addr 0)")" ] && ok "/dev/vfio/N of vf0 exists" || fail "no /dev/vfio for vf0"
run_ctl /tmp/st.out status
expect_eq "status: exit" "$rc" 0
grep -q "difference: none" /tmp/st.out && ok "status: no difference" || fail "status shows a difference"
grep -q "last apply: transaction 1 .*: ok" /tmp/st.out && ok "status: last apply ok" || fail "status: last apply"

# -- again: an empty plan, nothing written --
before=$(host_state); sum=$(journal_sum)
run_ctl /tmp/p.out plan
expect_eq "plan: exit" "$rc" 0
grep -q "no changes" /tmp/p.out && ok "second plan is empty" || fail "second plan not empty"
"$IOVCTL" --json plan > /tmp/p.json || fail "plan --json"
expect_eq "plan --json: no actions" "$(jcount /tmp/p.json '.actions[]')" 0
run_ctl /tmp/a.out --json apply
expect_eq "apply again: exit" "$rc" 0
expect_eq "apply again: result" "$(j /tmp/a.out '.result')" "nothing to do"
expect_eq "apply again: host untouched" "$(host_state)" "$before"
expect_eq "apply again: nothing written to the state directory" "$(journal_sum)" "$sum"

# -- change num_vfs and a VLAN --
sed -i 's/"num_vfs": 3/"num_vfs": 4/; s/"vlan": 200/"vlan": 300/' "$CFG"
run_ctl /tmp/p.out plan
grep -q "^- remove 3 VFs of uplink" /tmp/p.out && ok "plan: remove 3" || fail "plan lacks the removal"
grep -q "^+ create 4 VFs on uplink" /tmp/p.out && ok "plan: create 4" || fail "plan lacks the creation"
grep -q "uplink/vf0-2 (.*) are removed and re-created" /tmp/p.out && ok "plan: impact names vf0-2, one line" ||
	fail "plan: no impact line"
t0=$(now_ms)
run_ctl /tmp/r.out reload
t1=$(now_ms)
expect_eq "reload: exit" "$rc" 0
log "figure: reload 3 -> 4 VFs took $((t1 - t0)) ms"
expect_eq "numvfs now" "$(attr "$SYSPCI/$PF/sriov_numvfs")" 4
expect_vf 0 vfio-pci "02:00:00:00:0a:00" "vlan 100"
expect_vf 2 igbvf "vlan 300, qos 2"
expect_vf 3 igbvf
run_ctl /tmp/p.out plan
grep -q "no changes" /tmp/p.out && ok "empty plan after reload" || fail "plan not empty after reload"

# -- a config that does not load: refused, the previous one stays --
cp "$CFG" /tmp/good.json
echo '{ "pfs": [ { "name": "uplink", "num_vfs": 4, ' > "$CFG"
before=$(host_state)
run_ctl /tmp/r.out reload
expect_eq "bad reload: exit" "$rc" 1
grep -q "$CFG" /tmp/r.out && ok "bad reload names the file" || fail "bad reload: no file named"
expect_eq "bad reload: host unchanged" "$(host_state)" "$before"
"$IOVCTL" --json status > /tmp/s.json || fail "status --json"
expect_eq "status: previous config still in force" "$(j /tmp/s.json '.config.pfs')" 1
case "$(j /tmp/s.json '.config_error')" in *"$CFG"*) ok "status: the load error" ;; *) fail "status: no config_error" ;; esac
kill -HUP "$(cat "$IOVD_PIDFILE")"
# iovd logs its refusal once it has read the file: wait for it (5 s at most).
i=0
until grep -q "SIGHUP: .*previous config stays in force" "$IOVD_LOG"; do
	i=$((i + 1)); [ $i -le 50 ] || fail "SIGHUP with a bad config: no refusal logged within 5 s"
	sleep 0.1
done
ok "SIGHUP with a bad config: refused"

# -- a step igb refuses (VF link state): the whole apply goes back, exactly --
sed 's/"num_vfs": 4/"num_vfs": 5/; s/"vlan": 300/"vlan": 400/' /tmp/good.json |
	sed 's/"2": {/"4": { "state": "disable" }, "2": {/' > "$CFG"
cat "$CFG"
before=$(host_state)
run_ctl /tmp/a.out apply
expect_eq "failing apply: exit" "$rc" 1
grep -q "uplink/vf4 state disable) failed" /tmp/a.out && ok "the error names the step" ||
	fail "error does not name the failing step"
grep -q "put back" /tmp/a.out && ok "the error says it was rolled back" || fail "no roll-back said"
after=$(host_state)
if [ "$after" = "$before" ]; then ok "host exactly as before the failed apply"; else
	echo "--- before"; echo "$before"; echo "--- after"; echo "$after"; fail "host differs after roll-back"; fi
"$IOVCTL" --json status > /tmp/s.json
expect_eq "status: last apply rolled back" "$(j /tmp/s.json '.last_apply.result')" rolled_back
cp "$IOVD_LOG" "$RIG_BLOBS/config_apply-iovd.log"
cp "$STATE/journal.jsonl" "$RIG_BLOBS/config_apply-rolled-back-journal.jsonl"
cp /tmp/good.json "$CFG"

# -- simulated reboot: the VFs vanish behind iovd's back; a restart re-creates everything --
stop_iovd
echo 0 > "$SYSPCI/$PF/sriov_numvfs"
echo 1 > "$SYSPCI/$PF/sriov_drivers_autoprobe"
start_cfg_iovd
expect_eq "after reboot: numvfs" "$(attr "$SYSPCI/$PF/sriov_numvfs")" 4
expect_vf 0 vfio-pci "02:00:00:00:0a:00" "vlan 100"
expect_vf 1 igbvf "02:00:00:00:0a:01" "spoof checking off"
expect_vf 2 igbvf "vlan 300, qos 2"
stop_iovd
