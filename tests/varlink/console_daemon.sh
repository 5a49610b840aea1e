#!/bin/sh
# `iovctl vm console` against the real iovd, without /dev/kvm or VFIO: iovd re-adopts a
# recorded guest whose "iovm" is a sleep (iovd's --iovm, run as its --guest-user; pid and
# start time match), with its log and its
# console FIFO in the state dir, as iovd made them. Typed bytes must arrive in the FIFO,
# output appended to the log must be shown, Ctrl-] detaches, iovd keeps running; a guest
# that is not running and an unprivileged caller are refused.
#   tests/varlink/console_daemon.sh BUILD      (from the repository root; needs root)
set -u
B=${1:?usage: $0 BUILD}
T=$(mktemp -d /tmp/iovd-console.XXXXXX)
fail=0 gp= ip=
trap 'kill $gp $ip 2>/dev/null; rm -rf "$T"' EXIT
bad() { echo "console_daemon: FAIL: $*"; fail=1; }
ok() { echo "ok: $*"; }

python3 tests/fixtures/gen/mksysfs.py tests/fixtures/layout_a.desc "$T/tree" >/dev/null || exit 1
mkdir -p "$T/state/guests"
chmod 755 "$T"
cp "$(command -v sleep)" "$T/iovm"
setpriv --reuid 65534 --regid 65534 --clear-groups "$T/iovm" 300 & gp=$!
sleep 0.2	# exec'd: /proc/PID/exe is $T/iovm
st=$(awk '{ sub(/.*\) /, ""); print $20 }' "/proc/$gp/stat")
printf '{"version":1,"guests":[{"name":"web","kernel":"/x","pid":%d,"start_time":%s,"nics":[]},
 {"name":"gone","kernel":"/x","pid":%d,"start_time":1,"nics":[]}],"quarantine":[]}' \
	"$gp" "$st" "$gp" > "$T/state/guests.json"
printf 'boot\r\nlogin: ' > "$T/state/guests/web.log"
mkfifo -m 600 "$T/state/guests/web.in"
exec 7<>"$T/state/guests/web.in"	# the guest's end (iovm holds it both ways)
"$B/iovd" --sysroot "$T/tree" --socket "$T/sock" --state-dir "$T/state" \
	--bind-state "$T/bs.json" --iovm "$T/iovm" --guest-user 65534:65534 --foreground 2>"$T/err" &
ip=$!
i=0
while [ ! -S "$T/sock" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
C="$B/iovctl --socket $T/sock"

(sleep 0.5; printf 'hello\r'; sleep 0.3; printf 'Welcome\n' >> "$T/state/guests/web.log"
 sleep 0.7; printf '\035after') | $C vm console web > "$T/out" 2> "$T/cerr"
rc=$?
[ $rc = 0 ] && ok "detached with Ctrl-]" || bad "vm console web: exit $rc: $(cat "$T/cerr")"
grep -q "detach with Ctrl-]" "$T/cerr" && ok "names the detach key" || bad "no detach key named: $(cat "$T/cerr")"
grep -q "Welcome" "$T/out" && ok "new guest output shown" || bad "output not shown: $(cat "$T/out")"
grep -q "boot" "$T/out" && bad "old log shown on attach" || ok "attach starts at the end of the log"
got=$(timeout 1 dd bs=64 count=1 <&7 2>/dev/null | od -An -c | tr -d ' ')
[ "$got" = 'hello\r' ] && ok "typed bytes in the guest's FIFO, none after Ctrl-]" || bad "FIFO got '$got'"
kill -0 $ip 2>/dev/null && ok "iovd still running" || { bad "iovd died: $(tail -3 "$T/err")"; exit 1; }

$C vm console gone > "$T/out" 2>&1 && bad "console of a guest not running accepted"
grep -q "not running" "$T/out" && ok "a guest not running: refused" || bad "no clear refusal: $(cat "$T/out")"
$C vm console nope > "$T/out" 2>&1 && bad "console of an unknown guest accepted"
grep -q "no guest named 'nope'" "$T/out" && ok "unknown guest: refused" || bad "unknown: $(cat "$T/out")"
if command -v setpriv >/dev/null; then
	setpriv --reuid 65534 --regid 65534 --clear-groups $C vm console web > "$T/out" 2>&1 < /dev/null &&
		bad "unprivileged console accepted"
	grep -qi "permission denied" "$T/out" && ok "unprivileged: refused" || bad "unprivileged: $(cat "$T/out")"
	setpriv --reuid 65534 --regid 65534 --clear-groups $C vm log web > "$T/out" 2>&1 &&
		grep -q Welcome "$T/out" && ok "unprivileged: vm log still open" || bad "vm log as nobody: $(cat "$T/out")"
fi
[ $fail = 0 ] && echo "console_daemon: all passed"
exit $fail
