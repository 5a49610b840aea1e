# iovm's ACPI (issue 22 items 2 and 4): the test host's stock kernel boots under iovm with
# just `console=ttyS0` (no acpi=off, pci=conf1, reboot=k): it finds the RSDP iovm wrote, the
# hardware-reduced FADT, the MADT, the MCFG and the DSDT; PCI config space of the VF is 4 KiB
# (extended config space through ECAM); igbvf binds and ping6 answers through the VF; the
# guest's `poweroff -f` goes through the ACPI sleep control register and iovm exits 0.
# Two vCPUs come from the MADT. Then SIGTERM to iovm presses the ACPI power button: the
# guest's init, listening on the "Power Button" input device (button.ko, evdev.ko), powers
# off, and iovm exits 0 well within its --stop-timeout. (The old command line with acpi=off
# is what vmm_passthrough, vmm_sandbox and the guest_* scenarios run.) Last, SIGTERM to a
# guest booted with acpi=off: Ctrl-Alt-Del on the i8042 keyboard.
# rig-presets: guests
# rig-timeout: 420

. /rig/scenarios/sriov_lib.sh
. /rig/scenarios/vmm_lib.sh
vmm_prereqs
check "button.ko in the image" test -f /lib/modules/button.ko
check "evdev.ko in the image" test -f /lib/modules/evdev.ko
vmm_setup_vf
VMM_MODS="button evdev" vmm_initramfs /tmp/inner-acpi.cpio
STOCK="console=ttyS0"

# 1. Stock command line, the VF, ping, poweroff -f.
t0=$(now_ms)
timeout 200 /usr/bin/iovm --kernel "$VMM_KERNEL" --initrd /tmp/inner-acpi.cpio --mem 256M -v \
	--cmdline "$STOCK pf6=$pf6 pings=3 end=poweroff" --vfio "$vf" < /dev/null > /tmp/iovm-acpi.out 2>&1 && rc=0 || rc=$?
cp /tmp/iovm-acpi.out "$RIG_BLOBS/iovm-acpi.out"
tr -d '\r' < /tmp/iovm-acpi.out | grep -E '^INNER:|^iovm|ACPI: (RSDP|XSDT|FACP|DSDT|APIC|MCFG)|ECAM|reduced|Power Button|ttyS0 at|smp: Brought' || true	# shown for the log; the checks below decide
log "stock command line with the VF: $(( $(now_ms) - t0 )) ms, exit status $rc"
o() { tr -d '\r' < /tmp/iovm-acpi.out | grep -q "$1"; }
check "the guest reached init" o "INNER: init up"
check "no acpi=off on the command line" sh -c "! grep -q 'Command line:.*acpi=off' /tmp/iovm-acpi.out"
check "RSDP found at 0xe0000" o "ACPI: RSDP 0x00000000000E0000"
check "the guest lists FACP, APIC, MCFG, DSDT" o "INNER: acpi tables: .*APIC.*DSDT.*FACP.*MCFG"
check "ECAM from the MCFG in use (reserved by the DSDT's PNP0C02)" o "ECAM \[mem 0xfeb00000-0xfebfffff\] reserved as ACPI motherboard resource"
check "the VF's config space is 4 KiB (extended, through ECAM)" o "INNER: config sizes: .*0000:00:01.0=4096"
check "igbvf bound" o "INNER: igbvf bound: igbvf"
check "ping6 through the VF" o "INNER: ping6 ok"
check "poweroff through the ACPI sleep register" o "guest power-off (ACPI S5)"
expect_eq "iovm exit status (poweroff -f)" "$rc" 0
check "iovm released /dev/vfio/$grp" sh -c "exec 9</dev/vfio/$grp"

# 2. Two vCPUs from the MADT (no VF), poweroff -f.
timeout 200 /usr/bin/iovm --kernel "$VMM_KERNEL" --initrd /tmp/inner-acpi.cpio --mem 256M --cpus 2 \
	--cmdline "$STOCK end=poweroff" < /dev/null > /tmp/iovm-acpi2.out 2>&1 && rc=0 || rc=$?
