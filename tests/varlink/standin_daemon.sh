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
# iovd under --sysroot opens the tree's /dev, never this machine's: a stand-in /dev/kvm
# (the stand-in iovm never uses it; a machine without KVM runs this test all the same).
mkdir -p "$T/tree/dev" && : > "$T/tree/dev/kvm" || exit 1
# The stand-in iovm (tests/varlink/standin_iovm.c): prints its argv and the signals iovd
# sends with their queued values into the guest's log; --cmdline stubborn ignores SIGTERM.
${CC:-cc} -O1 -o "$T/stubborn" tests/varlink/standin_iovm.c || exit 1
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
start() { $C vm start "$1" --kernel "$T/kernel" --mem 64M --cmdline "${2:-stubborn}" > "$T/out" 2>&1 || bad "vm start $1: $(cat "$T/out")"; }
# vlog NAME: the guest's log, the one before this start (NAME.log.1) first
vlog() {
	_l=$($C vm show "$1" --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["guest"]["log"])' 2>/dev/null)
	cat "$_l.1" "$_l" 2>/dev/null || true	# either may not exist yet
}
# wait_log NAME PATTERN: the guest's log has it within 5 s
wait_log() {
	_i=0
	while ! vlog "$1" | grep -q -- "$2"; do
		_i=$((_i + 1)); [ $_i -gt 50 ] && return 1
		sleep 0.1
	done
}
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
# iovm is started with the config's stop timeout (for a SIGTERM from anyone else), and vm
# stop's SIGTERM carries its own (--timeout 3 + the 2 s backstop), so iovm's default 5 s
# never cuts a longer --timeout short.
vlog a | grep -q -- "argv .*--stop-timeout 2\( \|$\)" && ok "iovm gets --stop-timeout 2 (policy.stop_timeout)" ||
	bad "iovm's argv: $(vlog a | grep argv)"
vlog a | grep -q "SIGTERM queued=1 value=5" && ok "vm stop --timeout 3 queues 5 (3 + backstop 2) with SIGTERM" ||
	bad "the SIGTERM iovm got: $(vlog a | grep SIGTERM)"

# vm restart: stop (a stubborn guest: SIGKILL after --timeout 1), then a new iovm, same spec.
start a
pa=$(gpid a)
t0=$(ms)
$C vm restart a --timeout 1 --json > "$T/restart" 2>&1 || bad "vm restart a: $(cat "$T/restart")"
t1=$(ms)
pa2=$(gpid a)
[ "$(state a)" = running ] && [ "$pa2" != "$pa" ] && ! kill -0 "$pa" 2>/dev/null &&
	ok "vm restart: a new iovm (pid $pa -> $pa2) after $((t1 - t0)) ms" ||
	bad "vm restart: state $(state a), pid $pa -> $pa2"
[ $((t1 - t0)) -ge 900 ] && ok "vm restart waited for the stop (--timeout 1)" || bad "vm restart took $((t1 - t0)) ms"
python3 - "$T/restart" <<'PY' && ok "vm restart --json: schema iovd.vm-restart/1, the guest running" || bad "vm restart --json: $(head -c 300 "$T/restart")"
import json, sys
r = json.load(open(sys.argv[1]))
sys.exit(0 if r["schema"] == "iovd.vm-restart/1" and r["guest"]["state"] == "running" else 1)
PY
wait_log a "SIGTERM queued=1 value=3" && ok "restart's stop queued its timeout (1 + 2)" || bad "restart's SIGTERM: $(vlog a | grep SIGTERM)"
wait_log a "pid $pa2 argv" && ok "the new iovm logs to the same guest log" || bad "no start of $pa2 in the log"
# A guest that powers off on SIGTERM restarts at once.
$C vm stop a --force > /dev/null 2>&1
start a poweroff
pa=$(gpid a)
t0=$(ms)
$C vm restart a > "$T/out" 2>&1 || bad "vm restart a (obliging): $(cat "$T/out")"
t1=$(ms)
[ "$(state a)" = running ] && [ "$(gpid a)" != "$pa" ] && [ $((t1 - t0)) -lt 1500 ] &&
	ok "vm restart of a guest that powers off: $((t1 - t0)) ms" || bad "vm restart (obliging): state $(state a), $((t1 - t0)) ms"
$C vm restart nope > "$T/out" 2>&1 && bad "vm restart of no guest accepted"
grep -q "no running guest named 'nope'" "$T/out" && ok "vm restart of an unknown guest: refused" || bad "vm restart nope: $(cat "$T/out")"
$C vm restart a --timeout 101 > "$T/out" 2>&1 && bad "vm restart --timeout 101 accepted"
# A vm stop while a restart waits for the end: the stop wins, the restart says so.
$C vm stop a --force > /dev/null 2>&1
start a
$C vm restart a --timeout 3 > "$T/restart" 2>&1 &
rp=$!
sleep 0.5
$C vm stop a --force > "$T/out" 2>&1 || bad "vm stop during a restart: $(cat "$T/out")"
wait $rp && bad "the restart cancelled by vm stop answered success: $(cat "$T/restart")"
[ "$(state a)" = stopped ] && grep -q "killed by SIGKILL" "$T/restart" &&
	ok "vm stop during vm restart: stopped, the restart failed with the exit ($(head -1 "$T/restart"))" ||
	bad "vm stop during vm restart: state $(state a), restart said $(cat "$T/restart")"
