#!/bin/sh
# CDI and device-plugin exports.
#  1. Golden: `iovctl export cdi|sriovdp` on fixture trees with the configs in tests/eco/cdi/
#     against tests/eco/cdi/expected/ (stdout, and "exit N" + stderr for the refusals).
#  2. The CDI library (Debian's Go package, built offline into BUILD/cdi-validate from
#     tests/cdi/validate.go) loads every exported spec: no errors, exactly the devices expected.
#  3. iovd keeps the specs itself (tests/eco/cdi_daemon.py): written before READY=1,
#     rewritten and removed on reload, untouched when nothing changed or the config breaks.
#   tests/eco/cdi.sh [--update] BUILD
set -u
UPDATE=0
[ "${1:-}" = --update ] && { UPDATE=1; shift; }
B=${1:?usage: $0 [--update] BUILD}
cd "$(dirname "$0")/../.." || exit 2
case "$B" in /*) ;; *) B="$(pwd)/$B" ;; esac
T=$(mktemp -d "${TMPDIR:-/tmp}/iov-cdi.XXXXXX")
trap 'rm -rf "$T"' EXIT
E=tests/eco/cdi/expected
export IOV_PCI_IDS=$PWD/tests/fixtures/pci.ids NO_COLOR=1 LC_ALL=C
unset IOV_SYSROOT
pass=0 fail=0
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

python3 tests/fixtures/gen/mksysfs.py --all "$T/trees" > /dev/null || { echo "FAIL: fixture trees"; exit 1; }

# The validator: GOPATH mode over Debian's /usr/share/gocode, nothing downloaded.
if ! command -v go > /dev/null; then
	bad "go missing (apt-get install golang-go golang-github-container-orchestrated-devices-container-device-interface-dev; see setup.sh)"
elif [ ! -x "$B/cdi-validate" ] || [ tests/cdi/validate.go -nt "$B/cdi-validate" ]; then
	(cd tests/cdi && GOPATH=/usr/share/gocode GO111MODULE=off GOFLAGS= GOPROXY=off \
		GOCACHE="$B/go-cache" go build -o "$B/cdi-validate" validate.go) > "$T/go.log" 2>&1 ||
		{ bad "building tests/cdi/validate.go:"; cat "$T/go.log"; }
fi

# case NAME TREE ARGS...: golden stdout, or exit status + stderr when not 0.
golden() {
	name=$1 tree=$2; shift 2
	"$B/iovctl" --sysroot "$T/trees/$tree" "$@" > "$T/out" 2> "$T/err"
	rc=$?
	sed "s|$T/trees|@TREE@|g; s|$PWD/||g" "$T/err" > "$T/err2"
	{ [ $rc = 0 ] || echo "exit $rc"; cat "$T/err2"; } > "$T/err3"
	if [ $UPDATE = 1 ]; then
		mkdir -p "$E"; cp "$T/out" "$E/$name.out"; cp "$T/err3" "$E/$name.err"; return
	fi
	if cmp -s "$T/out" "$E/$name.out" && cmp -s "$T/err3" "$E/$name.err"; then
		pass=$((pass + 1))
	else
		bad "$name: iovctl $*"; diff -u "$E/$name.out" "$T/out" | head -20
		diff -u "$E/$name.err" "$T/err3" | head -10
	fi
}
C=tests/eco/cdi
golden cdi-layout_a layout_a export cdi --config $C/layout_a.json
golden cdi-layout_a-tenants layout_a export cdi --config $C/layout_a.json --pool tenants
golden sriovdp-layout_a layout_a export sriovdp --config $C/layout_a.json
golden cdi-x710 x710_4port export cdi --config $C/x710.json
golden sriovdp-x710 x710_4port export sriovdp --config $C/x710.json
# A pool naming VFs that do not exist yet (ens1f1 has 2 of the 4 the config wants): the
# spec has the 2, stderr names the others. Refusals: a PF the host lacks, a name CDI refuses,
# two pools with one plugin resource name, an unknown pool, no config, no export kind.
golden cdi-fewer-vfs x710_4port export cdi --config $C/fewer.json
golden sriovdp-fewer-vfs x710_4port export sriovdp --config $C/fewer.json
golden bad-no-such-pf x710_4port export cdi --config $C/layout_a.json
golden bad-cdi-name x710_4port export cdi --config $C/badname.json
golden bad-sriovdp-clash x710_4port export sriovdp --config $C/clash.json
golden bad-pool x710_4port export cdi --config $C/x710.json --pool nosuch
golden bad-noconfig x710_4port export cdi --config $C/nosuch.json
golden bad-what x710_4port export
[ $UPDATE = 1 ] && { echo "cdi.sh: expected files rewritten in $E; review them"; exit 0; }

# The CDI library on every exported spec.
if [ -x "$B/cdi-validate" ]; then
	for c in layout_a:layout_a x710_4port:x710; do
		tree=${c%%:*} cfg=${c#*:}
		d=$T/cdi-$cfg
		mkdir -p "$d"
		for pool in $(python3 -c "import json,sys; print(' '.join(p['name'] for p in json.load(open(sys.argv[1]))['pools']))" $C/$cfg.json); do
			"$B/iovctl" --sysroot "$T/trees/$tree" export cdi --config $C/$cfg.json --pool "$pool" \
				> "$d/iovd.io-$pool.json" 2>/dev/null
		done
		if "$B/cdi-validate" "$d" > "$T/v.json" 2>&1 &&
		   python3 - "$T/v.json" "$T/trees/$tree" $C/$cfg.json <<'PY'
import json, os, sys
v = json.load(open(sys.argv[1]))
devs = os.path.join(sys.argv[2], "sys/bus/pci/devices")
cfg = json.load(open(sys.argv[3]))
# Independently of iovctl and iovd: each pool VF that exists, read from the sysfs tree
# (the PF by address or by its net/NAME, its VFs from virtfnN, groups from iommu_group).
def link(p):
    return os.path.basename(os.readlink(p)) if os.path.islink(p) else None
def pf_of(match):
    if "address" in match:
        return match["address"]
    return next(d for d in sorted(os.listdir(devs))
                if os.path.isdir(os.path.join(devs, d, "net", match["netdev"])))
want = {}
for pool in cfg["pools"]:
    for m in pool["vfs"]:
        pfname, rng = m.split("#")
        pf = pf_of(next(p for p in cfg["pfs"] if p["name"] == pfname)["match"])
        lo, _, hi = rng.partition("-")
        for i in range(int(lo), int(hi or lo) + 1):
            vf = link(os.path.join(devs, pf, "virtfn%d" % i))
            if vf is None:
                continue
            grp = link(os.path.join(devs, vf, "iommu_group"))
            name = f"{pfname}-vf{i}"
            key = name.upper().replace("-", "_")
            want[f"iovd.io/{pool['name']}={name}"] = {
                "nodes": [f"/dev/vfio/{grp}", "/dev/vfio/vfio"],
                "env": [f"IOVD_PCI_ADDRESS_{key}={vf}", f"IOVD_IOMMU_GROUP_{key}={grp}"]}
got = {k: {"nodes": d["nodes"], "env": d["env"]} for k, d in v["devices"].items()}
if not want or got != want:
    print("the CDI library sees", json.dumps(got, indent=1)[:1500])
    print("the sysfs tree says", json.dumps(want, indent=1)[:1500])
    sys.exit(1)
PY
		then
			pass=$((pass + 1))
		else
			bad "CDI library on the $cfg specs:"; head -40 "$T/v.json"
		fi
	done
	if python3 tests/eco/cdi_daemon.py "$B" "$T/trees/x710_4port" $C/x710.json "$B/cdi-validate"; then
		pass=$((pass + 1))
	else
		bad "iovd's CDI specs (tests/eco/cdi_daemon.py)"
	fi
fi

echo "cdi.sh: $pass passed, $fail failed"
[ "$fail" = 0 ]
