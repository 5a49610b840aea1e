# iovm without privileges: root opens /dev/kvm, the VFIO container and two VFs' groups and
# hands the fds to iovm running as nobody (--kvm-fd, --vfio-container-fd,
# --vfio-group-fd N:ADDRESS), as iovd will. The guest gets 2 vCPUs (MP table, INIT-SIPI),
# RAM on 2 MiB hugepages and both VFs; igbvf binds and ping6 answers through the first.
# rig-presets: guests

. /rig/scenarios/vmm_lib.sh
vmm_prereqs
vmm_setup_vf
bind_vfio "$vf2"
expect_eq "$vf2 driver" "$(dev_driver "$vf2")" vfio-pci
grp2=$(dev_group "$vf2")
echo 160 > /proc/sys/vm/nr_hugepages
expect_eq "2 MiB hugepages reserved" "$(cat /proc/sys/vm/nr_hugepages)" 160
vmm_initramfs /tmp/inner.cpio
check "asuser helper in the image" test -x /usr/bin/asuser
# Pinning guest RAM counts against RLIMIT_MEMLOCK: lift the hard limit so that iovm,
# unprivileged, may raise its own soft limit.
ulimit -l unlimited || fail "ulimit -l unlimited"

# The fds are opened inside what timeout runs: busybox timeout's watcher process would
# otherwise inherit them and keep the group busy after iovm exits.
cat > /tmp/iovm-fds.sh <<RUN
exec /usr/bin/asuser 65534:65534 sh -c "id -u; exec /usr/bin/iovm --kvm-fd 3 --vfio-container-fd 4 \\
	--vfio-group-fd 5:$vf --vfio-group-fd 6:$vf2 --hugepages --kernel $VMM_KERNEL --initrd /tmp/inner.cpio --mem 256M --cpus 2 \\
	--stats --cmdline '$VMM_CMDLINE pf6=$pf6 pings=3'" \\
	3<>/dev/kvm 4<>/dev/vfio/vfio 5<>/dev/vfio/$grp 6<>/dev/vfio/$grp2
RUN
timeout 100 sh /tmp/iovm-fds.sh < /dev/null > /tmp/iovm-fds.out 2>&1 && rc=0 || rc=$?
echo 0 > /proc/sys/vm/nr_hugepages
cp /tmp/iovm-fds.out "$RIG_BLOBS/iovm-fds.out"
grep -E 'INNER:|^iovm|smp: Brought up' /tmp/iovm-fds.out || true
expect_eq "iovm ran as" "$(head -n1 /tmp/iovm-fds.out)" 65534
expect_eq "iovm exit status (guest reboot -f)" "$rc" 3
check "2 CPUs in the guest" grep -q "smp: Brought up 1 node, 2 CPUs" /tmp/iovm-fds.out
check "both VFs in the guest" grep -q "INNER: pci .*0x10ca 0x10ca" /tmp/iovm-fds.out
check "igbvf bound in the guest" grep -q "INNER: igbvf bound: igbvf" /tmp/iovm-fds.out
check "ping6 through the VF" grep -q "INNER: ping6 ok" /tmp/iovm-fds.out
check "/dev/vfio/$grp free again" sh -c "exec 9<>/dev/vfio/$grp"
check "/dev/vfio/$grp2 free again" sh -c "exec 9<>/dev/vfio/$grp2"
