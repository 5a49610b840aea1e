#!/bin/sh
# tests/sysroot.sh BUILD: --sysroot is hermetic. In a fresh network namespace (unshare -n)
# with a decoy eth0 (a dummy, else a veth: some kernels lack the dummy driver) whose MAC is
# 02:de:c0:de:00:01, every iovctl command and iovd (check, load, apply, reload) run on a
# copy of the captured test-host tree, whose PF is eth0 too. Checked: no rtnetlink socket is
# opened (strace), the decoy's MAC never shows up, its link is untouched, the config read
# is DIR/etc/iovd, and what cannot be known there says so. Needs root (unshare); skips
# (exit 0, "SKIP") without it. Exit 1 on failure.
set -u
B=${1:?usage: $0 BUILD}
case "$B" in /*) ;; *) B="$(pwd)/$B" ;; esac
cd "$(dirname "$0")/.." || exit 2
if [ "${IOV_SYSROOT_NETNS:-}" != 1 ]; then
	if ! command -v unshare > /dev/null || ! command -v strace > /dev/null ||
	   ! unshare -n true 2>/dev/null; then
		echo "sysroot: SKIP (needs root, unshare and strace)"
		exit 0
	fi
	exec env IOV_SYSROOT_NETNS=1 unshare -n "$0" "$B"
fi

T=$(mktemp -d /tmp/iovd-sysroot.XXXXXX)
fail=0 n=0
trap 'kill $(cat "$T/pid" 2>/dev/null) 2>/dev/null; rm -rf "$T"' EXIT
bad() { echo "sysroot: FAIL: $*"; fail=1; }
DECOY=02:de:c0:de:00:01
ip link add eth0 type dummy 2>/dev/null || ip link add eth0 type veth peer name decoy1 ||
	{ echo "sysroot: FAIL: cannot make a decoy eth0"; exit 1; }
ip link set eth0 address $DECOY up
ip -d link show eth0 > "$T/decoy.before"

cp -a tests/fixtures/captured/default "$T/tree"
chmod -R u+w "$T/tree"
mkdir -p "$T/tree/etc/iovd"
cat > "$T/tree/etc/iovd/iovd.json" <<J
{ "pfs": [ { "name": "uplink", "match": { "netdev": "eth0" }, "num_vfs": 4,
             "vfs": { "0": { "mac": "02:1e:00:00:00:10", "vlan": 100 },
                      "2-3": { "driver": "vfio-pci" } } } ],
  "pools": [ { "name": "tenants", "vfs": [ "uplink/vf2-3" ] } ] }
J
S="--sysroot $T/tree"
export IOVD_SOCKET="$T/sock" NO_COLOR=1 IOV_PCI_IDS="$PWD/tests/fixtures/pci.ids"
# LeakSanitizer cannot run under ptrace (strace): the sanitizer build runs here without it.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"

# st NAME PROG ARGS...: run under strace (sockets only); output in $T/NAME.out
st() {
	_n=$1; shift
	n=$((n + 1))
	strace -f -qq -e trace=socket -o "$T/$_n.strace" "$@" > "$T/$_n.out" 2>&1
	if grep -q NETLINK_ROUTE "$T/$_n.strace"; then
		bad "$_n: opened an rtnetlink socket under --sysroot: $(grep NETLINK_ROUTE "$T/$_n.strace" | head -1)"
	fi
	if grep -qi "$DECOY" "$T/$_n.out"; then
		bad "$_n: the real machine's eth0 leaked into the output: $(grep -i "$DECOY" "$T/$_n.out" | head -1)"
	fi
}
C="$B/iovctl"
st list "$C" $S list
st listjson "$C" $S list --json
st show "$C" $S show eth0
st showjson "$C" $S show eth0 --json
st showvf "$C" $S show eth0/vf1
st verify "$C" $S verify eth0/vf1
st vfsshow "$C" $S vfs show eth0
grep -q "cannot be known under --sysroot" "$T/vfsshow.out" ||
	bad "vfs show under --sysroot: not 'unknown': $(head -2 "$T/vfsshow.out")"
st check "$C" $S config check
grep -q "$T/tree/etc/iovd/iovd.json: ok" "$T/check.out" ||
	bad "config check did not read DIR/etc/iovd: $(head -3 "$T/check.out")"
st export "$C" $S export cdi
grep -q '"iovd.io/tenants"' "$T/export.out" || bad "export cdi did not read DIR/etc/iovd: $(head -3 "$T/export.out")"
st plan "$C" $S plan --config "$T/tree/etc/iovd/iovd.json"
st iovdcheck "$B/iovd" $S --check
grep -q "$T/tree/etc/iovd/iovd.json: ok" "$T/iovdcheck.out" ||
	bad "iovd --check did not read DIR/etc/iovd: $(head -3 "$T/iovdcheck.out")"

# iovd on the tree: it loads DIR/etc/iovd; an apply that sets a VF's MAC is refused for
# what it is (no rtnetlink under a sysroot), never sent to the decoy
strace -f -qq -e trace=socket -o "$T/iovd.strace" "$B/iovd" $S --socket "$T/sock" --no-apply \
	--foreground --pidfile "$T/pid" > "$T/iovd.out" 2>&1 &
straced=$!
for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do [ -S "$T/sock" ] && break; sleep 0.2; done
st status "$C" --json status
grep -q '"files"' "$T/status.out" || bad "iovd did not load DIR/etc/iovd: $(head -c 300 "$T/status.out")"
st apply "$C" apply
grep -q "under a sysroot" "$T/apply.out" || bad "apply under --sysroot: $(head -3 "$T/apply.out")"
grep -q "No such device\|has no VF" "$T/apply.out" && bad "apply asked the real machine: $(head -3 "$T/apply.out")"
st reload "$C" reload
grep -q "No such device\|has no VF" "$T/reload.out" && bad "reload asked the real machine: $(head -3 "$T/reload.out")"
st vfset "$C" vf set eth0/vf0 mac 02:1e:00:00:00:22
grep -q "under a sysroot" "$T/vfset.out" || bad "vf set under --sysroot: $(head -3 "$T/vfset.out")"
kill "$(cat "$T/pid")"; wait $straced 2>/dev/null
grep -q NETLINK_ROUTE "$T/iovd.strace" && bad "iovd opened an rtnetlink socket: $(grep NETLINK_ROUTE "$T/iovd.strace" | head -1)"
ip -d link show eth0 > "$T/decoy.after"
cmp -s "$T/decoy.before" "$T/decoy.after" || bad "the decoy eth0 changed: $(diff "$T/decoy.before" "$T/decoy.after")"

[ $fail = 0 ] && echo "sysroot: $n commands, nothing reached the real machine"
exit $fail
