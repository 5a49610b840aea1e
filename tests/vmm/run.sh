#!/bin/sh
# iovm tests on this machine's /dev/kvm: boots the test payload (a minimal bzImage built from
# head.S + payload.c, loaded by the real boot-protocol path) in each way the VM can end, and
# checks the command-line errors. Usage: run.sh IOVM PAYLOAD
# Ends with "vmm-test: N passed, M failed, K skipped" (skips named on SKIPPED lines); exit 0
# iff nothing failed, 77 when nothing could run (no usable /dev/kvm). With IOV_TEST_REPORT=DIR
# also writes DIR/vmm.counts and DIR/vmm.skips (tests/testall.sh).
set -u
IOVM=${1:?usage: run.sh IOVM PAYLOAD}
PAYLOAD=${2:?usage: run.sh IOVM PAYLOAD}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0
fail=0
nskip=0
: > "$T/skips"

ok() { pass=$((pass + 1)); echo "ok   $1"; }
# skip NAME WHY: a test this machine cannot run, said and counted.
skip() { nskip=$((nskip + 1)); echo "SKIPPED $1 ($2)"; echo "vmm: $1 ($2)" >> "$T/skips"; }
report() {
	if [ -n "${IOV_TEST_REPORT:-}" ]; then
		printf 'pass %s\nfail %s\nskip %s\nretried 0\n' "$pass" "$fail" "$nskip" > "$IOV_TEST_REPORT/vmm.counts"
		cp "$T/skips" "$IOV_TEST_REPORT/vmm.skips"
	fi
}
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -f "$T/out" ] && sed 's/^/     | /' "$T/out" | tail -n 30; }

if [ ! -c /dev/kvm ] || ! [ -r /dev/kvm ]; then
	skip "every test" "/dev/kvm is not usable here; make vmm-test runs them in the test host instead"
	report
	echo "vmm-test: 0 passed, 0 failed, $nskip skipped: nothing was tested"
	exit 77
fi

# Seconds per run; the test host's nested KVM (under TCG) needs more for the console flood
# (IOV_VMM_TIMEOUT, set by the rig scenario vmm_payloads).
RUN_TIMEOUT=${IOV_VMM_TIMEOUT:-30}

# run NAME WANT_STATUS [iovm args...]: runs with stdin from $T/in, output to $T/out.
run() {
	name=$1 want=$2
	shift 2
	[ -f "$T/in" ] || : > "$T/in"
	timeout "$RUN_TIMEOUT" "$IOVM" "$@" < "$T/in" > "$T/out" 2>&1
	st=$?
	if [ "$st" -ne "$want" ]; then
		bad "$name: exit status $st, want $want"
		return 1
	fi
	return 0
}

# expect NAME PATTERN...: every pattern must be in $T/out and no "FAIL" line.
expect() {
	name=$1
	shift
	for p in "$@"; do
		if ! grep -q -- "$p" "$T/out"; then
			bad "$name: no '$p' in the output"
			return 1
		fi
	done
	if grep -q '^FAIL' "$T/out"; then
		bad "$name: the payload reported a failed check"
		return 1
	fi
	ok "$name"
}

B="--kernel $PAYLOAD --mem 64M"

# 64-bit boot protocol path, devices, i8042 reset -> 3
run "boot64 reboot" 3 $B --cmdline "hello world" --stats &&
	expect "boot64 reboot" "all checks passed" "cmdline \[hello world\]" "ok rep-outsb" \
		"e820 ram 0x3f9fc00" "guest reset (i8042)\|exits to userspace" "guest mark 0x10"
run "poweroff" 0 $B --cmdline "mode=poweroff" && expect "poweroff" "all checks passed" "mptable cpus 0x1"
# CPUID: KVM's paravirtual leaves and x2APIC by default; the bench's IOVM_CPUID switches hide them
# (what the TSC-deadline bit says depends on KVM_CAP_TSC_DEADLINE_TIMER here).
run "cpuid" 0 $B --cmdline "mode=poweroff" && expect "cpuid" "cpuid 0x40000000 ebx 0x4b4d564b x2apic 0x1"
export IOVM_CPUID=nopv,nox2apic,nodeadline
run "cpuid, IOVM_CPUID" 0 $B --cmdline "mode=poweroff" &&
	expect "cpuid, IOVM_CPUID" "cpuid 0x40000000 ebx 0x0 x2apic 0x0 tsc-deadline 0x0"
