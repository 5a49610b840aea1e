#!/bin/sh
# tests/monitor.sh BUILD: `iovctl monitor` against iovd on a generated fake tree: the human
# lines and --json's JSON Lines show an apply's events in order (the apply fails here: the
# fake tree's netdev is not this machine's), --count ends it, bad arguments exit 2, and the
# stream ending (iovd stopped) is said. Needs no root. Exit 1 on failure.
set -u
B=${1:?usage: $0 BUILD}
T=$(mktemp -d /tmp/iovd-monitor.XXXXXX)
fail=0
trap 'kill $(cat "$T/pid" 2>/dev/null) 2>/dev/null; rm -rf "$T"' EXIT
bad() { echo "monitor: FAIL: $*"; fail=1; }
export IOVD_SOCKET="$T/sock"

python3 tests/fixtures/gen/mksysfs.py tests/fixtures/layout_a.desc "$T/tree" >/dev/null || exit 1
cat > "$T/iovd.json" <<J
{ "pfs": [ { "name": "main", "match": { "netdev": "eno1" }, "num_vfs": 4,
             "vfs": { "0": { "mac": "02:1e:00:00:00:01" } } } ] }
J
"$B/iovd" --sysroot "$T/tree" --socket "$T/sock" --state-dir "$T/state" --config "$T/iovd.json" \
	--config-dir "" --no-apply --pidfile "$T/pid" 2>"$T/err" || { cat "$T/err"; exit 1; }

"$B/iovctl" monitor --count 2 > "$T/human" 2>"$T/human.err" &
h=$!
"$B/iovctl" --json monitor --count 2 > "$T/json" 2>"$T/json.err" &
j=$!
sleep 0.5
"$B/iovctl" apply > "$T/apply" 2>&1 && bad "apply on the fake tree succeeded"
i=0
while { kill -0 $h 2>/dev/null || kill -0 $j 2>/dev/null; } && [ $i -lt 50 ]; do
	sleep 0.1; i=$((i + 1))
done
kill -0 $h 2>/dev/null && bad "monitor --count 2 did not end"
wait $h || bad "monitor exit $?: $(cat "$T/human.err")"
wait $j || bad "monitor --json exit $?: $(cat "$T/json.err")"
# human: time, type, then key=value fields
sed -n 1p "$T/human" | grep -Eq '^[0-9:.]+ +apply\.started +plan=.* steps=[0-9]+ txn=1$' ||
	bad "first line: $(sed -n 1p "$T/human")"
sed -n 2p "$T/human" | grep -Eq '^[0-9:.]+ +apply\.failed .*txn=1' ||
	bad "second line: $(sed -n 2p "$T/human")"
[ "$(wc -l < "$T/human")" = 2 ] || bad "human: $(wc -l < "$T/human") lines, want 2"
# --json: one object per line, as iovd sent it
python3 - "$T/json" <<'P' || bad "--json: $(cat "$T/json")"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
assert [e["type"] for e in ev] == ["apply.started", "apply.failed"], ev
assert ev[0]["txn"] == ev[1]["txn"] == 1 and ev[0]["seq"] < ev[1]["seq"], ev
P
# bad usage
"$B/iovctl" monitor --count 0 2>"$T/u" && bad "--count 0 accepted"
grep -q "expected a number >= 1" "$T/u" || bad "--count 0: $(cat "$T/u")"
"$B/iovctl" monitor extra 2>"$T/u"; [ $? = 2 ] || bad "an extra argument: not exit 2"
# iovd goes away: the monitor says so and exits 1
"$B/iovctl" monitor > /dev/null 2>"$T/gone" &
g=$!
sleep 0.3
kill "$(cat "$T/pid")"
wait $g; rc=$?
[ $rc = 1 ] || bad "monitor after iovd stopped: exit $rc"
grep -q "iovd closed the event stream" "$T/gone" || bad "no message when iovd stops: $(cat "$T/gone")"
[ $fail = 0 ] && echo "monitor: all checks passed"
exit $fail
