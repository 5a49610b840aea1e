# The VF data path (issue 13 item 4; run by `make bench-datapath`, not by the suite): the same
# transfers from an iovm guest through its VF and from the test host itself through another VF
# of the same PF, both to the PF's IPv6 link-local address: a ping6 series and a bulk TCP
# transfer (busybox dd | nc into nc -l on the PF side). The host-side VF is moved into its own
# network namespace so that its packets really leave through the VF (in one namespace the
# kernel would deliver them to the PF's local address over loopback); the PF's rx_bytes must
# grow by the transfer every time. Also: iovm's exits to userspace during the guest's transfers
# (its marks 0x34/0x35; goal: no I/O and no MMIO exit), the test host's KVM statistics for the
# guest over the same windows, and the guest's VF interrupts (MSI-X, delivered by KVM irqfd).
# ROUNDS rounds (DATAPATH_ROUNDS, default 5), each one sample per side, who goes first
# alternating (each ROUND line says): the guest stays up between its samples and starts each
# one when the test host connects to it (a "go" through its VF). Each ratio is the median of
# the per-round guest/host ratios (the lower middle one for an even count), as in the other
# benches; the medians of each side are printed for reference only.
# Prints "ROUND ..." and "FIGURE name value unit" lines. Everything here is emulated (igb
# under QEMU TCG, the guest under nested KVM on TCG): absolute figures are emulation-bound,
# the ratio less so.
# rig-presets: default
# rig-on-demand
# rig-timeout: 900

. /rig/scenarios/vmm_lib.sh
vmm_prereqs
vmm_setup_vf
MIB=${DATAPATH_MIB:-8}
PINGS=${DATAPATH_PINGS:-20}
ROUNDS=${DATAPATH_ROUNDS:-5}
PORT=5201
GOPORT=5202
BYTES=$((MIB * 1048576))

pf_rx() { cat "/sys/class/net/$pfnet/statistics/rx_bytes"; }
# rtt_avg FILE: the avg of busybox ping6's "round-trip min/avg/max = a/b/c ms"
rtt_avg() { sed -n 's#.*min/avg/max = [0-9.]*/\([0-9.]*\)/.*#\1#p' "$1"; }
# listening PORT: something listens on TCP PORT (/proc/net/tcp6 or tcp, state 0A).
listening() {
	cat /proc/net/tcp6 /proc/net/tcp 2>/dev/null |
		awk -v p="$(printf ':%04X' "$1")" '$2 ~ p "$" && $4 == "0A" { f = 1 } END { exit !f }'
}
# listen NAME: nc on the PF side; for the one connection it runs a script that counts what
# arrives and notes the test host's uptime at accept and at the sender's FIN: the transfer time
# is measured the same way, at the receiver, for both senders. /tmp/NAME.rx: "bytes t0 t1".
# Returns once nc listens (5 s at most, then fails).
listen() {
	rm -f "/tmp/$1.rx"
	{
		echo '#!/bin/sh'
		echo 'a=$(cut -d" " -f1 /proc/uptime)'
		echo 'n=$(wc -c)'
		echo 'b=$(cut -d" " -f1 /proc/uptime)'
		echo "echo \"\$n \$a \$b\" > /tmp/$1.rx.t"
		echo "mv /tmp/$1.rx.t /tmp/$1.rx"
	} > "/tmp/$1.count"
	chmod 755 "/tmp/$1.count"
	nc -l -p $PORT -e "/tmp/$1.count" < /dev/null > /dev/null 2>&1 &
	_i=0
	until listening $PORT; do
		_i=$((_i + 1)); [ $_i -le 50 ] || fail "nc -l -p $PORT not listening within 5 s"
		sleep 0.1
	done
}
# wait_rx NAME: waits (60 s at most) for the receiver; prints "bytes ms" (nothing: no result)
wait_rx() {
	_i=0
	while [ ! -s "/tmp/$1.rx" ] && [ $_i -lt 600 ]; do sleep 0.1; _i=$((_i + 1)); done
	[ -s "/tmp/$1.rx" ] && awk '{ printf "%d %d\n", $1, ($3 - $2) * 1000 + 0.5 }' "/tmp/$1.rx"
	return 0
}

