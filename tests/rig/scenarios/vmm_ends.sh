# Every way a guest ends, every place iovm's output goes, every way iovm is started: each
# exit status checked against iovm(1)'s table (issue 23: iovm died of SIGSYS, status 159,
# when its guest powered off with a terminal on its stdin: restoring the terminal's
# settings made a call the seccomp allow-list refuses).
#   ends:    poweroff (0); reboot (3); reboot with --on-reboot restart (two reboots
#            restarted in place, then poweroff: 0); guest panic via pvpanic (4); SIGTERM (5:
#            the payload ignores the power button, so iovm stops it after --stop-timeout);
#            SIGINT (5: Ctrl-C typed into the terminal when the output is the terminal,
#            kill -INT otherwise)
#   output:  the terminal (a pty: stdin, stdout and stderr on it), a regular file, a pipe,
#            /dev/null; stdin is the pty in each (a person at a terminal redirecting the
#            output), and the terminal's settings must be back as they were afterwards
#   started: as root; as root with --user 65534; by iovd (`iovctl vm start`: its stdin is
#            iovd's console FIFO and its output the guest's log file, so the output column
#            is iovd's choice there; restart policy on-failure for the reboot-restart row;
#            policy.stop_timeout 3: iovm gets --stop-timeout 3, so the SIGTERM row ends in 3 s)
#   power under iovd (issue 22 item 4): `vm stop --timeout 8` gives the guest 8 s (longer
#            than iovm's own 5 s default and the policy's 3: the timeout rides on the SIGTERM),
#            then SIGKILL; `vm reboot` without a restart policy (iovm exits 3, iovd starts a
#            new one) and with one (restarted in place, same iovm); `vm restart` (a new iovm
#            after the stop timeout); `vm start --hugepages` refused with too few free 2 MiB
#            pages (the numbers and the fix), then run on them
# Guests are the iovm test payload (tests/vmm/payload.c): a bzImage that boots in a few
# milliseconds and ends as its command line says, through the same ports a Linux guest uses.
# A signal is sent once the seccomp filter is in place (Seccomp: 2 in /proc/PID/status), so
# every teardown runs under it.
# rig-presets: guests
# rig-timeout: 600

. /rig/scenarios/sriov_lib.sh
P=/rig/vmm/payload.bin
check "iovm in the image" test -x /usr/bin/iovm
check "payload in the image" test -f "$P"
check "ptyrun in the image" test -x /usr/bin/ptyrun
check "/dev/kvm" test -c /dev/kvm
# The test host's /dev has no pseudo-terminals until devpts is mounted on /dev/pts (its
# devtmpfs /dev/ptmx opens the instance there).
if [ ! -c /dev/pts/ptmx ]; then
	mkdir -p /dev/pts
	mount -t devpts -o ptmxmode=0666 devpts /dev/pts || fail "mount devpts on /dev/pts"
fi
[ -c /dev/ptmx ] || ln -sf pts/ptmx /dev/ptmx
check "a pseudo-terminal" ptyrun true
T=/tmp/vmm-ends
rm -rf "$T"
mkdir -p "$T"
set -o pipefail 2>/dev/null || fail "this shell has no pipefail"

# end_args END: the payload's command line and iovm's options for END.
end_args() {
	case $1 in
	poweroff) echo "--cmdline mode=poweroff" ;;
	reboot) echo "--cmdline mode=reboots" ;;
	reboot-restart) echo "--cmdline mode=reboots --on-reboot restart --stats" ;;
	panic) echo "--cmdline mode=pvpanic" ;;
	sigint) echo "--cmdline mode=hang" ;;
	# The payload ignores the power button SIGTERM presses: iovm stops it after the
	# stop timeout (1 s here, 5 by default: as iovd runs it below).
	sigterm) echo "--cmdline mode=hang --stop-timeout 1" ;;
	esac
}
end_want() {
	case $1 in
	poweroff|reboot-restart) echo 0 ;;
	reboot) echo 3 ;;
	panic) echo 4 ;;
	sigterm|sigint) echo 5 ;;
	esac
}
ENDS="poweroff reboot reboot-restart panic sigterm sigint"

