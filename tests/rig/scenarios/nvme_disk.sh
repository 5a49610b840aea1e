# NVMe VFs as guests' disks (issue 18): a pool of NVMe VFs in the config (VF 0 of the nvme
# preset's drive, 2 queues and 1 interrupt, namespace 1: a file in the outer QEMU, so data
# stays). A guest started with `iovctl vm start --disk nvme:POOL` gets the VF by VFIO from
# iovm, its nvme driver finds the controller and namespace, it writes 1 MiB of random data
# with a checksum and powers off; the VF is reset and back in its pool (on_release keep). The
# pool then says "on_release": "format" (reload): a second guest on the same VF reads the
# same checksum back, and on its end iovd formats namespace 1 through the PF (attach to the
# primary controller, Format NVM, detach); a third guest finds zeroes. `vm show` shows the
# disk's VF and namespace.
# rig-presets: nvme
# rig-timeout: 420

. /rig/scenarios/nvme_lib.sh
. /rig/scenarios/vmm_lib.sh
vmm_prereqs
for _m in nvme-auth nvme-core nvme; do
	check "$_m module file (for the inner guest)" test -f "/lib/modules/$_m.ko"
done

GSTATE=$STATE
fail_context() {
	for _g in w1 r1 r2; do
		[ -f "$GSTATE/guests/$_g.log" ] || continue
		echo "--- guest $_g:"; tr -d '\r' < "$GSTATE/guests/$_g.log" | grep -v '^\[' | tail -n 20
	done
	if [ -s "$IOVD_LOG" ]; then echo "--- last lines of $IOVD_LOG:"; tail -n 30 "$IOVD_LOG"; fi
}

# The inner guest: busybox and the nvme driver; step=write|read on its command line.
W=/tmp/nvdinit
rm -rf "$W"
mkdir -p "$W/bin" "$W/dev" "$W/proc" "$W/sys" "$W/tmp"
cp /bin/busybox "$W/bin/busybox"
ln -s busybox "$W/bin/sh"
for _m in nvme-auth nvme-core nvme; do cp "/lib/modules/$_m.ko" "$W/"; done
cat > "$W/init" <<'INIT'
#!/bin/sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
say() { echo "INNER: $*"; echo "INNER: $*" > /dev/kmsg; }
off() { printf '\0' | dd of=/dev/port bs=1 seek=1281 count=1 2>/dev/null; sleep 5; }
arg() { for w in $(cat /proc/cmdline); do case "$w" in "$1="*) echo "${w#*=}";; esac; done; }
say "init up"
for m in nvme-auth nvme-core nvme; do insmod "/$m.ko" || say "insmod $m failed"; done
i=0
while [ ! -b /dev/nvme0n1 ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
say "pci $(cat /sys/bus/pci/devices/*/vendor /sys/bus/pci/devices/*/device | tr '\n' ' ')"
if [ ! -b /dev/nvme0n1 ]; then
	say "no namespace: $(ls /sys/block | tr '\n' ' ')"
	off
fi
say "namespace nvme0n1 size $(cat /sys/block/nvme0n1/size) ctrl $(cat /sys/class/nvme/nvme0/cntlid)"
say "queues $(dmesg | grep -o '[0-9]*/[0-9]*/[0-9]* default/read/poll queues' | head -n1)"
case "$(arg step)" in
write)
	dd if=/dev/urandom of=/tmp/data bs=65536 count=16 2>/dev/null
	sum=$(md5sum < /tmp/data | cut -d' ' -f1)
	if dd if=/tmp/data of=/dev/nvme0n1 bs=65536 count=16 conv=fsync 2>/dev/null; then
		say "written $sum"
	else
		say "write FAILED"
	fi
	;;
read)
	sum=$(dd if=/dev/nvme0n1 bs=65536 count=16 2>/dev/null | md5sum | cut -d' ' -f1)
	zero=$(dd if=/dev/zero bs=65536 count=16 2>/dev/null | md5sum | cut -d' ' -f1)
	[ "$sum" = "$zero" ] && say "read $sum (zeroes)" || say "read $sum"
	;;
esac
off
INIT
chmod 755 "$W/init"
(cd "$W" && find . | cpio -o -H newc 2>/dev/null) > /tmp/nvd.cpio
check "inner initramfs built" test -s /tmp/nvd.cpio

# pool_cfg ON_RELEASE: the drive's VF 0 with namespace 1 on vfio-pci, in pool "disks".
pool_cfg() {
	cat > "$CFG" <<J
{ "pfs": [ { "name": "store", "match": { "address": "$PF" }, "num_vfs": 1,
             "defaults": { "queues": 2, "interrupts": 1, "driver": "vfio-pci" },
             "vfs": { "0": { "namespace": 1 } } } ],
  "pools": [ { "name": "disks", "vfs": ["store/vf0"], "on_release": "$1" } ] }
J
}

