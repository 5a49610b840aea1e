# The main job, on the test host (runs in the guest as the step "demo", with lib.sh loaded):
# look at the host, create VFs, put one on vfio-pci, ask for the isolation verdict, then give
# that VF to a VM (iovm on the nested /dev/kvm) that sends traffic through it.
# Host side: tests/rig/demo.sh. Exit 0 iff every stage that exists in this build succeeded.
# rig-timeout: 420

say() { echo; echo "== $*"; }

say "test host: $(uname -r), preset $RIG_PRESET"
[ -x "$IOVCTL" ] || fail "iovctl is not in the image (make, then make rig-demo)"
"$IOVCTL" list || fail "iovctl list failed"

pf=$(pf_list | head -n1)
[ -n "$pf" ] || fail "no SR-IOV PF"
say "create 4 VFs on $pf"
# Hook: when iovd can create VFs (a config applied by iovd), this becomes that call.
create_vfs "$pf" 4
"$IOVCTL" list || fail "iovctl list failed"

vf=$(vf_addrs "$pf" | sed -n 2p)
say "give $vf to vfio-pci"
if "$IOVCTL" --help 2>&1 | grep -q '^  bind ' && [ -x /usr/bin/iovd ]; then
	mkdir -p /run/iovd
	/usr/bin/iovd > /tmp/iovd.log 2>&1 &
	i=0; while [ ! -S /run/iovd/io.iovd ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	"$IOVCTL" bind "$vf" || fail "iovctl bind $vf"
elif [ -x /usr/bin/iov-bindtool ]; then
	mkdir -p /run/iovd
	/usr/bin/iov-bindtool --state /run/iovd/bind-state.json bind "$vf" || fail "iov-bindtool bind $vf"
else
	bind_vfio "$vf"
fi
echo "$vf: driver $(dev_driver "$vf"), IOMMU group $(dev_group "$vf"), /dev/vfio: $(ls /dev/vfio | tr '\n' ' ')"

say "isolation verdict for $vf"
"$IOVCTL" verify "$vf"
vrc=$?
[ $vrc = 0 ] || fail "iovctl verify says $vf cannot go to a VM in isolation (exit $vrc)"

# The VMM part: boot a VM with the VF and send traffic through it. It is the vmm_passthrough
# scenario (igbvf in the VM, MSI-X, ping6 to the PF, a DMA attack the IOMMU must stop).
VMM_SCRIPT=/rig/scenarios/vmm_passthrough.sh
if [ -x /usr/bin/iovm ] && [ -f "$VMM_SCRIPT" ]; then
	say "boot a VM with a VF (iovm) and send traffic through it"
	(. "$VMM_SCRIPT") || fail "the VM with the VF did not do its job (see above)"
	verdict="VFs created, $vf verified isolated, a VM used a VF and the IOMMU held"
else
	say "VMM part skipped: $( [ -x /usr/bin/iovm ] || echo "no iovm in the image"; [ -f "$VMM_SCRIPT" ] || echo "no $VMM_SCRIPT")"
	verdict="VFs created and $vf verified isolated (VMM part not in this build)"
fi
say "verdict: $verdict"
