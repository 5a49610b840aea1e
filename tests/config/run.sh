#!/bin/sh
# Golden tests for the config loader: every malformed config in tests/config/bad/ must be
# refused with exactly its expected message, every config in tests/config/good/ accepted
# with exactly its expected description, by `iovctl config check` and `iovd --check` alike.
#
#   tests/config/run.sh [--update] BUILD_DIR [NAME...]
#
# A case is NAME.json (one file) or a directory NAME/ holding iovd.json and/or iovd.d/
# (checked with --config-dir NAME/iovd.d). Expected: NAME.err (bad: "exit N" +
# stderr) or NAME.out (good: stdout). The host it is checked against is the captured
# test-host tree tests/fixtures/captured/default, or the fixture named in NAME.tree
# ("captured/shared-group", or a generated one such as "x710_4port").
# Also: every bad case exits 1 with nothing on stdout, `--json` gives {"ok": false} with
# the same message, and iovd --check prints the same as iovctl.
# --update rewrites the expected files: review every diff.
set -u

UPDATE=0
[ "${1:-}" = --update ] && { UPDATE=1; shift; }
if [ $# -lt 1 ]; then
	echo "usage: $0 [--update] BUILD_DIR [NAME...]" >&2
	exit 2
fi
B=$1; shift
case "$B" in /*) ;; *) B="$(pwd)/$B" ;; esac
for p in iovctl iovd; do
	[ -x "$B/$p" ] || { echo "$0: $B/$p missing; build first (make)" >&2; exit 2; }
done
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP" || exit 2
TREES=$B/config-trees
TMP=$(mktemp -d "${TMPDIR:-/tmp}/iov-config.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
export IOV_PCI_IDS="$TOP/tests/fixtures/pci.ids" NO_COLOR=1 LC_ALL=C
unset IOV_SYSROOT

pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

mkdir -p "$TREES"
if ! python3 tests/fixtures/gen/mksysfs.py --all "$TREES" >"$TMP/gen.log" 2>&1; then
	echo "FAIL: tree generation: $(tail -3 "$TMP/gen.log")"
	exit 1
fi

tree_of() {
	t=captured/default
	[ -f "$1.tree" ] && t=$(cat "$1.tree")
	case "$t" in
	captured/*) echo "$TOP/tests/fixtures/$t" ;;
	*) echo "$TREES/$t" ;;
	esac
}

# The main file of a case (a directory case without iovd.json: the drop-ins alone) and its
# drop-in option.
file_of() {
	if [ -d "$1" ]; then echo "$1/iovd.json"; else echo "$1.json"; fi
}
dir_of() {
	if [ -d "$1" ]; then echo "--config-dir $1/iovd.d"; fi
}

SEL="$*"
selected() {
	[ -z "$SEL" ] && return 0
	case " $SEL " in *" $1 "*) return 0 ;; esac
	return 1
}

for kind in bad good; do
	for c in tests/config/$kind/*; do
		case "$c" in *.json) c=${c%.json} ;; *.err|*.out|*.tree|*.d) continue ;; esac
		[ -d "$c" ] || [ -f "$c.json" ] || continue
		n=$(basename "$c")
		selected "$n" || continue
		T=$(tree_of "$c")
		F=$(file_of "$c")
		D=$(dir_of "$c")
		# shellcheck disable=SC2086
		"$B/iovctl" --sysroot "$T" config check "$F" $D >"$TMP/out" 2>"$TMP/err"
		rc=$?
		# shellcheck disable=SC2086
		"$B/iovd" --sysroot "$T" --check "$F" $D >"$TMP/dout" 2>"$TMP/derr"
		drc=$?
		# shellcheck disable=SC2086
		"$B/iovctl" --sysroot "$T" --json config check "$F" $D >"$TMP/json" 2>"$TMP/jerr"
		jrc=$?
		if [ $kind = bad ]; then
			{ echo "exit $rc"; cat "$TMP/err"; } >"$TMP/got"
			exp=$c.err
			[ $rc -eq 1 ] && [ ! -s "$TMP/out" ] && ok || bad "$n: exit $rc (want 1) or stdout not empty"
			[ $drc -eq 1 ] && cmp -s "$TMP/err" "$TMP/derr" && ok ||
				bad "$n: iovd --check exit $drc, or its message differs from iovctl's"
			msg=$(head -1 "$TMP/err")
			[ $jrc -eq 1 ] && python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
assert j["ok"] is False and j["error"]["message"] == sys.argv[2], j
assert j["error"]["fix"], "no fix"
' "$TMP/json" "$msg" 2>"$TMP/pyerr" && ok || bad "$n: --json: exit $jrc, $(tail -1 "$TMP/pyerr")"
			grep -q "  fix: " "$TMP/err" && ok || bad "$n: the message has no fix"
		else
			cp "$TMP/out" "$TMP/got"
			exp=$c.out
			[ $rc -eq 0 ] && [ ! -s "$TMP/err" ] && ok || bad "$n: exit $rc (want 0): $(head -3 "$TMP/err")"
			[ $drc -eq 0 ] && cmp -s "$TMP/out" "$TMP/dout" && ok ||
				bad "$n: iovd --check exit $drc, or its output differs from iovctl's"
			[ $jrc -eq 0 ] && python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["ok"] is True' \
				"$TMP/json" 2>/dev/null && ok || bad "$n: --json: exit $jrc or not ok"
		fi
		if [ $UPDATE = 1 ]; then
			cp "$TMP/got" "$exp"
			ok
		elif [ ! -f "$exp" ]; then
			bad "$n: no $exp (run $0 --update $B $n, then review it)"
			sed 's/^/    /' "$TMP/got"
		elif cmp -s "$TMP/got" "$exp"; then
			ok
		else
			bad "$n: differs from $exp"
			diff -u "$exp" "$TMP/got" | sed 's/^/    /' | head -20
		fi
	done
done

nbad=$(ls tests/config/bad/*.err 2>/dev/null | wc -l)
if [ -z "$SEL" ] && [ "$nbad" -lt 40 ]; then
	bad "only $nbad bad configs (the suite promises at least 40)"
fi
[ $UPDATE = 1 ] && echo "expectations written: review them (git diff tests/config)"
echo "config: $pass passed, $fail failed ($nbad bad configs)"
[ $fail -eq 0 ]
