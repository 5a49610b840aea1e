#!/bin/sh
# Boot the test host once with a preset and run scenarios in it (all in one boot).
#
#   tests/rig/run.sh [--mode test|capture|demo|shell] [--timeout S] [--no-image] PRESET [SCENARIO...]
#
# With no SCENARIO, runs every tests/rig/scenarios/*.sh whose "# rig-presets:" line names PRESET.
# --mode shell gives an interactive shell on the guest's console (scenarios named run first).
# Results come back over the guest's second serial port only (see guest/init for the protocol).
# Writes $IOV_RIG_OUT/logs/PRESET[-MODE]/: console.log (ttyS0), results.raw (ttyS1),
# STEP.log per scenario, results.txt ("PASS|FAIL|SKIP PRESET STEP SECS skipped=K [retried]"
# lines, one for every scenario asked for: one without a result is a FAIL), blobs/.
# A SCENARIO may also be one of the runner's self-tests (tests/rig/selftest/NAME.sh).
# IOV_RIG_REPEAT=N runs each scenario N times in a row in this one boot (steps NAME@1 ...
# NAME@N, each its own result: a flakiness check without N boots).
# Exit 0 iff no scenario failed and the guest finished by itself.
#
# A test host that stalls or resets by itself is booted once more for the scenarios without
# a result (see "Retries" below), unless the interrupted scenario says "# rig-no-retry:";
# IOV_RIG_RETRY_FILE (suite.sh sets it) holds the suite's retry budget, one line per retry
# used, and IOV_RIG_RETRIES the budget (default 1 for one run.sh, 2 for a suite).
# IOV_RIG_APPEND: more words for the test host's kernel command line, read by scenarios that
# take parameters (guest_load: gload.seed=N gload.secs=S; guest_soak: gsoak.cycles=N).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cd "$top"
. "$here/presets.sh"

OUT=${IOV_RIG_OUT:-build/rig}
QEMU=${IOV_RIG_QEMU:-qemu-system-x86_64}
mode=test
timeout=""
build_image=1
while [ $# -gt 0 ]; do
	case "$1" in
	--mode) mode=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--no-image) build_image=0; shift ;;
	-h|--help) sed -n '2,11p' "$0"; exit 0 ;;
	-*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -ge 1 ] || { sed -n '2,11p' "$0" >&2; exit 2; }
preset=$1; shift
prev=""
args=$(rig_preset_args "$preset") || { echo "run.sh: unknown preset '$preset' (known: $RIG_PRESETS)" >&2; exit 2; }

# No packet may leave QEMU: the only network backend a preset may use is a hub port (hubs
# with nothing but guest NICs on them). Refuse anything else before booting.
for w in $args; do
	case "$prev" in
	-netdev) case "$w" in hubport,*) ;; *) echo "run.sh: preset $preset: -netdev $w is not a hubport; refusing (no packet may leave QEMU)" >&2; exit 2 ;; esac ;;
	esac
	case "$w" in -nic|-net) echo "run.sh: preset $preset uses $w; refusing (only -netdev hubport)" >&2; exit 2 ;; esac
	prev=$w
done

# The script of a step: a scenario, a self-test of the runner, or a guest mode script (a
# repetition NAME@K is NAME's script).
scen_file() {
	for _d in scenarios selftest guest; do
		[ -f "$here/$_d/${1%@*}.sh" ] && { echo "$here/$_d/${1%@*}.sh"; return 0; }
	done
	echo "$here/scenarios/${1%@*}.sh"
}
# Presets a scenario declares.
scen_presets() { sed -n 's/^# rig-presets:[[:space:]]*//p' "$1" | head -n1; }

