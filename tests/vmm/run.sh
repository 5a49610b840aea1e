#!/bin/sh
# iovm tests on this machine's /dev/kvm: boots the test payload (a minimal bzImage built from
# head.S + payload.c, loaded by the real boot-protocol path) in each way the VM can end, and
# checks the command-line errors. Usage: run.sh IOVM PAYLOAD
set -u
IOVM=${1:?usage: run.sh IOVM PAYLOAD}
PAYLOAD=${2:?usage: run.sh IOVM PAYLOAD}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0
fail=0

ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -f "$T/out" ] && sed 's/^/     | /' "$T/out" | tail -n 30; }

if [ ! -c /dev/kvm ] || ! [ -r /dev/kvm ]; then
	echo "vmm-test: /dev/kvm not usable here; skipped"
	exit 0
fi

# run NAME WANT_STATUS [iovm args...]: runs with stdin from $T/in, output to $T/out.
run() {
	name=$1 want=$2
	shift 2
	[ -f "$T/in" ] || : > "$T/in"
	timeout 30 "$IOVM" "$@" < "$T/in" > "$T/out" 2>&1
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
# interrupts: UART THRE -> 8259 PIC -> LAPIC LINT0 (ExtINT) -> IDT vector 0x24
run "uart irq via PIC" 0 $B --cmdline "irq mode=poweroff" &&
	expect "uart irq via PIC" "ok uart-thre-irq-via-pic" "ok uart-thre-irq-after-write"
run "pvpanic" 4 $B --cmdline "mode=pvpanic" && expect "pvpanic" "ok pvpanic-events" "ok pci-pvpanic-bar-size"
run "triple fault" 4 $B --cmdline "mode=crash" && expect "triple fault" "all checks passed"
# above 4 GiB: RAM split around the MMIO hole (e820 total = 4 GiB minus the legacy holes)
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
fi

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
# Pre-opened /dev/kvm
run "--kvm-fd" 0 $B --kvm-fd 7 --cmdline "mode=poweroff" 7</dev/kvm && expect "--kvm-fd" "all checks passed"
# Not a bzImage: status 1, message names the file
head -c 8192 /dev/zero > "$T/zero.img"
run "not a bzImage" 1 --kernel "$T/zero.img" && { grep -q "not a usable bzImage" "$T/out" && ok "not a bzImage" || bad "not a bzImage: message"; }
run "missing kernel" 1 --kernel "$T/nonexistent" && { grep -q "nonexistent" "$T/out" && ok "missing kernel" || bad "missing kernel: message"; }
run "missing initrd" 1 $B --initrd "$T/nonexistent" && { grep -q -- "--initrd" "$T/out" && ok "missing initrd" || bad "missing initrd: message"; }

echo "vmm-test: $pass passed, $fail failed"
[ $fail -eq 0 ]
