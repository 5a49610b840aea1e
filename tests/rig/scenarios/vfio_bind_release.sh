# Bind VFs to vfio-pci and release them, on the real kernel:
#  - bind: driver vfio-pci, driver_override vfio-pci, /dev/vfio/GROUP appears, the state file
#    remembers igbvf; verify then says isolated; binding again changes nothing
#  - release is refused while a process holds /dev/vfio/GROUP open (unbinding would block)
#  - release: igbvf again, driver_override cleared ("(null)"), /dev/vfio/GROUP gone, the host
#    exactly as before the bind
#  - release resets the VF before it leaves vfio-pci (pci_reset_function runs in the kernel,
#    seen through the function tracer); with its reset methods disabled (reset_method emptied,
#    so the kernel's reset answers ENOTTY) release is refused, the VF stays on vfio-pci and
#    the message says why and how to reset it another way
#  - a VF that had no driver goes back to no driver (not probed)
# rig-presets: default shared-group no-intremap

. /rig/scenarios/vfio_lib.sh
log "bind path: $(bind_path)"

PF=0000:01:00.0
create_vfs $PF 4
vf=$(vf_addrs $PF | sed -n 2p)
g=$(dev_group "$vf")
[ "$g" != null ] || fail "$vf has no IOMMU group"
expect_eq "$vf driver before" "$(dev_driver "$vf")" igbvf
before=$(host_snapshot)
state_before=$(state_devices)

if [ "$RIG_PRESET" = no-intremap ] && [ "$(bind_path)" = iovd ]; then
	# Without interrupt remapping iovd refuses, and changes nothing, unless the host's
	# policy (iovd --allow-unsafe-interrupts) accepts the risk.
	stop_iovd
	ensure_iovd
	vbind bind "$vf" > /tmp/refused.txt 2>&1 && rc=0 || rc=$?
	cat /tmp/refused.txt
	check "bind $vf without interrupt remapping is refused (exit $rc)" test "$rc" -ne 0
	check "the refusal names interrupt remapping" grep -q "interrupt remapping is off" /tmp/refused.txt
	check "the refusal names the way out" grep -q -- "--allow-unsafe-interrupts" /tmp/refused.txt
	expect_eq "refused bind: host unchanged" "$(host_snapshot)" "$before"
	stop_iovd
	IOVD_ARGS=--allow-unsafe-interrupts ensure_iovd
fi
vbind bind "$vf" && rc=0 || rc=$?
expect_eq "bind $vf exit status" "$rc" 0
if [ "$RIG_PRESET" = no-intremap ] && [ "$(bind_path)" = iovd ]; then
	check "iovd logged the unsafe bind" grep -q "UNSAFE: binding $vf" /tmp/iovd.log
fi
expect_eq "$vf driver after bind" "$(dev_driver "$vf")" vfio-pci
expect_eq "$vf driver_override after bind" "$(override "$vf")" vfio-pci
check "/dev/vfio/$g exists" test -c "/dev/vfio/$g"
cp "$STATE" "$RIG_BLOBS/bind-state.json" 2>/dev/null
expect_eq "state: original driver of $vf" "$(j "$STATE" ".devices[device=$vf].driver")" igbvf
expect_eq "state: group of $vf" "$(j "$STATE" ".devices[device=$vf].group")" "$g"

verify_json "$vf" /tmp/verify-bound.json
if [ "$RIG_PRESET" = no-intremap ]; then
	expect_eq "verify $vf on vfio-pci: interrupt_remapping" "$(vstatus /tmp/verify-bound.json interrupt_remapping)" fail
else
	expect_eq "verify $vf on vfio-pci: exit status" "$vrc" 0
fi
expect_eq "verify $vf on vfio-pci: group_viable" "$(vstatus /tmp/verify-bound.json group_viable)" ok

bound=$(host_snapshot)
vbind bind "$vf" && rc=0 || rc=$?
expect_eq "bind $vf again: exit status" "$rc" 0
expect_eq "bind $vf again: host unchanged" "$(host_snapshot)" "$bound"

# A process holding the group (as a VM does): release must refuse, not hang in the unbind.
exec 9<> "/dev/vfio/$g" || fail "cannot open /dev/vfio/$g"
vbind release "$vf" > /tmp/release.out 2>&1 && rc=0 || rc=$?
cat /tmp/release.out
exec 9<&-
expect_ne "release $vf while /dev/vfio/$g is open: exit status" "$rc" 0
check "the refusal names this shell's pid $$" grep -q "open by pid $$" /tmp/release.out
expect_eq "host after the refused release" "$(host_snapshot)" "$bound"

