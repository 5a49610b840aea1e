#!/bin/sh
# tests/progress.sh BUILD: `iovctl apply` and `iovctl vm start` print progress lines from
# iovd's event stream on a terminal (through script(1)'s pseudo-terminal), before their
# result; nothing of it when stdout is a file, with --quiet (-q) or with --json. Against the
# real iovd on a generated fake tree: the apply fails there at its one step (VF properties
# are not set under a sysroot), the guest is a stand-in given with --iovm (no NICs); its
# /dev/kvm is a stand-in file in the tree (iovd under --sysroot opens DIR/dev's nodes).
# Needs root and the iovm user (setup.sh). Exit 1 on failure.
set -u
B=${1:?usage: $0 BUILD}
if [ "$(id -u)" != 0 ]; then
	echo "progress: SKIPPED: needs root (iovd starts its stand-in guest as the iovm user)"
	exit 0
fi
if ! command -v script > /dev/null; then
	echo "progress: FAIL: script(1) is missing (Debian's bsdutils)"
	exit 1
fi
T=$(mktemp -d /tmp/iovd-progress.XXXXXX)
fail=0 ip=
trap 'kill $ip 2>/dev/null; rm -rf "$T"' EXIT
bad() { echo "progress: FAIL: $*"; fail=1; }
ok() { echo "ok: $*"; }

chmod 755 "$T"		# the guest user runs the stand-in from here
python3 tests/fixtures/gen/mksysfs.py tests/fixtures/layout_a.desc "$T/tree" >/dev/null || exit 1
# iovd under --sysroot opens the tree's /dev/kvm, never the machine's: a stand-in file (the
# stand-in guest never uses the fd).
mkdir -p "$T/tree/dev" && : > "$T/tree/dev/kvm" || exit 1
printf '#!/bin/sh\nexec sleep 300\n' > "$T/guest"
chmod 755 "$T/guest"
head -c 4096 /dev/zero > "$T/kernel"
chmod 644 "$T/kernel"
cat > "$T/iovd.json" <<J
{ "pfs": [ { "name": "main", "match": { "netdev": "eno1" }, "num_vfs": 4,
             "vfs": { "0": { "mac": "02:1e:00:00:00:01" } } } ] }
J
"$B/iovd" --sysroot "$T/tree" --socket "$T/sock" --state-dir "$T/state" --bind-state "$T/bs.json" \
	--config "$T/iovd.json" --config-dir "" --cdi-dir "" --no-apply --iovm "$T/guest" \
	--foreground 2>"$T/err" &
