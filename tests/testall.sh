#!/bin/sh
# make test: every suite in order (the build steps stop the run when they fail; a failing
# suite does not), each one's output shown and kept in build/test-report/NAME.log. Ends with
# the skips named ("skipped: ..."), one line per suite, and a last line that counts them all:
#   N passed (R after a test-host retry), M failed, K skipped
# Counts: cmocka's per-test results for unit tests; a suite's own IOV_TEST_REPORT/*.counts
# (tests/vmm/run.sh, tests/rig/suite.sh, tests/rig/selftest.sh); else the "N passed, M
# failed" lines it prints (summed); else the suite as 1 pass or 1 failure by its exit status.
# In CI (CI=true) a skip that tests/skips-explained does not explain for this machine (e.g.
# a root-only unit test skipped while running as root) is a failure.
#   MAKE=make tests/testall.sh
#   IOV_TEST_ONLY="unit golden" tests/testall.sh      (only these suites, by NAME below)
#   tests/testall.sh --check-skips FILE               (which skip lines of FILE this machine
#                                                      does not explain; exit 1 if any)
set -u

# unexplained FILE: the skip lines of FILE that no line of tests/skips-explained explains here.
unexplained() {
	while read -r s; do
		explained=0
		while IFS='	' read -r pat cond; do
			case "$pat" in ''|'#'*) continue ;; esac
			if echo "$s" | grep -Eq -- "$pat" && sh -c "$cond" > /dev/null 2>&1; then explained=1; break; fi
		done < tests/skips-explained
		[ "$explained" = 1 ] || echo "$s"
	done < "$1"
}
if [ "${1:-}" = --check-skips ]; then
	u=$(unexplained "$2")
	[ -z "$u" ] || { echo "$u"; exit 1; }
	exit 0
fi
MAKE=${MAKE:-make}
R=build/test-report
rm -rf "$R"
mkdir -p "$R"
IOV_TEST_REPORT=$(cd "$R" && pwd)
export IOV_TEST_REPORT
: > "$R/suites"
: > "$R/skips"
: > "$R/seen"
t0=$(date +%s)

# count NAME RC: adds the suite's counts to R/suites ("NAME pass fail skip retried") and its
# skips (named) to R/skips.
count() {
	n=$1 rc=$2 log=$R/$1.log
	p=0 f=0 k=0 r=0
	new=$(ls "$R"/*.counts 2>/dev/null | grep -vxFf "$R/seen" || true)
	if grep -q '^\[==========\] .* test(s) run\.' "$log"; then
		# cmocka: the counts of each binary; skipped tests named once each.
		set -- $(awk '/^\[  PASSED  \] [0-9]+ test/ { p += $4 } /^\[  FAILED  \] [0-9]+ test/ { f += $4 }
			/^\[  SKIPPED \] [0-9]+ test/ { k += $4 } END { print p + 0, f + 0, k + 0 }' "$log")
		p=$1 f=$2 k=$3
		awk -v s="$n" '/^== / { bin = $2; sub(/.*\//, "", bin) }
			/^\[  SKIPPED \] / && $4 !~ /^[0-9]+$/ && !seen[bin " " $4]++ { print s ": " bin ": " $4 " (cmocka skip(): root-only or a missing privilege)" }' "$log" >> "$R/skips"
	elif [ -n "$new" ]; then
		for c in $new; do
			p=$((p + $(awk '$1 == "pass" { print $2 }' "$c"))); f=$((f + $(awk '$1 == "fail" { print $2 }' "$c")))
			k=$((k + $(awk '$1 == "skip" { print $2 }' "$c"))); r=$((r + $(awk '$1 == "retried" { print $2 + 0 }' "$c")))
			cat "${c%.counts}.skips" >> "$R/skips" 2>/dev/null
		done
	elif grep -qE '(^|: )[0-9]+ passed, [0-9]+ failed' "$log"; then
		set -- $(sed -nE 's/(^|.*: )([0-9]+) passed, ([0-9]+) failed.*/\2 \3/p' "$log" |
			awk '{ p += $1; f += $2 } END { print p + 0, f + 0 }')
		p=$1 f=$2
	else
		[ "$rc" = 0 ] && p=1 || f=1
	fi
	# A suite that failed without counting a failure still failed once.
	[ "$rc" = 0 ] || [ "$f" -gt 0 ] || f=1
	ls "$R"/*.counts > "$R/seen" 2>/dev/null
	echo "$n $p $f $k $r" >> "$R/suites"
}

# suite NAME [--stop] COMMAND...: runs COMMAND, its output shown and kept; --stop: the whole
# run stops when it fails (a build).
suite() {
	n=$1; shift
	stop=0; [ "$1" = --stop ] && { stop=1; shift; }
	[ -z "${IOV_TEST_ONLY:-}" ] || case " $IOV_TEST_ONLY " in *" $n "*) ;; *) return 0 ;; esac
	echo "==== $n: $*"
	{ "$@" 2>&1; echo $? > "$R/$n.rc"; } | tee "$R/$n.log"
	rc=$(cat "$R/$n.rc")
	count "$n" "$rc"
	if [ "$rc" != 0 ] && [ "$stop" = 1 ]; then
		echo "make test: $n failed; nothing after it can run"
		finish
	fi
}

finish() {
	echo
	echo "==== make test: $(( $(date +%s) - t0 )) s; logs in $R/"
	awk '{ printf "  %-16s %6d passed, %d failed, %d skipped%s\n", $1, $2, $3, $4, ($5 > 0 ? " (" $5 " after a test-host retry)" : "") }' "$R/suites"
	sed 's/^/skipped: /' "$R/skips"
	set -- $(awk '{ p += $2; f += $3; k += $4; r += $5 } END { print p + 0, f + 0, k + 0, r + 0 }' "$R/suites")
	p=$1 f=$2 k=$3 r=$4
	nk=$(grep -c . "$R/skips" || true)
	if [ "$nk" != "$k" ]; then
		echo "make test: $k skips counted but $nk named (a suite's report is inconsistent)"
		f=$((f + 1))
	fi
	if [ "${CI:-}" = true ]; then
		unexplained "$R/skips" > "$R/unexplained"
		while read -r s; do
			echo "make test: CI: the skip '$s' is not explained by this machine (tests/skips-explained)"
			f=$((f + 1))
		done < "$R/unexplained"
	fi
	echo "$p passed ($r after a test-host retry), $f failed, $k skipped"
	[ "$f" = 0 ]
	exit $?
}

suite layers tests/layers.sh
suite build --stop $MAKE all
suite unit $MAKE unit
suite golden $MAKE golden
suite eco $MAKE eco-test
suite podman $MAKE podman-test
suite san-build --stop $MAKE SAN=1 all
suite san-unit $MAKE SAN=1 unit
suite san-golden $MAKE SAN=1 golden
suite varlink $MAKE varlink-client
suite san-varlink $MAKE SAN=1 varlink-client
suite fuzz $MAKE fuzz-test
suite bench-table $MAKE bench-selftest
suite vmm $MAKE vmm-test
suite rig $MAKE rig-test
suite rig-selftest $MAKE rig-selftest
finish
