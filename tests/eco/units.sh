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
