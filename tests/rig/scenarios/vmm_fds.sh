# iovm without privileges: root opens /dev/kvm, the VFIO container and the VF's group and
# hands the fds to iovm running as nobody (--kvm-fd, --vfio-container-fd,
# --vfio-group-fd N:ADDRESS), as iovd will. The guest gets 2 vCPUs (MP table, INIT-SIPI),
# igbvf binds and ping6 answers through the VF.
# rig-presets: default

. /rig/scenarios/vmm_lib.sh
vmm_prereqs
vmm_setup_vf
vmm_initramfs /tmp/inner.cpio
grep -q '^nobody:' /etc/passwd || echo 'nobody:x:65534:65534:nobody:/tmp:/bin/sh' >> /etc/passwd
grep -q '^nogroup:' /etc/group || echo 'nogroup:x:65534:' >> /etc/group
# Pinning guest RAM counts against RLIMIT_MEMLOCK: lift the hard limit so that iovm,
# unprivileged, may raise its own soft limit.
ulimit -l unlimited || fail "ulimit -l unlimited"

# The fds are opened inside what timeout runs: busybox timeout's watcher process would
# otherwise inherit them and keep the group busy after iovm exits.
cat > /tmp/iovm-fds.sh <<RUN
exec su -s /bin/sh nobody -c "id -u; exec /usr/bin/iovm --kvm-fd 3 --vfio-container-fd 4 \\
	--vfio-group-fd 5:$vf --kernel $VMM_KERNEL --initrd /tmp/inner.cpio --mem 256M --cpus 2 \\
	--stats --cmdline '$VMM_CMDLINE pf6=$pf6 pings=3'" \\
	3<>/dev/kvm 4<>/dev/vfio/vfio 5<>/dev/vfio/$grp
RUN
timeout 100 sh /tmp/iovm-fds.sh < /dev/null > /tmp/iovm-fds.out 2>&1
rc=$?
cp /tmp/iovm-fds.out "$RIG_BLOBS/iovm-fds.out"
grep -E 'INNER:|^iovm|smp: Brought up' /tmp/iovm-fds.out
expect_eq "iovm ran as" "$(head -n1 /tmp/iovm-fds.out)" 65534
expect_eq "iovm exit status (guest reboot -f)" "$rc" 3
check "2 CPUs in the guest" grep -q "smp: Brought up 1 node, 2 CPUs" /tmp/iovm-fds.out
check "igbvf bound in the guest" grep -q "INNER: igbvf bound: igbvf" /tmp/iovm-fds.out
check "ping6 through the VF" grep -q "INNER: ping6 ok" /tmp/iovm-fds.out
check "/dev/vfio/$grp free again" sh -c "exec 9<>/dev/vfio/$grp"
