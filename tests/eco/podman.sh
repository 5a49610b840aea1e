#!/bin/sh
# A container runtime consumes iovd's CDI specs: Debian's podman (4.3, setup.sh) runs a
# container from a local root filesystem (busybox-static; `podman run --rootfs`, no image)
# with `--device iovd.io/tenants=uplink-vf0 --device iovd.io/tenants=uplink-vf2`, the spec as
# iovd wrote it for the fake tree layout_a (iovd --sysroot --cdi-dir). Inside: each VF's
# group node /dev/vfio/N and /dev/vfio/vfio exist as character devices with the major:minor
# of the host's nodes, no other group's node, and the environment carries each VF's PCI
# address and group as the fake tree has them (virtfnN, iommu_group). An unknown device is
# refused by podman.
# The fake tree has no device nodes: the one change to iovd's spec is a hostPath per node
# (CDI 0.5.0) naming a stand-in made with mknod in a temp dir (VFIO group nodes: major 241,
# minor = the group; /dev/vfio/vfio: 10:196, the misc device), so podman stats those.
# Nothing on the machine changes: all of it runs in a private mount namespace, where
#  - /run is an overlay whose writes land in the temp dir (podman reads specs only from
#    /etc/cdi and /var/run/cdi; 4.3 has no cdi_spec_dirs setting);
#  - on a hybrid cgroup hierarchy (v1 controllers plus a cgroup2 mount that has controllers,
#    as this machine's /sys/fs/cgroup/unified with hugetlb), that cgroup2 mount is unmounted:
#    crun 1.8.1 refuses to start there ("cgroups in hybrid mode not supported, drop all
#    controllers from cgroupv2");
# and podman's storage (vfs) and run root are in the temp dir. The container gets
# RLIMIT_NOFILE/NPROC 1024 (podman's default nofile, 1048576, is above this sandbox's hard
# limit: crun's setrlimit fails with EPERM) and no network (--network none).
#   tests/eco/podman.sh BUILD     (root; with IOV_TEST_REPORT its counts and skips go there)
set -u
B=${1:?usage: $0 BUILD}
cd "$(dirname "$0")/../.." || exit 2
case "$B" in /*) ;; *) B="$(pwd)/$B" ;; esac
pass=0 fail=0
report() {
	[ -n "${IOV_TEST_REPORT:-}" ] || return 0
	printf 'pass %s\nfail %s\nskip %s\nretried 0\n' "$pass" "$fail" "$1" > "$IOV_TEST_REPORT/podman.counts"
	if [ -n "${2:-}" ]; then echo "$2" > "$IOV_TEST_REPORT/podman.skips"; fi
}
skip() {
	echo "podman: SKIPPED: $1"
	report 1 "podman: CDI devices in a container ($1)"
	exit 0
}
[ "$(id -u)" = 0 ] || skip "needs root: podman runs rootful, in a private mount namespace"
command -v podman > /dev/null || skip "podman is not installed (setup.sh installs it)"
[ -x /bin/busybox ] || skip "no /bin/busybox for the container's root filesystem (busybox-static)"
if [ -z "${IOV_PODMAN_NS:-}" ]; then
	exec unshare -m --propagation private env IOV_PODMAN_NS=1 "$0" "$@"
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/iov-podman.XXXXXX")
ip=
trap 'kill $ip 2>/dev/null; umount /run 2>/dev/null; rm -rf "$T"' EXIT
ok() { echo "ok: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
finish() {
	echo "podman: $pass passed, $fail failed"
	report 0
	[ "$fail" = 0 ]
	exit $?
}

mkdir -p "$T/up" "$T/work"
mount -t overlay overlay -o "lowerdir=/run,upperdir=$T/up,workdir=$T/work" /run ||
	{ bad "an overlay on /run in this mount namespace"; finish; }
c2=$(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null || true)
if [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ] && [ -n "$c2" ]; then
	umount /sys/fs/cgroup/unified || { bad "hiding the hybrid cgroup2 mount from crun"; finish; }
	echo "note: hybrid cgroups (cgroup2 controllers: $c2): /sys/fs/cgroup/unified unmounted in this namespace"
fi

# iovd writes the specs for the fake tree.
python3 tests/fixtures/gen/mksysfs.py tests/fixtures/layout_a.desc "$T/tree" > /dev/null || { bad "fixture tree"; finish; }
"$B/iovd" --sysroot "$T/tree" --socket "$T/sock" --state-dir "$T/state" --bind-state "$T/bs.json" \
	--config tests/eco/cdi/layout_a.json --config-dir "" --cdi-dir "$T/cdi" --no-apply \
	--foreground 2> "$T/iovd.err" &
ip=$!
i=0
while [ ! -s "$T/cdi/iovd.io-tenants.json" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -s "$T/cdi/iovd.io-tenants.json" ] && ok "iovd wrote iovd.io-tenants.json" ||
	{ bad "iovd wrote no spec: $(cat "$T/iovd.err")"; finish; }
kill $ip; ip=

# The spec with a hostPath per node, in /var/run/cdi (this namespace's overlay); the nodes.
mkdir -p "$T/dev/vfio" /run/cdi
python3 - "$T/cdi/iovd.io-tenants.json" "$T/dev" /run/cdi/iovd.io-tenants.json > "$T/nodes" <<'PY' ||
import json, sys
spec = json.load(open(sys.argv[1]))
nodes = set()
def edit(e):
    for n in e.get("deviceNodes", []):
        n["hostPath"] = sys.argv[2] + n["path"][len("/dev"):]
        nodes.add(n["path"])
edit(spec.get("containerEdits", {}))
for d in spec["devices"]:
    edit(d["containerEdits"])
json.dump(spec, open(sys.argv[3], "w"), indent=2)
print("\n".join(sorted(nodes)))
PY
	{ bad "editing the spec"; finish; }
while read -r n; do
	case $n in
	/dev/vfio/vfio) mknod "$T/dev/vfio/vfio" c 10 196 ;;
	/dev/vfio/[0-9]*) mknod "$T/dev/vfio/${n##*/}" c 241 "${n##*/}" ;;
	*) bad "unexpected device node in the spec: $n" ;;
	esac
