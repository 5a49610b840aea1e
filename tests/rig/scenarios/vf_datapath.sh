# The VF data path (issue 13 item 4; run by `make bench-datapath`, not by the suite): the same
# transfers from an iovm guest through its VF and from the test host itself through another VF
# of the same PF, both to the PF's IPv6 link-local address: a ping6 series and a bulk TCP
# transfer (busybox dd | nc into nc -l on the PF side). The host-side VF is moved into its own
# network namespace so that its packets really leave through the VF (in one namespace the
# kernel would deliver them to the PF's local address over loopback); the PF's rx_bytes must
# grow by the transfer both times. Also: iovm's exits to userspace during the guest's transfer
# (its marks 0x34/0x35; goal: no I/O and no MMIO exit), the test host's KVM statistics for the
# guest over the same window, and the guest's VF interrupts (MSI-X, delivered by KVM irqfd).
# Prints "FIGURE name value unit" lines. Everything here is emulated (igb under QEMU TCG,
# the guest under nested KVM on TCG): absolute figures are emulation-bound, the ratio less so.
# rig-presets: default
# rig-on-demand

. /rig/scenarios/vmm_lib.sh
vmm_prereqs
vmm_setup_vf
MIB=${DATAPATH_MIB:-16}
PINGS=${DATAPATH_PINGS:-20}
PORT=5201
BYTES=$((MIB * 1048576))

pf_rx() { cat "/sys/class/net/$pfnet/statistics/rx_bytes"; }
# rtt_avg FILE: the avg of busybox ping6's "round-trip min/avg/max = a/b/c ms"
rtt_avg() { sed -n 's#.*min/avg/max = [0-9.]*/\([0-9.]*\)/.*#\1#p' "$1"; }
# listen NAME: nc on the PF side; for the one connection it runs a script that counts what
# arrives and notes the test host's uptime at accept and at the sender's FIN: the transfer time
# is measured the same way, at the receiver, for both senders. /tmp/NAME.rx: "bytes t0 t1".
listen() {
	rm -f "/tmp/$1.rx"
	cat > "/tmp/$1.count" <<EOF
#!/bin/sh
a=\$(cut -d' ' -f1 /proc/uptime)
n=\$(wc -c)
b=\$(cut -d' ' -f1 /proc/uptime)
echo "\$n \$a \$b" > /tmp/$1.rx.t
mv /tmp/$1.rx.t /tmp/$1.rx
EOF
	chmod 755 "/tmp/$1.count"
	nc -l -p $PORT -e "/tmp/$1.count" &
	sleep 0.3
}
# wait_rx NAME: waits for the receiver; prints "bytes ms"
wait_rx() {
	_i=0
	while [ ! -s "/tmp/$1.rx" ] && [ $_i -lt 300 ]; do sleep 0.1; _i=$((_i + 1)); done
	[ -s "/tmp/$1.rx" ] && awk '{ printf "%d %d\n", $1, ($3 - $2) * 1000 + 0.5 }' "/tmp/$1.rx"
}

# ---------------------------------------------------------------- the test host, VF 1
_i=0
while [ -z "$(ls "$SYSPCI/$vf2/net" 2>/dev/null)" ] && [ $_i -lt 50 ]; do sleep 0.1; _i=$((_i + 1)); done
vf2net=$(ls "$SYSPCI/$vf2/net" 2>/dev/null | head -n1)
[ -n "$vf2net" ] || fail "VF $vf2 has no netdev on igbvf"
unshare -n sleep 900 &
nspid=$!
sleep 0.3
inns() { nsenter -t "$nspid" -n "$@"; }
$IP link set "$vf2net" netns "$nspid" || fail "moving $vf2net into a network namespace"
inns $IP link set lo up
inns $IP link set "$vf2net" up
_i=0
while ! inns $IP -6 addr show dev "$vf2net" scope link | grep -q 'inet6 fe80' ||
	inns $IP -6 addr show dev "$vf2net" | grep -q tentative; do
	[ $_i -lt 100 ] || fail "$vf2net (namespace) has no usable link-local address"
	sleep 0.1
	_i=$((_i + 1))
done
log "host side: VF $vf2 ($vf2net) in netns of pid $nspid"
inns ping6 -c 2 -W 2 -I "$vf2net" "$pf6" > /dev/null 2>&1 || true	# neighbour discovery

inns ping6 -c "$PINGS" -i 0.2 -W 2 -I "$vf2net" "$pf6" > /tmp/host.ping 2>&1 ||
	{ cat /tmp/host.ping; fail "host ping6 through $vf2net"; }
cat /tmp/host.ping | tail -n 2
host_rtt=$(rtt_avg /tmp/host.ping)
[ -n "$host_rtt" ] || fail "host ping6 through $vf2net gave no round-trip summary"

listen host
rx0=$(pf_rx)
vftx0=$(inns cat /proc/net/dev | awk -v d="$vf2net:" '$1 == d { print $10 }')
dd if=/dev/zero bs=64k count=$((MIB * 16)) 2>/dev/null | inns nc "$pf6%$vf2net" $PORT ||
	fail "host transfer through $vf2net (nc)"
