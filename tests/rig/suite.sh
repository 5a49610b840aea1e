#!/bin/sh
# Run test-host scenarios on every preset they declare: one boot per preset, all of that
# preset's scenarios in it. Prints one line per scenario and a last line "N passed, M failed".
#
#   tests/rig/suite.sh [SCENARIO...]        (default: every scenario)
#   IOV_RIG_PRESETS="default no-iommu" tests/rig/suite.sh    (only these presets)
#
# Exit 0 iff every scenario passed (and there was at least one).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cd "$top"
. "$here/presets.sh"
OUT=${IOV_RIG_OUT:-build/rig}

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

for p in ${IOV_RIG_PRESETS:-$RIG_PRESETS}; do
	scens=""
	for f in "$here"/scenarios/*.sh; do
		s=$(basename "$f" .sh)
		[ -z "$want" ] || case " $want " in *" $s "*) ;; *) continue ;; esac
		case " $(sed -n 's/^# rig-presets:[[:space:]]*//p' "$f" | head -n1) " in
		*" $p "*) scens="$scens $s" ;;
		esac
	done
	[ -n "$scens" ] || continue
	# shellcheck disable=SC2086
	"$here/run.sh" --no-image "$p" $scens || true
	cat "$OUT/logs/$p/results.txt" >> "$summary"
done

passed=$(grep -c '^PASS' "$summary" || true)
failed=$(grep -c '^FAIL' "$summary" || true)
echo "rig: wall time $(( $(date +%s) - t0 ))s; per-scenario logs under $OUT/logs/PRESET/"
if [ "$failed" -gt 0 ]; then
	echo "rig: failed:"
	grep '^FAIL' "$summary" | awk '{ printf "  %s on %s (%s/logs/%s/%s.log)\n", $3, $2, out, $2, ($3 == "boot" ? "boot" : $3) }' out="$OUT"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
