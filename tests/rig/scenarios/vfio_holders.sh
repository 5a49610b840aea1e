# Holders of a VFIO group are recognised by device number, not by path (issue 10), on the
# real kernel:
#  - a file merely named /dev/vfio/GROUP (a tmpfs over /dev in a private mount namespace, as
#    a local user can make with a user namespace) does not block root's release;
#  - a process holding the VF's iommufd device file /dev/vfio/devices/vfioN (where the kernel
#    has them) does: release refuses, naming it, instead of hanging in the unbind.
# rig-presets: default

. /rig/scenarios/vfio_lib.sh

PF=0000:01:00.0
create_vfs $PF 2
vf=$(vf_addrs $PF | head -n1)
g=$(dev_group "$vf")
[ "$g" != null ] || fail "$vf has no IOMMU group"
vbind bind "$vf" && rc=0 || rc=$?
expect_eq "bind $vf exit status" "$rc" 0
check "/sys/class/vfio/$g/dev" test -f "/sys/class/vfio/$g/dev"

# The forgery: in its own mount namespace, a process opens a regular file /dev/vfio/$g.
unshare -m sh -c "mount -t tmpfs none /dev && mkdir -p /dev/vfio && : > /dev/vfio/$g &&
	exec 9<> /dev/vfio/$g && echo forged > /tmp/forged.ready && exec sleep 60" > /dev/null 2>&1 &
fpid=$!
_i=0
while [ ! -f /tmp/forged.ready ] && [ $_i -lt 50 ]; do sleep 0.1; _i=$((_i + 1)); done
check "forger holds a file it calls /dev/vfio/$g" sh -c "ls -l /proc/$fpid/fd | grep -q '/dev/vfio/$g'"
vbind release "$vf" > /tmp/release.out 2>&1 && rc=0 || rc=$?
cat /tmp/release.out
kill $fpid 2>/dev/null
rm -f /tmp/forged.ready
expect_eq "release $vf beside a forged /dev/vfio/$g: exit status" "$rc" 0
expect_eq "$vf driver after release" "$(dev_driver "$vf")" igbvf

# iommufd device files.
vbind bind "$vf" > /dev/null && rc=0 || rc=$?
expect_eq "bind $vf again: exit status" "$rc" 0
cdev=$(ls "$SYSPCI/$vf/vfio-dev" 2>/dev/null | head -n1)
if [ -n "$cdev" ] && [ -c "/dev/vfio/devices/$cdev" ]; then
	exec 8<> "/dev/vfio/devices/$cdev" || fail "cannot open /dev/vfio/devices/$cdev"
	vbind release "$vf" > /tmp/release.out 2>&1 && rc=0 || rc=$?
	cat /tmp/release.out
	exec 8<&-
	expect_ne "release $vf while /dev/vfio/devices/$cdev is open: exit status" "$rc" 0
	check "the refusal names this shell's pid $$" grep -q "pid $$" /tmp/release.out
	expect_eq "$vf still on vfio-pci" "$(dev_driver "$vf")" vfio-pci
else
	skip "release refused while the VF's iommufd device file is open" \
		"this kernel has no VFIO device files (CONFIG_VFIO_DEVICE_CDEV)"
fi
vbind release "$vf" && rc=0 || rc=$?
expect_eq "final release: exit status" "$rc" 0
stop_iovd
