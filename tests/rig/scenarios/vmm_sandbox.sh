# iovm sandboxed on the passthrough path: started as root with --user 65534, it opens
# /dev/kvm, the VFIO container and the VF's group, drops to nobody (no capabilities,
# no_new_privs) and installs its seccomp allow-list before the guest runs. The guest
# (igbvf, ping6 through the VF) reboots once; with --on-reboot restart iovm resets the VF,
# reloads the kernel and the guest boots again, pings again and powers off (status 0).
# Landlock (the 6.12 kernel's ABI 6) is in place too. Then --test-forbidden-syscall with a
# guest running: openat, and tgkill to another process of the same uid (another guest's
# iovm, as it were): iovm dies of SIGSYS, the kernel log names the syscall (audit
# type=1326), and the group is free again. Last, tests/vmm/sandbox.sh: every forbidden call
# from inside a sandboxed iovm (no VM), SIGSYS each; Landlock alone refuses files, ptrace
# and signals to a same-uid process.
# rig-presets: guests

. /rig/scenarios/vmm_lib.sh
vmm_prereqs
vmm_setup_vf
vmm_initramfs /tmp/inner.cpio

timeout 120 /usr/bin/iovm --user 65534:65534 --on-reboot restart --stats -v \
	--kernel "$VMM_KERNEL" --initrd /tmp/inner.cpio --mem 256M \
	--cmdline "$VMM_CMDLINE pf6=$pf6 pings=3 boots=2" \
	--vfio "$vf" < /dev/null > /tmp/iovm-sb.out 2>&1 &
ipid=$!
# While the guest runs: iovm's credentials and seccomp mode as the kernel sees them.
i=0
while ! grep -q "INNER: init up" /tmp/iovm-sb.out && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
vpid=$(pidof iovm | tr ' ' '\n' | head -n1)
[ -n "$vpid" ] || fail "no iovm process while the guest ran"
grep -E '^(Uid|Gid|CapEff|CapPrm|NoNewPrivs|Seccomp):' "/proc/$vpid/status" > /tmp/iovm-status
cat /tmp/iovm-status
wait $ipid && rc=0 || rc=$?
cp /tmp/iovm-sb.out "$RIG_BLOBS/iovm-sandbox.out"
grep -E '^INNER:|^iovm' /tmp/iovm-sb.out || true
expect_eq "iovm exit status (poweroff on the 2nd boot)" "$rc" 0
check "ran as uid 65534" grep -q "^Uid:[[:space:]]*65534[[:space:]]65534[[:space:]]65534" /tmp/iovm-status
check "no capabilities" grep -q "^CapEff:[[:space:]]*0000000000000000" /tmp/iovm-status
check "no_new_privs" grep -q "^NoNewPrivs:[[:space:]]*1" /tmp/iovm-status
check "seccomp filter mode" grep -q "^Seccomp:[[:space:]]*2" /tmp/iovm-status
check "allow-list installed" grep -q "seccomp allow-list installed" /tmp/iovm-sb.out
check "Landlock in place (ABI 6: no signal outside iovm)" \
	grep -q "Landlock (ABI [6-9]) in place: no file access, no TCP bind or connect, no signal to another process" /tmp/iovm-sb.out
expect_eq "guest boots" "$(grep -c '^INNER: init up' /tmp/iovm-sb.out)" 2
expect_eq "igbvf bound on each boot" "$(grep -c '^INNER: igbvf bound: igbvf' /tmp/iovm-sb.out)" 2
expect_eq "ping6 through the VF on each boot" "$(grep -c '^INNER: ping6 ok' /tmp/iovm-sb.out)" 2
check "restarted in place once" grep -q "guest reboots restarted in place: 1" /tmp/iovm-sb.out
check "iovm released /dev/vfio/$grp" sh -c "exec 9</dev/vfio/$grp"

# A forbidden system call once the guest runs: SIGSYS, the syscall in the kernel log.
dmesg -c > /dev/null
cat > /tmp/iovm-forbid.sh <<RUN
exec /usr/bin/iovm --user 65534 --test-forbidden-syscall=openat --kernel $VMM_KERNEL \\
	--initrd /tmp/inner.cpio --mem 256M --cmdline '$VMM_CMDLINE' --vfio $vf
RUN
timeout 60 sh /tmp/iovm-forbid.sh < /dev/null > /tmp/iovm-forbid.out 2>&1 && rc=0 || rc=$?
kmsg=$(dmesg)
cat /tmp/iovm-forbid.out | tail -n 3
echo "$kmsg" | grep "type=1326" | head -n 2
expect_eq "forbidden call: killed by SIGSYS (128+31)" "$rc" 159
check "kernel log names the syscall (openat = 257)" sh -c "echo \"\$1\" | grep -q 'type=1326.*comm=\"iovm\".*sig=31.*syscall=257'" _ "$kmsg"
check "group free after the kill" sh -c "exec 9</dev/vfio/$grp"

# A signal to another process of the same uid once the guest runs: SIGSYS (tgkill = 234).
ASUSER=${ASUSER:-/usr/bin/asuser}
"$ASUSER" 65534 sleep 120 &
other=$!
sleep 0.3
dmesg -c > /dev/null
sed -i "s/--test-forbidden-syscall=openat/--test-forbidden-syscall=tgkill:$other/" /tmp/iovm-forbid.sh
timeout 60 sh /tmp/iovm-forbid.sh < /dev/null > /tmp/iovm-forbid.out 2>&1 && rc=0 || rc=$?
kmsg=$(dmesg)
tail -n 3 /tmp/iovm-forbid.out
expect_eq "tgkill to another uid-65534 process: killed by SIGSYS" "$rc" 159
check "kernel log names tgkill (234)" sh -c "echo \"\$1\" | grep -q 'type=1326.*comm=\"iovm\".*sig=31.*syscall=234'" _ "$kmsg"
check "the other process lives" kill -0 "$other"
kill "$other"
check "group free after the kill" sh -c "exec 9</dev/vfio/$grp"

# Every forbidden call from inside a sandboxed iovm, and Landlock alone (tests/vmm/sandbox.sh).
IOV_ASUSER=$ASUSER sh /rig/vmm/sandbox.sh /usr/bin/iovm 65534 > /tmp/iovm-probes.out 2>&1 && rc=0 || rc=$?
grep -v '^     |' /tmp/iovm-probes.out
expect_eq "sandbox probes: exit status" "$rc" 0
check "sandbox probes: Landlock ABI 6 or later" grep -q "Landlock ABI [6-9]" /tmp/iovm-probes.out
check "sandbox probes: none failed, none skipped" grep -q "^vmm-sandbox: [0-9]* passed, 0 failed, 0 skipped" /tmp/iovm-probes.out