scens=""
if [ $# -gt 0 ]; then
	for s in "$@"; do
		s=${s%.sh}; s=${s##*/}
		[ -f "$here/scenarios/$s.sh" ] || [ -f "$here/selftest/$s.sh" ] ||
			{ echo "run.sh: no scenario tests/rig/scenarios/$s.sh (nor tests/rig/selftest/$s.sh)" >&2; exit 2; }
		scens="$scens $s"
	done
elif [ "$mode" = test ]; then
	for f in "$here"/scenarios/*.sh; do
		[ -f "$f" ] || continue
		case " $(scen_presets "$f") " in *" $preset "*) scens="$scens $(basename "$f" .sh)" ;; esac
	done
	[ -n "$scens" ] || { echo "run.sh: no scenario declares preset $preset" >&2; exit 2; }
fi
# IOV_RIG_REPEAT=N: each scenario N times in a row (NAME@1 ... NAME@N), each its own step.
repeat=${IOV_RIG_REPEAT:-1}
case "$repeat" in ''|*[!0-9]*|0) echo "run.sh: IOV_RIG_REPEAT='$repeat': expected a number >= 1" >&2; exit 2 ;; esac
if [ "$repeat" -gt 1 ]; then
	rs=""
	for s in $scens; do k=1; while [ $k -le "$repeat" ]; do rs="$rs $s@$k"; k=$((k + 1)); done; done
	scens=$rs
fi
nscen=$(echo $scens | wc -w)

if [ "$build_image" = 1 ]; then
	"$here/image.sh" -q
fi
IMG="$OUT/image"
[ -f "$IMG/initrd.gz" ] && [ -e "$IMG/vmlinuz" ] || { echo "run.sh: no image in $IMG (run tests/rig/image.sh)" >&2; exit 2; }

# IOV_RIG_BOOT=K: one of several boots of the same preset (suite.sh splits long presets).
logdir="$OUT/logs/$preset${IOV_RIG_BOOT:+.$IOV_RIG_BOOT}"
[ "$mode" = test ] || logdir="$logdir-$mode"
rm -rf "$logdir"
mkdir -p "$logdir/blobs"
# Disk images a preset names as @DISKDIR@/NAME.img (the nvme preset's namespace 1): 64 MiB,
# sparse, empty at each run, next to the logs but outside them.
case "$args" in
*@DISKDIR@*)
	diskdir="$OUT/disks/$preset${IOV_RIG_BOOT:+.$IOV_RIG_BOOT}"
	rm -rf "$diskdir"
	mkdir -p "$diskdir"
	args=$(printf '%s\n' "$args" | sed "s|@DISKDIR@|$diskdir|g")
	for w in $args; do
		case "$w" in *filename=*) ;; *) continue ;; esac
		f=${w##*filename=}
		f=${f%%,*}
		truncate -s 64M "$f" || { echo "run.sh: cannot make the disk image $f" >&2; exit 2; }
	done
	;;
esac

# Boot timeout: boot + module loading take ~10 s under TCG; then each step's own timeout
# ("# rig-timeout: S" in the script, else 120 s as in the guest) plus a margin.
boot_timeout() { # STEP...
	_t=60
	for _s in "$@"; do
		_f=$(scen_file "$_s")
		_x=$(sed -n 's/^# rig-timeout:[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$_f" 2>/dev/null | head -n1)
		_t=$((_t + ${_x:-120} + 10))
	done
	echo "$_t"
}
fixed_timeout=$timeout
if [ -z "$timeout" ]; then
	steps=$scens
	case "$mode" in capture|demo) steps=$mode ;; esac
	# shellcheck disable=SC2086
	timeout=$(boot_timeout $steps)
fi
set_append() { # SCENARIO...
	scen_arg=$(echo "$@" | tr ' ' ',')
	append="$RIG_KERNEL_ARGS rig.mode=$mode rig.preset=$preset${scen_arg:+ rig.scen=$scen_arg}${retry_boot:+ rig.retry=1}${IOV_RIG_APPEND:+ $IOV_RIG_APPEND}"
}
retry_boot=""
# shellcheck disable=SC2086
set_append $scens

if [ "$mode" = shell ]; then
	echo "run.sh: booting $preset; the guest's console is this terminal (Ctrl-A X quits QEMU)." >&2
	# shellcheck disable=SC2086
	exec "$QEMU" $RIG_QEMU_COMMON $args -kernel "$IMG/vmlinuz" -initrd "$IMG/initrd.gz" \
		-append "$append" -serial mon:stdio -serial "file:$logdir/results.raw"
fi

AWK_LIVE=awk
! awk -W version 2>&1 | grep -q mawk || AWK_LIVE="awk -W interactive"
# One boot; the results channel is followed live: split into per-step logs, one line per step.
boot_once() {
	: > "$logdir/results.raw"
	: > "$logdir/results.txt"
	# shellcheck disable=SC2086
	timeout -k 5 "$timeout" "$QEMU" $RIG_QEMU_COMMON $args -kernel "$IMG/vmlinuz" -initrd "$IMG/initrd.gz" \
		-append "$append" -serial "file:$logdir/console.log" -serial "file:$logdir/results.raw" \
		< /dev/null > "$logdir/qemu.out" 2>&1 &
	qpid=$!
	# A test host with a CPU stuck (RIG_STALL_PATTERN below) never finishes: stop it early;
	# the caller boots it once more for what is left.
	# A runner in the guest that cannot end a step says "rig: STUCK:" on the console (guest/
	# init rig_stuck, with what each process waits on): stopped too; that step fails (never
	# retried), the ones after it get a fresh boot like after a reset.
	rm -f "$logdir/stalled" "$logdir/stuck"
	(
		while kill -0 $qpid 2>/dev/null; do
			sleep 5
			if grep -qE "$RIG_STALL_PATTERN" "$logdir/console.log" 2>/dev/null; then
				echo stalled > "$logdir/stalled"
				kill $qpid 2>/dev/null
				break
			fi
			if grep -aq "rig: STUCK: " "$logdir/console.log" 2>/dev/null; then
				sleep 5	# the rest of its report
				echo stuck > "$logdir/stuck"
				kill $qpid 2>/dev/null
				break
			fi
		done
	) &
	wpid=$!

	# Follow the results channel live: split it into per-step logs, print one line per step.
	# (CRs dropped by awk itself: tr in between would hold lines back in its output buffer;
	# mawk reads its input line by line only with -W interactive.)
	tail -n +1 -f --pid=$qpid "$logdir/results.raw" 2>/dev/null | $AWK_LIVE -v dir="$logdir" -v preset="$preset" -v mode="$mode" -v retried="${retry_boot:+ retried}" '
	{ gsub(/\r/, "") }
	function flush_line(s) { print s > logf; fflush(logf); if (mode == "demo" && step != "_boot") { print "    " s; fflush() } }
	/^@@RIG HELLO / { print "rig: " preset ": guest up (" substr($0, 13) ")"; fflush(); next }
	/^@@RIG BEGIN / {
		step = $3; logf = dir "/" (step == "_boot" ? "boot" : step) ".log"
		printf "" > logf; began[step] = 1; inblob = 0; next
	}
	/^@@RIG END / {
		st = $4; secs = 0; sk = 0
		for (i = 5; i <= NF; i++) { if ($i ~ /^secs=/) secs = substr($i, 6); if ($i ~ /^skipped=/) sk = substr($i, 9) }
		close(logf); ended[$3] = 1
		if ($3 == "_boot") { if (st != "PASS") { print "FAIL " preset " boot 0 skipped=0" retried >> (dir "/results.txt"); printf "rig: %s: FAIL boot (a module did not load, or the kernel reported a fault; see %s/boot.log)\n", preset, dir } }
		else {
			print st " " preset " " $3 " " secs " skipped=" sk retried >> (dir "/results.txt")
			printf "rig: %s: %s %s (%s s%s%s)\n", preset, st, $3, secs, (sk > 0 ? ", " sk " check(s) skipped" : ""), (retried != "" ? ", after a test-host retry" : "")
			if (st != "PASS" && mode != "demo")
				system("grep -E \"^(FAIL|SKIPPED): |^rig: \" \"" logf "\" | tail -n 15 | sed \"s/^/    | /\"")
		}
		fflush(); next
	}
	/^@@RIG BLOB / { blob = dir "/blobs/" $3; bf = blob ".b64"; printf "" > bf; inblob = 1; next }
	/^@@RIG BLOBEND / {
		close(bf); inblob = 0
		system("base64 -d < \"" bf "\" > \"" blob "\" && rm -f \"" bf "\"")
		cmd = "wc -c < \"" blob "\""; cmd | getline got; close(cmd)
		if (got + 0 != $4 + 0) printf "rig: %s: blob %s: got %d bytes, guest sent %d\n", preset, $3, got, $4
		next
	}
	/^@@RIG DONE / { print "done" > (dir "/done"); close(dir "/done"); next }
	inblob { print > bf; next }
	/^> / { if (logf != "") flush_line(substr($0, 3)); next }
	{ if (logf != "") flush_line($0) }
	' || true

	wait $qpid && qrc=0 || qrc=$?
	kill "$wpid" 2>/dev/null || true
	wait "$wpid" 2>/dev/null || true
}

# What a test host says when one of its CPUs stopped making progress: an RCU stall (a TCG
# vCPU starved by the loaded machine loses its timer for good) or a soft lockup (seen once
# in msi_forgery on default: a kworker on CPU 1 stuck for 500+ s, the boot never finishing).
RIG_STALL_PATTERN=${RIG_STALL_PATTERN:-rcu_preempt detected stalls on CPUs|BUG: soft lockup - CPU}
# Retries. The budget: IOV_RIG_RETRIES boots more (default 1) for this run.sh, or the
# suite's, shared by its lanes (one line per retry used in IOV_RIG_RETRY_FILE). Each retry
# is said on stderr, in the step's result line and in results.txt ("retried").
RETRY_BUDGET=${IOV_RIG_RETRIES:-1}
RETRY_FILE=${IOV_RIG_RETRY_FILE:-$logdir/retries}
[ -n "${IOV_RIG_RETRY_FILE:-}" ] || : > "$RETRY_FILE"
# take_retry WHY: uses one retry of the budget; fails when none is left.
take_retry() {
	( flock 9
	  n=$(grep -c . "$RETRY_FILE" 2>/dev/null || true)
	  [ "${n:-0}" -lt "$RETRY_BUDGET" ] || exit 1
	  echo "$preset${IOV_RIG_BOOT:+.$IOV_RIG_BOOT} $1" >> "$RETRY_FILE" ) 9>> "$RETRY_FILE.lock"
}
# no_retry_reason STEP: the scenario's "# rig-no-retry: WHY" (attack scenarios: a stuck CPU
# or a reset during them is what an escaped attack would look like, never the emulator's
# fault to be retried away).
no_retry_reason() { sed -n 's/^# rig-no-retry:[[:space:]]*//p' "$(scen_file "$1")" | head -n1; }

t0=$(date +%s)
boot_once
# A guest that never reached its init (no HELLO: e.g. an early panic of a starved TCG guest)
# is the machine's fault, not a scenario's: boot once more (a retry), keeping the first
# console log.
if [ ! -f "$logdir/stalled" ] && ! grep -q '^@@RIG HELLO' "$logdir/results.raw" && [ "$qrc" != 124 ] && [ "$qrc" != 137 ]; then
	echo "rig: $preset: the guest died before its init (qemu exit $qrc); console tail:" >&2
	tail -n 8 "$logdir/console.log" 2>/dev/null | sed 's/^/    | /' >&2
	if take_retry "died before its init"; then
		mv "$logdir/console.log" "$logdir/console.1.log" 2>/dev/null || true
		echo "rig: $preset: booting again (a test-host retry)" >&2
		retry_boot=1
		# shellcheck disable=SC2086
		set_append $scens
		boot_once
	else
		echo "rig: $preset: no test-host retry left (budget $RETRY_BUDGET); not booting again" >&2
	fi
fi
# A test host that stalled (above), or reset by itself in the middle (QEMU exited on its
# own, no kernel panic on the console: the emulated CPU's triple fault, seen with TCG's SVM
# when nested guests run on both vCPUs), is the emulator's fault, not a scenario's: the
# scenarios that have no result yet, the interrupted one first, get a fresh boot if the
# budget has a retry left. Said loudly, with the console's tail; a scenario interrupted
# twice fails. A kernel panic or a timeout is never retried, nor a scenario with
# "# rig-no-retry:" (it fails, with the console tail; the ones after it get the fresh boot).
# Each earlier boot's console.log, results.raw and the interrupted step's log are kept with
# ".bootK" before their suffix.
: > "$logdir/results.prev"
: > "$logdir/interrupted"
boot=1
while [ "$mode" = test ] && [ ! -f "$logdir/done" ]; do
	why_retry=""
	if [ -f "$logdir/stalled" ]; then
		why_retry="stalled ($(grep -m1 -oE "$RIG_STALL_PATTERN" "$logdir/console.log"))"
	elif [ -f "$logdir/stuck" ]; then
		why_retry="got stuck (its runner could not end the step: rig: STUCK on the console)"
	elif [ ! -f "$logdir/stuck" ] && grep -q '^@@RIG HELLO' "$logdir/results.raw" && [ "$qrc" != 124 ] && [ "$qrc" != 137 ] &&
	     ! grep -q "Kernel panic" "$logdir/console.log" 2>/dev/null; then
		why_retry="reset by itself (qemu exit $qrc, no kernel panic)"
	fi
	[ -n "$why_retry" ] || break
	left=""
	for s in $scens; do cat "$logdir/results.prev" "$logdir/results.txt" | grep -q " $preset $s " || left="$left $s"; done
	[ -n "$left" ] || break
	first=${left# }; first=${first%% *}
	echo "rig: $preset: the test host $why_retry during $first; console tail:" >&2
	tail -n 20 "$logdir/console.log" 2>/dev/null | sed 's/^/    | /' >&2
	nr=$(no_retry_reason "$first")
	[ ! -f "$logdir/stuck" ] || nr="a step the runner could not end fails, like a timeout"
	grep -qx "$first" "$logdir/interrupted" && nr="interrupted twice"
	echo "$first" >> "$logdir/interrupted"
	if [ -n "$nr" ]; then
		echo "FAIL $preset $first 0 skipped=0${retry_boot:+ retried}" >> "$logdir/results.txt"
		echo "rig: $preset: FAIL $first (the test host $why_retry during it; not retried: $nr)"
		echo "rig: FAIL: the test host $why_retry during this scenario; not retried: $nr" >> "$logdir/$first.log"
		rest=""
		for s in $left; do [ "$s" = "$first" ] || rest="$rest $s"; done
		left=$rest
		[ -n "$left" ] || break
	fi
	if ! take_retry "$why_retry during $first"; then
		echo "rig: $preset: no test-host retry left (budget $RETRY_BUDGET, used by: $(cut -d' ' -f1 "$RETRY_FILE" | tr '\n' ' ')); not booting again for:$left" >&2
		break
	fi
	echo "rig: $preset: booting again for:$left (a test-host retry; the results of that boot say so)" >&2
	# (the interrupted step's log only when it runs again: one not retried keeps its log)
	for f in console.log results.raw $([ -n "$nr" ] || echo "$first.log"); do
		[ -f "$logdir/$f" ] && mv "$logdir/$f" "$logdir/${f%.*}.boot$boot.${f##*.}"
	done
	cat "$logdir/results.txt" >> "$logdir/results.prev"
	boot=$((boot + 1))
	retry_boot=1
	# shellcheck disable=SC2086
	set_append $left
	# shellcheck disable=SC2086
	[ -n "$fixed_timeout" ] || timeout=$(boot_timeout $left)
	boot_once
done
cat "$logdir/results.prev" "$logdir/results.txt" > "$logdir/results.all"
mv "$logdir/results.all" "$logdir/results.txt"
rm -f "$logdir/results.prev"
secs=$(( $(date +%s) - t0 ))

fail=0
expect=$scens
case "$mode" in capture|demo) expect=$mode ;; esac
why="no END record for it"
if [ ! -f "$logdir/done" ]; then
	fail=1
	if [ -f "$logdir/stuck" ]; then
		why="the runner in the test host could not end a step and was stopped ($(grep -a -m1 -o 'rig: STUCK: step .*' "$logdir/console.log" | tr -d '\r' | cut -c13-); what each process waited on: $logdir/console.log)"
	elif [ -f "$logdir/stalled" ]; then
		why="the test host stalled ($(grep -m1 -oE "$RIG_STALL_PATTERN" "$logdir/console.log")) and was stopped"
	elif [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
		why="the test host timed out after ${timeout}s and was killed"
	else
		why="the test host stopped without finishing (qemu exit $qrc)"
	fi
	echo "rig: $preset: $why; console tail ($logdir/console.log):" >&2
	tail -n 20 "$logdir/console.log" 2>/dev/null | sed 's/^/    | /' >&2
	[ -s "$logdir/qemu.out" ] && sed 's/^/    qemu: /' "$logdir/qemu.out" >&2
fi
# A scenario asked for and missing from the results is a failure, never an absence.
for s in $expect; do
	grep -q "^[A-Z]* $preset $s " "$logdir/results.txt" || {
		echo "FAIL $preset $s 0 skipped=0${retry_boot:+ retried}" >> "$logdir/results.txt"
		echo "rig: $preset: FAIL $s (no result: $why)"
	}
done
grep -q '^FAIL' "$logdir/results.txt" && fail=1
echo "rig: $preset: $mode boot with $(echo $expect | wc -w) step(s) in ${secs}s; logs in $logdir"
exit $fail