unset IOVM_CPUID
# interrupts: UART THRE -> 8259 PIC -> LAPIC LINT0 (ExtINT) -> IDT vector 0x24
run "uart irq via PIC" 0 $B --cmdline "irq mode=poweroff" &&
	expect "uart irq via PIC" "ok uart-thre-irq-via-pic" "ok uart-thre-irq-after-write"
run "pvpanic" 4 $B --cmdline "mode=pvpanic" && expect "pvpanic" "ok pvpanic-events" "ok pci-pvpanic-bar-size"
run "triple fault" 4 $B --cmdline "mode=crash" && expect "triple fault" "all checks passed"
# above 4 GiB: RAM split around the MMIO hole (e820 total = 4 GiB minus the legacy holes)
# virtio-blk: a polled driver in the payload, honest (GET_ID, OUT, IN, FLUSH), then hostile
# (past the end, a buffer outside RAM, an unknown type, a descriptor loop, a bad avail index):
# error statuses and DEVICE_NEEDS_RESET, a reset that recovers; iovm stays up, powers off.
dd if=/dev/zero of="$T/disk.img" bs=1k count=1024 2>/dev/null
run "virtio-blk" 0 $B --cmdline "mode=virtio" --disk "$T/disk.img" --stats &&
	expect "virtio-blk" "virtio checks passed" "ok virtio-in-data" "ok virtio-outside-ram" \
		"ok virtio-needs-reset" "ok virtio-works-after-reset" "ok virtio-bad-avail-needs-reset" \
		"2 I/O errors, 2 needs-reset" &&
	{ [ "$(od -An -tx1 -j 2047 -N1 "$T/disk.img" | tr -d ' ')" = f9 ] && ok "virtio-blk data on the disk" ||
		bad "virtio-blk: sector 3 of the image lacks what the guest wrote"; }
run "4G split RAM" 0 --kernel "$PAYLOAD" --mem 4G --cmdline "mode=poweroff" &&
	expect "4G split RAM" "e820 ram 0xfff9fc00"
# initrd: placed by the loader, announced in the zero page
printf 'IOVMTEST' > "$T/initrd"
head -c 100000 /dev/urandom >> "$T/initrd"
run "initrd" 0 $B --initrd "$T/initrd" --cmdline "mode=poweroff" &&
	expect "initrd" "initrd size 0x186a8 head 0x545345544d564f49"
# console input through the UART
printf 'abc\n' > "$T/in"
run "console input" 0 $B --cmdline "mode=echo" && expect "console input" "echo \[abc\]"
rm -f "$T/in"
# SMP: vCPU 1 started by INIT-SIPI in real mode
run "smp real mode" 0 $B --cpus 2 --cmdline "smp mode=poweroff" &&
	expect "smp real mode" "ok smp-real-mode-ap" "mptable cpus 0x2"
# 32-bit boot protocol entry (flat protected mode)
run "boot32" 0 $B --entry32 && expect "boot32" "protected mode ok"
# SIGTERM: clean teardown, status 5
timeout 30 "$IOVM" $B --cmdline "mode=hang" < /dev/null > "$T/out" 2>&1 &
pid=$!
i=0
while ! grep -q hanging "$T/out" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
kill -TERM $pid
wait $pid
st=$?
if [ $st -eq 5 ]; then ok "SIGTERM"; else bad "SIGTERM: exit status $st, want 5"; fi
# hugepages when the host has some reserved
if [ "$(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo 0)" -ge 32 ]; then
	run "hugepages" 0 $B --hugepages --cmdline "mode=poweroff" && expect "hugepages" "all checks passed"
else
	skip "hugepages" "fewer than 32 2 MiB hugepages reserved (vm.nr_hugepages)"
fi

# --- sandbox (seccomp allow-list, on by default: every run above ran under it) ---
if "$IOVM" --seccomp-list > "$T/out" 2>&1 && grep -q "^ioctl   KVM_RUN " "$T/out" &&
   grep -q "^syscall clone .*CLONE_THREAD" "$T/out" && ! grep -q "^syscall openat" "$T/out" &&
   ! grep -q "KVM_CREATE_VM" "$T/out"; then ok "seccomp list"; else bad "seccomp list"; fi
"$IOVM" --seccomp-list --on-reboot restart > "$T/out" 2>&1
if grep -q "^ioctl   KVM_CREATE_VM " "$T/out"; then ok "seccomp list (restart)"; else bad "seccomp list (restart): no set-up ioctls"; fi
# A forbidden call once the guest runs kills iovm with SIGSYS (status 128+31 from sh).
# (A SAN=1 build allows files and any ioctl for the sanitizer runtime: execve only.)
calls="openat ioctl execve"
"$IOVM" --seccomp-list | grep -q "^# sanitizer build" && calls=execve
for call in $calls; do
	run "forbidden $call" 159 $B --cmdline "mode=hang" --test-forbidden-syscall=$call &&
		{ grep -q "probing the sandbox with $call" "$T/out" && ! grep -q "went through" "$T/out" &&
		  ok "forbidden $call: SIGSYS" || bad "forbidden $call: messages"; }
