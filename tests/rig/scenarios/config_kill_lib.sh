# The kill -9 loop of config_kill_a/b (sourced; not a scenario). iovd runs with the test-only
# fault switch IOVD_TEST_EXIT_AFTER_STEP=N, which makes it _exit right after journal record N
# of its apply at start is durable (as a kill -9 at that instant would); then a plain iovd
# starts, recovers (rolls back, or finishes an apply whose steps were all done), applies the
# config, and the host must match the config every time.
#
# The plan from nothing (5 steps, 12 records: 1 begin, 2k+2 start / 2k+3 done of step k,
# 12 end): create 2 VFs, vf0 vlan 100, vf0 -> vfio-pci, vf1 mac, vf1 spoofchk off.

. /rig/scenarios/config_lib.sh

cat > "$CFG" <<J
{ "pfs": [ { "name": "uplink", "match": { "netdev": "$NET" }, "num_vfs": 2,
             "vfs": { "0": { "vlan": 100, "driver": "vfio-pci" },
                      "1": { "mac": "02:00:00:00:0b:01", "spoofchk": false } } } ] }
J

converged() {
	expect_eq "$1: numvfs" "$(attr "$SYSPCI/$PF/sriov_numvfs")" 2
	expect_vf 0 vfio-pci "vlan 100"
	expect_vf 1 igbvf "02:00:00:00:0b:01" "spoof checking off"
	run_ctl /tmp/p.out plan
	grep -q "no changes" /tmp/p.out && ok "$1: plan empty" || fail "$1: host differs from the config"
}

# kill_at N: crash after record N, restart, check; prints what the crash left and what the
# restart did with it.
kill_at() {
	host_reset
	IOVD_TEST_EXIT_AFTER_STEP=$1 "$IOVD" -v --pidfile "$IOVD_PIDFILE" --config "$CFG" \
		--state-dir "$STATE" >> "$IOVD_LOG" 2>&1 && _rc=0 || _rc=$?
	expect_eq "record $1: iovd exited by the fault switch" "$_rc" 99
	rm -f "$IOVD_PIDFILE"
	_rec=$(tail -n1 "$STATE/journal.jsonl" | sed 's/.*"r": *"\([a-z]*\)".*"step": *\([0-9]*\).*/\1 step \2/; s/.*"r": *"begin".*/begin/')
	_left="numvfs=$(attr "$SYSPCI/$PF/sriov_numvfs") autoprobe=$(attr "$SYSPCI/$PF/sriov_drivers_autoprobe")"
	[ "$(vf_addr 0)" != null ] && _left="$_left vf0=$(dev_driver "$(vf_addr 0)")"
	: > /tmp/iovd-start.log
	"$IOVD" -v --pidfile "$IOVD_PIDFILE" --config "$CFG" --state-dir "$STATE" \
		> /tmp/iovd-start.log 2>&1 || { cat /tmp/iovd-start.log; fail "restart after record $1"; }
	cat /tmp/iovd-start.log >> "$IOVD_LOG"
	_how=$(grep -o "recovered: rolled back [0-9]* started steps\{0,1\}\|interrupted after its last step: finished" \
		/tmp/iovd-start.log | head -n1)
	[ -n "$_how" ] || fail "record $1: the restart logged no recovery"
	log "figure: kill after journal record $1 ($_rec): left $_left; restart: $_how, then applied"
	converged "record $1"
	stop_iovd
}
