#!/bin/sh
# Run test-host scenarios on every preset they declare: one boot per preset (a long one is
# split into several boots), all of that preset's scenarios in it. Prints one line per scenario
# and a last line "N passed (R after a test-host retry), M failed, K skipped", after the
# lines naming the retried scenarios and the skips.
#
#   tests/rig/suite.sh [SCENARIO...]        (default: every scenario)
#   IOV_RIG_PRESETS="default no-iommu" tests/rig/suite.sh    (only these presets)
#   IOV_RIG_JOBS=1 tests/rig/suite.sh       (one QEMU at a time, output live; default 2 at once)
#
#   IOV_RIG_RETRIES=2 tests/rig/suite.sh    (test-host retries for the whole suite; default 2)
#   IOV_RIG_REPEAT=10 tests/rig/suite.sh S  (each scenario 10 times in a row in its boot: steps
#                                            S@1 ... S@10, each counted as a result of its own)
#
# Exit 0 iff no scenario failed (a planned one without a result fails) and one passed.
# With IOV_TEST_REPORT=DIR, also writes DIR/rig.PID.counts and .skips (tests/testall.sh).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cd "$top"
. "$here/presets.sh"
OUT=${IOV_RIG_OUT:-build/rig}
# IOV_RIG_REPEAT=N: run.sh runs each scenario N times in a row (steps NAME@1 ... NAME@N).
export IOV_RIG_REPEAT=${IOV_RIG_REPEAT:-1}
case "$IOV_RIG_REPEAT" in ''|*[!0-9]*|0) echo "rig: IOV_RIG_REPEAT='$IOV_RIG_REPEAT': expected a number >= 1" >&2; exit 2 ;; esac
# steps NAME...: the steps run.sh makes of these scenarios.
steps() {
	for _s in "$@"; do
		if [ "$IOV_RIG_REPEAT" -gt 1 ]; then seq -f "$_s@%g" 1 "$IOV_RIG_REPEAT"; else echo "$_s"; fi
	done
}

want=""
for s in "$@"; do
	s=${s%.sh}; s=${s##*/}
	[ -f "$here/scenarios/$s.sh" ] || { echo "rig: no scenario tests/rig/scenarios/$s.sh" >&2; exit 2; }
	want="$want $s"
done

t0=$(date +%s)
"$here/image.sh" -q
mkdir -p "$OUT/logs"
summary="$OUT/logs/summary.txt"
: > "$summary"
# The retry budget, shared by every boot of this suite (tests/rig/run.sh take_retry).
export IOV_RIG_RETRIES=${IOV_RIG_RETRIES:-2}
export IOV_RIG_RETRY_FILE="$OUT/logs/retries"
: > "$IOV_RIG_RETRY_FILE"
echo "rig: retry budget: $IOV_RIG_RETRIES test-host boot(s) more for a test host that stalls or resets (IOV_RIG_RETRIES); attack scenarios are never retried"

# Which scenarios run on each preset.
durations=$OUT/logs/durations
[ -s "$durations" ] || durations=$here/durations
plan=""
for p in ${IOV_RIG_PRESETS:-$RIG_PRESETS}; do
	scens=""
	for f in "$here"/scenarios/*.sh; do
		s=$(basename "$f" .sh)
		[ -z "$want" ] || case " $want " in *" $s "*) ;; *) continue ;; esac
		# "# rig-on-demand": only when named (make vmm-test picks vmm_payloads itself).
		[ -n "$want" ] || ! grep -q '^# rig-on-demand' "$f" || continue
		case " $(sed -n 's/^# rig-presets:[[:space:]]*//p' "$f" | head -n1) " in
		*" $p "*) scens="$scens $s" ;;
		esac
	done
	[ -n "$scens" ] || continue
	# Expected seconds of each scenario: its time in the last run (a fresh checkout: the
	# times committed in tests/rig/durations; 40 s if unknown). A
	# preset whose scenarios would keep one boot busy longer than IOV_RIG_BOOT_SECS (default
	# 300) is split into several boots (P.1, P.2, ...; longest scenario first, each to the
	# boot with the least so far), so that two lanes stay balanced. Each boot costs ~15 s.
	plan="$plan$(for s in $scens; do echo "$s"; done | awk -v p="$p" -v f="$durations" \
		-v max="${IOV_RIG_BOOT_SECS:-300}" -v rep="$IOV_RIG_REPEAT" '
		BEGIN { while ((getline l < f) > 0) { split(l, a, " "); d[a[1] " " a[2]] = a[3] } }
		{ n++; name[n] = $1; c[n] = rep * (((p " " $1) in d) ? d[p " " $1] : 40); tot += c[n] }
		END {
			k = int(tot / max) + 1; if (k > n) k = n
			# longest first (selection sort: a handful of scenarios)
			for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
				if (c[j] > c[i]) { t = c[i]; c[i] = c[j]; c[j] = t; t = name[i]; name[i] = name[j]; name[j] = t }
			for (i = 1; i <= n; i++) {
				b = 1; for (j = 2; j <= k; j++) if (load[j] < load[b]) b = j
				load[b] += c[i]; list[b] = list[b] " " name[i]
			}
			for (j = 1; j <= k; j++) printf "%d %s%s%s\n", load[j] + 15, p, (k > 1 ? "." j : ""), list[j]
		}')
"
done