done
# The same with the sandbox off: the call returns, the guest runs to its end.
run "forbidden, --sandbox off" 0 $B --cmdline "mode=poweroff" --sandbox off --test-forbidden-syscall &&
	expect "forbidden, --sandbox off" "probe openat: went through" "all checks passed"
# Landlock alone, with the guest's threads running: the open is refused (EACCES), the guest
# runs to its end (tests/vmm/sandbox.sh probes the rest without a VM).
if run "forbidden, --sandbox landlock-only" 0 $B --cmdline "mode=poweroff" \
	--sandbox landlock-only --test-forbidden-syscall=openat; then
	if grep -q "Landlock is not available" "$T/out"; then
		skip "forbidden, --sandbox landlock-only" "this kernel has no Landlock"
	else
		expect "forbidden, --sandbox landlock-only" "probe openat: refused (EACCES)" \
			"all checks passed"
	fi
fi
# Dropping to an unprivileged user (root only)
if [ "$(id -u)" -eq 0 ]; then
	run "--user 65534" 0 $B --cmdline "mode=poweroff" --user 65534:65534 -v &&
		expect "--user 65534" "running as uid 65534 gid 65534, no capabilities" "all checks passed" \
			"seccomp allow-list installed"
	run "--user under seccomp, smp" 0 $B --cpus 2 --cmdline "smp mode=poweroff" --user 65534 &&
		expect "--user under seccomp, smp" "ok smp-real-mode-ap"
else
	skip "--user 65534 (2 tests)" "needs root"
fi

# --- console ---
# A reader that never reads: the guest writes 144 KiB and still powers off; the overflow is
# dropped and counted, never waited for.
mkfifo "$T/fifo"
sleep 30 < "$T/fifo" &
rpid=$!
t0=$(date +%s)
run "stalled console reader" 0 $B --cmdline "mode=flood" --console-fd 3 --stats 3>"$T/fifo" &&
	expect "stalled console reader" "bytes of guest output dropped" "console: [0-9]* bytes written, [1-9][0-9]* dropped"
kill $rpid 2>/dev/null
wait $rpid 2>/dev/null
rm -f "$T/fifo"
# The same output to a file that keeps up: nothing dropped.
run "console keeps up" 0 $B --cmdline "mode=flood" --stats &&
	expect "console keeps up" "flood done" "console: 14[0-9]* bytes written, 0 dropped"
# Escapes: filtered on request (and on a terminal), raw otherwise.
run "console filter on" 0 $B --cmdline "mode=escape" --console-filter on &&
	{ if grep -q 'esc\[\^\[\[31mred\^\[\]0;title\^G?2J\]' "$T/out" && ! grep -q "$(printf '\033')" "$T/out"; then
		ok "console filter on"; else bad "console filter on: escapes got through"; fi; }
run "console filter off" 0 $B --cmdline "mode=escape" --console-filter off &&
	{ if grep -aqF "$(printf 'esc[\033[31mred')" "$T/out"; then ok "console filter off (raw)"; else bad "console filter off: not raw"; fi; }
if command -v script > /dev/null 2>&1; then
	# auto: on for a terminal (script(1) gives iovm a pty)
	script -qec "$IOVM $B --cmdline mode=escape" /dev/null < /dev/null > "$T/out" 2>&1
	if grep -q 'esc\[\^\[\[31mred' "$T/out" && ! grep -q "$(printf '\033\[31m')" "$T/out"; then
		ok "console filter auto (tty)"; else bad "console filter auto (tty)"; fi
else
	skip "console filter auto (tty)" "no script(1) here to give iovm a terminal"
fi
# A terminal on stdin, the output to a file (issue 23): the terminal is put back at exit
# under the seccomp allow-list, and the guest's poweroff is status 0, not SIGSYS.
if command -v script > /dev/null 2>&1; then
	script -qec "$IOVM $B --cmdline mode=poweroff > $T/out 2>&1" /dev/null < /dev/null > /dev/null 2>&1
	st=$?
	if [ $st -eq 0 ]; then expect "terminal on stdin, output to a file" "all checks passed"
	else bad "terminal on stdin, output to a file: exit status $st, want 0"; fi