# sandboxed_pid: the pid of the one iovm running once its seccomp filter is in place
# (empty after 30 s).
sandboxed_pid() {
	_i=0
	while [ $_i -lt 300 ]; do
		for _p in $(pidof iovm || true); do	# none yet: look again
			grep -q "^Seccomp:[[:space:]]*2" "/proc/$_p/status" 2>/dev/null && { echo "$_p"; return; }
		done
		sleep 0.1
		_i=$((_i + 1))
	done
}

# cell_fail WHY: a cell with the wrong outcome; the others still run, the scenario fails at
# the end with the list.
failed=""
cell_fail() {
	failed="$failed
  $1"
	echo "FAIL $1"
}

# cell USER OUT END: one standalone run.
cell() {
	_user=$1 _out=$2 _end=$3
	_name="$_end, output to $_out, $_user"
	_want=$(end_want "$_end")
	_ua=""
	[ "$_user" = "--user" ] && _ua="--user 65534:65534"
	_cmd="exec timeout 60 /usr/bin/iovm --kernel $P --mem 64M $_ua $(end_args "$_end")"
	rm -f "$T/out" "$T/pty.err"
	case $_out in
	pty) _run="ptyrun -a sh -c \"$_cmd\" > $T/out 2> $T/pty.err" ;;
	file) _run="ptyrun sh -c \"$_cmd > $T/out 2>&1\" 2> $T/pty.err" ;;
	pipe) _run="ptyrun sh -c \"set -o pipefail; $_cmd 2>&1 | cat > $T/out\" 2> $T/pty.err" ;;
	null) _run="ptyrun sh -c \"$_cmd > /dev/null 2>&1\" 2> $T/pty.err" ;;
	esac
	case $_end in
	sigterm|sigint)
		eval "$_run" &
		_rp=$!
		_vp=$(sandboxed_pid)
		if [ -z "$_vp" ]; then
			wait $_rp || true	# whatever it ended with, the cell has failed
			cell_fail "$_name: no sandboxed iovm within 30 s"
			return
		fi
		if [ "$_end" = sigterm ]; then
			kill -TERM "$_vp"
		elif [ "$_out" = pty ]; then
			kill -USR1 "$(pidof ptyrun)"	# ptyrun types Ctrl-C into the terminal
		else
			kill -INT "$_vp"
		fi
		wait $_rp && _st=0 || _st=$? ;;
	*)
		eval "$_run" && _st=0 || _st=$? ;;
	esac
	if [ "$_st" != "$_want" ]; then
		if [ -f "$T/out" ]; then tail -n 5 "$T/out" | sed 's/^/  | /'; fi
		if [ -f "$T/pty.err" ]; then sed 's/^/  | /' "$T/pty.err"; fi
		cell_fail "$_name: exit status $_st, want $_want"
	elif ! grep -q "terminal settings restored" "$T/pty.err"; then
		cell_fail "$_name: the terminal's settings were not restored"
	elif [ "$_end" = reboot-restart ] && [ "$_out" != null ] &&
	     ! grep -q "guest reboots restarted in place: 2" "$T/out"; then
		cell_fail "$_name: not restarted in place twice"
	else
		ok "$_name: exit status $_st"
	fi
}

t0=$(now_ms)
for u in root --user; do
	for o in pty file pipe null; do
		for e in $ENDS; do
			cell "$u" "$o" "$e"
		done
	done
done
log "standalone: $(( $(now_ms) - t0 )) ms for 48 runs"