# ---------------------------------------------------------------- the test host's side, VF 1
_i=0
while [ -z "$(ls "$SYSPCI/$vf2/net" 2>/dev/null)" ]; do
	_i=$((_i + 1)); [ $_i -le 50 ] || fail "VF $vf2 has no netdev on igbvf 5 s after its creation"
	sleep 0.1
done
vf2net=$(ls "$SYSPCI/$vf2/net" 2>/dev/null | head -n1)
unshare -n sleep 900 &
nspid=$!
# unshare has made its network namespace once its /proc/PID/ns/net differs from ours.
_i=0
while [ "$(readlink "/proc/$nspid/ns/net")" = "$(readlink /proc/self/ns/net)" ]; do
	_i=$((_i + 1)); [ $_i -le 50 ] || fail "unshare -n: no network namespace within 5 s"
	sleep 0.1
done
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
inns ping6 -c 2 -W 2 -I "$vf2net" "$pf6" > /dev/null 2>&1 || true	# neighbour discovery; the series below is checked

# ---------------------------------------------------------------- the iovm guest, VF 0
# Its init sets up eth0 and says its link-local address, then runs ROUNDS samples, each when
# the test host connects to its port GOPORT: a ping6 series, then the transfer between
# marks 0x34 and 0x35. It powers off at the test host's last connection ("done"), so the VM's
# KVM statistics are still there when the last round's are read.
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
while [ "$(cat /sys/class/net/eth0/carrier 2>/dev/null)" != 1 ] && [ $i -lt 150 ]; do sleep 0.1; i=$((i+1)); done
i=0
while { ! ip -6 addr show dev eth0 | grep -q 'inet6 fe80' || ip -6 addr show dev eth0 | grep -q tentative; } &&
      [ $i -lt 150 ]; do sleep 0.1; i=$((i+1)); done
ping6 -c 2 -W 2 -I eth0 "$pf6" > /dev/null 2>&1
say "addr $(ip -6 addr show dev eth0 | awk '/inet6 fe80/ { sub(/\/.*/, "", $2); print $2; exit }')"
mark 2
hp=$(printf ':%04X' "$(arg port)")
r=0
while [ $r -lt "$(arg rounds)" ]; do
	r=$((r + 1))
	nc -l -p "$(arg goport)" < /dev/null > /dev/null 2>&1	# the test host's "go"
	ping6 -c "$(arg pings)" -i 0.2 -W 2 -I eth0 "$pf6" > /tmp/ping.out 2>&1 && say "round $r ping6 ok" || say "round $r ping6 FAIL"
	say "round $r rtt $(sed -n 's#.*min/avg/max = [0-9.]*/\([0-9.]*\)/.*#\1#p' /tmp/ping.out)"
	say "round $r xfer start irqs $(irqs)"
	mark 4
	dd if=/dev/zero bs=64k count=$(( $(arg mib) * 16 )) 2>/dev/null | nc "$pf6%eth0" "$(arg port)" && rc=0 || rc=$?
	# nc ends when its last write is in the socket: wait until the PF has acknowledged
	# everything (no connection to the port left in ESTABLISHED, FIN_WAIT1 or CLOSING) so
	# the exit window covers the whole transfer.
	i=0
	while awk -v p="$hp" '$3 ~ p "$" && ($4 == "01" || $4 == "04" || $4 == "0B") { f = 1 } END { exit !f }' /proc/net/tcp6 && [ $i -lt 200 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	mark 5
	say "round $r xfer end rc $rc irqs $(irqs)"
done
nc -l -p "$(arg goport)" < /dev/null > /dev/null 2>&1	# "done": the test host has read its statistics
printf '\0' | dd of=/dev/port bs=1 seek=1281 count=1 2>/dev/null
INIT
chmod 755 "$w/init"
(cd "$w" && find . | cpio -o -H newc 2>/dev/null) > /tmp/dp.cpio
check "guest initramfs built" test -s /tmp/dp.cpio

/usr/bin/iovm --kernel "$VMM_KERNEL" --initrd /tmp/dp.cpio --mem 256M --stats \
	--cmdline "$VMM_CMDLINE quiet pf6=$pf6 pings=$PINGS mib=$MIB port=$PORT goport=$GOPORT rounds=$ROUNDS" \
	--vfio "$vf" < /dev/null > /tmp/dp.out 2>&1 &
ipid=$!
# until_out PATTERN SECONDS: waits for a line of the guest's console; fails when iovm ended
# or after SECONDS.
until_out() {
	_i=0
	until grep -q "$1" /tmp/dp.out; do
		kill -0 $ipid 2>/dev/null || { tail -n 30 /tmp/dp.out; fail "iovm ended before the guest said '$1'"; }
		_i=$((_i + 1)); [ $_i -le $(($2 * 20)) ] || { tail -n 30 /tmp/dp.out; fail "the guest did not say '$1' within $2 s"; }
		sleep 0.05
	done
}
until_out "^INNER: addr fe80" 300
g6=$(sed -n 's/^INNER: addr \(fe80[0-9a-f:]*\).*/\1/p' /tmp/dp.out | head -n1)
log "guest side: VF $vf, the guest at $g6"
# The test host's KVM statistics for this VM: "exits io mmio halt injections" ("- - - - -"
# when any of them cannot be read).
kst() {
	_d=$(ls -d /sys/kernel/debug/kvm/$ipid-* 2>/dev/null | head -n1)
	_s=""
	for _f in exits io_exits mmio_exits halt_exits irq_injections; do
		_v=$(cat "$_d/$_f" 2>/dev/null) || _v=""
		case "$_v" in ''|*[!0-9]*) echo "- - - - -"; return 0 ;; esac
		_s="$_s${_s:+ }$_v"
	done
	echo "$_s"
}
# send_go WHAT: connects to the guest's GOPORT (it listens between its samples; 5 s to start).
send_go() {
	_i=0
	until echo go | nc "$g6%$pfnet" $GOPORT > /dev/null 2>&1; do
		_i=$((_i + 1)); [ $_i -le 25 ] || fail "$1: the guest does not accept on $g6 port $GOPORT"
		sleep 0.2
	done
}

