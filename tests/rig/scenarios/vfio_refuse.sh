# Refused binds leave the host exactly as it was (drivers, driver_override, state file):
#   default       the PF whose netdev holds the default route (host-critical)
#   shared-group  a VF of the igb behind the switch port without ACS: its group holds the PF,
#                 whose VFs would vanish if its driver were unbound
#   no-iommu      a VF without an IOMMU group (vfio-pci would refuse it)
# rig-presets: default shared-group no-iommu

. /rig/scenarios/vfio_lib.sh
log "bind path: $(bind_path)"

refused() { # DEV WHY-PATTERN
	_before=$(host_snapshot)
	_state=$(state_devices)
	vbind bind "$1" > /tmp/refused.out 2>&1 && _rc=0 || _rc=$?
	cat /tmp/refused.out
	expect_ne "bind $1 exit status (refused)" "$_rc" 0
	check "refusal of $1 says '$2'" grep -q "$2" /tmp/refused.out
	expect_eq "host after the refused bind of $1" "$(host_snapshot)" "$_before"
	expect_eq "bind state after the refused bind of $1" "$(state_devices)" "$_state"
}

case "$RIG_PRESET" in
default)
	PF=0000:01:00.0
	net=$(ls "$SYSPCI/$PF/net" | head -n1)
	$IP link set "$net" up || fail "ip link set $net up"
	$IP route add default dev "$net" || fail "ip route add default dev $net"
	refused $PF "default route"
	$IP route del default dev "$net"
	$IP link set "$net" down
	if [ -x "$BINDTOOL" ]; then
		create_vfs $PF 2
		vf0=$(vf_addrs $PF | sed -n 1p)
		before=$(host_snapshot)
		"$BINDTOOL" move "$vf0" nosuchdrv > /tmp/move.out 2>&1 && rc=0 || rc=$?
		cat /tmp/move.out
		expect_eq "move of $vf0 to a driver that is not loaded: exit status" "$rc" 1
		check "the error says nosuchdrv is not loaded" grep -q "nosuchdrv is not loaded" /tmp/move.out
		expect_eq "host after the refused move" "$(host_snapshot)" "$before"
	fi
	;;
shared-group)
	PF2=0000:04:00.0
	create_vfs $PF2 2
	refused "$(vf_addrs $PF2 | sed -n 2p)" "with 2 VFs enabled"
	;;
no-iommu)
	PF=0000:01:00.0
	create_vfs $PF 2
	vf=$(vf_addrs $PF | sed -n 2p)
	# no_iommu.sh may have left it driverless after a failed vfio-pci probe: any state will do.
	refused "$vf" "no IOMMU group"
	# The executor itself, past the planning checks: the kernel's drivers_probe "succeeds",
	# vfio-pci's probe fails, the VF has no driver. That must be an error naming the IOMMU,
	# and the roll-back must give the VF its igbvf and cleared override back.
	if [ -x "$BINDTOOL" ]; then
		vf0=$(vf_addrs $PF | sed -n 1p)
		expect_eq "$vf0 driver before the raw move" "$(dev_driver "$vf0")" igbvf
		before=$(host_snapshot)
		"$BINDTOOL" move "$vf0" vfio-pci > /tmp/move.out 2>&1 && rc=0 || rc=$?
		cat /tmp/move.out
		expect_eq "raw move of $vf0 to vfio-pci: exit status" "$rc" 1
		check "the error says vfio-pci refused it for lack of a group" \
			grep -q "vfio-pci refused $vf0: it has no IOMMU group" /tmp/move.out
		check "the error says it was put back" grep -q "nothing changed" /tmp/move.out
		expect_eq "host after the failed move (rolled back)" "$(host_snapshot)" "$before"
	fi
	;;
esac
log "vfio_refuse ($RIG_PRESET): $checks checks passed"
