# iovctl verify on every preset, each check against what the preset is known to be:
#   default       a VF is isolated (every check ok); the PF whose netdev holds the default
#                 route is host-critical
#   shared-group  a VF of the igb behind the switch port without ACS: acs fails naming that
#                 port, group_viable fails (PF and VFs share the group); the e1000e alone below
#                 the other such port: acs fails, group_viable ok; a VF of the igb behind the
#                 root port with ACS is isolated
#   no-intremap   only interrupt_remapping fails
#   no-iommu      iommu, interrupt_remapping, group_viable and acs (the kernel enables ACS
#                 only with an IOMMU) fail
# rig-presets: default shared-group no-intremap no-iommu

. /rig/scenarios/vfio_lib.sh

PF=0000:01:00.0
check "$PF is an SR-IOV PF" test -f "$SYSPCI/$PF/sriov_totalvfs"
create_vfs $PF 2
vf=$(vf_addrs $PF | sed -n 2p)
V=/tmp/verify-$RIG_PRESET.json
verify_json "$vf" "$V"

all_ok_but() { # FILE CHECK...: every check ok except the ones named, which must fail
	for c in iommu interrupt_remapping group_viable acs reset host_critical; do
		case " $* " in
		*" $c "*) expect_eq "$vf $c" "$(vstatus "$V" $c)" fail ;;
		*) expect_eq "$vf $c" "$(vstatus "$V" $c)" ok ;;
		esac
	done
}

case "$RIG_PRESET" in
default)
	expect_eq "verify $vf exit status" "$vrc" 0
	expect_eq "verify $vf isolated" "$(jj "$V" .devices[0].isolated)" true
	all_ok_but
	expect_eq "$vf numa (no NUMA node on this host)" "$(vstatus "$V" numa)" ok
	# Not root: config space stops at 64 bytes, the groups still tell.
	/usr/bin/asuser 1000 "$IOVCTL" --json verify "$vf" > /tmp/verify-user.json 2>/dev/null && rc=0 || rc=$?
	expect_eq "verify $vf as uid 1000: exit status" "$rc" 0
	expect_eq "verify $vf as uid 1000: acs" "$(vstatus /tmp/verify-user.json acs)" ok

	# The PF's netdev holds the default route: host-critical.
	net=$(ls "$SYSPCI/$PF/net" | head -n1)
	[ -n "$net" ] || fail "$PF has no netdev"
	$IP link set "$net" up || fail "ip link set $net up"
	$IP route add default dev "$net" || fail "ip route add default dev $net"
	verify_json "$PF" /tmp/verify-pf.json
	expect_eq "verify $PF exit status (default route on $net)" "$vrc" 1
	expect_eq "verify $PF host_critical" "$(vstatus /tmp/verify-pf.json host_critical)" fail
	check "host_critical names $net and the default route" \
		sh -c "$JGET /tmp/verify-pf.json '.devices[0].checks[id=host_critical].reason' | grep -q '$net holds the IPv4 default route'"
	verify_json "$vf" /tmp/verify-vf-route.json
	expect_eq "verify $vf host_critical (own group, no route)" "$(vstatus /tmp/verify-vf-route.json host_critical)" ok
	$IP route del default dev "$net"
	$IP link set "$net" down
	;;
shared-group)
	# The root-port NIC's VF is fine here too.
	expect_eq "verify $vf exit status" "$vrc" 0
	all_ok_but
	PF2=0000:04:00.0 PORT=0000:03:00.0
	create_vfs $PF2 2
	vf2=$(vf_addrs $PF2 | sed -n 2p)
	verify_json "$vf2" /tmp/verify-shared.json
	V=/tmp/verify-shared.json vf=$vf2
	expect_eq "verify $vf2 exit status" "$vrc" 1
	expect_eq "verify $vf2 isolated" "$(jj "$V" .devices[0].isolated)" false
	all_ok_but acs group_viable
	check "acs names the switch port $PORT" \
		sh -c "$JGET $V '.devices[0].checks[id=acs].reason' | grep -q 'switch downstream port $PORT: no ACS'"
	/usr/bin/asuser 1000 "$IOVCTL" --json verify "$vf2" > /tmp/verify-user.json 2>/dev/null && rc=0 || rc=$?
	expect_eq "verify $vf2 as uid 1000: exit status (not isolated)" "$rc" 1
	expect_eq "verify $vf2 as uid 1000: acs (from the group)" "$(vstatus /tmp/verify-user.json acs)" fail
	check "group_viable names the PF $PF2" \
		sh -c "$JGET $V '.devices[0].checks[id=group_viable].reason' | grep -q '$PF2 (igb, PF with VFs)'"
	# e1000e alone below the other port without ACS.
	E=0000:05:00.0
	verify_json "$E" /tmp/verify-e1000e.json
	expect_eq "verify $E exit status" "$vrc" 1
	expect_eq "verify $E group_viable (only its port with it)" "$(vstatus /tmp/verify-e1000e.json group_viable)" ok
	expect_eq "verify $E acs" "$(vstatus /tmp/verify-e1000e.json acs)" fail
	;;
no-intremap)
	expect_eq "verify $vf exit status" "$vrc" 1
	all_ok_but interrupt_remapping
	check "fix mentions iovd --allow-unsafe-interrupts" \
		sh -c "$JGET $V '.devices[0].checks[id=interrupt_remapping].fix' | grep -q -- --allow-unsafe-interrupts"
	;;
no-iommu)
	expect_eq "verify $vf exit status" "$vrc" 1
	# Without an IOMMU the kernel never turns ACS on (pci_enable_acs), so the root port's
	# ACS is present but off.
	all_ok_but iommu interrupt_remapping group_viable acs
	check "acs fix points at the IOMMU" \
		sh -c "$JGET $V '.devices[0].checks[id=acs].fix' | grep -q 'only when the IOMMU is on'"
	check "iommu fix says intel_iommu=on" \
		sh -c "$JGET $V '.devices[0].checks[id=iommu].fix' | grep -q intel_iommu=on"
	;;
*)
	fail "no expectations for preset $RIG_PRESET"
	;;
esac

# Several devices: the "devices" array in order, exit 1 if any is not isolated; a bad argument is exit 2.
"$IOVCTL" --json verify "$vf" "$PF" > /tmp/verify-two.json && rc=0 || rc=$?
check "verify of two devices: exit status $rc (0 or 1: a verdict, not a usage error)" test "$rc" -le 1
expect_eq "verify of two devices: the devices array" "$(j /tmp/verify-two.json '.devices[0].device') $(j /tmp/verify-two.json '.devices[1].device')" "$vf $PF"
"$IOVCTL" verify 0000:7f:1f.7 > /dev/null 2>&1 && rc=0 || rc=$?
expect_eq "verify of a missing device: exit status" "$rc" 2
log "verify_presets ($RIG_PRESET): $checks checks passed"