glog() { tr -d '\r' < "$GSTATE/guests/$1.log" 2>/dev/null; }
# guest NAME STEP: starts it on a VF of pool disks, waits for it to end (it powers off) and
# for iovd to have returned the VF; its INNER lines are printed.
guest() {
	t0=$(now_ms)
	run_ctl /tmp/g.out vm start "$1" --kernel "$VMM_KERNEL" --initrd /tmp/nvd.cpio --mem 256M \
		--disk nvme:disks --cmdline "$VMM_CMDLINE step=$2"
	expect_eq "vm start $1 (step $2)" "$rc" 0
	"$IOVCTL" --json vm show "$1" > /tmp/g.json || fail "vm show $1"
	expect_eq "$1: vm show --json: its disk's VF" "$(j /tmp/g.json '.guest.disks[0].vf')" "$VF0"
	expect_eq "$1: vm show --json: namespace" "$(j /tmp/g.json '.guest.disks[0].namespace')" 1
	_i=0
	while :; do
		"$IOVCTL" --json vm show "$1" > /tmp/g.json 2>/dev/null || fail "vm show $1"
		[ "$(j /tmp/g.json .guest.state)" = running ] || break
		_i=$((_i + 1))
		[ $_i -gt 1200 ] && fail "guest $1 still running after 240 s"
		sleep 0.2
	done
	log "figure: guest $1 ($2): $(( $(now_ms) - t0 )) ms from vm start to its end"
	glog "$1" > "/tmp/glog-$1.txt"
	grep '^INNER:' "/tmp/glog-$1.txt" || true	# printed for the log; checked below
	expect_eq "$1 ended" "$(j /tmp/g.json .guest.state)" stopped
	check "$1: the VF went back to pool disks" grep -q "$VF0 reset and returned to pool disks (guest $1)" "$IOVD_LOG"
}

nvme_reset
pool_cfg keep
start_nvme_iovd
VF0=$(link_name "$SYSPCI/$PF/virtfn0")
expect_eq "vf0 ($VF0) on vfio-pci" "$(dev_driver "$VF0")" vfio-pci
expect_eq "controller 1 online" "$(sec 1 SCS)" 1
expect_eq "namespace 1 attached to controller 1" "$(attached 1 1)" 1

# 1. w1 writes; its end (pool "keep") leaves the data.
run_ctl /tmp/g.out vm start x --kernel "$VMM_KERNEL" --initrd /tmp/nvd.cpio --disk nvme:nosuch
expect_ne "vm start with an unknown pool: exit" "$rc" 0
check "it names the pool" grep -q "no pool named 'nosuch'" /tmp/g.out
guest w1 write
check "w1: the guest's nvme driver found the VF (1b36:0010)" grep -q 'INNER: pci .*0x1b36.*0x0010' /tmp/glog-w1.txt
check "w1: controller 1 with namespace 1 (64 MiB)" grep -q 'INNER: namespace nvme0n1 size 131072 ctrl 1$' /tmp/glog-w1.txt
check "w1: one I/O queue (2 VQ: admin + 1)" grep -q 'INNER: queues 1/0/0 default/read/poll queues' /tmp/glog-w1.txt
sum1=$(sed -n 's/^INNER: written \([0-9a-f]*\).*/\1/p' /tmp/glog-w1.txt | head -n1)
check "w1 wrote 1 MiB with a checksum" test -n "$sum1"
check "no format on w1's end (on_release keep)" sh -c "! grep -q 'namespace 1 formatted' '$IOVD_LOG'"

# 2. The pool now says "format" (reload). r1 on the same VF reads w1's data back (it was
# kept); r1's end formats namespace 1 through the PF; r2 reads zeroes.
pool_cfg format
run_ctl /tmp/r.out reload
expect_eq "reload with on_release format" "$rc" 0
guest r1 read
check "r1 read back what w1 wrote ($sum1)" grep -q "^INNER: read $sum1\$" /tmp/glog-r1.txt
check "iovd formatted namespace 1 through the PF on r1's end" grep -q "$VF0: namespace 1 formatted (User Data Erase) through $PF" "$IOVD_LOG"
expect_eq "namespace 1 not left on the primary controller (0)" "$(attached 1 0)" 0
expect_eq "namespace 1 still on controller 1" "$(attached 1 1)" 1
guest r2 read
check "r2 finds the namespace wiped" grep -q '^INNER: read .* (zeroes)' /tmp/glog-r2.txt
check "r2 does not find w1's data" sh -c "! grep -q '^INNER: read $sum1' /tmp/glog-r2.txt"
run_ctl /tmp/l.out list
check "VF back, not quarantined" sh -c "! grep -qi quarantin /tmp/l.out"
stop_iovd
nvme_reset
