# CDI on a real kernel: iovd applies a config whose pool holds 2 VFs on vfio-pci, and the
# pool's spec is in the CDI directory before iovd answers, naming each VF's real
# /dev/vfio/GROUP. Debian's CDI library (the code podman and CRI-O run) loads the directory
# and injects each device into an OCI spec as a runtime does before creating a container:
# every host node exists and the container would get it with its real major:minor and the
# VF's PCI address in its environment. `iovctl reload` with a smaller pool rewrites the spec;
# with the pool gone the spec is removed.
# rig-presets: default
# rig-timeout: 180

. /rig/scenarios/sriov_lib.sh

CDIV=/usr/bin/cdi-validate
[ -x "$CDIV" ] || fail "$CDIV missing from the image (make rig-helpers)"
PF=$(pf_list | head -n1)
[ -n "$PF" ] || fail "no SR-IOV PF in this test host"
CFG=/tmp/cdi-iovd.json CDI=/run/cdi ST=/tmp/cdi-state
SPEC=$CDI/iovd.io-tenants.json
config() {
	cat > "$CFG" <<JSON
{ "pfs": [ { "name": "nic", "match": { "address": "$PF" }, "num_vfs": 2,
             "defaults": { "driver": "vfio-pci" } } ],
  "pools": [ $1 ] }
JSON
}
config '{ "name": "tenants", "vfs": ["nic#0-1"] }'
rm -rf "$CDI" "$ST"
start_iovd --config "$CFG" --state-dir "$ST" --cdi-dir "$CDI"

expect_eq "apply at start: 2 VFs" "$(vf_addrs "$PF" | wc -l)" 2
check "spec written before iovd answered" test -f "$SPEC"
cat "$SPEC"; echo
expect_eq "spec kind" "$(j "$SPEC" .kind)" iovd.io/tenants
expect_eq "spec devices" "$(jcount "$SPEC" '.devices[]')" 2
for i in 0 1; do
	vf=$(vf_addrs "$PF" | sed -n "$((i + 1))p")
	g=$(dev_group "$vf")
	expect_eq "nic-vf$i on vfio-pci" "$(dev_driver "$vf")" vfio-pci
	expect_eq "nic-vf$i node" "$(j "$SPEC" ".devices[name=nic-vf$i].containerEdits.deviceNodes[].path")" "/dev/vfio/$g"
	check "/dev/vfio/$g is a character device" test -c "/dev/vfio/$g"
	expect_eq "nic-vf$i address in the environment" \
		"$(j "$SPEC" ".devices[name=nic-vf$i].containerEdits.env[]" | grep '^IOVD_PCI_ADDRESS_NIC_VF')" \
		"IOVD_PCI_ADDRESS_NIC_VF$i=$vf"
done

# The CDI library: load, validate, inject each device (it stats every host node).
"$CDIV" -inject "$CDI" > /tmp/cdi.json 2> /tmp/cdi.err && rc=0 || rc=$?
cat /tmp/cdi.json /tmp/cdi.err
expect_eq "CDI library: no errors" "$rc" 0
"$JGET" /tmp/cdi.json '.devices[]' '.injected.devices[].path' > /tmp/cdi.paths
"$JGET" /tmp/cdi.json '.devices[].injected.devices[]' .path .type .major .minor > /tmp/cdi.nodes
for i in 0 1; do
	vf=$(vf_addrs "$PF" | sed -n "$((i + 1))p")
	g=$(dev_group "$vf")
	set -- $(stat -c '%t %T' "/dev/vfio/$g")
	want="/dev/vfio/$g c $(printf %d "0x$1") $(printf %d "0x$2")"
	grep -qx "$want" /tmp/cdi.nodes && ok "injected: $want" || fail "no injected node '$want' in: $(cat /tmp/cdi.nodes)"
	set -- $(stat -c '%t %T' /dev/vfio/vfio)
	grep -qx "/dev/vfio/vfio c $(printf %d "0x$1") $(printf %d "0x$2")" /tmp/cdi.nodes &&
		ok "injected: /dev/vfio/vfio" || fail "/dev/vfio/vfio not injected with its numbers"
done
expect_eq "each device brings its group and the container" \
	"$(sort -u /tmp/cdi.paths | wc -l)" 2

# The pool shrinks: the spec is rewritten; then the pool goes: the spec is removed.
config '{ "name": "tenants", "vfs": ["nic#0"] }'
run_ctl /tmp/cdi.out reload
expect_eq "reload (smaller pool)" "$rc" 0
i=0
while [ "$(jcount "$SPEC" '.devices[]' 2>/dev/null)" != 1 ]; do
	i=$((i + 1)); [ $i -gt 30 ] && fail "spec not rewritten with 1 device within 3 s: $(cat "$SPEC")"
	sleep 0.1
done
ok "spec rewritten: $(j "$SPEC" '.devices[].name')"
"$CDIV" -inject "$CDI" > /tmp/cdi.json 2>&1 || { cat /tmp/cdi.json; fail "CDI library on the rewritten spec"; }
ok "CDI library accepts the rewritten spec"
config ''
run_ctl /tmp/cdi.out reload
expect_eq "reload (no pool)" "$rc" 0
i=0
while [ -e "$SPEC" ]; do
	i=$((i + 1)); [ $i -gt 30 ] && fail "spec still there 3 s after its pool left the config"
	sleep 0.1
done
ok "spec removed with its pool"
ls -la "$CDI"
stop_iovd