# Under iovd: each end once, the status as iovd reports it (vm show .guest.last_exit).
GSTATE=/tmp/vmm-ends-state
rm -rf "$GSTATE"
: > "$IOVD_LOG"
printf '{ "policy": { "stop_timeout": 3 } }\n' > "$T/iovd.json"
start_iovd --state-dir "$GSTATE" --config "$T/iovd.json"
t0=$(now_ms)
n=0
for e in $ENDS; do
	n=$((n + 1))
	g=ends$n
	want=$(end_want "$e")
	restart=no
	[ "$e" = reboot-restart ] && restart=on-failure
	run_ctl "$T/ctl.out" vm start $g --kernel "$P" --mem 64M --restart $restart \
		--cmdline "$(end_args "$e" | sed 's/^--cmdline \([^ ]*\).*/\1/')"
	[ "$rc" = 0 ] || { cell_fail "$e under iovd: vm start failed"; continue; }
	case $e in
	sigterm|sigint)
		vp=$(sandboxed_pid)
		[ -n "$vp" ] || { cell_fail "$e under iovd: no sandboxed iovm within 30 s"; continue; }
		if [ "$e" = sigterm ]; then kill -TERM "$vp"; else kill -INT "$vp"; fi ;;
	esac
	i=0
	while ! grep -q "guest $g (pid [0-9]*) ended" "$IOVD_LOG"; do
		i=$((i + 1)); [ $i -gt 300 ] && fail "$e under iovd: guest $g did not end within 60 s"
		sleep 0.2
	done
	"$IOVCTL" --json vm show $g > "$T/show.json"
	why=$("$JGET" "$T/show.json" .guest.last_exit)
	case $why in
	"exit status $want:"*) ok "$e under iovd: $why" ;;
	*)	if [ -f "$GSTATE/guests/$g.log" ]; then tail -n 5 "$GSTATE/guests/$g.log" | sed 's/^/  | /'; fi
		cell_fail "$e under iovd: '$why', want exit status $want" ;;
	esac
	if [ "$e" = reboot-restart ]; then
		if grep -q "guest reboots restarted in place: 2" "$GSTATE/guests/$g.log"; then
			ok "reboot-restart under iovd: restarted in place twice"
		else
			cell_fail "reboot-restart under iovd: not restarted in place twice"
		fi
	fi
done
log "under iovd: $(( $(now_ms) - t0 )) ms for 6 guests"
# The SIGTERM row's iovm had the config's stop timeout, not its own 5 s.
if grep -q "SIGTERM from pid .*; 3 s for it to shut down" "$GSTATE/guests/ends5.log"; then
	ok "SIGTERM under iovd: iovm gave the guest policy.stop_timeout (3 s)"
else
	cell_fail "SIGTERM under iovd: not 3 s ($(grep 'SIGTERM from' "$GSTATE/guests/ends5.log" || true))"	# none: said here
fi

