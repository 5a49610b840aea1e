# The main job, on the test host, as a user does it (runs in the guest as the step "demo",
# with lib.sh loaded): the example host config (docs/examples/iovd.json: a PF by netdev, 4
# VFs, a pool, a guest) applied by iovd; a guest started with `iovctl vm start` on a pooled
# VF, booting a stock kernel from a virtio-blk root disk with the ordinary command line
# (console=ttyS0 root=/dev/vda, ACPI; no acpi=off); traffic through the VF; `iovctl verify`
# and `iovctl vm list`; `iovctl vm stop` (no --force): the ACPI power button, the guest's
# init shuts down cleanly and writes a marker on its disk (checked in the image afterwards),
# the VF back in its pool, reset. Then the same iovm started by hand on the same VF, for the
# launch time, ended by SIGTERM (the power button again). Last, the example config as
# written (only the PF's netdev is this host's; no admin group here): iovd started on it
# applies it and autostarts its guest "web" (/boot/vmlinuz, web.cpio, web.ext4 under
# /var/lib/iovd/images), which boots from its disk and powers off cleanly on `vm stop`.
# Host side: tests/rig/demo.sh. Exit 0 iff every stage worked.
# rig-timeout: 600

. /rig/scenarios/vmm_lib.sh

say() { echo; echo "== $*"; }
# Milliseconds since boot (busybox date has no %N).
now_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }
# wait_for FILE PATTERN SECONDS: until FILE has PATTERN (CRs dropped); prints the ms it took.
wait_for() {
	_t=$(now_ms)
	_i=0
	while ! tr -d '\r' < "$1" 2>/dev/null | grep -q "$2"; do
		_i=$((_i + 1)); [ $_i -gt $(($3 * 10)) ] && return 1
		sleep 0.1
	done
	echo $(( $(now_ms) - _t ))
}

say "test host: $(uname -r), preset $RIG_PRESET"
[ -x "$IOVCTL" ] || fail "iovctl is not in the image (make, then make rig-demo)"
"$IOVCTL" list || fail "iovctl list failed"

pf=$(pf_list | head -n1)
[ -n "$pf" ] || fail "no SR-IOV PF"
pfnet=$(ls "$SYSPCI/$pf/net" | head -n1)
$IP link set "$pfnet" up
# igb takes a VF rate only with the link up: wait for the carrier (about 2 s under TCG).
i=0
while [ "$(cat /sys/class/net/$pfnet/carrier 2>/dev/null)" != 1 ] && [ $i -lt 100 ]; do
	sleep 0.1; i=$((i + 1))
done

say "the host config: docs/examples/iovd.json, its PF matched by this host's netdev $pfnet"
[ -f /rig/iovd-example.json ] || fail "docs/examples/iovd.json is not in the image"
mkdir -p /etc/iovd
# This host's names: the PF's netdev; no admin group (the image has none); the example's guest is left
# to the config (not autostarted here: the demo starts its own from the CLI).
sed -e "s/\"netdev\": \"[^\"]*\"/\"netdev\": \"$pfnet\"/" -e '/"admin_group"/d' \
	-e 's/"autostart": true/"autostart": false/' /rig/iovd-example.json > /etc/iovd/iovd.json
cat /etc/iovd/iovd.json
mkdir -p /run/iovd
/usr/bin/iovd -v --no-apply --pidfile /run/iovd/demo.pid > /tmp/iovd.log 2>&1 || { cat /tmp/iovd.log; fail "iovd did not start"; }
say "iovctl plan"
"$IOVCTL" plan || fail "iovctl plan"
say "iovctl apply"
"$IOVCTL" apply || { tail -n 20 /tmp/iovd.log; fail "iovctl apply"; }
"$IOVCTL" list vfs || fail "iovctl list vfs"

# The guests' root disk (tests/rig/disk/init as /sbin/init) and the initramfs that mounts it
# (virtio_blk, ext4; button and evdev for the power button; igbvf for the VF).
vmm_disk_initramfs /tmp/disk-demo.cpio button evdev igbvf > /dev/null
cp /rig/disk/root.ext4 /tmp/demo.ext4
i=0; pf6=""
while [ -z "$pf6" ] && [ $i -lt 50 ]; do
	pf6=$($IP -6 addr show dev "$pfnet" scope link 2>/dev/null | awk '/inet6 fe80/ && !/tentative/ { sub(/\/.*/, "", $2); print $2; exit }')
	[ -n "$pf6" ] || sleep 0.2
	i=$((i + 1))
