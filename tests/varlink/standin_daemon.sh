#!/bin/sh
# `iovctl vm stop` and `vm log` against the real iovd without /dev/vfio or a guest: the
# "iovm" is a stand-in given with --iovm (no NICs), supervised as iovm is. A stand-in that
# ignores SIGTERM (a guest that does not shut down) is killed after --timeout; meanwhile iovd
# answers others at once and shows the guest "stopping"; a caller that goes away during the
# stop costs nothing (the guest still stops); --force kills at once. A 100 MiB log: `vm log`
# reads only its end (before: the whole file on the loop, and nothing above 64 MiB).
#   tests/varlink/standin_daemon.sh BUILD      (from the repository root; needs root and the
#   iovm user that setup.sh creates)
set -u
B=${1:?usage: $0 BUILD}
T=$(mktemp -d /tmp/iovd-stop.XXXXXX)
fail=0 ip= pb=
trap 'kill $ip $pb 2>/dev/null; rm -rf "$T"' EXIT
bad() { echo "standin_daemon: FAIL: $*"; fail=1; }
ok() { echo "ok: $*"; }
ms() { date +%s%3N; }

chmod 755 "$T"		# the guest user runs the stand-in from here
python3 tests/fixtures/gen/mksysfs.py tests/fixtures/layout_a.desc "$T/tree" >/dev/null || exit 1
printf '#!/bin/sh\n# a guest that does not shut down on SIGTERM\ntrap "" TERM\nexec sleep 300\n' > "$T/stubborn"
chmod 755 "$T/stubborn"
head -c 4096 /dev/zero > "$T/kernel"
chmod 644 "$T/kernel"
printf '{ "policy": { "stop_timeout": 2 } }\n' > "$T/iovd.json"
"$B/iovd" --sysroot "$T/tree" --socket "$T/sock" --state-dir "$T/state" --bind-state "$T/bs.json" \
	--config "$T/iovd.json" --cdi-dir "" --no-apply --iovm "$T/stubborn" --foreground 2>"$T/err" &
ip=$!
i=0
while [ ! -S "$T/sock" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
C="$B/iovctl --socket $T/sock"
start() { $C vm start "$1" --kernel "$T/kernel" --mem 64M > "$T/out" 2>&1 || bad "vm start $1: $(cat "$T/out")"; }
gpid() { $C vm show "$1" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["guest"]["pid"])'; }
state() { $C vm show "$1" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["guest"]["state"])'; }

start a
start b
pa=$(gpid a) pb=$(gpid b)
t0=$(ms)
$C vm stop a --timeout 3 --json > "$T/stop" 2>&1 &
sp=$!
sleep 0.5
t1=$(ms)
$C vm list --json > "$T/list" 2>&1 || bad "vm list during the stop: $(cat "$T/list")"
t2=$(ms)
[ $((t2 - t1)) -lt 1000 ] && ok "vm list answered in $((t2 - t1)) ms while a stop waits" ||
	bad "vm list took $((t2 - t1)) ms while a stop waits (the loop is held)"
[ "$(state a)" = stopping ] && ok "the guest shows stopping" || bad "state during the stop: $(state a)"
[ "$(state b)" = running ] && ok "the other guest runs on" || bad "guest b: $(state b)"
wait $sp || bad "vm stop a: $(cat "$T/stop")"
t3=$(ms)
[ $((t3 - t0)) -ge 2900 ] && [ $((t3 - t0)) -lt 8000 ] && ok "a guest ignoring SIGTERM is killed after --timeout 3 ($((t3 - t0)) ms)" ||
	bad "stop took $((t3 - t0)) ms (want 3 s)"
grep -q '"state": *"stopped"' "$T/stop" && ok "the answer comes once it has ended" || bad "reply: $(cat "$T/stop")"
kill -0 "$pa" 2>/dev/null && bad "stand-in $pa still alive" || ok "its iovm is gone"
grep -q "did not end within 3 s of SIGTERM; SIGKILL" "$T/err" && ok "iovd says it killed it" ||
	bad "no SIGKILL line in iovd's log: $(tail -3 "$T/err")"

# A caller that goes away during the stop: the guest still stops, iovd serves on.
start a
pa=$(gpid a)
timeout 1 $C vm stop a --timeout 2 > /dev/null 2>&1
sleep 2.5
kill -0 $ip 2>/dev/null && ok "iovd survives a caller gone during a stop" || { bad "iovd died: $(tail -3 "$T/err")"; exit 1; }
[ "$(state a)" = stopped ] && ok "the guest stopped all the same" || bad "state after the caller left: $(state a)"
kill -0 "$pa" 2>/dev/null && bad "stand-in $pa still alive" || ok "its iovm is gone"

# Without --timeout: the config's policy.stop_timeout (2 s), not the default 30 s.
start a
t0=$(ms)
$C vm stop a > "$T/out" 2>&1 || bad "vm stop a: $(cat "$T/out")"
t1=$(ms)
[ $((t1 - t0)) -ge 1900 ] && [ $((t1 - t0)) -lt 6000 ] && ok "policy.stop_timeout 2 s is the default ($((t1 - t0)) ms)" ||
	bad "stop without --timeout took $((t1 - t0)) ms (want 2 s from policy.stop_timeout)"

# --force: at once.
start a
t0=$(ms)
$C vm stop a --force > "$T/out" 2>&1 || bad "vm stop --force: $(cat "$T/out")"
t1=$(ms)
[ $((t1 - t0)) -lt 2000 ] && ok "--force stops at once ($((t1 - t0)) ms)" || bad "--force took $((t1 - t0)) ms"
$C vm stop b --timeout 101 > "$T/out" 2>&1 && bad "--timeout 101 accepted"
grep -q "0..100" "$T/out" && ok "--timeout is bounded" || bad "--timeout 101: $(cat "$T/out")"

# A big log: only the range asked for is read.
log=$($C vm show b --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["guest"]["log"])')
truncate -s 100M "$log" && printf 'THE END\n' >> "$log"
t0=$(ms)
$C vm log b > "$T/out" 2>&1 || bad "vm log of a 100 MiB log: $(tail -c 300 "$T/out")"
t1=$(ms)
tail -c 8 "$T/out" | grep -q "THE END" && ok "vm log of a 100 MiB log shows its end ($((t1 - t0)) ms)" ||
	bad "vm log: $(tail -c 100 "$T/out")"
[ "$(wc -c < "$T/out")" -le 70000 ] && ok "64 KiB of it, not more" || bad "vm log printed $(wc -c < "$T/out") bytes"
sz=$(stat -c %s "$log")
$C vm log b --json > "$T/out" 2>&1
python3 - "$T/out" "$sz" <<'PY' && ok "end is the log's size" || bad "VmLog end: $(head -c 200 "$T/out")"
import json, sys
r = json.load(open(sys.argv[1]))
sys.exit(0 if r["end"] == int(sys.argv[2]) and len(r["log"]) == 65536 else 1)
PY
$C vm stop b --force > /dev/null 2>&1
# Nothing of this held the loop: iovd's longest turn (before: the whole stop, 3 s).
lt=$($C status --json | python3 -c 'import json,sys; l=json.load(sys.stdin)["loop"]; print(int(l["longest_ms"]), "ms,", l["longest_what"])')
[ "${lt%% *}" -lt 1000 ] && ok "longest loop turn: $lt" || bad "a loop turn took $lt"
[ $fail = 0 ] && echo "standin_daemon: all passed"
exit $fail
