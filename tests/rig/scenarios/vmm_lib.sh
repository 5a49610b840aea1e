# Helpers shared by the vmm_* scenarios (sourced; not a scenario: no rig-presets line).
# Needs /rig/lib.sh (sourced by the runner before any scenario).

VMM_KERNEL=""
for _k in /boot/vmlinuz /rig/vmlinuz; do [ -f "$_k" ] && VMM_KERNEL=$_k && break; done

# vmm_prereqs: what iovm needs in the test host.
vmm_prereqs() {
	[ -n "$VMM_KERNEL" ] || fail "no kernel for the inner guest in the test-host image (tests/rig/image.sh copies vmlinuz to /boot/vmlinuz)"
	check "iovm in the image" test -x /usr/bin/iovm
	check "/dev/kvm" test -c /dev/kvm
	check "igbvf module file" test -f /lib/modules/igbvf.ko
}

# vmm_setup_vf: PF up, 2 VFs, VF 0 on vfio-pci. Sets pf pfnet vf grp pf6, and vf2 (VF 1,
# still on igbvf).
vmm_setup_vf() {
	pf=$(pf_list | head -n1)
	[ -n "$pf" ] || fail "no SR-IOV PF"
	pfnet=$(ls "$SYSPCI/$pf/net" 2>/dev/null | head -n1)
	[ -n "$pfnet" ] || fail "PF $pf has no netdev"
	$IP link set "$pfnet" up || fail "ip link set $pfnet up"
	create_vfs "$pf" 2
	vf=$(vf_addrs "$pf" | head -n1)
	vf2=$(vf_addrs "$pf" | sed -n 2p)
	bind_vfio "$vf"
	expect_eq "$vf driver" "$(dev_driver "$vf")" vfio-pci
	grp=$(dev_group "$vf")
	check "/dev/vfio/$grp" test -c "/dev/vfio/$grp"
	_i=0
	pf6=""
	while [ -z "$pf6" ] && [ $_i -lt 50 ]; do
		pf6=$($IP -6 addr show dev "$pfnet" scope link 2>/dev/null | awk '/inet6 fe80/ && !/tentative/ { sub(/\/.*/, "", $2); print $2; exit }')
		[ -n "$pf6" ] || sleep 0.2
		_i=$((_i + 1))
	done
	[ -n "$pf6" ] || fail "$pfnet has no usable link-local address"
	log "PF $pf ($pfnet) $pf6; VF $vf in group $grp"
}