cp /tmp/iovm-acpi2.out "$RIG_BLOBS/iovm-acpi2.out"
tr -d '\r' < /tmp/iovm-acpi2.out | grep -E '^INNER:|^iovm|smp: Brought|ACPI: Using' || true	# shown for the log; the checks below decide
check "two CPUs brought up from the MADT" sh -c "tr -d '\r' < /tmp/iovm-acpi2.out | grep -q 'smp: Brought up 1 node, 2 CPUs'"
expect_eq "iovm exit status (2 vCPUs, poweroff -f)" "$rc" 0

# until_init FILE: ms from now until FILE shows the guest's init (polled every 0.1 s).
until_init() {
	_t=$(now_ms)
	_i=0
	while ! grep -q "INNER: init up" "$1" && [ $_i -lt 3000 ]; do sleep 0.1; _i=$((_i + 1)); done
	echo $(( $(now_ms) - _t ))
}

# 3. SIGTERM: the power button; the guest's init powers off; iovm exits 0.
timeout 300 /usr/bin/iovm --kernel "$VMM_KERNEL" --initrd /tmp/inner-acpi.cpio --mem 256M -v \
	--stop-timeout 120 --cmdline "$STOCK mods=button,evdev powerbtn=1 hold=240" \
	< /dev/null > /tmp/iovm-btn.out 2>&1 &
ipid=$!
t_acpi=$(until_init /tmp/iovm-btn.out)
i=0
while ! grep -q "INNER: listening on\|INNER: FAIL no Power Button" /tmp/iovm-btn.out && [ $i -lt 1500 ]; do
	sleep 0.2; i=$((i + 1))
done
t0=$(now_ms)
vp=$(pidof iovm) || fail "no iovm running for the SIGTERM"
kill -TERM "$vp"
wait $ipid && rc=0 || rc=$?
t=$(( $(now_ms) - t0 ))
cp /tmp/iovm-btn.out "$RIG_BLOBS/iovm-btn.out"
tr -d '\r' < /tmp/iovm-btn.out | grep -E '^INNER:|^iovm|Power Button|reboot: Power down' || true	# shown for the log; the checks below decide
log "SIGTERM to exit: $t ms"
check "the guest listened on the power button" grep -q "INNER: listening on /dev/input/event" /tmp/iovm-btn.out
check "iovm pressed the power button" grep -q "pressed the guest's ACPI power button" /tmp/iovm-btn.out
check "the guest saw the button" grep -q "INNER: power button pressed" /tmp/iovm-btn.out
check "poweroff through the ACPI sleep register" grep -q "guest power-off (ACPI S5)" /tmp/iovm-btn.out
expect_eq "iovm exit status (SIGTERM, the guest powered off)" "$rc" 0

# 4. SIGTERM to a guest without ACPI (the old command line): iovm types Ctrl-Alt-Del on the
# i8042's keyboard; this init leaves the kernel's default (C_A_D on: an immediate restart),
# so the guest reboots, and iovm ends with 3 (never restarted after a request).
timeout 300 /usr/bin/iovm --kernel "$VMM_KERNEL" --initrd /tmp/inner-acpi.cpio --mem 256M -v \
	--stop-timeout 120 --on-reboot restart --cmdline "$VMM_CMDLINE hold=240" \
	< /dev/null > /tmp/iovm-cad.out 2>&1 &
ipid=$!
t_old=$(until_init /tmp/iovm-cad.out)
log "launch to the guest's init (1 vCPU, 256 MiB, no VF, one run each): ACPI and the stock command line $t_acpi ms, the old command line (acpi=off) $t_old ms"
i=0
while ! grep -q "INNER: alive" /tmp/iovm-cad.out && [ $i -lt 1500 ]; do sleep 0.2; i=$((i + 1)); done
vp=$(pidof iovm) || fail "no iovm running for the SIGTERM"
kill -TERM "$vp"
wait $ipid && rc=0 || rc=$?
cp /tmp/iovm-cad.out "$RIG_BLOBS/iovm-cad.out"
tr -d '\r' < /tmp/iovm-cad.out | grep -E '^iovm|AT Translated|reboot|Restarting' || true	# shown for the log; the checks below decide
check "the guest's keyboard (atkbd) bound" grep -q "input: AT Translated Set 2 keyboard" /tmp/iovm-cad.out
check "iovm typed Ctrl-Alt-Del" grep -q "typed Ctrl-Alt-Del" /tmp/iovm-cad.out
expect_eq "iovm exit status (SIGTERM, acpi=off: Ctrl-Alt-Del, reboot not restarted)" "$rc" 3
