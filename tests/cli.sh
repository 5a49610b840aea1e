#!/bin/sh
# tests/cli.sh BUILD: the command-line conventions of iovctl, iovd and iovm, and the messages
# a newcomer meets first (issue 19): --version everywhere; `iovctl help [CMD]`, `CMD --help`
# with that command's options; options anywhere on the line and `--` ending them; "did you
# mean" for commands, selections and options; messages that name the right fix. Runs iovd
# on a generated fake tree for the ones that go through it. Needs no root. Exit 1 on failure.
set -u
B=${1:?usage: $0 BUILD}
T=$(mktemp -d /tmp/iovd-cli.XXXXXX)
fail=0
trap 'kill $(cat "$T/pid" 2>/dev/null) 2>/dev/null; rm -rf "$T"' EXIT
bad() { echo "cli: FAIL: $*"; fail=1; }
export IOVD_SOCKET="$T/sock" NO_COLOR=1 LC_ALL=C
unset IOV_SYSROOT
C="$B/iovctl"

# run EXPECTED_EXIT CMD...: output (stdout and stderr) in $T/o
run() {
	_want=$1; shift
	"$@" > "$T/o" 2>&1
	_rc=$?
	[ "$_rc" = "$_want" ] || bad "$*: exit $_rc, want $_want: $(head -3 "$T/o")"
}
has() { grep -qF -- "$1" "$T/o" || bad "$2: no '$1' in: $(head -5 "$T/o")"; }
hasnt() { ! grep -qF -- "$1" "$T/o" || bad "$2: '$1' in: $(head -5 "$T/o")"; }

python3 tests/fixtures/gen/mksysfs.py tests/fixtures/layout_a.desc "$T/tree" >/dev/null || exit 1
S="--sysroot $T/tree"

# --- --version on all three
for p in iovctl iovd iovm; do
	run 0 "$B/$p" --version
	grep -Eq "^$p [0-9]+\.[0-9]+" "$T/o" || bad "$p --version: $(cat "$T/o")"
done
run 0 "$B/iovd" --help
has "--check [FILE]" "iovd --help"
has "--version" "iovd --help"
run 0 "$B/iovm" --help
has "--version" "iovm --help"

# --- help: the list, one command's, a subcommand's options
run 0 "$C" help
has "vf set|unquarantine" "help lists vf unquarantine"
run 0 "$C" help list
has "usage: iovctl list" "help list"
run 0 "$C" list --help
has "usage: iovctl list" "list --help"
hasnt "unknown selection" "list --help"
run 0 "$C" vm start --help
has "--kernel FILE" "vm start --help"
hasnt "--force" "vm start --help (stop's option)"
run 0 "$C" help vm
has "(stop|restart|reboot) stop: SIGKILL" "help vm tags --force with its subcommands"
run 0 "$C" vm reboot --help
has "--force" "vm reboot --help"
hasnt "--timeout" "vm reboot --help (stop's and restart's option)"
run 0 "$C" vm restart --help
has "--timeout S" "vm restart --help"
run 0 "$C" bind -h
has "--driver D" "bind -h"
run 2 "$C" help nosuch
has "unknown command 'nosuch'" "help nosuch"

# --- options anywhere; --opt=value; `--` ends them
"$C" $S list pfs > "$T/a" 2>&1
"$C" list pfs $S > "$T/b" 2>&1 || bad "list pfs --sysroot DIR: exit $?: $(cat "$T/b")"
cmp -s "$T/a" "$T/b" || bad "list pfs --sysroot DIR differs from --sysroot DIR list pfs"
"$C" list --sysroot="$T/tree" pfs > "$T/b" 2>&1
cmp -s "$T/a" "$T/b" || bad "list --sysroot=DIR pfs differs"
run 0 "$C" show eno1 --json $S
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/o" || bad "show eno1 --json: not JSON"
run 2 "$C" $S show -- --json
has "'--json': no such PCI device" "show -- --json (the word after -- is a device)"
run 2 "$C" $S vfs -n show eno1
has "show takes one PF and no options" "vfs -n: the short form is --dry-run"