start a

# vm reboot: SIGUSR2 to iovm (value 0: Ctrl-Alt-Del or reset as the guest allows; --force: 1).
# Without a restart policy iovm ends with status 3 and iovd starts it again.
pa=$(gpid a)
$C vm reboot a --json > "$T/reboot" 2>&1 || bad "vm reboot a: $(cat "$T/reboot")"
grep -q '"schema": *"iovd.vm-reboot/1"' "$T/reboot" && ok "vm reboot --json: iovd.vm-reboot/1" || bad "vm reboot --json: $(cat "$T/reboot")"
wait_log a "SIGUSR2 queued=1 value=0" && ok "vm reboot: SIGUSR2 queued with 0" || bad "vm reboot: $(vlog a | grep SIGUSR2)"
i=0
while { [ "$(gpid a)" = "$pa" ] || [ "$(state a)" != running ]; } && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ "$(state a)" = running ] && [ "$(gpid a)" != "$pa" ] && ok "vm reboot of a guest without a restart policy: exit 3, started again" ||
	bad "after vm reboot: state $(state a), pid $(gpid a) (was $pa)"
$C vm show a --json | grep -q '"restart": *"no"' && ok "its policy is still no" || bad "policy changed"
pa=$(gpid a)
$C vm reboot a --force > "$T/out" 2>&1 || bad "vm reboot --force: $(cat "$T/out")"
wait_log a "SIGUSR2 queued=1 value=1" && ok "vm reboot --force: SIGUSR2 queued with 1 (reset)" || bad "vm reboot --force: $(vlog a | grep SIGUSR2)"
i=0
while { [ "$(gpid a)" = "$pa" ] || [ "$(state a)" != running ]; } && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ "$(state a)" = running ] && ok "running again after vm reboot --force" || bad "after vm reboot --force: $(state a)"
$C vm reboot a --timeout 3 > "$T/out" 2>&1 && bad "vm reboot --timeout accepted"
grep -q -- "--timeout" "$T/out" && ok "vm reboot takes no --timeout" || bad "vm reboot --timeout: $(cat "$T/out")"
$C vm stop a --force > /dev/null 2>&1
$C vm reboot a > "$T/out" 2>&1 && bad "vm reboot of a stopped guest accepted"
grep -q "no running guest named 'a'" "$T/out" && ok "vm reboot of a stopped guest: refused" || bad "vm reboot (stopped): $(cat "$T/out")"

# Hugepages: this fake tree has no hugepages-2048kB (a kernel without them), then too few,
# then enough; iovm gets --hugepages.
$C vm start h --kernel "$T/kernel" --mem 64M --hugepages > "$T/out" 2>&1 && bad "--hugepages without hugepages accepted"
grep -q "hugepages-2048kB/free_hugepages" "$T/out" && ok "--hugepages on a kernel without them: refused, says where it looked" || bad "--hugepages: $(cat "$T/out")"
hp="$T/tree/sys/kernel/mm/hugepages/hugepages-2048kB"
mkdir -p "$hp"
echo 16 > "$hp/nr_hugepages"; echo 16 > "$hp/free_hugepages"; echo 0 > "$hp/resv_hugepages"
$C vm start h --kernel "$T/kernel" --mem 64M --hugepages > "$T/out" 2>&1 && bad "--hugepages with 16 free pages for 32 accepted"
grep -q "needs 32 free 2 MiB hugepages for 64 MiB of RAM; the host has 16 free of 16" "$T/out" &&
	grep -q "echo 32 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages" "$T/out" &&
	ok "--hugepages with too few: the numbers and the fix" || bad "--hugepages (too few): $(cat "$T/out")"
$C vm list --json | grep -q '"name": *"h"' && bad "a refused guest is listed" || ok "nothing of the refused guest is left"
echo 64 > "$hp/nr_hugepages"; echo 64 > "$hp/free_hugepages"
$C vm start h --kernel "$T/kernel" --mem 64M --hugepages > "$T/out" 2>&1 || bad "--hugepages with enough: $(cat "$T/out")"
wait_log h "argv .*--mem 64M --hugepages" && ok "--hugepages: iovm gets --hugepages" || bad "iovm's argv: $(vlog h | grep argv)"
$C vm show h --json | grep -q '"hugepages": *true' && ok "vm show: hugepages" || bad "vm show h: no hugepages"
$C vm stop h --force > /dev/null 2>&1

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
