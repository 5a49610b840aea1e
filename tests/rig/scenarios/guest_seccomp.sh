# Quarantine: a VF whose reset fails after its guest is held back until `vf unquarantine`.
# Interrupt placement: with iovd (so iovm) on CPU 1, the host interrupts of guest c's VF
# (its vfio-msix lines) are pinned to CPU 1 (/proc/irq/N/smp_affinity_list) and shown by
# `iovctl vm show`.
# A guest whose iovm makes a forbidden system call (iovm's test-only switch, here through a
# wrapper given to iovd as --iovm) is killed by the seccomp sandbox alone: iovd reports it
# killed by SIGSYS with the system call named (from the kernel's audit line), returns its
# VF, and the other guest keeps running.
# Each guest's iovm runs as a uid of its own (policy.guest_uids), recorded in guests.json.
# rig-presets: default
# rig-timeout: 240

. /rig/scenarios/sriov_lib.sh
. /rig/scenarios/vmm_lib.sh
vmm_prereqs

GSTATE=/tmp/guest-state-sc
rm -rf "$GSTATE"
: > "$IOVD_LOG"		# other scenarios of this boot wrote to it too
PF=$(pf_list | head -n1)
[ -n "$PF" ] || fail "no SR-IOV PF"
$IP link set "$(pf_netdev "$PF")" up
# The wrapper runs as the guest user and keeps iovd's fds (exec); "forbid=1" in the guest's
# command line turns the switch on.
cat > /tmp/iovm-forbid <<'EOF'
#!/bin/sh
case "$*" in
*forbid=1*) exec /usr/bin/iovm --test-forbidden-syscall=openat "$@" ;;
*) exec /usr/bin/iovm "$@" ;;
esac
EOF
chmod 755 /tmp/iovm-forbid
# iovd (and so every iovm it starts) on CPU 1 only: the VFs' host interrupts must follow.
printf '#!/bin/sh\nexec taskset 2 /usr/bin/iovd "$@"\n' > /tmp/iovd-cpu1
chmod 755 /tmp/iovd-cpu1
IOVD=/tmp/iovd-cpu1
echo '{"policy": {"guest_uids": "200000-200009"}}' > /tmp/gsc.json
start_iovd --config /tmp/gsc.json --config-dir "" --state-dir "$GSTATE" --iovm /tmp/iovm-forbid
run_ctl /tmp/s.out vfs create "$PF" 2 --vfio
expect_eq "2 VFs on vfio-pci" "$rc" 0
vfc=$(vf_addrs "$PF" | sed -n 1p)
vfd=$(vf_addrs "$PF" | sed -n 2p)
vmm_initramfs /tmp/inner.cpio

run_ctl /tmp/s.out vm start c --kernel "$VMM_KERNEL" --initrd /tmp/inner.cpio --mem 128M \
	--cmdline "$VMM_CMDLINE hold=120" --nic "$vfc"
expect_eq "vm start c" "$rc" 0
"$IOVCTL" --json vm show c > /tmp/s-c.json
pidc=$("$JGET" /tmp/s-c.json .guest.pid)
[ -n "$pidc" ] || fail "no pid for guest c"
run_ctl /tmp/s.out vm start d --kernel "$VMM_KERNEL" --initrd /tmp/inner.cpio --mem 128M \
	--cmdline "$VMM_CMDLINE forbid=1" --nic "$vfd"
expect_eq "vm start d" "$rc" 0
i=0
while ! grep -q "guest d (pid [0-9]*) ended" "$IOVD_LOG"; do
	i=$((i + 1)); [ $i -gt 300 ] && fail "guest d did not end within 60 s"
	sleep 0.2
done
grep "guest d" "$IOVD_LOG"
dmesg | grep "type=1326" | tail -n 2
"$IOVCTL" --json vm show d > /tmp/s-d.json
cat /tmp/s-d.json
check "d: killed by SIGSYS" grep -q "killed by SIGSYS" /tmp/s-d.json
check "d: the system call is named" grep -q "forbidden system call openat" /tmp/s-d.json
expect_eq "d: state" "$("$JGET" /tmp/s-d.json .guest.state)" failed
check "d's VF reset and returned" grep -q "$vfd reset and returned" "$IOVD_LOG"
check "guest c still running" kill -0 "$pidc"
"$IOVCTL" --json vm show c > /tmp/s-c.json
expect_eq "c: state" "$("$JGET" /tmp/s-c.json .guest.state)" running
# Uids of their own: c's iovm runs as the uid vm show names, from the range; d's was another.
uidc=$(awk '/^Uid:/ { print $2 }' "/proc/$pidc/status")
echo "c runs as uid $uidc; $(grep 'guest d started' "$IOVD_LOG")"
expect_eq "c: vm show's user is its uid" "$("$JGET" /tmp/s-c.json .guest.user)" "$uidc:$uidc"
check "c: uid from policy.guest_uids" test "$uidc" -ge 200000 -a "$uidc" -le 200009
uidd=$(sed -n 's/.*guest d started: iovm pid [0-9]* as uid \([0-9]*\).*/\1/p' "$IOVD_LOG")
check "d: a uid of its own, not c's" test -n "$uidd" -a "$uidd" != "$uidc"
check "guests.json records c's uid" grep -q "\"uid\": *$uidc" "$GSTATE/guests.json"
# Interrupt placement: c's VF's vfio-msix lines are on CPU 1, where its iovm runs.
i=0
while ! tr -d '\r' < "$GSTATE/guests/c.log" | grep -q "INNER: irq "; do
	i=$((i + 1)); [ $i -gt 600 ] && fail "guest c: igbvf never enabled MSI-X"
	sleep 0.2
