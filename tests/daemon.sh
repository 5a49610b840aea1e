#!/bin/sh
# tests/daemon.sh BUILD: the daemonized iovd (issue 10): its working directory is / and its
# umask 022 whatever the caller had; a regular file at the socket path is refused and left
# alone. Runs iovd on a generated fake tree; needs no root. Exit 1 on failure.
set -u
B=${1:?usage: $0 BUILD}
T=$(mktemp -d /tmp/iovd-daemon.XXXXXX)
fail=0
trap 'kill $(cat "$T/pid" 2>/dev/null) 2>/dev/null; rm -rf "$T"' EXIT
bad() { echo "daemon: FAIL: $*"; fail=1; }

python3 tests/fixtures/gen/mksysfs.py tests/fixtures/layout_a.desc "$T/tree" >/dev/null || exit 1
mkdir "$T/cwd"
(cd "$T/cwd" && umask 0 && "$OLDPWD/$B/iovd" --sysroot "$T/tree" --socket "$T/sock" \
	--state-dir "$T/state" --bind-state "$T/bind-state.json" --pidfile "$T/pid") 2>"$T/err" || bad "iovd did not start: $(cat "$T/err")"
pid=$(cat "$T/pid" 2>/dev/null)
if [ -n "$pid" ] && [ -d "/proc/$pid" ]; then
	# The child moves to / just after the parent returns: give it a moment.
	i=0
	while cwd=$(readlink "/proc/$pid/cwd") && [ "$cwd" != / ] && [ $i -lt 30 ]; do
		sleep 0.1; i=$((i + 1))
	done
	[ "$cwd" = / ] || bad "working directory is $cwd, not /"
	um=$(awk '/^Umask:/ {print $2}' "/proc/$pid/status")
	[ "$um" = 0022 ] || bad "umask is $um, not 0022"
	mode=$(stat -c %a "$T/sock")
	[ "$mode" = 666 ] || bad "socket mode is $mode, not 666"
	kill "$pid"
else
	bad "no daemon process"
fi

# A regular file where the socket goes: refused, named, untouched.
echo keep > "$T/notsock"
if "$B/iovd" --sysroot "$T/tree" --state-dir "$T/state2" --socket "$T/notsock" --foreground 2>"$T/err2" >/dev/null; then
	bad "iovd served on a regular file"
fi
grep -q "is not a socket" "$T/err2" || bad "no clear message: $(cat "$T/err2")"
[ "$(cat "$T/notsock")" = keep ] || bad "the regular file was changed"
[ $fail = 0 ] && echo "daemon: all checks passed"
exit $fail
