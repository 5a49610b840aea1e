# Helpers for the events_* scenarios (sourced; not a scenario: no presets line): iovd
# following a config, its event stream captured, the declared state checked in sysfs and
# with iproute2.

. /rig/scenarios/sriov_lib.sh

CFG=/tmp/events-iovd.json
STATE=/tmp/events-state
MON=/tmp/events-monitor.jsonl

PF=$(pf_list | head -n1)
[ -n "$PF" ] || fail "no SR-IOV PF in this test host"
IGB_KO=/lib/modules/igb.ko
[ -f "$IGB_KO" ] || fail "no $IGB_KO in the image"

# host_reset: no VFs, autoprobe on, nothing recorded (each scenario starts from the boot state).
host_reset() {
	stop_iovd
	for f in "$SYSPCI"/*/sriov_numvfs; do echo 0 > "$f" 2>/dev/null || true; done
	for f in "$SYSPCI"/*/sriov_drivers_autoprobe; do echo 1 > "$f" 2>/dev/null || true; done
	rm -rf "$STATE"
	: > "$IOVD_LOG"
}

# start_cfg_iovd [ARGS]: iovd following $CFG (applied before it serves), and a monitor
# recording every event to $MON.
start_cfg_iovd() {
	start_iovd --config "$CFG" --config-dir "" --state-dir "$STATE" "$@"
	"$IOVCTL" --json monitor > "$MON" 2>/tmp/events-monitor.err &
	MON_PID=$!
	monitor_subscribed "$MON_PID"
}

# monitor_subscribed PID: waits (5 s at most, then fails) until iovd (-v) logged that the
# monitor PID subscribed: events after that reach it.
monitor_subscribed() {
	_i=0
	until grep -q "Monitor: pid $1 subscribed" "$IOVD_LOG"; do
		_i=$((_i + 1))
		[ $_i -le 50 ] || fail "iovctl monitor (pid $1) not subscribed 5 s after it started: $(cat /tmp/events-monitor.err 2>/dev/null)"
		sleep 0.1
	done
}

stop_cfg_iovd() {
	if [ -n "${MON_PID:-}" ]; then kill "$MON_PID" 2>/dev/null || true; fi
	MON_PID=
	stop_iovd
}

vf_addr() { basename "$(readlink "$SYSPCI/$PF/virtfn$1")"; }

# events_of TYPE: how many events of TYPE the monitor has seen.
events_of() { grep -c "\"type\":\"$1\"" "$MON" || true; }

# wait_for WHAT SECONDS COMMAND...: polls COMMAND every 0.1 s; sets waited_ms.
wait_for() {
	_what=$1 _max=$(($2 * 10)); shift 2
	_t0=$(now_ms) _i=0
	until "$@"; do
		_i=$((_i + 1))
		[ $_i -gt $_max ] && fail "$_what: not within $((_max / 10)) s"
		sleep 0.1
	done
	waited_ms=$(($(now_ms) - _t0))
}

# vf_is N DRIVER [PATTERN...]: VF N exists, has DRIVER and iproute2 shows every PATTERN.
vf_is() {
	_n=$1 _d=$2; shift 2
	[ -L "$SYSPCI/$PF/virtfn$_n" ] || return 1
	[ "$(dev_driver "$(vf_addr "$_n")")" = "$_d" ] || return 1
	_l=$(ip_vf "$(pf_netdev "$PF")" "$_n")
	for _p in "$@"; do
		case "$_l" in *"$_p"*) ;; *) return 1 ;; esac
	done
	return 0
}

# expect_vf N DRIVER [PATTERN...]: as vf_is, failing with what iproute2 and sysfs show.
expect_vf() {
	if vf_is "$@"; then
		ok "vf$1: $2 $(shift 2; echo "$*")"
	else
		fail "vf$1: want $2 $(shift 2; echo "$*"); have driver $(dev_driver "$(vf_addr "$1")"): $(ip_vf "$(pf_netdev "$PF")" "$1")"
	fi
}

# iovd_quiet: waits until iovd's udev windows are over: no new "host changed:" window (it
# closes 500 ms after the last uevent, at most 3 s after the first, then the drift check
# runs) in its log for 2 s; fails after 30 s of windows.
iovd_quiet() {
	_t0=$(now_ms) _n=-1 _since=0
	while :; do
		_c=$(grep -c "host changed:" "$IOVD_LOG" || true)
		if [ "$_c" != "$_n" ]; then _n=$_c _since=$(now_ms); fi
		[ $(($(now_ms) - _since)) -ge 2000 ] && break
		[ $(($(now_ms) - _t0)) -lt 30000 ] || fail "iovd's udev windows did not end within 30 s ($_c so far)"
		sleep 0.1
	done
}

# fd and memory figures of the running iovd.
iovd_fds() { ls "/proc/$(cat "$IOVD_PIDFILE")/fd" | wc -l; }
iovd_rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$(cat "$IOVD_PIDFILE")/status"; }