# ---------------------------------------------------------------- the samples
# /tmp/dp.rounds: "round side tcp_ms rtt_ms [vf_irqs kvm_exits kvm_io kvm_mmio kvm_halt kvm_inj]"
: > /tmp/dp.rounds
host_sample() { # ROUND
	inns ping6 -c "$PINGS" -i 0.2 -W 2 -I "$vf2net" "$pf6" > /tmp/host.ping 2>&1 ||
		{ cat /tmp/host.ping; fail "round $1: host ping6 through $vf2net"; }
	_rtt=$(rtt_avg /tmp/host.ping)
	[ -n "$_rtt" ] || fail "round $1: host ping6 through $vf2net gave no round-trip summary"
	listen host
	_rx0=$(pf_rx)
	_tx0=$(inns cat /proc/net/dev | awk -v d="$vf2net:" '$1 == d { print $10 }')
	dd if=/dev/zero bs=64k count=$((MIB * 16)) 2>/dev/null | inns nc "$pf6%$vf2net" $PORT ||
		fail "round $1: host transfer through $vf2net (nc)"
	_got=$(wait_rx host)
	_rx1=$(pf_rx)
	_tx1=$(inns cat /proc/net/dev | awk -v d="$vf2net:" '$1 == d { print $10 }')
	[ -n "$_got" ] || fail "round $1: host: the receiver on the PF side got no connection or no end within 60 s"
	expect_eq "round $1: host: bytes received on the PF side" "${_got% *}" "$BYTES"
	check "round $1: host: the VF sent the transfer (tx_bytes +$((_tx1 - _tx0)))" test $((_tx1 - _tx0)) -ge "$BYTES"
	check "round $1: host: the PF received it (rx_bytes +$((_rx1 - _rx0)))" test $((_rx1 - _rx0)) -ge "$BYTES"
	_ms=${_got#* }; [ "$_ms" -gt 0 ] || _ms=1
	echo "ROUND $1 host tcp_ms $_ms rtt_ms $_rtt$([ "$first" = host ] && echo " (first this round)" || true)"
	echo "$1 host $_ms $_rtt" >> /tmp/dp.rounds
}
guest_sample() { # ROUND
	listen guest
	_rx0=$(pf_rx)
	send_go "round $1"
	until_out "^INNER: round $1 xfer start" 120
	_k0=$(kst)
	until_out "^INNER: round $1 xfer end" 600
	_k1=$(kst)
	_got=$(wait_rx guest)
	_rx1=$(pf_rx)
	check "round $1: guest ping6 through its VF" grep -q "^INNER: round $1 ping6 ok" /tmp/dp.out
	[ -n "$_got" ] || fail "round $1: guest: the receiver on the PF side got no connection or no end within 60 s"
	expect_eq "round $1: guest: bytes received on the PF side" "${_got% *}" "$BYTES"
	check "round $1: guest: the PF received it (rx_bytes +$((_rx1 - _rx0)))" test $((_rx1 - _rx0)) -ge "$BYTES"
	_rtt=$(sed -n "s/^INNER: round $1 rtt \([0-9.]*\).*/\1/p" /tmp/dp.out)
	[ -n "$_rtt" ] || fail "round $1: the guest's ping6 gave no round-trip summary"
	_irq0=$(sed -n "s/^INNER: round $1 xfer start irqs \([0-9]*\).*/\1/p" /tmp/dp.out)
	_irq1=$(sed -n "s/^INNER: round $1 xfer end rc [0-9]* irqs \([0-9]*\).*/\1/p" /tmp/dp.out)
	_kd=$(echo "$_k0 $_k1" | awk '{ for (i = 1; i <= 5; i++) printf "%s%s", (i > 1 ? " " : ""), ($i == "-" || $(i + 5) == "-") ? "-" : $(i + 5) - $i }')
	_ms=${_got#* }; [ "$_ms" -gt 0 ] || _ms=1
	echo "ROUND $1 guest tcp_ms $_ms rtt_ms $_rtt vf_irqs $((_irq1 - _irq0)) kvm_exits/io/mmio/halt/inj $_kd$([ "$first" = guest ] && echo " (first this round)" || true)"
	echo "$1 guest $_ms $_rtt $((_irq1 - _irq0)) $_kd" >> /tmp/dp.rounds
}
r=0
while [ $r -lt "$ROUNDS" ]; do
	r=$((r + 1))
	# The order flips every round, so a trend in the machine's load falls on both sides.
	first=host; [ $((r % 2)) = 1 ] || first=guest
	echo "ROUND $r first $first"
	if [ $first = host ]; then host_sample $r; guest_sample $r; else guest_sample $r; host_sample $r; fi
done
# The guest powers off once told so (20 s at most).
send_go "the end"
_i=0
while kill -0 $ipid 2>/dev/null && [ $_i -lt 200 ]; do sleep 0.1; _i=$((_i + 1)); done
kill $ipid 2>/dev/null || true	# powered off by itself already (its exit status is checked below)
wait $ipid && rc=0 || rc=$?
kill $nspid
cp /tmp/dp.out "$RIG_BLOBS/iovm-datapath.out"
cp /tmp/dp.rounds "$RIG_BLOBS/datapath-rounds.txt"
grep -E '^INNER:|^iovm|^  ' /tmp/dp.out || true
expect_eq "iovm exit status (guest powered off)" "$rc" 0

# iovm's exits to userspace between each round's marks 0x34 and 0x35 (the K-th 0x34 with
# the K-th 0x35; the write of 0x35 itself is one I/O exit, not part of the transfer).
sed -n 's/^iovm: guest mark \(0x3[45]\) at \([0-9.]*\) ms, exits so far: io \([0-9]*\) mmio \([0-9]*\)/\1 \2 \3 \4/p' \
	/tmp/dp.out > /tmp/dp.marks
expect_eq "marks 0x34 in iovm --stats" "$(grep -c '^0x34 ' /tmp/dp.marks || true)" "$ROUNDS"
expect_eq "marks 0x35 in iovm --stats" "$(grep -c '^0x35 ' /tmp/dp.marks || true)" "$ROUNDS"
awk '$1 == "0x34" { n++; a[n] = $2; io[n] = $3; mm[n] = $4 }
	$1 == "0x35" { m++; print "win", $2 - a[m]; xio += $3 - io[m] - 1; xmm += $4 - mm[m] }
	END { print "io", xio + 0; print "mmio", xmm + 0 }' /tmp/dp.marks > /tmp/dp.exits
xio=$(awk '$1 == "io" { print $2 }' /tmp/dp.exits)
xmmio=$(awk '$1 == "mmio" { print $2 }' /tmp/dp.exits)
xwin=$(awk '$1 == "win" { print $2 }' /tmp/dp.exits | sort -n | awk '{ a[NR] = $1 } END { if (NR) printf "%d", a[int((NR + 1) / 2)]; else print "-" }')

# Medians one way everywhere (as vmm_vs_qemu and guest_launch_bench): the lower middle value;
# each ratio is the median of the per-round guest/host ratios, the sides' medians are for
# reference.
med() { awk -v s="$1" -v c="$2" '$2 == s && NF >= c && $c != "-" { print $c }' /tmp/dp.rounds | sort -n |
	awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)]; else print "-" }'; }