set -- $(wait_rx host) 0 0
host_rx=$1 host_ms=$2
rx1=$(pf_rx)
vftx1=$(inns cat /proc/net/dev | awk -v d="$vf2net:" '$1 == d { print $10 }')
expect_eq "host: bytes received on the PF side" "$host_rx" "$BYTES"
check "host: the VF sent the transfer (tx_bytes +$((vftx1 - vftx0)))" test $((vftx1 - vftx0)) -ge "$BYTES"
check "host: the PF received it (rx_bytes +$((rx1 - rx0)))" test $((rx1 - rx0)) -ge "$BYTES"
[ "$host_ms" -gt 0 ] || host_ms=10

# ---------------------------------------------------------------- the iovm guest, VF 0
w=/tmp/dp
rm -rf "$w"
mkdir -p "$w/bin" "$w/dev" "$w/proc" "$w/sys" "$w/tmp"
cp /bin/busybox "$w/bin/busybox"
ln -s busybox "$w/bin/sh"
cp /lib/modules/igbvf.ko "$w/" || fail "no igbvf.ko in the test host"
cat > "$w/init" <<'INIT'
#!/bin/sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mark() { printf "$1" | dd of=/dev/port bs=1 seek=1281 count=1 2>/dev/null; }
say() { echo "INNER: $*"; }
arg() { for w in $(cat /proc/cmdline); do case "$w" in "$1="*) echo "${w#*=}";; esac; done; }
irqs() { awk '/eth0/ { for (i = 2; i <= NF; i++) if ($i ~ /^[0-9]+$/) s += $i; else break } END { print s + 0 }' /proc/interrupts; }
mark 1
say "init up"
pf6=$(arg pf6)
insmod /igbvf.ko || say "FAIL insmod igbvf"
i=0
while [ ! -d /sys/class/net/eth0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
ip link set eth0 up
i=0
while [ "$(cat /sys/class/net/eth0/carrier 2>/dev/null)" != 1 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
i=0
while ip -6 addr show dev eth0 | grep -q tentative && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
ping6 -c 2 -W 2 -I eth0 "$pf6" > /dev/null 2>&1
mark 2
ping6 -c "$(arg pings)" -i 0.2 -W 2 -I eth0 "$pf6" > /tmp/ping.out 2>&1 && say "ping6 ok" || say "ping6 FAIL"
mark 3
tail -n 2 /tmp/ping.out | while read -r l; do say "| $l"; done
say "xfer start irqs $(irqs)"
mark 4
dd if=/dev/zero bs=64k count=$(( $(arg mib) * 16 )) 2>/dev/null | nc "$pf6%eth0" "$(arg port)" && rc=0 || rc=$?
# nc ends when its last write is in the socket: wait until the PF has acknowledged everything
# (no connection to the port left in ESTABLISHED, FIN_WAIT1 or CLOSING) so the exit window
# covers the whole transfer.
hp=$(printf ':%04X' "$(arg port)")
i=0
while awk -v p="$hp" '$3 ~ p "$" && ($4 == "01" || $4 == "04" || $4 == "0B") { f = 1 } END { exit !f }' /proc/net/tcp6 && [ $i -lt 200 ]; do
	sleep 0.05
	i=$((i + 1))
done
mark 5
say "xfer end rc $rc irqs $(irqs)"
printf '\0' | dd of=/dev/port bs=1 seek=1281 count=1 2>/dev/null
INIT
chmod 755 "$w/init"
(cd "$w" && find . | cpio -o -H newc 2>/dev/null) > /tmp/dp.cpio
check "guest initramfs built" test -s /tmp/dp.cpio

listen guest
rx0=$(pf_rx)
/usr/bin/iovm --kernel "$VMM_KERNEL" --initrd /tmp/dp.cpio --mem 256M --stats \
	--cmdline "$VMM_CMDLINE quiet pf6=$pf6 pings=$PINGS mib=$MIB port=$PORT" \
	--vfio "$vf" < /dev/null > /tmp/dp.out 2>&1 &
ipid=$!
# The test host's KVM statistics for this VM at the guest's "xfer start" and "xfer end" lines.
kst() {
	_d=$(ls -d /sys/kernel/debug/kvm/$ipid-* 2>/dev/null | head -n1)
	[ -n "$_d" ] && echo "$(cat "$_d/exits") $(cat "$_d/io_exits") $(cat "$_d/mmio_exits") $(cat "$_d/halt_exits") $(cat "$_d/irq_injections" 2>/dev/null || echo -)"
	return 0
}
k0="" k1="" _i=0
while kill -0 $ipid 2>/dev/null && [ $_i -lt 3000 ]; do
	[ -z "$k0" ] && grep -q "^INNER: xfer start" /tmp/dp.out && k0=$(kst)
	[ -z "$k1" ] && grep -q "^INNER: xfer end" /tmp/dp.out && { k1=$(kst); break; }
	sleep 0.05
	_i=$((_i + 1))
done
_i=0
while kill -0 $ipid 2>/dev/null && [ $_i -lt 200 ]; do sleep 0.1; _i=$((_i + 1)); done
kill $ipid 2>/dev/null || true	# powered off by itself already
wait $ipid && rc=0 || rc=$?
set -- $(wait_rx guest) 0 0
guest_rx=$1 guest_ms=$2
rx1=$(pf_rx)
kill $nspid
cp /tmp/dp.out "$RIG_BLOBS/iovm-datapath.out"
grep -E '^INNER:|^iovm|^  ' /tmp/dp.out || true
expect_eq "iovm exit status (guest powered off)" "$rc" 0
check "guest ping6 through its VF" grep -q "INNER: ping6 ok" /tmp/dp.out
expect_eq "guest: bytes received on the PF side" "$guest_rx" "$BYTES"
check "guest: the PF received it (rx_bytes +$((rx1 - rx0)))" test $((rx1 - rx0)) -ge "$BYTES"

m() { sed -n "s/^iovm: guest mark $1 at \([0-9.]*\) ms, exits so far: io \([0-9]*\) mmio \([0-9]*\)/\1 \2 \3/p" /tmp/dp.out; }
set -- $(m 0x34); x0_ms=${1:-} x0_io=${2:-0} x0_mmio=${3:-0}
set -- $(m 0x35); x1_ms=${1:-} x1_io=${2:-0} x1_mmio=${3:-0}
[ -n "$x0_ms" ] && [ -n "$x1_ms" ] || fail "marks 0x34/0x35 missing in iovm --stats"
[ "$guest_ms" -gt 0 ] || guest_ms=10
guest_rtt=$(sed -n 's#^INNER: | .*min/avg/max = [0-9.]*/\([0-9.]*\)/.*#\1#p' /tmp/dp.out)
[ -n "$guest_rtt" ] || fail "guest ping6 gave no round-trip summary"
set -- $(sed -n 's/^INNER: xfer start irqs \([0-9]*\).*/\1/p' /tmp/dp.out) \
	$(sed -n 's/^INNER: xfer end rc [0-9]* irqs \([0-9]*\).*/\1/p' /tmp/dp.out)
guest_irqs=$(( ${2:-0} - ${1:-0} ))
# The diff counts the write of mark 0x35 itself (one I/O exit): not part of the transfer.
xio=$((x1_io - x0_io - 1))
xmmio=$((x1_mmio - x0_mmio))

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
mibps() { awk -v ms="$1" -v m="$MIB" 'BEGIN { if (ms > 0) printf "%.2f", m * 1000 / ms; else print "-" }'; }
echo "FIGURE datapath_tcp_mib $MIB MiB"
echo "FIGURE datapath_xfer_window_ms $(awk -v a="$x0_ms" -v b="$x1_ms" 'BEGIN { printf "%d", b - a }') ms (guest marks 0x34-0x35: the window the exits are counted in)"
echo "FIGURE datapath_tcp_host_ms $host_ms ms ($(mibps $host_ms) MiB/s)"
echo "FIGURE datapath_tcp_guest_ms $guest_ms ms ($(mibps $guest_ms) MiB/s)"
echo "FIGURE datapath_tcp_ratio $(ratio $guest_ms $host_ms) x (guest time / host time)"
echo "FIGURE datapath_ping_count $PINGS pings"
echo "FIGURE datapath_ping_host_avg_ms $host_rtt ms"
echo "FIGURE datapath_ping_guest_avg_ms $guest_rtt ms"
echo "FIGURE datapath_ping_ratio $(ratio $guest_rtt $host_rtt) x (guest rtt / host rtt)"
echo "FIGURE datapath_xfer_exits_io $xio exits (iovm, during the guest's transfer)"
echo "FIGURE datapath_xfer_exits_mmio $xmmio exits (iovm, during the guest's transfer)"
echo "FIGURE datapath_xfer_guest_vf_irqs $guest_irqs interrupts (guest eth0 MSI-X)"
if [ -n "$k0" ] && [ -n "$k1" ]; then
	set -- $k0 $k1
	echo "FIGURE datapath_xfer_kvm_exits $(($6 - $1)) exits (test host KVM, all reasons, incl. in-kernel)"
	echo "FIGURE datapath_xfer_kvm_io_exits $(($7 - $2)) exits"
	echo "FIGURE datapath_xfer_kvm_mmio_exits $(($8 - $3)) exits"
	echo "FIGURE datapath_xfer_kvm_halt_exits $(($9 - $4)) exits"
	[ "$5" = - ] || [ "${10}" = - ] || echo "FIGURE datapath_xfer_kvm_irq_injections $((${10} - $5)) injections"
else
	log "no KVM debugfs statistics for pid $ipid (k0='$k0' k1='$k1')"
fi
check "no MMIO exit to iovm during the transfer" test "$xmmio" -eq 0
check "no I/O exit to iovm during the transfer" test "$xio" -eq 0
