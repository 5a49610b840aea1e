# MSI forgery, proven (issue 10): a VF driven from user space through VFIO (tests/rig/msiforge.c,
# as a hostile VM could) DMA-writes an MSI message into the 0xFEE00000 window with igb's TX head
# write-back. What the emulated VT-d can show (/work/shared/RIG.md, "MSI forgery"):
#  - default (remapping on): a remappable-format message naming a non-present IRTE (index
#    0x7d0) is blocked, and the host logs the interrupt-remapping fault; no interrupt arrives.
#  - no-intremap, bound through iovd --allow-unsafe-interrupts (vfio_iommu_type1
#    allow_unsafe_interrupts=1): a compatibility-format message with vector 0xD0 reaches the
#    host's CPU 0 ("No irq handler for 0.208": nothing owns that vector).
# Not claimed (QEMU 10 gaps, real VT-d blocks both): that a compatibility-format message is
# blocked with remapping on (no CFI emulation), or that replaying another device's valid IRTE
# is (device DMA reaches the remapping unit without a requester id).
# rig-presets: default no-intremap
# rig-timeout: 120
# The faults it provokes, and only those (ff:1f.7 is source-id 0xffff: QEMU's device DMA
# reaches the remapping unit without a requester id, see above):
# rig-kernel-allow: DMAR: DRHD: handling fault status reg
# rig-kernel-allow: DMAR: \[INTR-REMAP\] Request device \[(01:10\.0|ff:1f\.7)\] fault index 0x7d0
# rig-kernel-allow: No irq handler for 0\.208|0\.208 No irq handler for vector
# rig-no-retry: an attack scenario: a stuck CPU or a reset here is what an escaped forgery looks like

. /rig/scenarios/vfio_lib.sh

PF=0000:01:00.0
pfnet=$(ls "$SYSPCI/$PF/net" 2>/dev/null | head -n1)
[ -n "$pfnet" ] || fail "PF $PF has no netdev"
$IP link set "$pfnet" up || fail "ip link set $pfnet up"	# the PF answers the VF's mailbox
create_vfs $PF 2
vf=$(vf_addrs $PF | head -n1)
g=$(dev_group "$vf")
[ "$g" != null ] || fail "$vf has no IOMMU group"
P=/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts
stop_iovd
if [ "$RIG_PRESET" = no-intremap ]; then
	IOVD_ARGS=--allow-unsafe-interrupts ensure_iovd
else
	ensure_iovd
fi
vbind bind "$vf" && rc=0 || rc=$?
expect_eq "bind $vf exit status" "$rc" 0
expect_eq "$vf driver" "$(dev_driver "$vf")" vfio-pci

if [ "$RIG_PRESET" = default ]; then
	dmesg -c > /dev/null
	# Remappable format: address bit 4, handle 0x7d0 in bits 5..19, no subhandle.
	msiforge "$g" "$vf" 0xfee0fa10 0x10 > /tmp/forge.out 2>&1 && rc=0 || rc=$?
	cat /tmp/forge.out
	expect_eq "msiforge (remappable, IRTE 0x7d0) exit status" "$rc" 0
	wait_kmsg "INTR-REMAP.*fault index 0x7d0" 10 || true	# checked below
	dmesg > /tmp/forge.dmesg
	cp /tmp/forge.dmesg "$RIG_BLOBS/default-dmesg.txt"
	check "host logs the interrupt-remapping fault" grep -q "INTR-REMAP.*fault index 0x7d0" /tmp/forge.dmesg
	check "fault reason: IRTE not present" grep -q "Present field in the IRTE entry is clear" /tmp/forge.dmesg
	check "no interrupt reached the host" sh -c "! grep -q 'No irq handler' /tmp/forge.dmesg"
else
	echo Y > $P || fail "cannot set $P"
	dmesg -c > /dev/null
	msiforge "$g" "$vf" 0xfee00000 0xd0 > /tmp/forge.out 2>&1 && rc=0 || rc=$?
	cat /tmp/forge.out
	wait_kmsg "0\.208.*No irq handler|No irq handler.*0\.208" 10 || true	# checked below
	dmesg > /tmp/forge.dmesg
	echo N > $P
	cp /tmp/forge.dmesg "$RIG_BLOBS/no-intremap-dmesg.txt"
	expect_eq "msiforge (compatibility format, vector 0xd0) exit status" "$rc" 0
	check "the forged interrupt reached CPU 0 (vector 208)" grep -Eq "0\.208.*No irq handler|No irq handler.*0\.208" /tmp/forge.dmesg
fi
vbind release "$vf" && rc=0 || rc=$?
expect_eq "release $vf exit status" "$rc" 0
stop_iovd
