#!/bin/sh
# Golden tests for iovctl list/show on fake sysfs trees.
#
#   tests/golden/run.sh [--update] [--keep] BIN [FIXTURE...]
#
# Fixtures: every tests/fixtures/*.desc (generated at test time by tests/fixtures/gen/mksysfs.py
# into <dir of BIN>/golden-trees/NAME) and every committed tree tests/fixtures/captured/NAME/
# (golden name "captured-NAME"). For each, the commands in tests/golden/expected/<name>/cmds
# (picked automatically on first --update) run with IOV_PCI_IDS=tests/fixtures/pci.ids,
# NO_COLOR=1, and stdout / "exit N" + stderr are compared with expected/<name>/<n>.out / .err
# (the tree path in messages is replaced by @TREE@). Plus, not trusting the golden files:
#   - tests/golden/check.py on `list --json` (PCI arithmetic, sysfs cross-checks, hardware facts),
#   - tests/golden/check.py --verify on `verify --json` of every device but the bridges (each
#     check recomputed from the tree; no reason or fix that reads as cut off),
#   - bad input: --sysroot /nonexistent and --sysroot /tmp exit 2 with a message naming it,
#     unknown device / VF index exit 2,
#   - fixtures whose description has expect.warned: exactly one warning line per damaged
#     device on stderr, none for the others, exit 0.
# --update rewrites the expected files; review every diff against docs/hardware.md (real hardware) and tests/rig/README.md (the test host) before committing.
# Ends with "N passed, M failed"; exit 1 on any failure.
set -u

UPDATE=0
KEEP=0
while [ $# -gt 0 ]; do
	case "$1" in
	--update) UPDATE=1; shift ;;
	--keep) KEEP=1; shift ;;
	-h|--help) sed -n '2,20p' "$0"; exit 0 ;;
	*) break ;;
	esac
done
if [ $# -lt 1 ]; then
	echo "usage: $0 [--update] BIN [FIXTURE...]" >&2
	exit 2
fi
BIN=$1; shift
case "$BIN" in /*) ;; *) BIN="$(pwd)/$BIN" ;; esac
if [ ! -x "$BIN" ]; then
	echo "$0: $BIN: not an executable; build it first (make)" >&2
	exit 2
fi

TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP" || exit 2
FX=tests/fixtures
EXP=tests/golden/expected
TREES=$(dirname "$BIN")/golden-trees
TMP=$(mktemp -d "${TMPDIR:-/tmp}/iov-golden.XXXXXX")
[ "$KEEP" = 1 ] || trap 'rm -rf "$TMP"' EXIT

export IOV_PCI_IDS="$TOP/$FX/pci.ids" NO_COLOR=1 LC_ALL=C
unset IOV_SYSROOT COLUMNS

pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# --- generate the trees
mkdir -p "$TREES"
if ! python3 $FX/gen/mksysfs.py --all "$TREES" >"$TMP/gen.log" 2>&1; then
	bad "tree generation: $(tail -3 "$TMP/gen.log")"
	echo "$pass passed, $fail failed"
	exit 1
fi

# fixture list: "name tree desc"
list_fixtures() {
	for d in $FX/*.desc; do
		[ -e "$d" ] || continue
		n=$(basename "$d" .desc)
		echo "$n $TREES/$n $d"
	done
	for t in $FX/captured/*/; do
		[ -d "$t/sys" ] || continue
		n=$(basename "$t")
		echo "captured-$n $TOP/${t%/} -"
	done
}

# run NAME TREE OUTBASE ARGS...: stdout to OUTBASE.out, "exit N" + stderr to OUTBASE.err
run() {
	_tree=$2; _o=$3; shift 3
	"$BIN" --sysroot "$_tree" "$@" >"$_o.out" 2>"$_o.raw"
	_rc=$?
	{ echo "exit $_rc"; sed "s#$_tree#@TREE@#g" "$_o.raw"; } >"$_o.err"
	rm -f "$_o.raw"
	sed -i "s#$_tree#@TREE@#g" "$_o.out"
	return $_rc
}

# default commands for a fixture, from its list --json: a PF with >= 2 VFs (else any PF,
# else the first device), its VF 1, one of its VFs by address, a netdev.
pick_cmds() {
	python3 - "$1" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
devs = j.get('devices', [])
pfs = [d for d in devs if d.get('role') == 'pf']
pf = next((d for d in pfs if len([v for v in d.get('vfs') or [] if v]) >= 2), pfs[0] if pfs else None)
cmds = ['list', 'list --json', 'list pfs', 'list vfs', 'list groups']
if pf:
    cmds += ['show %s' % pf['address'], 'show %s/vf1' % pf['address'], '--json show %s' % pf['address']]
    vfs = [v for v in pf.get('vfs') or [] if v]
    if vfs:
        cmds += ['show %s' % vfs[-1][5:], '--json show %s' % vfs[-1]]
elif devs:
    cmds += ['show %s' % devs[0]['address']]
net = next((d for d in devs if d.get('netdevs')), None)
if net:
    cmds += ['show %s' % net['netdevs'][0]]
print('\n'.join(cmds))
EOF
}