ratio_med() { awk -v c="$1" '{ v[$1 " " $2] = $c; r[$1] = 1 }
	END { for (k in r) if (v[k " host"] > 0) print v[k " guest"] / v[k " host"] }' /tmp/dp.rounds | sort -n |
	awk '{ a[NR] = $1 } END { if (NR) printf "%.2f", a[int((NR + 1) / 2)]; else print "-" }'; }
mibps() { awk -v ms="$1" -v m="$MIB" 'BEGIN { if (ms > 0) printf "%.2f", m * 1000 / ms; else print "-" }'; }
expect_eq "samples on each side (host guest)" "$(grep -c ' host ' /tmp/dp.rounds || true) $(grep -c ' guest ' /tmp/dp.rounds || true)" "$ROUNDS $ROUNDS"
th=$(med host 3) tg=$(med guest 3)
echo "FIGURE datapath_rounds $ROUNDS rounds (one sample a side each, who goes first alternating)"
echo "FIGURE datapath_tcp_mib $MIB MiB"
echo "FIGURE datapath_xfer_window_ms $xwin ms (median over the rounds of the guest's marks 0x34-0x35: the window the exits are counted in)"
echo "FIGURE datapath_tcp_host_ms $th ms ($(mibps "$th") MiB/s) median of $ROUNDS, for reference"
echo "FIGURE datapath_tcp_guest_ms $tg ms ($(mibps "$tg") MiB/s) median of $ROUNDS, for reference"
echo "FIGURE datapath_tcp_ratio $(ratio_med 3) x (median of $ROUNDS per-round ratios guest time / host time)"
echo "FIGURE datapath_ping_count $PINGS pings a round"
echo "FIGURE datapath_ping_host_avg_ms $(med host 4) ms (median of $ROUNDS, for reference)"
echo "FIGURE datapath_ping_guest_avg_ms $(med guest 4) ms (median of $ROUNDS, for reference)"
echo "FIGURE datapath_ping_ratio $(ratio_med 4) x (median of $ROUNDS per-round ratios guest rtt / host rtt)"
echo "FIGURE datapath_xfer_exits_io $xio exits (iovm, during the guest's $ROUNDS transfers)"
echo "FIGURE datapath_xfer_exits_mmio $xmmio exits (iovm, during the guest's $ROUNDS transfers)"
echo "FIGURE datapath_xfer_guest_vf_irqs $(med guest 5) interrupts (guest eth0 MSI-X, median of $ROUNDS transfers)"
if [ "$(med guest 6)" != - ]; then
	echo "FIGURE datapath_xfer_kvm_exits $(med guest 6) exits (test host KVM, all reasons, incl. in-kernel; median of $ROUNDS transfers)"
	echo "FIGURE datapath_xfer_kvm_io_exits $(med guest 7) exits (median of $ROUNDS transfers)"
	echo "FIGURE datapath_xfer_kvm_mmio_exits $(med guest 8) exits (median of $ROUNDS transfers)"
	echo "FIGURE datapath_xfer_kvm_halt_exits $(med guest 9) exits (median of $ROUNDS transfers)"
	[ "$(med guest 10)" = - ] || echo "FIGURE datapath_xfer_kvm_irq_injections $(med guest 10) injections (median of $ROUNDS transfers)"
else
	log "no KVM debugfs statistics for pid $ipid"
fi
check "no MMIO exit to iovm during the transfers" test "$xmmio" -eq 0
check "no I/O exit to iovm during the transfers" test "$xio" -eq 0
