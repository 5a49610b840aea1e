#!/bin/sh
# The runner's own tests (make rig-selftest, part of `make test`): one boot of the default
# preset (and one retry boot) runs tests/rig/selftest/*.sh, scenarios built to break each
# runner rule, and each must come out as the rule says. Exit 0 iff every one did.
#   tests/rig/selftest.sh [--check]   (environment as for tests/rig/run.sh; --check: only
#                                      check the logs of the last run)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
OUT=${IOV_RIG_OUT:-build/rig}
log=$OUT/logs/default.selftest
# NAME RESULT PATTERN: the result line results.txt must have (RESULT, then the words in
# PATTERN, e.g. "retried"), and what the step's log must say (a grep -E pattern; - for none).
expect='
selftest_warn        FAIL -       the kernel reported 1 line.*WARNING: CPU: 0 PID: 1 at tests/rig/selftest
selftest_allowed     PASS -       -
selftest_undeclared  FAIL -       the kernel reported 1 line.*DMA Read NO_PASID
selftest_early       FAIL -       exited 0 before its end
selftest_nochecks    FAIL -       it made no check
selftest_unchecked   FAIL -       stopped with exit status 1 at a command that failed
selftest_subshell    FAIL -       1 check.s. failed in a subshell or pipeline: a failure in a subshell
selftest_skip        PASS skipped=1 SKIPPED: a check this test host cannot make
selftest_skipall     SKIP -       every check of the step was skipped
selftest_reset       PASS retried the retry boot says it is one
selftest_reset_attack FAIL -      not retried: runner self-test of an attack scenario
selftest_stuck       FAIL -       rig: STUCK: step selftest_stuck not ended
'
names=$(echo "$expect" | awk 'NF { print $1 }')
t0=$(date +%s)
# Two retries in the budget: selftest_reset uses one; selftest_reset_attack must not get one,
# the step after it (selftest_stuck) gets a fresh boot with the other.
# shellcheck disable=SC2086
if [ "${1:-}" = --check ]; then rc=1; else
	IOV_RIG_BOOT=selftest IOV_RIG_RETRIES=2 IOV_RIG_RETRY_FILE= "$here/run.sh" default $names && rc=0 || rc=$?
fi
pass=0 fail=0
bad() { fail=$((fail + 1)); echo "selftest: FAIL $*"; }
[ "$rc" = 1 ] && pass=$((pass + 1)) || bad "run.sh exit status $rc, want 1 (scenarios failed)"
echo "$expect" | while read -r name want extra pat; do
	[ -n "$name" ] || continue
	line=$(grep " default $name " "$log/results.txt" || true)
	case "$line " in
	"$want default $name "*) ;;
	*) echo "bad $name: result '$line', want $want"; continue ;;
	esac
	if [ "$extra" != - ]; then
		case " $line " in *" $extra "*) ;; *) echo "bad $name: result '$line' lacks '$extra'"; continue ;; esac
	fi
	if [ "$pat" != - ] && ! grep -Eq -- "$pat" "$log/$name.log"; then
		echo "bad $name: its log lacks /$pat/"; continue
	fi
	echo "good $name: $line"
done > "$log/selftest.check"
sed 's/^/selftest: /' "$log/selftest.check"
pass=$((pass + $(grep -c '^good' "$log/selftest.check" || true)))
fail=$((fail + $(grep -c '^bad' "$log/selftest.check" || true)))
n=$(grep -c . "$log/retries" 2>/dev/null || true)
if [ "${n:-0}" = 2 ]; then pass=$((pass + 1)); else bad "retries used: ${n:-0}, want 2 (selftest_reset, and the boot after selftest_reset_attack)"; fi
[ "$(grep -c . "$log/results.txt")" = "$(echo "$names" | wc -l)" ] && pass=$((pass + 1)) ||
	bad "results.txt has $(grep -c . "$log/results.txt") lines for $(echo "$names" | wc -l) scenarios"
echo "rig-selftest: $pass passed, $fail failed ($(( $(date +%s) - t0 )) s; logs in $log)"
if [ -n "${IOV_TEST_REPORT:-}" ]; then
	printf 'pass %s\nfail %s\nskip 0\nretried 0\n' "$pass" "$fail" > "$IOV_TEST_REPORT/rig-selftest.counts"
fi
[ "$fail" = 0 ]