# A VF whose reset fails is not handed to a host driver.
rm_before=$(attr "$SYSPCI/$vf/reset_method")
echo > "$SYSPCI/$vf/reset_method" || fail "cannot empty $vf/reset_method"
vbind release "$vf" > /tmp/release.out 2>&1 && rc=0 || rc=$?
cat /tmp/release.out
echo default > "$SYSPCI/$vf/reset_method"
expect_ne "release $vf with its reset methods disabled: exit status" "$rc" 0
check "the refusal says the reset failed" grep -q "its reset failed" /tmp/release.out
check "the refusal says it stays on vfio-pci" grep -q "it stays on vfio-pci" /tmp/release.out
check "the fix names remove and rescan" grep -q "/sys/bus/pci/devices/$vf/remove" /tmp/release.out
expect_eq "host after the refused release (reset failed)" "$(host_snapshot)" "$bound"
expect_eq "$vf reset_method restored" "$(attr "$SYSPCI/$vf/reset_method")" "$rm_before"

# The reset happens, in the kernel, before igbvf gets the VF back.
T=/sys/kernel/tracing
[ -d $T/instances ] || mount -t tracefs nodev $T 2>/dev/null || true
traced=0
if [ -w $T/set_ftrace_filter ] &&
   echo "pci_reset_function pcie_flr" > $T/set_ftrace_filter 2>/dev/null; then
	echo function > $T/current_tracer && echo > $T/trace && echo 1 > $T/tracing_on && traced=1
fi
vbind release "$vf" && rc=0 || rc=$?
if [ $traced = 1 ]; then
	echo 0 > $T/tracing_on
	cp $T/trace "$RIG_BLOBS/release-trace.txt" 2>/dev/null
	check "release reset $vf (pci_reset_function in the kernel's trace)" grep -q "pci_reset_function" $T/trace
	grep -q "pcie_flr" $T/trace && log "the reset was an FLR (pcie_flr traced)"
	echo nop > $T/current_tracer; echo > $T/set_ftrace_filter
else
	skip "release reset $vf (pci_reset_function in the kernel's trace)" \
		"no function tracer in this kernel: the reset is seen only through the exit status"
fi
expect_eq "release $vf exit status" "$rc" 0
expect_eq "$vf driver after release" "$(dev_driver "$vf")" igbvf
expect_eq "$vf driver_override after release" "$(override "$vf")" "(null)"
check "/dev/vfio/$g is gone" test ! -e "/dev/vfio/$g"
expect_eq "host after release = host before bind" "$(host_snapshot)" "$before"
expect_eq "state after release = state before bind" "$(state_devices)" "$state_before"

# A VF without a driver goes back to none.
vf3=$(vf_addrs $PF | sed -n 3p)
echo "$vf3" > "$SYSPCI/$vf3/driver/unbind" || fail "unbind $vf3 from igbvf"
expect_eq "$vf3 driver before" "$(dev_driver "$vf3")" null
before=$(host_snapshot)
vbind bind "$vf3" && rc=0 || rc=$?
expect_eq "bind $vf3 (no driver) exit status" "$rc" 0
expect_eq "$vf3 driver after bind" "$(dev_driver "$vf3")" vfio-pci
expect_eq "state: $vf3 had no driver" "$(jj "$STATE" ".devices[device=$vf3].driver")" null
vbind release "$vf3" && rc=0 || rc=$?
expect_eq "release $vf3 exit status" "$rc" 0
expect_eq "$vf3 driver after release (none, as before)" "$(dev_driver "$vf3")" null
expect_eq "$vf3 driver_override after release" "$(override "$vf3")" "(null)"
expect_eq "host after release = host before bind ($vf3)" "$(host_snapshot)" "$before"
# Leave it as the other scenarios expect: on igbvf.
echo "$vf3" > /sys/bus/pci/drivers_probe
log "vfio_bind_release: $checks checks passed"
# The next scenarios get the default policy back.
[ "$RIG_PRESET" = no-intremap ] && [ "$(bind_path)" = iovd ] && stop_iovd
true
