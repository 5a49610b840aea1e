#!/bin/sh
# The man pages: each built page passes `mandoc -T lint -W warning` with nothing printed
# (dist/man-tidy.awk drops scdoc's redundant paragraph macros), every option and command a
# program's --help prints appears in its page, and the OPTIONS entries match --help both
# ways: each option defined once, none that --help does not have (per iovctl command too).
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
	out=$(mandoc -T lint -W warning "$page" 2>&1)
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

# Both ways: the entries (lines starting with *-) of a page's OPTIONS section define each
# option of --help once, and define none it lacks; iovctl's commands the same against
# `iovctl help CMD` (options in the headings of the command's entries under COMMANDS).
python3 - "$B" <<'P' || fail=$((fail + 1))
import re, subprocess, sys
B = sys.argv[1]
OPT = re.compile(r'(?:^|(?<=[][ ,(|*]))(--?[a-zA-Z][a-zA-Z0-9-]*)')
bad = []

def helptext(*argv):
    return subprocess.run(list(argv), capture_output=True, text=True).stdout

def section(src, name):
    m = re.search(r'^# %s\n(.*?)(?=^# )' % name, src, re.S | re.M)
    return m.group(1) if m else ''

def entries(text):
    """{option: count} over the entry heading lines (starting with *-)"""
    c = {}
    for line in text.splitlines():
        if line.startswith('*-'):
            for o in OPT.findall(line.replace('*', ' ')):
                c[o] = c.get(o, 0) + 1
    return c

def both_ways(what, helpopts, defined):
    for o in sorted(helpopts):
        if defined.get(o, 0) != 1:
            bad.append('%s: %s is in --help, defined %d times in the page' % (what, o, defined.get(o, 0)))
    for o in sorted(defined):
        if o not in helpopts:
            bad.append('%s: the page defines %s, --help does not have it' % (what, o))

def opts_in(text):
    return set(OPT.findall(text))

for prog, page in (('iovd', 'docs/man/iovd.8.scd'), ('iovm', 'docs/man/iovm.1.scd')):
    h = helptext('%s/%s' % (B, prog), '--help')
    both_ways(prog, opts_in(h), entries(section(open(page).read(), 'OPTIONS')))

src = open('docs/man/iovctl.8.scd').read()
h = helptext(B + '/iovctl', '--help')
glob = opts_in(h.split('options (anywhere')[1].split('\n\n')[0])
both_ways('iovctl', glob, entries(section(src, 'OPTIONS')))
cmds = section(src, 'COMMANDS')
names = [l.split()[0] for l in h.split('commands:\n')[1].split('\n\n')[0].splitlines()]
for c in names:
    ch = helptext(B + '/iovctl', 'help', c)
    copts = opts_in(ch.split('\noptions:\n')[1].split('\n\n')[0]) if '\noptions:\n' in ch else set()
    heads = [l for l in cmds.splitlines() if re.match(r'^\*%s[* ]' % re.escape(c), l)]
    if not heads:
        bad.append('iovctl %s: no entry under COMMANDS' % c)
    inpage = set()
    for l in heads:
        inpage |= opts_in(l.replace('*', ' '))
    for o in sorted(copts - inpage):
        bad.append('iovctl help %s has %s; its entry in iovctl(8) does not' % (c, o))
    for o in sorted(inpage - copts):
        bad.append('iovctl(8) gives %s an option %s that iovctl help %s does not have' % (c, o, c))
for b in bad:
    print('FAIL: ' + b)
sys.exit(1 if bad else 0)
P

echo "man.sh: $n checks, $fail failed"
[ "$fail" = 0 ]