fi
# --console-fd on one end of a socket pair (what iovd hands over): output and input.
if command -v python3 > /dev/null 2>&1; then
	python3 - "$IOVM" $B --cmdline mode=echo > "$T/out" 2>&1 <<'PY'
import socket, subprocess, sys
a, b = socket.socketpair()
p = subprocess.Popen(sys.argv[1:] + ["--console-fd", str(b.fileno())], pass_fds=[b.fileno()],
                     stdin=subprocess.DEVNULL)
b.close()
a.sendall(b"xyz\n")
out = b""
while True:
    d = a.recv(65536)
    if not d:
        break
    out += d
sys.stdout.write(out.decode(errors="replace"))
sys.exit(p.wait())
PY
	st=$?
	if [ $st -eq 0 ]; then expect "console-fd socket" "echo \[xyz\]"; else bad "console-fd socket: status $st"; fi
else
	skip "console-fd socket" "no python3 here"
fi

# --- guest reboot ---
run "reboot exits by default" 3 $B --cmdline "mode=reboots" &&
	expect "reboot exits by default" "boot 0x1"
run "reboot restart" 0 $B --cmdline "mode=reboots" --on-reboot restart --stats &&
	{ if [ "$(grep -c "all checks passed" "$T/out")" -eq 3 ]; then
		expect "reboot restart" "boot 0x3" "reboots restarted in place: 2"
	  else bad "reboot restart: want 3 boots with all checks passed"; fi; }
run "reboot restart, smp" 0 $B --cpus 2 --cmdline "smp mode=reboots" --on-reboot restart &&
	{ if [ "$(grep -c "ok smp-real-mode-ap" "$T/out")" -eq 3 ]; then ok "reboot restart, smp"
	  else bad "reboot restart, smp: the AP did not start on every boot"; fi; }
run "reboot restart, --user" 0 $B --cmdline "mode=reboots" --on-reboot restart --user 65534 &&
	expect "reboot restart, --user" "boot 0x3"

# Bad command lines: status 2 and a message naming the argument.
badarg() {
	name=$1 pat=$2
	shift 2
	run "$name" 2 "$@" && { if grep -q -- "$pat" "$T/out"; then ok "$name"; else bad "$name: message lacks '$pat'"; fi; }
}
badarg "no --kernel" "--kernel is required"
badarg "bad --mem" "--mem '12Q'" $B --mem 12Q
badarg "odd --mem" "--mem '3M'" $B --mem 3M
badarg "bad --cpus" "--cpus '0'" $B --cpus 0
badarg "bad --vfio" "--vfio '0000:zz:00.0'" $B --vfio 0000:zz:00.0
badarg "closed --kvm-fd" "--kvm-fd '77'" $B --kvm-fd 77
badarg "bad --vfio-group-fd" "--vfio-group-fd" $B --vfio-group-fd 5
badarg "bad --console" "--console 'tty'" $B --console tty
badarg "unknown option" "--bogus" $B --bogus
badarg "stray argument" "'stray'" $B stray
badarg "bad --on-reboot" "--on-reboot 'again'" $B --on-reboot again
badarg "bad --console-filter" "--console-filter 'maybe'" $B --console-filter maybe
badarg "bad --sandbox" "--sandbox 'half'" $B --sandbox half
badarg "unknown --user" "--user 'no-such-user-iovm'" $B --user no-such-user-iovm
badarg "bad forbidden call" "--test-forbidden-syscall" $B --test-forbidden-syscall=reboot
badarg "closed --console-fd" "--console-fd '78'" $B --console-fd 78
# Pre-opened /dev/kvm
run "--kvm-fd" 0 $B --kvm-fd 7 --cmdline "mode=poweroff" 7</dev/kvm && expect "--kvm-fd" "all checks passed"
# Not a bzImage: status 1, message names the file
head -c 8192 /dev/zero > "$T/zero.img"
run "not a bzImage" 1 --kernel "$T/zero.img" && { grep -q "not a usable bzImage" "$T/out" && ok "not a bzImage" || bad "not a bzImage: message"; }
run "missing kernel" 1 --kernel "$T/nonexistent" && { grep -q "nonexistent" "$T/out" && ok "missing kernel" || bad "missing kernel: message"; }
run "missing initrd" 1 $B --initrd "$T/nonexistent" && { grep -q -- "--initrd" "$T/out" && ok "missing initrd" || bad "missing initrd: message"; }

report
echo "vmm-test: $pass passed, $fail failed, $nskip skipped"
[ $fail -eq 0 ]