ip=$!
i=0
while [ ! -S "$T/sock" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ -S "$T/sock" ] || { bad "iovd did not start: $(cat "$T/err")"; exit 1; }
C="$B/iovctl --socket $T/sock"
# On a terminal: stdout and stderr both on script's pseudo-terminal, CRs dropped.
tty() { script -qec "$*" /dev/null < /dev/null | tr -d '\r'; }
prog='^\[ *[0-9]+\.[0-9]s\] '
# The terminal works (else every "no progress" check below would pass for nothing).
case $(tty tty) in
/dev/pts/*) ok "script(1) gives a terminal" ;;
*) bad "script(1) gives no terminal: $(tty tty 2>&1)"; exit 1 ;;
esac

# apply on a terminal: the step as iovd takes it, then the failure it reports.
tty "$C apply" > "$T/a"
grep -Eq "${prog}applying: 1 step \(transaction [0-9]+\)$" "$T/a" &&
	ok "apply: 'applying: 1 step (transaction N)' as it starts" || bad "apply on a terminal: $(cat "$T/a")"
grep -Eq "${prog}  1/1 failed; everything was put back$" "$T/a" &&
	ok "apply: the failed step as it fails" || bad "no failed-step line: $(cat "$T/a")"
first=$(grep -n "applying:" "$T/a" | head -n1 | cut -d: -f1)
err=$(grep -n "^iovctl: step 1 of 1" "$T/a" | head -n1 | cut -d: -f1)
[ -n "$first" ] && [ -n "$err" ] && [ "$first" -lt "$err" ] &&
	ok "apply: progress lines before the error" || bad "order: progress line $first, error line $err"
[ "$(grep -c "applying:" "$T/a")" = 1 ] || bad "apply: $(grep -c "applying:" "$T/a") 'applying' lines"

# The last event comes just before the reply: ten applies in a row, each with its last
# progress line (a drain that did not look lost it now and then).
n=0
for i in 1 2 3 4 5 6 7 8 9 10; do
	tty "$C apply" > "$T/a"
	grep -Eq "${prog}  1/1 failed; everything was put back$" "$T/a" && n=$((n + 1))
done
[ $n = 10 ] && ok "apply: the last progress line in 10 of 10 runs" || bad "apply: the last progress line in $n of 10 runs"

# apply --quiet / -q / --json on a terminal, and apply into a file: no progress.
for a in "apply --quiet" "apply -q" "--json apply"; do
	tty "$C $a" > "$T/q"
	grep -q "failed" "$T/q" || bad "$a: not its result: $(cat "$T/q")"
	grep -Eq "$prog" "$T/q" && bad "$a printed progress: $(cat "$T/q")" || ok "$a: no progress lines"
done
tty "$C --json apply 2>/dev/null" > "$T/j"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["schema"] == "iovd.error/1", d' "$T/j" &&
	ok "--json apply on a terminal: one JSON document on stdout" || bad "--json apply: $(cat "$T/j")"
$C apply > "$T/f" 2> "$T/f.err"
[ -s "$T/f" ] && bad "apply into a file: stdout $(cat "$T/f")" || ok "apply into a file: no progress lines"
grep -q "failed" "$T/f.err" || bad "apply into a file: no error on stderr: $(cat "$T/f.err")"

# vm start on a terminal: iovd's steps for this guest, then the guest as before.
tty "$C vm start a --kernel $T/kernel --mem 64M" > "$T/v"
grep -Eq "${prog}a: launching iovm: 64 MiB, 1 vCPU, 0 NICs, 0 disks$" "$T/v" &&
	ok "vm start: 'launching iovm' as it happens" || bad "vm start on a terminal: $(cat "$T/v")"
pid=$(sed -n 's/^a: running, iovm pid \([0-9]*\) .*/\1/p' "$T/v")
grep -Eq "${prog}a: iovm running \(pid $pid\)$" "$T/v" && [ -n "$pid" ] &&
	ok "vm start: 'iovm running (pid $pid)', the pid of the result" || bad "no running line for pid '$pid': $(cat "$T/v")"
l1=$(grep -n "launching iovm" "$T/v" | cut -d: -f1)
l2=$(grep -n "^a: running" "$T/v" | cut -d: -f1)
[ -n "$l1" ] && [ -n "$l2" ] && [ "$l1" -lt "$l2" ] && ok "vm start: progress before the result" ||
	bad "order: progress $l1, result $l2"
# Another guest's start shows none of a's lines, and a's stop none at all.
tty "$C vm start b --kernel $T/kernel --mem 64M" > "$T/v2"
grep -q "^\[.*a: " "$T/v2" && bad "b's start shows a's lines: $(cat "$T/v2")" || ok "vm start b: only b's lines"
grep -Eq "${prog}b: launching" "$T/v2" || bad "vm start b: $(cat "$T/v2")"
for a in "vm start c --quiet" "vm start d -q" "--json vm start e"; do
	tty "$C $a --kernel $T/kernel --mem 64M" > "$T/q"
	grep -Eq '(: running, iovm pid|"state": "running")' "$T/q" || bad "$a: not its result: $(cat "$T/q")"
	grep -Eq "$prog" "$T/q" && bad "$a printed progress: $(cat "$T/q")" || ok "$a: no progress lines"
done
$C vm start f --kernel "$T/kernel" --mem 64M > "$T/f" 2>&1 || bad "vm start f: $(cat "$T/f")"
grep -Eq "$prog" "$T/f" && bad "vm start into a file printed progress: $(cat "$T/f")" ||
	ok "vm start into a file: no progress lines"
head -n1 "$T/f" | grep -q "^f: running, iovm pid" || bad "vm start into a file: $(cat "$T/f")"
for g in a b c d e f; do $C vm stop "$g" --force > /dev/null 2>&1 || bad "vm stop $g"; done
[ $fail = 0 ] && echo "progress: all checks passed"
exit $fail