done
[ -n "$pf6" ] || fail "$pfnet has no link-local address"
CMD="console=ttyS0 root=/dev/vda rw pf6=$pf6"

# stop_marker LOG IMAGE: the guest's clean shutdown: the marker it said it wrote is in the
# disk image now (the guest synced it before powering off). Prints the marker.
stop_marker() {
	_m=$(tr -d '\r' < "$1" | sed -n 's/^INNER: shutdown marker //p' | tail -n1)
	[ -n "$_m" ] || return 1
	grep -a -q "$_m" "$2" || return 1
	echo "$_m"
}

say "iovctl vm start demo --nic tenants --disk /tmp/demo.ext4 (a VF from the pool, MAC from the registry; root on the disk, the stock command line)"
log=/var/lib/iovd/guests/demo.log
rm -f "$log"
t0=$(now_ms)
"$IOVCTL" vm start demo --kernel "$VMM_KERNEL" --initrd /tmp/disk-demo.cpio --disk /tmp/demo.ext4 \
	--mem 256M --cmdline "$CMD" --nic tenants || { tail -n 20 /tmp/iovd.log; fail "iovctl vm start"; }
ms=$(wait_for "$log" "INNER: initramfs up" 180) || { tail -n 30 "$log"; fail "the guest never reached its initramfs"; }
t_iovd=$(( $(now_ms) - t0 ))
echo "vm start to the guest's initramfs: $t_iovd ms"
wait_for "$log" "INNER: up: waiting for the power button" 180 > /dev/null || { tail -n 30 "$log"; fail "the guest did not come up from its disk"; }
"$IOVCTL" vm log demo | tr -d '\r' | grep -E "^INNER: |Command line:|ACPI: (RSDP|FACP)|virtio_blk|EXT4-fs \(vda\)"
tr -d '\r' < "$log" | grep -q "Command line:.*acpi=off" && fail "acpi=off on the guest's command line"
tr -d '\r' < "$log" | grep -q "INNER: root on /dev/[a-z]* ext4 rw" || fail "the guest's root is not the ext4 disk"
tr -d '\r' < "$log" | grep -q "INNER: ping6 ok" || fail "no traffic through the VF"
"$IOVCTL" --json vm show demo > /tmp/demo.json
vf=$(j /tmp/demo.json .guest.nics[0].vf)
mac=$(j /tmp/demo.json .guest.nics[0].mac)
gmac=$(tr -d '\r' < "$log" | sed -n 's/^INNER: mac //p' | head -n1)
[ "$mac" = "$gmac" ] || fail "the guest's MAC $gmac is not the recorded $mac"
echo "guest's VF $vf, its MAC $gmac = the one iovd recorded"

say "iovctl verify $vf"
"$IOVCTL" verify "$vf" || fail "iovctl verify says $vf is not isolated"
say "iovctl vm list"
"$IOVCTL" vm list
say "iovctl vm show demo"
"$IOVCTL" vm show demo

say "iovctl vm stop demo: the guest shuts down cleanly (ACPI power button), the VF is reset and back in its pool"
t0=$(now_ms)
"$IOVCTL" --json vm stop demo > /tmp/demo-stop.json || { cat /tmp/demo-stop.json; fail "iovctl vm stop"; }
t_stop=$(( $(now_ms) - t0 ))
why=$(j /tmp/demo-stop.json .guest.last_exit)
echo "vm stop: $t_stop ms, $why"
case $why in "exit status 0:"*) ;; *) tail -n 20 "$log"; fail "the guest did not power off by itself ($why)" ;; esac
tr -d '\r' < "$log" | grep -E "^INNER: (power button|root remounted|shutdown marker)|^iovm: .*(SIGTERM|power-off)"
m_demo=$(stop_marker "$log" /tmp/demo.ext4) || fail "no shutdown marker of the guest in its disk image"
echo "on the disk: $m_demo"
grep -q "$vf reset and returned to pool tenants" /tmp/iovd.log || { tail -n 20 /tmp/iovd.log; fail "$vf did not go back to the pool"; }
grep "$vf reset and returned" /tmp/iovd.log
"$IOVCTL" vm list
"$IOVCTL" show "$vf" | head -n 8

say "the same iovm by hand on $vf (root opens, iovm --user drops), for the launch time; SIGTERM presses the power button"
ulimit -l unlimited
t0=$(now_ms)
/usr/bin/iovm --user iovm --vfio "$vf" --kernel "$VMM_KERNEL" --initrd /tmp/disk-demo.cpio \
	--disk /tmp/demo.ext4 --mem 256M --cpus 1 --cmdline "$CMD" --stats < /dev/null > /tmp/byhand.log 2>&1 &