# Boots run in IOV_RIG_JOBS lanes at once (default 2: each TCG guest keeps about one core
# busy). Presets go, longest first, to the lane with the least expected time so far.
jobs=${IOV_RIG_JOBS:-2}
lanes=$(printf '%s' "$plan" | sort -rn | awk -v n="$jobs" '
	NF { best = 1; for (i = 2; i <= n; i++) if (load[i] < load[best]) best = i
	     load[best] += $1; $1 = ""; lane[best] = lane[best] substr($0, 2) ";" }
	END { for (i = 1; i <= n; i++) if (lane[i] != "") print lane[i] }')
run_lane() { # "preset scen...;preset scen...;"
	echo "$1" | tr ';' '\n' | while read -r pb scens; do
		[ -n "$pb" ] || continue
		p=${pb%.*}; b=${pb#"$p"}; b=${b#.}
		# shellcheck disable=SC2086
		IOV_RIG_BOOT=$b "$here/run.sh" --no-image "$p" $scens || true
	done
}
for p in $(printf '%s' "$plan" | awk '{ print $2 }'); do rm -f "$OUT/logs/$p/results.txt"; done
if [ "$(echo "$lanes" | grep -c .)" -le 1 ]; then
	run_lane "$lanes"
else
	echo "$lanes" > "$OUT/logs/lanes"
	i=0
	while read -r lane; do
		i=$((i + 1))
		: > "$OUT/logs/lane$i.out"
		echo "rig: lane $i: $(echo "$lane" | tr ';' '\n' | awk 'NF { printf "%s(%d) ", $1, NF - 1 }')"
	done < "$OUT/logs/lanes"
	# The lanes run in the background under one parent; their one-line results are shown live
	# (the failure excerpts come after the summary), the full output is in logs/laneN.out.
	(
		i=0
		while read -r lane; do
			i=$((i + 1))
			run_lane "$lane" > "$OUT/logs/lane$i.out" 2>&1 &
		done < "$OUT/logs/lanes"
		wait
	) &
	lanes_pid=$!
	tail -q -n +1 --pid=$lanes_pid -f "$OUT"/logs/lane*.out 2>/dev/null | grep --line-buffered '^rig: ' || true
	wait $lanes_pid || true
fi
# Every planned scenario has a result line, or it is a failure.
printf '%s' "$plan" | while read -r _ pb scens; do
	[ -n "$pb" ] || continue
	p=${pb%.*}
	r="$OUT/logs/$pb/results.txt"
	[ -f "$r" ] && cat "$r" >> "$summary"
	for s in $(steps $scens); do
		grep -q "^[A-Z]* $p $s " "$r" 2>/dev/null || {
			echo "FAIL $p $s 0 skipped=0" >> "$summary"
			echo "rig: $p: FAIL $s (no result from its boot $pb)"
		}
	done
done

# Remember how long each scenario took, for the next run's lanes.
{ cat "$OUT/logs/durations" 2>/dev/null || true; awk '$4 > 0 { sub(/@[0-9]+$/, "", $3); print $2, $3, $4 }' "$summary"; } |
	awk '{ d[$1 " " $2] = $3 } END { for (k in d) print k, d[k] }' | sort > "$OUT/logs/durations.new"
mv "$OUT/logs/durations.new" "$OUT/logs/durations"

passed=$(grep -c '^PASS' "$summary" || true)
failed=$(grep -c '^FAIL' "$summary" || true)
retried=$(grep -c '^PASS .* retried$' "$summary" || true)
# Skips: scenarios that skipped everything, and the checks skipped inside passing ones,
# each named from its log ("SKIPPED: what (why)").
: > "$OUT/logs/skips.txt"
grep -E '^(SKIP|PASS) .* skipped=[1-9]' "$summary" | while read -r _ p s _; do
	log=$(ls "$OUT/logs/$p/$s.log" "$OUT/logs/$p".*/"$s.log" 2>/dev/null | head -n1)
	sed -n "s/^SKIPPED: /$p $s: /p" "$log" 2>/dev/null
done >> "$OUT/logs/skips.txt"
skipped=$(grep -c . "$OUT/logs/skips.txt" || true)
used=$(grep -c . "$IOV_RIG_RETRY_FILE" || true)
echo "rig: wall time $(( $(date +%s) - t0 ))s; per-scenario logs under $OUT/logs/PRESET/"
if [ "$failed" -gt 0 ]; then
	echo "rig: failed:"
	grep '^FAIL' "$summary" | while read -r _ p s _; do
		log=$(ls "$OUT/logs/$p/$s.log" "$OUT/logs/$p".*/"$s.log" 2>/dev/null | head -n1)
		[ "$s" = boot ] && log=$(ls "$OUT/logs/$p/boot.log" "$OUT/logs/$p".*/boot.log 2>/dev/null | head -n1)
		echo "  $s on $p (${log:-$OUT/logs/$p/})"
		# What the runner and the scenario said about the failure (its kernel messages are
		# in the log file).
		if [ -n "$log" ]; then grep -E '^(FAIL|SKIPPED): |^rig: ' "$log" | tail -n 12 | sed 's/^/    | /'; fi
	done
fi
echo "rig: test-host retries: $used of $IOV_RIG_RETRIES used${used:+$(awk '{ printf "%s %s", (NR == 1 ? ":" : ";"), $0 }' "$IOV_RIG_RETRY_FILE")}"
[ "$retried" -gt 0 ] && grep '^PASS .* retried$' "$summary" | awk '{ printf "rig: passed after a test-host retry: %s on %s\n", $3, $2 }'
[ "$skipped" -gt 0 ] && sed 's/^/rig: skipped: /' "$OUT/logs/skips.txt"
if [ -n "${IOV_TEST_REPORT:-}" ]; then
	mkdir -p "$IOV_TEST_REPORT"
	printf 'pass %s\nfail %s\nskip %s\nretried %s\n' "$passed" "$failed" "$skipped" "$retried" > "$IOV_TEST_REPORT/rig.$$.counts"
	sed 's/^/test host: /' "$OUT/logs/skips.txt" > "$IOV_TEST_REPORT/rig.$$.skips"
fi
echo "$passed passed ($retried after a test-host retry), $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