done
# iovd places the VF's interrupts once the guest enabled them: wait (15 s at most) until
# every vfio-msi line of $vfc is on CPU 1; the checks below say what is not.
placed() {
	_l=$(grep "vfio-msi.*($vfc)" /proc/interrupts | awk '{ sub(":", "", $1); print $1 }')
	[ -n "$_l" ] || return 1
	for _q in $_l; do [ "$(cat /proc/irq/$_q/smp_affinity_list)" = 1 ] || return 1; done
	return 0
}
i=0
until placed || [ $i -ge 75 ]; do sleep 0.2; i=$((i + 1)); done
grep "vfio" /proc/interrupts || true
lines=$(grep "vfio-msi.*($vfc)" /proc/interrupts | awk '{ sub(":", "", $1); print $1 }')
[ -n "$lines" ] || fail "no vfio-msix lines for $vfc in /proc/interrupts"
for irq in $lines; do
	expect_eq "IRQ $irq of $vfc on iovm's CPUs" "$(cat /proc/irq/$irq/smp_affinity_list)" 1
done
"$IOVCTL" vm show c
"$IOVCTL" --json vm show c > /tmp/s-c.json
expect_eq "vm show: c's IRQs and their CPUs" "$("$JGET" /tmp/s-c.json '.guest.irqs[].cpus' | sort -u)" 1
expect_eq "vm show: the IRQs are the vfio lines" "$("$JGET" -c /tmp/s-c.json '.guest.irqs[]')" "$(echo "$lines" | wc -w)"
grep "IRQ .* on CPUs 1" "$IOVD_LOG" | head -n 3
# Console: typed bytes reach guest c (its tty echoes them), its output is shown, Ctrl-]
# detaches and c runs on; d (ended) is refused.
# Typed through a FIFO once the console says it is connected; Ctrl-] once the echo and an
# "alive" line (every 2 s) came back, or after 15 s (the checks below say what is missing).
rm -f /tmp/s-con.in; mkfifo /tmp/s-con.in
"$IOVCTL" vm console c < /tmp/s-con.in > /tmp/s-con.out 2>&1 &
cpid=$!
exec 8> /tmp/s-con.in
i=0
until grep -q "Connected to guest c's console" /tmp/s-con.out; do
	i=$((i + 1)); [ $i -le 100 ] || fail "vm console c: not connected within 10 s: $(cat /tmp/s-con.out)"
	sleep 0.1
done
printf 'console-probe-42\r' >&8
i=0
until { grep -q "console-probe-42" /tmp/s-con.out && grep -q "INNER: alive" /tmp/s-con.out; } || [ $i -ge 150 ]; do
	sleep 0.1; i=$((i + 1))
done
printf '\035' >&8
exec 8>&-
i=0
while kill -0 "$cpid" 2>/dev/null; do
	i=$((i + 1)); [ $i -le 50 ] || { kill "$cpid"; fail "vm console c: still attached 5 s after Ctrl-]"; }
	sleep 0.1
done
wait "$cpid" && rc=0 || rc=$?
expect_eq "vm console c: detached" "$rc" 0
sed 's/^/  | /' /tmp/s-con.out | tail -n 8
check "console: the guest echoed the input" grep -q "console-probe-42" /tmp/s-con.out
check "console: the guest's output" grep -q "INNER: alive" /tmp/s-con.out
check "console: names the detach key" grep -q "detach with Ctrl-]" /tmp/s-con.out
check "guest c runs on after detach" kill -0 "$pidc"
expect_refused "console of an ended guest" 1 "not running" vm console d
# Quarantine: with its reset methods emptied, c's VF cannot be reset after c; it is held
# back, shown by `vm list` and `iovctl list`, and `vf unquarantine` gives it back.
echo > "$SYSPCI/$vfc/reset_method" || fail "cannot empty $vfc's reset_method"
run_ctl /tmp/s.out vm stop c
expect_eq "vm stop c" "$rc" 0
check "c's VF quarantined" grep -q "$vfc quarantined (guest c)" "$IOVD_LOG"
run_ctl /tmp/s.out vm list
check "vm list shows the quarantine" grep -q "quarantined: $vfc (guest c)" /tmp/s.out
run_ctl /tmp/s.out list vfs
check "iovctl list shows the quarantine" grep -q "quarantined by iovd: $vfc" /tmp/s.out
expect_refused "a guest on the quarantined VF" 1 "in quarantine" vm start e --kernel "$VMM_KERNEL" --nic "$vfc"
echo default > "$SYSPCI/$vfc/reset_method"
run_ctl /tmp/s.out vf unquarantine "$vfc"
expect_eq "vf unquarantine" "$rc" 0
run_ctl /tmp/s.out vm list
check "quarantine empty" sh -c "! grep -q quarantined /tmp/s.out"
run_ctl /tmp/s.out vfs destroy "$PF" --force
expect_eq "vfs destroy --force" "$rc" 0
stop_iovd
