# Helpers for the sriov_*/daemon_* scenarios (sourced by them; not a scenario: no presets
# line). Changes go through iovd with iovctl, as a user would make them.

IOVD=/usr/bin/iovd
ASUSER=/usr/bin/asuser
# A socket of our own (iovd and iovctl both read IOVD_SOCKET): other scenarios may leave
# an iovd of theirs on the default one, and these scenarios stop and start theirs.
SOCK=/run/iovd/sriov-test.sock
IOVD_PIDFILE=/run/iovd/sriov-test.pid
export IOVD_SOCKET=$SOCK
IOVD_LOG=/tmp/iovd.log

# A failure shows the end of iovd's log too (before lib.sh's fail says what failed).
fail_context() {
	if [ -s "$IOVD_LOG" ]; then echo "--- last lines of $IOVD_LOG:"; tail -n 40 "$IOVD_LOG"; fi
}

# Milliseconds since boot (busybox date has no %N).
now_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }

# start_iovd [ARGS...]: a fresh iovd on the default socket, verbose, logging to $IOVD_LOG.
start_iovd() {
	stop_iovd
	mkdir -p /run/iovd
	"$IOVD" -v --pidfile "$IOVD_PIDFILE" "$@" >> "$IOVD_LOG" 2>&1 ||
		{ cat "$IOVD_LOG"; fail "iovd did not start"; }
	[ -S "$SOCK" ] || { cat "$IOVD_LOG"; fail "iovd started but $SOCK is missing"; }
}

# stop_iovd: SIGTERM by pid (from the pidfile); waits until the socket is gone.
stop_iovd() {
	[ -f "$IOVD_PIDFILE" ] || return 0
	kill "$(cat "$IOVD_PIDFILE")" 2>/dev/null || true	# gone already: its pidfile must go too
	_i=0
	while [ -e "$SOCK" ] || [ -f "$IOVD_PIDFILE" ]; do
		_i=$((_i + 1)); [ $_i -gt 50 ] && fail "iovd did not exit within 5 s of SIGTERM"
		sleep 0.1
	done
}

# run_ctl OUTFILE ARGS...: iovctl ARGS with stdout+stderr in OUTFILE (printed); sets rc.
run_ctl() {
	_o=$1; shift
	"$IOVCTL" "$@" > "$_o" 2>&1 && rc=0 || rc=$?
	echo "\$ iovctl $* -> exit $rc"; sed 's/^/  | /' "$_o"
}

# expect_refused WHAT WANT_RC PATTERN ARGS...: iovctl ARGS must exit WANT_RC, print PATTERN
# (grep -i), and leave the host exactly as it was (host_state before == after).
expect_refused() {
	_w=$1 _rc=$2 _pat=$3; shift 3
	_before=$(host_state)
	run_ctl /tmp/refused.out "$@"
	expect_eq "$_w: exit status" "$rc" "$_rc"
	grep -qi -- "$_pat" /tmp/refused.out && ok "$_w: message says '$_pat'" ||
		fail "$_w: message lacks '$_pat'"
	expect_eq "$_w: host unchanged" "$(host_state)" "$_before"
}

# pf_netdev PF: the PF's network interface.
pf_netdev() { ls "$SYSPCI/$1/net" 2>/dev/null | head -n1; }

# host_state: what a change could touch: every PCI device with its driver and override,
# every PF's SR-IOV counters, the VF settings the kernel reports for every PF netdev.
host_state() {
	for d in $(ls "$SYSPCI"); do
		echo "$d $(dev_driver "$d") $(attr "$SYSPCI/$d/driver_override")"
	done
	for pf in $(pf_list); do
		echo "$pf numvfs=$(attr "$SYSPCI/$pf/sriov_numvfs") autoprobe=$(attr "$SYSPCI/$pf/sriov_drivers_autoprobe")"
		_n=$(pf_netdev "$pf")
		if [ -n "$_n" ]; then "$IP" link show "$_n" | grep '^ *vf ' || true; fi
	done
}

# ip_vf NETDEV N: iproute2's line for VF N.
ip_vf() { "$IP" link show "$1" | grep "^ *vf $2 "; }

# settle: VF drivers probe asynchronously to the sriov_numvfs write; waits (with a deadline
# that fails) until every PF's VFs have the driver autoprobe gives them (lib.sh vfs_settled).
settle() { for _p in $(pf_list); do vfs_settled "$_p"; done; }