# --- output at scale: list PF, --summary, lines cut to the terminal (full when piped or --wide)
run 0 "$C" $S list eno1
[ "$(grep -c '^ *0000:' "$T/o")" = 5 ] || bad "list eno1: not the PF and its 4 VFs: $(cat "$T/o")"
hasnt "IOMMU group shared" "list eno1: no legend for rows it does not show"
run 0 "$C" $S list --summary
has "vf0-3 igbvf" "list --summary: eno1's VFs as one run"
grep -q "^  0000:05:10.0" "$T/o" && bad "list --summary still lists VF rows"
if command -v script > /dev/null; then
	COLUMNS=90 script -qec "$C $S list" /dev/null | tr -d '\r' > "$T/tty"
	w=$(awk '/^ *(0000:|ADDRESS)/ { if (length($0) > m) m = length($0) } END { print m }' "$T/tty")
	[ "$w" -le 90 ] || bad "list on a 90-column terminal: table lines of $w columns"
	grep -q '\.\.\.$' "$T/tty" || bad "list on a 90-column terminal: no NAME cut"
	COLUMNS=90 script -qec "$C $S list --wide" /dev/null | tr -d '\r' > "$T/tty"
	w=$(awk '{ if (length($0) > m) m = length($0) } END { print m }' "$T/tty")
	[ "$w" -gt 90 ] || bad "list --wide on a terminal: cut to $w columns"
fi
"$C" $S list | awk '{ if (length($0) > m) m = length($0) } END { exit !(m > 100) }' ||
	bad "list piped: lines cut"

# --- did you mean
run 2 "$C" lst
has "did you mean 'list'?" "command typo"
run 2 "$C" $S list pf
has "did you mean 'pfs'?" "selection typo"
run 2 "$C" bind --forse 01:00.0
has "did you mean '--force'?" "option typo"
run 2 "$C" vm strat x
has "did you mean 'start'?" "subcommand typo"
run 2 "$C" vm stop x --kernel k
has "--kernel goes with 'vm start'" "an option of another subcommand"
run 2 "$C" vm start x --kernel
has "--kernel needs a value (FILE)" "option without its value"

# --- messages that name the right thing (read-only, no daemon)
run 2 "$C" $S show eno1/vf8
has "supports at most 8 VFs (vf0..vf7): vf8 can never exist" "a VF beyond totalvfs"
hasnt "create more" "a VF beyond totalvfs"
run 2 "$C" $S show eno1/vf5
has "create more with 'iovctl vfs create eno1 6'" "a VF beyond numvfs: the count that makes it"
run 2 "$C" $S show 05:10.9
has "function 9 is not valid" "function 9"
run 2 "$C" $S show 05:20.0
has "device 20 is not valid" "device 0x20"
run 1 "$C" $S verify eno1
has "iovctl vfs destroy 0000:04:00.0" "binding a PF with VFs: the fix is vfs destroy"
hasnt "sriov_numvfs to 0" "binding a PF with VFs"
run 1 "$C" --socket "$T/nothing" vm list
has "see iovd(8)" "no daemon: the man page"
hasnt "docs/" "no daemon: no path into the source tree"

# --- one spelling of a VF: pools take PF/vfN and PF/vfN-M (PF#N as before), and what
# config check prints as a pool's members is accepted back as members
cat > "$T/pools.json" <<J
{ "pfs": [ { "name": "main", "match": { "netdev": "eno1" }, "num_vfs": 4,
             "defaults": { "driver": "vfio-pci" } } ],
  "pools": [ { "name": "p", "vfs": [ "main/vf0-1", "main#2" ] } ] }
J
run 0 "$C" $S config check "$T/pools.json" --json
python3 - "$T/o" "$T/pools2.json" <<'P' || bad "config check: the pool's members as printed: $(cat "$T/o")"
import json, sys
j = json.load(open(sys.argv[1]))
vfs = j["pools"][0]["vfs"]
assert vfs == ["main/vf0", "main/vf1", "main/vf2"], vfs
c = {"pfs": [{"name": "main", "match": {"netdev": "eno1"}, "num_vfs": 4,
              "defaults": {"driver": "vfio-pci"}}], "pools": [{"name": "p", "vfs": vfs}]}
json.dump(c, open(sys.argv[2], "w"))
P
run 0 "$C" $S config check "$T/pools2.json"
# one spelling of a property: vf set prints max_rate (the config's key) and takes max-rate too
run 2 "$C" vf set eno1/vf0 max_rat 5
has "did you mean 'max_rate'?" "a misspelt property"
hasnt "max-rate," "properties listed once, as the config spells them"

# --- the JSON contract: under --json an error is a JSON object on stdout, same exit code
# jrun EXIT NAME CMD...: stdout must be one document valid against its schema (saved as
# $T/j-NAME.json), with "error.code" CODE when NAME is error-CODE
jrun() {
	_want=$1; _n=$2; shift 2
	"$@" > "$T/j-$_n.json" 2>"$T/j.err"
	_rc=$?
	[ "$_rc" = "$_want" ] || bad "$*: exit $_rc, want $_want: $(head -3 "$T/j.err")"
	case $_n in error-*)
		python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["error"]["code"] == sys.argv[2], j' \
			"$T/j-$_n.json" "${_n#error-}" || bad "$*: not an error with code ${_n#error-}: $(cat "$T/j-$_n.json")" ;;
	esac
}
jrun 2 error-usage "$C" --json lst
jrun 2 error-usage "$C" list pf $S --json
jrun 2 error-no-such-device "$C" $S --json show nosuch0
jrun 2 error-no-such-device "$C" $S verify eno1 nosuch0 --json
jrun 1 error-no-daemon "$C" --json --socket "$T/nothing" vm list
jrun 0 verify1 "$C" $S --json verify 05:10.0
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert isinstance(j["devices"], list) and len(j["devices"]) == 1' \
	"$T/j-verify1.json" || bad "verify --json of one device: not an array of one"