# vmm_initramfs FILE [MODULE]: busybox + a NIC driver (default igbvf) + a test init. The init
# reads from its command line mod=NAME and modargs=ARG (the driver and one parameter),
# pf6=ADDR (ping target; none: no ping), pings=N (default 5), attack=1 (move the TX ring
# outside RAM), boots=K (count boots in CMOS byte 0x40; power off on the K-th, else reboot),
# hold=N (stay up N s before rebooting), canary=1 (with hold: check 1 MiB of its RAM every
# 2 s), mods=A,B (more modules to load first: copied from the test host when VMM_MODS names
# them), powerbtn=1 (power off with `poweroff -f` when the ACPI power button is pressed: the
# first event from the "Power Button" input device; needs mods=button,evdev), end=poweroff
# (`poweroff -f` at the end instead of `reboot -f`), rest=N (without pf6: N s up before
# rebooting, default 2), diag=1|2 (report uptime, interrupts and boot messages: see the end
# of the init). It says eth0's MAC, the ACPI tables it
# found and each PCI function's config space size (4096: extended config space reached,
# through ECAM). It writes iovm
# marks: 0x31 at init start, 0x32 before the pings, 0x33 after.
vmm_initramfs() {
	_w=/tmp/inner
	rm -rf "$_w"
	mkdir -p "$_w/bin" "$_w/dev" "$_w/proc" "$_w/sys" "$_w/tmp"
	cp /bin/busybox "$_w/bin/busybox"
	ln -s busybox "$_w/bin/sh"
	cp "/lib/modules/${2:-igbvf}.ko" "$_w/" || fail "no module ${2:-igbvf}.ko in the test host"
	for _m in ${VMM_MODS:-}; do
		cp "/lib/modules/$_m.ko" "$_w/" || fail "no module $_m.ko in the test host"
	done
	cat > "$_w/init" <<'INIT'
#!/bin/sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mark() { printf "$1" | dd of=/dev/port bs=1 seek=1281 count=1 2>/dev/null; }
mark 1
# Progress also goes to the kernel log (printed by polling, independent of the tty).
say() { echo "INNER: $*"; echo "INNER: $*" > /dev/kmsg; }
say "init up"
say "pci $(cat /sys/bus/pci/devices/*/vendor /sys/bus/pci/devices/*/device | tr '\n' ' ')"
arg() { for w in $(cat /proc/cmdline); do case "$w" in "$1="*) echo "${w#*=}";; esac; done; }
# diag=1: the guest's uptime and interrupts at /init, reported before it reboots.
diag=$(arg diag | tail -n 1)	# the last one given
[ -n "$diag" ] && cat /proc/uptime > /tmp/up.init && cat /proc/interrupts > /tmp/irq.init
for m in $(arg mods | tr , ' '); do insmod "/$m.ko" || say "FAIL insmod $m"; done
say "acpi tables: $(ls /sys/firmware/acpi/tables 2>/dev/null | tr '\n' ' ')"
say "config sizes: $(for d in /sys/bus/pci/devices/*; do printf '%s=%s ' "${d##*/}" "$(stat -c %s "$d/config")"; done)"
if [ "$(arg powerbtn)" = 1 ]; then
	for e in /sys/class/input/event*; do
		[ "$(cat "$e/device/name" 2>/dev/null)" = "Power Button" ] && pwrb=/dev/input/${e##*/}
	done
	if [ -n "$pwrb" ]; then
		say "listening on $pwrb (Power Button)"
		( dd if="$pwrb" of=/dev/null bs=24 count=1 2>/dev/null
		  say "power button pressed: poweroff -f"; sync; poweroff -f ) &
	else
		say "FAIL no Power Button input device"
	fi
fi
pf6=$(arg pf6)
pings=$(arg pings)
[ -n "$pings" ] || pings=5
mod=$(arg mod)
[ -n "$mod" ] || mod=igbvf
insmod "/$mod.ko" $(arg modargs) || say "FAIL insmod $mod"
i=0
while [ ! -d /sys/class/net/eth0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
dev=$(ls -d /sys/bus/pci/devices/*/net/eth0 2>/dev/null | head -n1)
[ -n "$dev" ] && say "$mod bound: $(basename $(readlink ${dev%/net/eth0}/driver))"
say "mac $(cat /sys/class/net/eth0/address 2>/dev/null)"
ip link set eth0 up
# Carrier, then IPv6 DAD on the link-local address. With pf6 (a ping follows): a link-local
# address past DAD, 15 s at most each (a nested guest on a loaded machine is slow); a wait
# that runs out is said, and the ping fails. Without: 5 s at most each.
lim=50
[ -n "$pf6" ] && lim=150
i=0
while [ "$(cat /sys/class/net/eth0/carrier 2>/dev/null)" != 1 ] && [ $i -lt $lim ]; do sleep 0.1; i=$((i+1)); done
[ -z "$pf6" ] || [ $i -lt $lim ] || say "no carrier on eth0 15 s after link up"
i=0
if [ -n "$pf6" ]; then
	while { ! ip -6 addr show dev eth0 | grep -q 'inet6 fe80' || ip -6 addr show dev eth0 | grep -q tentative; } &&
	      [ $i -lt $lim ]; do sleep 0.1; i=$((i+1)); done
	[ $i -lt $lim ] || say "no usable link-local address on eth0 15 s after link up"
else
	while ip -6 addr show dev eth0 | grep -q tentative && [ $i -lt $lim ]; do sleep 0.1; i=$((i+1)); done
fi
grep -E 'eth0' /proc/interrupts | while read -r l; do say "irq $l"; done
mark 2
if [ -z "$pf6" ]; then
	rest=$(arg rest)
	sleep "${rest:-2}"
elif ping6 -c "$pings" -i 0.2 -W 2 -I eth0 "$pf6" > /tmp/ping.out 2>&1; then
	say "ping6 ok"
else
	say "ping6 FAIL"
fi
mark 3
# hp=1: hot-plugged NICs (iovctl vm attach/detach): every netdev but eth0 that appears is
# said with its MAC and PCI address, brought up and pings pf6 (hp add/hp ping), one that
# goes is said (hp gone), in the background while the rest runs.
if [ "$(arg hp)" = 1 ]; then
	say "hp slots: $(ls /sys/bus/pci/slots 2>/dev/null | tr '\n' ' ')"
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat $d/class)" = 0x060400 ] || continue
		say "hp port ${d##*/}: driver $(basename "$(readlink $d/driver)") irq $(cat $d/irq) services $(ls $d | grep -E '^0000:.*:pcie' | tr '\n' ' ')"
	done
	grep -iE "pcie|hotplug" /proc/interrupts | while read -r l; do say "hp irq $l"; done
	( known=" eth0 " na=0 ng=0
	  # Each event is said with its number (the console may cut or repeat a line).
	  while :; do
		now=" "
		for d in /sys/class/net/eth*; do
			[ -e "$d" ] || continue
			n=${d##*/}; now="$now$n "
			case "$known" in *" $n "*) continue;; esac
			na=$((na + 1))
			say "hp add #$na $n mac $(cat $d/address) pci $(basename $(readlink $d/device)) driver $(basename $(readlink $d/device/driver))"
			ip link set "$n" up
			i=0
			while [ "$(cat $d/carrier 2>/dev/null)" != 1 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
			i=0
			while ip -6 addr show dev "$n" | grep -q tentative && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
			if [ -n "$pf6" ] && ping6 -c 2 -i 0.2 -W 2 -I "$n" "$pf6" > /tmp/hp.out 2>&1; then
				say "hp ping ok #$na $n"
			else
				say "hp ping FAIL #$na $n: $(tail -n 1 /tmp/hp.out 2>/dev/null)"
			fi
		done
		for n in $known; do
			case "$now" in *" $n "*) ;; *) ng=$((ng + 1)); say "hp gone #$ng $n";; esac
		done
		known="$now"
		sleep 0.3
	  done ) &
fi
[ -f /tmp/ping.out ] && tail -n 3 /tmp/ping.out | while read -r l; do say "| $l"; done
grep -E 'eth0' /proc/interrupts | while read -r l; do say "irq-after $l"; done
if [ "$(arg attack)" = 1 ]; then
	# TX ring base at IOVA 0x1_0000_0000 (outside guest RAM), then bump the tail.
	bar0=$(head -n1 "${dev%/net/eth0}/resource" | cut -d' ' -f1)
	b=$((bar0))
	devmem $((b + 0x3800)) 32 0x00000000
	devmem $((b + 0x3804)) 32 0x00000001
	tdt=$(devmem $((b + 0x3818)) 32)
	devmem $((b + 0x3818)) 32 $(( (tdt + 1) % 256 ))
	say "TX ring moved to 0x100000000, TDT $tdt -> $(( (tdt + 1) % 256 ))"
	sleep 1
fi
# hold=N: stay up about N seconds (guests supervised by iovd), saying so every 2 s; with
# canary=1 also checking that a megabyte of random bytes kept in this guest's RAM is intact.
h=$(arg hold)
i=0
[ "$(arg canary)" = 1 ] && [ ! -f /tmp/canary.sum ] && {
	dd if=/dev/urandom of=/tmp/canary bs=65536 count=16 2>/dev/null
	md5sum < /tmp/canary > /tmp/canary.sum
	say "canary set: $(cut -c1-12 /tmp/canary.sum)"
}
while [ -n "$h" ] && [ $i -lt "$h" ]; do
	if [ -f /tmp/canary.sum ]; then
		[ "$(md5sum < /tmp/canary)" = "$(cat /tmp/canary.sum)" ] && say "canary ok" || say "canary BAD"
	fi
	say "alive $i"; sleep 2; i=$((i + 2))
done
if [ -n "$(arg boots)" ]; then
	# boots=K: CMOS byte 0x40 counts boots (CMOS RAM survives iovm's restart in place);
	# the K-th boot powers off through the iovm exit port instead of rebooting.
	printf '\100' | dd of=/dev/port bs=1 seek=112 count=1 2>/dev/null
	n=$(dd if=/dev/port bs=1 skip=113 count=1 2>/dev/null | od -An -tu1 | tr -d ' ')
	n=$((n + 1))
	printf '\100' | dd of=/dev/port bs=1 seek=112 count=1 2>/dev/null
	printf "\\$(printf %o $n)" | dd of=/dev/port bs=1 seek=113 count=1 2>/dev/null
	say "boot $n of $(arg boots)"
	if [ "$n" -ge "$(arg boots)" ]; then
		say "powering off"
		printf '\0' | dd of=/dev/port bs=1 seek=1281 count=1 2>/dev/null
	fi
fi
# diag=1: uptime and /proc/interrupts at /init and now, the clock and timer boot messages;
# diag=2: every boot message but the initcalls under 100 us (with initcall_debug).
if [ -n "$diag" ]; then
	echo "DIAG uptime at init $(cut -d' ' -f1 /tmp/up.init) now $(cut -d' ' -f1 /proc/uptime)"
	sed 's/^/DIAG irq-init /' /tmp/irq.init
	sed 's/^/DIAG irq-end /' /proc/interrupts
	dmesg | awk -v all="$diag" '/ calling  .* @ / { next }
		/ initcall .* returned .* after [0-9]+ usecs/ { if ($(NF - 1) + 0 < 100) next }
		all == 2 || /clocksource|[Tt][Ss][Cc]|[Cc]alibrat|APIC|apic|[Tt]imer|kvm|KVM|HPET|hpet|PIT|Hypervisor|Run \/init|Freeing unused|BogoMIPS|lpj|x2apic|clockevent/ { print "DIAG " $0 }'
fi
if [ "$(arg end)" = poweroff ]; then
	say "powering off (poweroff -f)"
	poweroff -f
fi
say "rebooting"
reboot -f
INIT
	chmod 755 "$_w/init"
	(cd "$_w" && find . | cpio -o -H newc 2>/dev/null) > "$1"
	check "inner initramfs built" test -s "$1"
}

VMM_CMDLINE="console=ttyS0 acpi=off pci=conf1 reboot=k panic=-1 i8042.noaux i8042.nopnp tsc=reliable"

# vmm_disk_initramfs FILE [MODULE...]: the inner initramfs of a guest whose root is on a disk
# (scenario vmm_disk, the demo): busybox, the inner guests' modules (/lib/modules/inner:
# virtio_blk, ext4 and their dependencies), then MODULEs of the test host (button evdev for
# the ACPI power button, igbvf for a VF); it mounts /dev/vda (read-only when the disk is)
# and switches root to it (its /sbin/init: tests/rig/disk/init). It ignores root=: a stock
# command line (console=ttyS0 root=/dev/vda) boots it as it is.
vmm_disk_initramfs() {
	_w=/tmp/diskinit
	_out=$1
	shift
	rm -rf "$_w"
	mkdir -p "$_w/bin" "$_w/dev" "$_w/proc" "$_w/sys" "$_w/newroot" "$_w/lib" "$_w/extra"
	cp /bin/busybox "$_w/bin/busybox"
	ln -s busybox "$_w/bin/sh"
	cp /lib/modules/inner/* "$_w/lib/"
	for _m in "$@"; do
		cp "/lib/modules/$_m.ko" "$_w/extra/" || fail "no module $_m.ko in the test host"
		echo "$_m.ko" >> "$_w/extra/order"
	done
	cat > "$_w/init" <<'INIT'
#!/bin/sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
say() { echo "INNER: $*"; echo "INNER: $*" > /dev/kmsg; }
say "initramfs up"
for m in $(cat /lib/order); do insmod "/lib/$m" 2>/dev/null || say "insmod $m failed"; done
for m in $(cat /extra/order 2>/dev/null); do insmod "/extra/$m" || say "insmod $m failed"; done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
opts=rw
[ "$(cat /sys/block/vda/ro 2>/dev/null)" = 1 ] && opts=ro,noload
if ! mount -t ext4 -o "$opts" /dev/vda /newroot; then
	say "mount /dev/vda ($opts) FAILED"
	printf '\0' | dd of=/dev/port bs=1 seek=1281 count=1 2>/dev/null
fi
say "switching root ($opts)"
umount /proc /sys /dev
exec switch_root /newroot /sbin/init
INIT
	chmod 755 "$_w/init"
	(cd "$_w" && find . | cpio -o -H newc 2>/dev/null) > "$_out"
	check "inner disk initramfs built" test -s "$_out"
}
