# iovd killed (the test-only switch IOVD_TEST_EXIT_AT: _exit at a named point, as a kill -9
# there would) at every step of a guest's start and of its VFs' return; a plain iovd then
# starts, and every time: no iovm runs that no guest owns, every VF is in its pool (VF 0-1,
# vfio-pci) or back on its host driver (VF 2, igbvf) with the PF's admin settings for it
# as before the start, guests.json holds no guest, and the guest starts and stops again.
# The guest has two NICs (a pool VF, and VF 2 named, which iovd moves to vfio-pci for it):
# both ways a VF is lent. Start points: start-recorded start-bound start-set start-spawned;
# return points (vm stop): vf-reset, vf-restored, vf-returned, of the first NIC and the second.
# rig-presets: default
# rig-timeout: 420

. /rig/scenarios/guest_load_lib.sh

gload_setup
before=$(vf_state)
log "before: $before"

# converged WHAT [again]: the host as before the start, nothing recorded, no iovm; with
# "again", the guest can be started and stopped again (the return points' next round starts
# it anyway).
converged() {
	expect_eq "$1: no iovm left" "$(iovm_pids)" ""
	expect_eq "$1: VFs and their admin settings as before" "$(vf_state)" "$before"
	expect_eq "$1: guests.json holds no guest" "$("$JGET" -c "$GSTATE/guests.json" '.guests[]')" 0
	host_invariants "$1"
	[ "${2:-}" = again ] || return 0
	vm_start k "tenants" "$PFNET/vf2" > /tmp/k.out 2>&1 || { cat /tmp/k.out; fail "$1: vm start after the restart"; }
	host_invariants "$1, started again"
	run_ctl /tmp/k.out vm stop k --force
	expect_eq "$1: vm stop after the restart" "$rc" 0
	expect_eq "$1: VFs back after the stop" "$(vf_state)" "$before"
}

# crash_at POINT: iovd with the switch; returns once that iovd has ended.
crash_iovd() {
	stop_iovd
	IOVD_TEST_EXIT_AT=$1 "$IOVD" -v --pidfile "$IOVD_PIDFILE" $GARGS >> "$IOVD_LOG" 2>&1 ||
		fail "iovd with IOVD_TEST_EXIT_AT=$1 did not start"
	crash_pid=$(cat "$IOVD_PIDFILE")
}
restart_after() {
	wait_gone "$crash_pid"
	rm -f "$IOVD_PIDFILE"
	_k=1; case $1 in *:*) _k=${1#*:} ;; esac
	grep -q "IOVD_TEST_EXIT_AT: exiting at ${1%%:*} (time $_k " "$IOVD_LOG" || fail "$1: iovd did not exit there"
	_mark=$(wc -l < "$IOVD_LOG")
	start_iovd $GARGS
	iovd_ready
	tail -n +"$((_mark + 1))" "$IOVD_LOG" | grep -E "starting it|killed iovm|returned|quarantined|host driver" | sed 's/^/  restart: /' || true	# context only
}

for p in start-recorded start-bound start-set start-spawned; do
	crash_iovd "$p"
	vm_start k "tenants" "$PFNET/vf2" > /tmp/k.out 2>&1 && rc=0 || rc=$?
	expect_ne "$p: vm start did not get an answer" "$rc" 0
	left="iovm=$(iovm_pids | wc -w) vf2=$(dev_driver "$VF2")"
	restart_after "$p"
	log "figure: iovd killed at $p: left $left"
	if [ "$p" = start-spawned ]; then
		grep -q "guest k: killed iovm pid" "$IOVD_LOG" && ok "$p: the restart killed the unrecorded iovm" ||
			fail "$p: the restart did not say it killed the iovm the dead iovd started"
	fi
	converged "$p" again
done

for p in vf-reset:1 vf-restored:1 vf-returned:1 vf-reset:2 vf-restored:2 vf-returned:2; do
	crash_iovd "$p"
	vm_start k "tenants" "$PFNET/vf2" > /tmp/k.out 2>&1 || { cat /tmp/k.out; fail "$p: vm start"; }
	host_invariants "$p: running"
	"$IOVCTL" vm stop k --force > /tmp/k.out 2>&1 && rc=0 || rc=$?
	expect_ne "$p: vm stop did not get an answer" "$rc" 0
	restart_after "$p"
	converged "$p"
done
converged "after every return point" again
stop_iovd