SEL="$*"

list_fixtures >"$TMP/fixtures"
while read -r NAME TREE DESC; do
	if [ -n "$SEL" ]; then
		case " $SEL " in *" $NAME "*) ;; *) continue ;; esac
	fi
	E=$EXP/$NAME
	O=$TMP/$NAME
	mkdir -p "$O"

	# independent checks on list --json
	"$BIN" --sysroot "$TREE" --json list >"$O/check.json" 2>"$O/check.stderr"
	rc=$?
	if [ $rc -ne 0 ]; then
		bad "$NAME: list --json exit $rc: $(head -3 "$O/check.stderr")"
	elif python3 tests/golden/check.py "$TREE" "$O/check.json" "$([ "$DESC" = - ] || echo "$DESC")" >"$O/check.log" 2>&1; then
		ok
	else
		bad "$NAME: check.py"
		grep -v '^check ' "$O/check.log" | head -20 | sed 's/^/    /'
	fi

	# independent checks on verify --json for every device but the bridges
	vdevs=$(python3 -c "import json,sys; print(' '.join(d['address'] for d in json.load(open(sys.argv[1])).get('devices', []) if not d.get('bridge')))" "$O/check.json" 2>/dev/null)
	if [ -n "$vdevs" ]; then
		# shellcheck disable=SC2086
		"$BIN" --sysroot "$TREE" --json verify $vdevs >"$O/verify.json" 2>"$O/verify.stderr"
		rc=$?
		if [ $rc -gt 1 ]; then
			bad "$NAME: verify --json exit $rc: $(head -3 "$O/verify.stderr")"
		elif python3 tests/golden/check.py --verify "$TREE" "$O/verify.json" >"$O/vcheck.log" 2>&1; then
			ok
		else
			bad "$NAME: check.py --verify"
			grep -v '^check ' "$O/vcheck.log" | head -20 | sed 's/^/    /'
		fi
	fi

	# damaged devices: exactly one warning line per device named in expect.warned
	if [ "$DESC" != - ]; then
		warned=$(python3 -c "import ast,sys; print(' '.join(ast.literal_eval(open(sys.argv[1]).read()).get('expect',{}).get('warned',['-'])))" "$DESC")
		if [ "$warned" != "-" ]; then
			"$BIN" --sysroot "$TREE" list >/dev/null 2>"$O/warn.err"
			rc=$?
			[ $rc -eq 0 ] && ok || bad "$NAME: list on a damaged tree exits $rc, want 0"
			nw=$(grep -c . "$O/warn.err")
			nexp=$(echo "$warned" | wc -w)
			[ "$nw" -eq "$nexp" ] && ok || { bad "$NAME: $nw stderr lines, want $nexp (one per damaged device: $warned)"; sed 's/^/    /' "$O/warn.err"; }
			for a in $warned; do
				c=$(grep -c "0000:$a" "$O/warn.err")
				[ "$c" -eq 1 ] && ok || bad "$NAME: device $a named in $c warning lines, want 1"
			done
		else
			"$BIN" --sysroot "$TREE" list >/dev/null 2>"$O/warn.err"
			[ ! -s "$O/warn.err" ] && ok || { bad "$NAME: unexpected stderr on a healthy tree"; head -5 "$O/warn.err" | sed 's/^/    /'; }
		fi
	fi

	# golden comparisons
	if [ ! -f "$E/cmds" ]; then
		if [ "$UPDATE" = 1 ]; then
			mkdir -p "$E"
			pick_cmds "$O/check.json" >"$E/cmds"
		else
			bad "$NAME: no $E/cmds (run $0 --update BIN, then review)"
			continue
		fi
	fi
	i=0
	while IFS= read -r cmd; do
		[ -n "$cmd" ] || continue
		i=$((i + 1))
		n=$(printf '%02d' $i)
		# shellcheck disable=SC2086
		run "$NAME" "$TREE" "$O/$n" $cmd
		if [ "$UPDATE" = 1 ]; then
			cp "$O/$n.out" "$E/$n.out"
			cp "$O/$n.err" "$E/$n.err"
			ok
		elif cmp -s "$O/$n.out" "$E/$n.out" && cmp -s "$O/$n.err" "$E/$n.err"; then
			ok
		else
			bad "$NAME: \`iovctl $cmd\` differs from $E/$n.{out,err}"
			{ diff -u "$E/$n.out" "$O/$n.out"; diff -u "$E/$n.err" "$O/$n.err"; } | head -30 | sed 's/^/    /'
		fi
	done <"$E/cmds"
	if [ "$UPDATE" = 1 ]; then
		# drop stale expectations beyond the command list
		for f in "$E"/[0-9][0-9].out "$E"/[0-9][0-9].err; do
			[ -e "$f" ] || continue
			k=$(basename "$f" | cut -c1-2)
			[ "$(expr "$k" + 0)" -le "$i" ] || rm -f "$f"
		done
	fi