done < "$T/nodes"

mkdir -p "$T/rootfs/bin" "$T/rootfs/dev" "$T/rootfs/proc" "$T/rootfs/sys" "$T/rootfs/etc" "$T/rootfs/tmp"
cp /bin/busybox "$T/rootfs/bin/busybox"
P="podman --root $T/storage --runroot $T/runroot --storage-driver vfs --events-backend file"
R="--rm --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024"
# shellcheck disable=SC2086
$P run $R --device iovd.io/tenants=uplink-vf0 --device iovd.io/tenants=uplink-vf2 \
	--rootfs "$T/rootfs" /bin/busybox sh -c \
	'for f in /dev/vfio/*; do /bin/busybox stat -c "%n %F %t:%T" "$f"; done; /bin/busybox env' \
	> "$T/out" 2> "$T/err" && rc=0 || rc=$?
[ $rc = 0 ] && ok "podman run --rootfs with two iovd.io/tenants devices" ||
	{ bad "podman run: exit $rc: $(cat "$T/err")"; finish; }
cat "$T/out"

# What the fake tree says each VF is: its address (PF eno1's virtfnN) and group.
vf_addr() { basename "$(readlink "$T/tree/sys/class/net/eno1/device/virtfn$1")"; }
vf_group() { basename "$(readlink "$T/tree/sys/class/net/eno1/device/virtfn$1/iommu_group")"; }
for v in 0 2; do
	a=$(vf_addr $v) g=$(vf_group $v)
	hex=$(printf '%x' "$g")
	grep -qx "/dev/vfio/$g character special file f1:$hex" "$T/out" &&
		ok "vf$v: /dev/vfio/$g is a character device 241:$g" || bad "vf$v: no /dev/vfio/$g 241:$g"
	grep -qx "IOVD_PCI_ADDRESS_UPLINK_VF$v=$a" "$T/out" &&
		ok "vf$v: IOVD_PCI_ADDRESS_UPLINK_VF$v=$a (the tree's virtfn$v)" || bad "vf$v: no IOVD_PCI_ADDRESS_UPLINK_VF$v=$a"
	grep -qx "IOVD_IOMMU_GROUP_UPLINK_VF$v=$g" "$T/out" &&
		ok "vf$v: IOVD_IOMMU_GROUP_UPLINK_VF$v=$g" || bad "vf$v: no IOVD_IOMMU_GROUP_UPLINK_VF$v=$g"
done
grep -qx "/dev/vfio/vfio character special file a:c4" "$T/out" && ok "/dev/vfio/vfio is 10:196" ||
	bad "no /dev/vfio/vfio 10:196"
g1=$(vf_group 1)
grep -q "^/dev/vfio/$g1 " "$T/out" && bad "vf1's group node /dev/vfio/$g1 is in the container" ||
	ok "vf1 (not asked for): no /dev/vfio/$g1"
grep -q "UPLINK_VF1=" "$T/out" && bad "vf1's environment is in the container" || ok "vf1: no environment"
[ "$(grep -c '^/dev/vfio/' "$T/out")" = 3 ] && ok "three nodes under /dev/vfio" ||
	bad "$(grep -c '^/dev/vfio/' "$T/out") nodes under /dev/vfio, want 3"

# A device the spec does not have: podman refuses to start.
# shellcheck disable=SC2086
$P run $R --device iovd.io/tenants=uplink-vf9 --rootfs "$T/rootfs" /bin/busybox true \
	> "$T/out" 2> "$T/err" && rc=0 || rc=$?
[ $rc != 0 ] && grep -q "unresolvable CDI devices iovd.io/tenants=uplink-vf9" "$T/err" &&
	ok "an unknown device is refused: $(cat "$T/err")" || bad "uplink-vf9: exit $rc: $(cat "$T/err")"
finish
