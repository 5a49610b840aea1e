# Helpers for the vfio_*/verify_* scenarios (sourced by them; not a scenario: no presets line).
#
# Binding goes through the product path when this build has it (iovctl bind/release talking
# to iovd); otherwise through iov-bindtool (vfio/bindtool.c: the same vfio/bind.c without the
# daemon) when the image carries it.

BINDTOOL=/usr/bin/iov-bindtool
IOVD=/usr/bin/iovd
# iovd and iov-bindtool keep the bind records in the state directory (iovd --state-dir).
STATE=/var/lib/iovd/bind-state.json

iovctl_has() { "$IOVCTL" --help 2>&1 | grep -q "^  $1 "; }

bind_path() {
	if iovctl_has bind && [ -x "$IOVD" ]; then echo iovd
	elif [ -x "$BINDTOOL" ]; then echo bindtool
	else echo none; fi
}

# ensure_iovd: a daemon on the default socket, started with $IOVD_ARGS if none runs.
ensure_iovd() {
	[ -S /run/iovd/io.iovd ] && return 0
	mkdir -p /run/iovd
	"$IOVD" --pidfile /run/iovd/test.pid ${IOVD_ARGS:-} > /tmp/iovd.log 2>&1 &
	_i=0
	while [ ! -S /run/iovd/io.iovd ]; do
		_i=$((_i + 1)); [ $_i -gt 50 ] && { cat /tmp/iovd.log; fail "iovd did not create /run/iovd/io.iovd in 5 s"; }
		sleep 0.1
	done
}

# stop_iovd: stops the daemon ensure_iovd started (SIGTERM; it removes its socket).
stop_iovd() {
	[ -f /run/iovd/test.pid ] && kill "$(cat /run/iovd/test.pid)" 2>/dev/null
	_i=0
	while [ -S /run/iovd/io.iovd ]; do
		_i=$((_i + 1)); [ $_i -gt 50 ] && fail "iovd did not exit on SIGTERM within 5 s"
		sleep 0.1
	done
	rm -f /run/iovd/test.pid
}

# vbind bind|release DEV: prints the command's output; returns its exit status.
vbind() {
	case "$(bind_path)" in
	iovd) ensure_iovd; "$IOVCTL" "$1" "$2" ;;
	bindtool) "$BINDTOOL" --state "$STATE" "$1" "$2" ;;
	*) fail "no bind entry point: this build has neither 'iovctl bind' (with iovd) nor $BINDTOOL" ;;
	esac
}

# override DEV: driver_override as the kernel shows it ("(null)" when unset).
override() { attr "$SYSPCI/$1/driver_override"; }

# host_snapshot: every PCI device with its driver and driver_override, one a line. Two equal
# snapshots mean the host's drivers were left exactly as they were.
host_snapshot() {
	for d in $(ls "$SYSPCI"); do
		echo "$d $(dev_driver "$d") $(override "$d")"
	done
}

# state_devices: the devices the bind state file records (none when there is no file).
state_devices() { if [ -f "$STATE" ]; then j "$STATE" '.devices[].device' | sort | tr '\n' ' '; fi; }

# verify_json DEV FILE: iovctl --json verify into FILE (kept as a blob); sets vrc.
verify_json() {
	"$IOVCTL" --json verify "$1" > "$2" 2> /tmp/verify.err && vrc=0 || vrc=$?
	[ -s /tmp/verify.err ] && { echo "iovctl verify stderr:"; cat /tmp/verify.err; }
	"$JGET" -j "$2" . > /dev/null || fail "iovctl verify --json printed no valid JSON: $(head -c 400 "$2")"
	cp "$2" "$RIG_BLOBS/$(basename "$2")"
	"$IOVCTL" verify "$1" || true
}

# vstatus FILE CHECK: the status of one check.
vstatus() { j "$1" ".devices[0].checks[id=$2].status"; }