done <"$TMP/fixtures"

# --- bad input (no golden files needed)
if [ -z "$SEL" ]; then
	"$BIN" --sysroot /nonexistent list >"$TMP/b1.out" 2>"$TMP/b1.err"
	rc=$?
	[ $rc -eq 2 ] && grep -q "/nonexistent" "$TMP/b1.err" && [ ! -s "$TMP/b1.out" ] && ok ||
		bad "--sysroot /nonexistent: exit $rc, stderr '$(cat "$TMP/b1.err")' (want exit 2, message naming it)"
	"$BIN" --sysroot /tmp list >"$TMP/b2.out" 2>"$TMP/b2.err"
	rc=$?
	[ $rc -eq 2 ] && grep -q "/tmp" "$TMP/b2.err" && grep -qi "sysfs" "$TMP/b2.err" && [ ! -s "$TMP/b2.out" ] && ok ||
		bad "--sysroot /tmp: exit $rc, stderr '$(cat "$TMP/b2.err")' (want exit 2, 'not a sysfs tree')"
	"$BIN" --sysroot /tmp --json list >"$TMP/b3.out" 2>"$TMP/b3.err"
	rc=$?
	[ $rc -eq 2 ] && [ -s "$TMP/b3.err" ] && ok || bad "--json --sysroot /tmp: exit $rc, want 2 with a message"
	T1=$TREES/i82576_noari
	if [ -d "$T1" ]; then
		for arg in 99:99.9 0000:08:00.0/vf7 0000:08:00.0/vfx nosuchnetdev 0000:09:10.0/vf0 zz:zz.z; do
			"$BIN" --sysroot "$T1" show "$arg" >"$TMP/b4.out" 2>"$TMP/b4.err"
			rc=$?
			[ $rc -eq 2 ] && grep -q -- "$arg" "$TMP/b4.err" && ok ||
				bad "show $arg: exit $rc, stderr '$(cat "$TMP/b4.err")' (want exit 2, message naming the argument)"
		done
		"$BIN" --sysroot "$T1" list bogus >/dev/null 2>"$TMP/b5.err"
		rc=$?
		[ $rc -eq 2 ] && ok || bad "list bogus: exit $rc, want 2"
		"$BIN" --sysroot "$T1" show >/dev/null 2>"$TMP/b6.err"
		rc=$?
		[ $rc -eq 2 ] && ok || bad "show without a device: exit $rc, want 2"
		"$BIN" --sysroot "$T1" show enp8s0f0/vf2 >"$TMP/b7.out" 2>&1
		rc=$?
		[ $rc -eq 0 ] && grep -q "0000:09:10.4" "$TMP/b7.out" && ok ||
			bad "show enp8s0f0/vf2: exit $rc, want 0 and VF 0000:09:10.4 (netdev/vfN form)"
		"$BIN" --sysroot "$T1/" list >"$TMP/b8.out" 2>&1 && cmp -s "$TMP/b8.out" "$EXP/i82576_noari/01.out" && ok ||
			bad "--sysroot with a trailing slash gives different output"
		IOV_SYSROOT=$T1 "$BIN" list >"$TMP/b9.out" 2>&1 && cmp -s "$TMP/b9.out" "$EXP/i82576_noari/01.out" && ok ||
			bad "IOV_SYSROOT=TREE iovctl list differs from --sysroot TREE"
	fi
fi

# --- `make` builds every program the test host ships: iov-bindtool sits next to iovctl
# and plans on a captured tree as the test host's scenarios use it
if [ -z "$SEL" ]; then
	BT=$(dirname "$BIN")/iov-bindtool
	if [ -x "$BT" ] && "$BT" --sysroot "$TOP/$FX/captured/default" plan 0000:01:10.0 >"$TMP/bt.out" 2>&1 &&
	   grep -qx "0000:01:10.0: igbvf -> vfio-pci" "$TMP/bt.out"; then
		ok
	else
		bad "$BT: missing or wrong plan (make must build it: the test host ships it): $(head -2 "$TMP/bt.out" 2>/dev/null)"
	fi
fi

[ "$UPDATE" = 1 ] && echo "expectations written under $EXP: review every diff (git diff $EXP) against docs/hardware.md and tests/rig/README.md"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
