#!/bin/sh
# The man pages: each built page passes `mandoc -T lint` at level warning (the one message
# let through is scdoc's redundant paragraph macro before a list item, which mandoc drops
# itself), and every option and command a program's --help prints appears in its page.
#   tests/eco/man.sh BUILD
set -u
B=${1:?usage: $0 BUILD}
cd "$(dirname "$0")/../.." || exit 2
command -v mandoc >/dev/null || { echo "man.sh: mandoc missing (apt-get install mandoc; see setup.sh)"; exit 1; }
fail=0 n=0
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

for page in "$B"/man/man*/*.[158]; do
	[ -f "$page" ] || continue
	n=$((n + 1))
	out=$(mandoc -T lint -W warning "$page" 2>&1 | grep -v 'WARNING: skipping paragraph macro: PP')
	[ -z "$out" ] || bad "mandoc -T lint $page:
$out"
done
[ "$n" -ge 3 ] || bad "only $n man pages under $B/man (make man)"

# Options: --long and -x words of --help (a token starting a line or after space, comma,
# '[' or '('), each must appear in the page's source.
opts_of() {
	"$@" --help 2>&1 | grep -oE '(^|[][ ,(|])--?[a-zA-Z][a-zA-Z0-9-]*' |
		sed 's/^[][ ,(|]*//' | sort -u
}
check_prog() {
	prog=$1 src=$2
	[ -x "$B/$prog" ] || { bad "$B/$prog: not built"; return; }
	[ -f "$src" ] || { bad "$src missing"; return; }
	for o in $(opts_of "$B/$prog"); do
		n=$((n + 1))
		# scdoc escapes nothing in options; they appear as *--opt* or plain --opt
		grep -q -- "$o\b" "$src" || bad "$prog --help has $o, $src does not"
	done
}
check_prog iovd docs/man/iovd.8.scd
check_prog iovctl docs/man/iovctl.8.scd
check_prog iovm docs/man/iovm.1.scd

# Commands: the first word of each line under "commands:" in iovctl --help.
for c in $("$B/iovctl" --help | sed -n '/^commands:/,/^$/p' | awk 'NR > 1 && NF { print $1 }' | sort -u); do
	n=$((n + 1))
	grep -q "^\*$c[* ]" docs/man/iovctl.8.scd || bad "iovctl command '$c' has no entry in docs/man/iovctl.8.scd"
done

echo "man.sh: $n checks, $fail failed"
[ "$fail" = 0 ]