# Power under iovd. gpid NAME: iovm's pid (empty when none); gstate NAME: its state.
gpid() { "$IOVCTL" --json vm show "$1" > "$T/g.json" && "$JGET" "$T/g.json" .guest.pid 2>/dev/null || true; }	# null pid: empty
gstate() { "$IOVCTL" --json vm show "$1" > "$T/g.json" && "$JGET" "$T/g.json" .guest.state; }
# wait_new NAME OLDPID: until NAME runs under another iovm (10 s)
wait_new() {
	_i=0
	while [ "$(gpid "$1")" = "$2" ] || [ "$(gstate "$1")" != running ]; do
		_i=$((_i + 1)); [ $_i -gt 100 ] && return 1
		sleep 0.1
	done
}
# 1. vm stop --timeout 8: the guest (it ignores the power button) has 8 s, then SIGKILL.
run_ctl "$T/ctl.out" vm start pw1 --kernel "$P" --mem 64M --cmdline mode=hang
expect_eq "vm start pw1" "$rc" 0
[ -n "$(sandboxed_pid)" ] || fail "pw1: no sandboxed iovm within 30 s"
t1=$(now_ms)
run_ctl "$T/ctl.out" --json vm stop pw1 --timeout 8
expect_eq "vm stop pw1 --timeout 8" "$rc" 0
ms=$(( $(now_ms) - t1 ))
log "vm stop --timeout 8 of a guest that does not shut down: $ms ms"
check "the guest had its 8 s (not iovm's 5 s, not the policy's 3 s)" test "$ms" -ge 7900
check "then it was killed" grep -q '"last_exit": "killed by SIGKILL"' "$T/ctl.out"
check "iovm was told 10 s (8 + iovd's 2 s backstop)" grep -q "SIGTERM from pid .*; 10 s for it to shut down" "$GSTATE/guests/pw1.log"
# 2. vm reboot, no restart policy: the payload has no keyboard, so iovm resets it and exits
#    3; iovd starts a new iovm.
run_ctl "$T/ctl.out" vm start pw2 --kernel "$P" --mem 64M --cmdline mode=hang
expect_eq "vm start pw2" "$rc" 0
p1=$(sandboxed_pid)
[ -n "$p1" ] || fail "pw2: no sandboxed iovm within 30 s"
run_ctl "$T/ctl.out" --json vm reboot pw2
expect_eq "vm reboot pw2" "$rc" 0
check "vm reboot --json" grep -q '"schema": "iovd.vm-reboot/1"' "$T/ctl.out"
check "pw2 runs under a new iovm after the reboot" wait_new pw2 "$p1"
check "pw2's iovm ended with the reboot's status 3" grep -q "guest pw2 (pid $p1) ended: exit status 3: the guest rebooted" "$IOVD_LOG"
check "iovm said why it reset" grep -q "SIGUSR2 from pid .*: resetting the guest (its keyboard does not listen" "$GSTATE/guests/pw2.log.1"
run_ctl "$T/ctl.out" vm stop pw2 --force
expect_eq "vm stop pw2 --force" "$rc" 0
# 3. vm reboot under a restart policy: restarted in place (the same iovm, a second boot).
# hangs LOG N: until LOG says "hanging" N times (the payload's Nth boot is up; 10 s)
hangs() {
	_i=0
	while [ "$(grep -c "iovm-payload: hanging" "$1" || true)" -lt "$2" ]; do	# none yet: 0
		_i=$((_i + 1)); [ $_i -gt 100 ] && return 1
		sleep 0.1
	done
}
run_ctl "$T/ctl.out" vm start pw3 --kernel "$P" --mem 64M --cmdline mode=hang --restart on-failure
expect_eq "vm start pw3" "$rc" 0
p1=$(sandboxed_pid)
[ -n "$p1" ] || fail "pw3: no sandboxed iovm within 30 s"
# Once the first boot is up (a reset before it would leave one "hanging" line in all).
check "pw3 booted" hangs "$GSTATE/guests/pw3.log" 1
run_ctl "$T/ctl.out" vm reboot pw3 --force
expect_eq "vm reboot pw3 --force" "$rc" 0
check "pw3 booted a second time" hangs "$GSTATE/guests/pw3.log" 2
expect_eq "pw3: the same iovm (restarted in place)" "$(gpid pw3)" "$p1"
# 4. vm restart: the stop (1 s: the payload does not shut down), then a new iovm.
t1=$(now_ms)
run_ctl "$T/ctl.out" --json vm restart pw3 --timeout 1
expect_eq "vm restart pw3 --timeout 1" "$rc" 0
log "vm restart --timeout 1: $(( $(now_ms) - t1 )) ms"
check "vm restart answers with the guest running" grep -q '"state": "running"' "$T/ctl.out"
p2=$(gpid pw3)
check "pw3 runs under a new iovm after vm restart" test -n "$p2" -a "$p2" != "$p1"
check "the old iovm is gone" sh -c "! kill -0 $p1 2>/dev/null"
run_ctl "$T/ctl.out" vm stop pw3 --force
expect_eq "vm stop pw3 --force" "$rc" 0
# 5. Hugepages (issue 22 item 6): 40 reserved 2 MiB pages; a 128 MiB guest (64 pages) is
#    refused with the numbers and the fix, a 64 MiB one runs on 32 of them.
hp=/sys/kernel/mm/hugepages/hugepages-2048kB
echo 40 > /proc/sys/vm/nr_hugepages
expect_eq "40 hugepages reserved in the test host" "$(cat $hp/nr_hugepages)" 40
run_ctl "$T/ctl.out" vm start hp1 --kernel "$P" --mem 128M --cmdline mode=hang --hugepages
expect_ne "vm start --mem 128M --hugepages with 40 free pages" "$rc" 0
check "refused with the numbers" grep -q "needs 64 free 2 MiB hugepages for 128 MiB of RAM; the host has 40 free of 40" "$T/ctl.out"
check "and the fix" grep -q "echo 64 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages" "$T/ctl.out"
run_ctl "$T/ctl.out" vm start hp1 --kernel "$P" --mem 64M --cmdline mode=hang --hugepages
expect_eq "vm start --mem 64M --hugepages" "$rc" 0
[ -n "$(sandboxed_pid)" ] || fail "hp1: no sandboxed iovm within 30 s"
# Faulted or promised (mapped, not yet touched): 32 pages are the guest's.
expect_eq "guest RAM on 32 of the 40 pages" "$(( $(cat $hp/free_hugepages) - $(cat $hp/resv_hugepages) ))" 8
run_ctl "$T/ctl.out" vm stop hp1 --force
expect_eq "vm stop hp1 --force" "$rc" 0
expect_eq "the pages are free again" "$(( $(cat $hp/free_hugepages) - $(cat $hp/resv_hugepages) ))" 40
echo 0 > /proc/sys/vm/nr_hugepages
stop_iovd
[ -z "$failed" ] || fail "cells with the wrong outcome:$failed"