# --- the checkers run what iovd runs at load: policy.admin_group is looked up (under a
# sysroot in DIR/etc/group only), and the default config under a sysroot is DIR/etc/iovd
mkdir -p "$T/gtree"
cp -a "$T/tree/." "$T/gtree/"
mkdir -p "$T/gtree/etc/iovd"
printf 'root:x:0:\nwheelx:x:1234:\n' > "$T/gtree/etc/group"
G="--sysroot $T/gtree"
for grp in nosuchgroup wheelx; do
	printf '{ "policy": { "admin_group": "%s" },\n  "pfs": [ { "name": "main", "match": { "netdev": "eno1" }, "num_vfs": 4 } ] }\n' \
		"$grp" > "$T/gtree/etc/iovd/iovd.json"
	want=0; [ $grp = nosuchgroup ] && want=1
	run $want "$C" $G config check
	[ $want = 1 ] && has "\$.policy.admin_group: no such group 'nosuchgroup'" "config check: admin group"
	[ $want = 0 ] && has "$T/gtree/etc/iovd/iovd.json: ok" "config check reads DIR/etc/iovd under --sysroot"
	run $want "$B/iovd" $G --check
	[ $want = 1 ] && has "no such group 'nosuchgroup'" "iovd --check: admin group"
	# the daemon agrees: it loads exactly what the checkers accept, and fails to start
	# (exit 1, the error said) on what they refuse, rather than serve without a config
	"$B/iovd" $G --socket "$T/gsock" --state-dir "$T/gstate" --no-apply --pidfile "$T/gpid" \
		2>"$T/giovd.err"
	rc=$?
	[ $rc = $want ] || bad "admin_group $grp: config check exit $want, iovd start exit $rc: $(cat "$T/giovd.err")"
	if [ $want = 0 ]; then
		"$C" --socket "$T/gsock" --json status > "$T/gst.json" 2>&1
		python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(j.get("config") is None)' \
			"$T/gst.json" || bad "admin_group $grp: iovd did not load it: $(head -c 300 "$T/gst.json")"
		kill "$(cat "$T/gpid")" 2>/dev/null; sleep 0.2
	else
		grep -q "no such group 'nosuchgroup'" "$T/giovd.err" || bad "iovd's start error: $(cat "$T/giovd.err")"
		grep -q "no host config" "$T/giovd.err" && bad "iovd says 'no host config' for a config that is there"
	fi
done

# --- through iovd on the fake tree
printf '{ "pfs": [ { "name": "main", "match": { "netdev": "eno1" }, "num_vfs": 4 } ] }\n' > "$T/iovd.json"
"$B/iovd" $S --socket "$T/sock" --state-dir "$T/state" --config "$T/iovd.json" --config-dir "" \
	--no-apply --pidfile "$T/pid" 2>"$T/iovd.err" || { cat "$T/iovd.err"; exit 1; }
run 1 "$C" vm stop web
has "iovctl: no running guest named 'web'" "a guest that is not there"
hasnt "refused" "a guest that is not there is not a refusal"
run 0 "$C" release 0000:05:10.0
has "nothing to release" "release of a device iovd never bound"
hasnt "released (" "release of a device iovd never bound"
run 1 "$C" vfs destroy ens2f1 --dry-run
has "iovctl release 0000:5e:0a.0" "a VF on vfio-pci in the way: the fix names it"
hasnt "release DEV" "no placeholder in the fix"
run 1 "$C" vm start x --kernel /bin/true --nic nopool
has "iovctl config check" "an unknown pool: the command that lists them"
hasnt "config show" "an unknown pool: no command that does not exist"

jrun 1 error-not-found "$C" --json vm stop web
jrun 1 error-refused "$C" vfs destroy ens2f1 --dry-run --json
jrun 0 release "$C" --json release 0000:05:10.0
jrun 0 vm-list "$C" --json vm list
jrun 0 status "$C" --json status
jrun 0 plan "$C" --json plan
# every document above against its schema (docs/schema/NAME.json)
tests/golden/schema.py "$T"/j-*.json > "$T/schema.log" 2>&1 || bad "schema: $(grep FAIL "$T/schema.log" | head -5)"

[ $fail = 0 ] && echo "cli: all checks passed"
exit $fail