hp=$!
wait_for /tmp/byhand.log "INNER: initramfs up" 180 > /dev/null || { tail -n 30 /tmp/byhand.log; fail "by hand: no initramfs"; }
t_hand=$(( $(now_ms) - t0 ))
wait_for /tmp/byhand.log "INNER: up: waiting for the power button" 180 > /dev/null || { tail -n 30 /tmp/byhand.log; fail "by hand: not up"; }
kill -TERM $hp
wait $hp && rc=0 || rc=$?
[ "$rc" = 0 ] || { tail -n 20 /tmp/byhand.log; fail "by hand: iovm exit status $rc after SIGTERM (want 0: the guest powered off)"; }
m_hand=$(stop_marker /tmp/byhand.log /tmp/demo.ext4) || fail "by hand: no shutdown marker in the image"
echo "by hand, launch to the guest's initramfs: $t_hand ms; SIGTERM: powered off cleanly ($m_hand)"
echo "iovctl vm start / by hand: $(awk -v a=$t_iovd -v b=$t_hand 'BEGIN { printf "%.2f", a / b }')"

say "docs/examples/iovd.json as written: iovd applies it and autostarts its guest web (root on web.ext4)"
kill "$(cat /run/iovd/demo.pid)"
i=0
while [ -f /run/iovd/demo.pid ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ -f /run/iovd/demo.pid ] && fail "iovd did not exit on SIGTERM"
mkdir -p /var/lib/iovd/images
cp /tmp/disk-demo.cpio /var/lib/iovd/images/web.cpio
cp /rig/disk/root.ext4 /var/lib/iovd/images/web.ext4
[ -f /boot/vmlinuz ] || fail "no /boot/vmlinuz in the test host (the example's kernel)"
sed -e "s/\"netdev\": \"[^\"]*\"/\"netdev\": \"$pfnet\"/" -e '/"admin_group"/d' /rig/iovd-example.json > /etc/iovd/iovd.json
diff /rig/iovd-example.json /etc/iovd/iovd.json || true	# the differences, shown (diff exits 1)
wlog=/var/lib/iovd/guests/web.log
rm -f "$wlog"
t0=$(now_ms)
/usr/bin/iovd -v --pidfile /run/iovd/demo.pid >> /tmp/iovd.log 2>&1 || { tail -n 20 /tmp/iovd.log; fail "iovd did not start on the example config"; }
# The daemon's parent returns once it listens; the autostart follows the apply at start.
wait_for /tmp/iovd.log "guest web started\|guest web (autostart" 60 > /dev/null || { tail -n 20 /tmp/iovd.log; fail "iovd did not try to autostart web"; }
grep "guest web started" /tmp/iovd.log || { tail -n 20 /tmp/iovd.log; fail "iovd did not autostart web"; }
wait_for "$wlog" "INNER: up: waiting for the power button" 180 > /dev/null || { tail -n 30 "$wlog"; fail "web did not come up from its disk"; }
echo "iovd start to web up: $(( $(now_ms) - t0 )) ms"
"$IOVCTL" vm show web
"$IOVCTL" --json vm show web > /tmp/web.json
[ "$(j /tmp/web.json .guest.nics[0].mac)" = 02:1e:00:00:01:01 ] || fail "web's MAC is not the example's 02:1e:00:00:01:01"
tr -d '\r' < "$wlog" | grep -q "INNER: mac 02:1e:00:00:01:01" || fail "web's guest does not see the MAC 02:1e:00:00:01:01"
t0=$(now_ms)
"$IOVCTL" --json vm stop web > /tmp/web-stop.json || { cat /tmp/web-stop.json; fail "iovctl vm stop web"; }
why=$(j /tmp/web-stop.json .guest.last_exit)
echo "vm stop web: $(( $(now_ms) - t0 )) ms, $why"
case $why in "exit status 0:"*) ;; *) tail -n 20 "$wlog"; fail "web did not power off by itself ($why)" ;; esac
m_web=$(stop_marker "$wlog" /var/lib/iovd/images/web.ext4) || fail "no shutdown marker in web.ext4"
echo "on web.ext4: $m_web"
say "verdict: a guest got VF $vf from pool tenants with its recorded MAC $mac, booted from its virtio-blk disk with the stock command line (console=ttyS0 root=/dev/vda), passed traffic, was verified isolated, and \`vm stop\` shut it down cleanly (marker on its disk, ${t_stop} ms) with its VF back reset; the example config's guest web booted and powered off as written (vm start to initramfs $t_iovd ms, by hand $t_hand ms)"
