#!/bin/sh
# The systemd units (dist/systemd/): `systemd-analyze verify` on both, with ExecStart pointing
# at the build's iovd and the built man pages on MANPATH (so Documentation=man:... is checked
# too), then `systemd-analyze security` on the service: prints the exposure score and fails
# above IOV_MAX_EXPOSURE (default 4.0: the units as committed score 3.3).
#   tests/eco/units.sh BUILD
set -u
B=${1:?usage: $0 BUILD}
cd "$(dirname "$0")/../.." || exit 2
case "$B" in /*) ;; *) B="$(pwd)/$B" ;; esac
MAX=${IOV_MAX_EXPOSURE:-4.0}
command -v systemd-analyze >/dev/null ||
	{ echo "units.sh: systemd-analyze missing (apt-get install systemd; see setup.sh)"; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/iov-units.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail=0

sed "s|/usr/bin/iovd|$B/iovd|" dist/systemd/iovd.service > "$T/iovd.service"
cp dist/systemd/iovd.socket "$T/iovd.socket"
if ! MANPATH="$B/man" systemd-analyze verify "$T/iovd.service" "$T/iovd.socket" > "$T/verify" 2>&1; then
	echo "FAIL: systemd-analyze verify:"; cat "$T/verify"; fail=1
elif [ -s "$T/verify" ]; then
	echo "FAIL: systemd-analyze verify printed:"; cat "$T/verify"; fail=1
fi
# The unit must stay what iovd needs: Type=notify, and each hardening line the issue asks for.
for want in 'Type=notify' 'ProtectSystem=strict' 'ProtectHome=yes' 'PrivateTmp=yes' \
	    'ReadWritePaths=/sys /run/iovd /var/lib/iovd' 'SystemCallFilter=@system-service' \
	    'CapabilityBoundingSet=' 'NoNewPrivileges=yes'; do
	grep -q "^$want" dist/systemd/iovd.service || { echo "FAIL: iovd.service lacks $want"; fail=1; }
done

# The filter must let through what iovd and its guests do: every syscall in iovm's own
# seccomp allow-list (iovm runs under the unit's filter too), and what iovd needs to start a
# guest as user iovm. The groups are expanded by systemd-analyze itself.
systemd-analyze syscall-filter --no-pager > "$T/groups" 2>&1
"$B/iovm" --seccomp-list 2>/dev/null | awk '$1 == "syscall" { print $2 }' > "$T/need"
[ -s "$T/need" ] || { echo "FAIL: iovm --seccomp-list printed no syscalls"; fail=1; }
for c in seccomp prctl setresuid setresgid setgroups setrlimit prlimit64 execve clone3 clone \
	 close_range pidfd_open pidfd_send_signal signalfd4 timerfd_create epoll_create1 \
	 epoll_wait socket bind listen accept4 sendmsg recvmsg chown fchown flock kill; do
	echo "$c"
done >> "$T/need"
if ! python3 - "$T/groups" dist/systemd/iovd.service "$T/need" <<'PY'
import sys
groups, cur = {}, None
for line in open(sys.argv[1]):
    l = line.rstrip()
    if l.startswith("@"):
        cur = l.split()[0]; groups[cur] = set()
    elif cur and l.startswith("    ") and not l.strip().startswith("#"):
        groups[cur].add(l.strip())
def expand(names, seen=None):
    seen = set() if seen is None else seen
    out = set()
    for n in names:
        if n.startswith("@"):
            if n not in seen:
                seen.add(n)
                out |= expand(groups.get(n, ()), seen)
        else:
            out.add(n)
    return out
allow, deny = set(), set()
for line in open(sys.argv[2]):
    if line.startswith("SystemCallFilter="):
        v = line.split("=", 1)[1].split()
        if v and v[0].startswith("~"):
            deny |= expand([v[0][1:]] + v[1:])
        else:
            allow |= expand(v)
bad = sorted({c for c in open(sys.argv[3]).read().split() if c not in allow or c in deny})
if bad:
    print("FAIL: iovd.service's SystemCallFilter refuses what iovd or iovm calls:", " ".join(bad))
    sys.exit(1)
print(f"units.sh: SystemCallFilter lets through the {len(set(open(sys.argv[3]).read().split()))} syscalls iovd and iovm need")
PY
then
	fail=1
fi

systemd-analyze security --offline=yes --no-pager "$T/iovd.service" > "$T/sec" 2>&1
score=$(sed -n 's/.*Overall exposure level for iovd.service: \([0-9.]*\).*/\1/p' "$T/sec")
if [ -z "$score" ]; then
	echo "FAIL: systemd-analyze security gave no score:"; cat "$T/sec"; fail=1
else
	echo "units.sh: systemd-analyze security: iovd.service exposure $score (max $MAX)"
	grep '✗' "$T/sec" | sed 's/  */ /g; s/^/  open: /'
	if awk -v s="$score" -v m="$MAX" 'BEGIN { exit !(s + 0 > m + 0) }'; then
		echo "FAIL: exposure $score above $MAX"; fail=1
	fi
fi
[ $fail = 0 ] && echo "units.sh: verify and security passed"
exit $fail
