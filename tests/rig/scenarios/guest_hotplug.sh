# Issue 22 item 5: VFs attached to and detached from a running guest. A guest started with
# one VF of pool "tenants" gets a second one with `iovctl vm attach`: the inner guest's
# pciehp sees the card in iovm's hot-plug slot, igbvf binds it, it has the MAC iovd
# recorded (vm show, the MAC registry) and pings the PF from its link-local address.
# `iovctl vm detach` presses the slot's attention button: pciehp unbinds igbvf and powers
# the slot off (released), the netdev is gone from the guest, the VF is reset and back in
# the pool (vfio-pci, held by no guest). Then attach/detach cycles (HP_CYCLES, default: as
# many as fit in HP_SECONDS=120 s, at most 20; `make rig-hotplug-soak` runs 20): each
# appears in the guest and goes; iovm's fd count and RSS after the cycles are those after
# the first cycle, and the guest still runs. A NIC given at start is refused by detach
# (it is on bus 0, not in a slot), and an attach with the pool empty says so.
# rig-presets: guests
# rig-timeout: 600

. /rig/scenarios/sriov_lib.sh
. /rig/scenarios/vmm_lib.sh
vmm_prereqs

GSTATE=/tmp/guest-state-hp
fail_context() {
	if [ -f "$GSTATE/guests/h.log" ]; then
		echo "--- guest h, PCIe and hot-plug lines:"
		tr -d '\r' < "$GSTATE/guests/h.log" | grep -iE "pcie|hotplug|slot|01:00|iovm|hp |msi" | grep -v "INNER: alive" | tail -n 60
		echo "--- guest h:"; tail -n 20 "$GSTATE/guests/h.log"
	fi
	if [ -s "$IOVD_LOG" ]; then echo "--- last lines of $IOVD_LOG:"; tail -n 40 "$IOVD_LOG"; fi
}
rm -rf "$GSTATE"
: > "$IOVD_LOG"
PF=$(pf_list | head -n1)
[ -n "$PF" ] || fail "no SR-IOV PF"
pfnet=$(pf_netdev "$PF")
$IP link set "$pfnet" up || fail "ip link set $pfnet up"
cat > /tmp/hp-iovd.json <<EOF
{ "policy": { "mac_prefix": "02:1e:00" },
  "pfs": [ { "name": "uplink", "match": { "address": "$PF" }, "num_vfs": 2,
             "defaults": { "driver": "vfio-pci", "spoofchk": true } } ],
  "pools": [ { "name": "tenants", "vfs": ["uplink#0-1"] } ] }
EOF
start_iovd --state-dir "$GSTATE" --config /tmp/hp-iovd.json
vf0=$(vf_addrs "$PF" | sed -n 1p)
vf1=$(vf_addrs "$PF" | sed -n 2p)
expect_eq "$vf1 driver" "$(dev_driver "$vf1")" vfio-pci
i=0; pf6=""
while [ -z "$pf6" ] && [ $i -lt 50 ]; do
	pf6=$($IP -6 addr show dev "$pfnet" scope link 2>/dev/null | awk '/inet6 fe80/ && !/tentative/ { sub(/\/.*/, "", $2); print $2; exit }')
	[ -n "$pf6" ] || sleep 0.2
	i=$((i + 1))
done
[ -n "$pf6" ] || fail "$pfnet has no usable link-local address"
vmm_initramfs /tmp/inner.cpio

glog() { tr -d '\r' < "$GSTATE/guests/$1.log" 2>/dev/null; }
# hp_count WHAT: the guest's hot-plug events of a kind (add, gone, ping ok), each counted once
# by its number (the console may cut a line or show it twice: stdout and the kernel log).
hp_count() { glog h | grep -o "INNER: hp $1 #[0-9]*" | sort -u | wc -l; }
# wait_log NAME PATTERN SECONDS [COUNT]: PATTERN seen (or, for "hp WHAT", COUNT such events)
wait_log() {
	_i=0
	while case "$2" in
		"INNER: hp "*) [ "$(hp_count "${2#INNER: hp }")" -lt "${4:-1}" ];;
		*) [ "$(glog "$1" | grep -c "$2")" -lt "${4:-1}" ];;
	      esac; do
		_i=$((_i + 1))
		[ $_i -gt $(($3 * 5)) ] && { glog "$1" | tail -n 30; fail "guest $1: no '$2' (#${4:-1}) within $3 s"; }
		sleep 0.2
	done
}
gjson() { "$IOVCTL" --json vm show h > /tmp/h.json 2>&1 || { cat /tmp/h.json; fail "vm show h"; }; }
fds() { ls /proc/$1/fd | wc -l; }
rss() { awk '/^VmRSS:/ { print $2 }' /proc/$1/status; }

run_ctl /tmp/h.out vm start h --kernel "$VMM_KERNEL" --initrd /tmp/inner.cpio --mem 256M \
	--cmdline "$VMM_CMDLINE pf6=$pf6 pings=2 hp=1 hold=900" --nic tenants
expect_eq "vm start h" "$rc" 0
wait_log h "INNER: ping6" 180
check "guest h: ping6 through its first VF" sh -c "tr -d '\r' < $GSTATE/guests/h.log | grep -q 'INNER: ping6 ok'"
gjson
pid=$(j /tmp/h.json .guest.pid)
expect_eq "guest h's first VF" "$(j /tmp/h.json .guest.nics[0].vf)" "$vf0"
check "iovm has hot-plug slots (--hotplug on its command line)" sh -c "tr '\0' ' ' < /proc/$pid/cmdline | grep -q -- '--hotplug 4 --control-fd'"
check "iovm's control socket" test -S "$GSTATE/guests/h.ctl"

# A NIC given at start cannot be detached: said, nothing changes.
run_ctl /tmp/h.out vm detach h 0
expect_eq "detach of the start NIC: exit" "$rc" 1
check "detach of the start NIC: says why" grep -q "was given at start" /tmp/h.out

# 1. Attach: the second VF of the pool, into the running guest.
t0=$(now_ms)
run_ctl /tmp/h.out vm attach h --nic tenants
expect_eq "vm attach h" "$rc" 0
check "attach names the VF and its slot" grep -q "$vf1 attached to guest h in hot-plug slot 1" /tmp/h.out
gjson
expect_eq "vm show: 2 NICs" "$(jcount /tmp/h.json '.guest.nics[]')" 2
expect_eq "vm show: the second is $vf1" "$(j /tmp/h.json .guest.nics[1].vf)" "$vf1"
expect_eq "vm show: hot-plugged" "$(j /tmp/h.json .guest.nics[1].hotplug)" true
mac1=$(j /tmp/h.json .guest.nics[1].mac)
check "its MAC is in the registry" grep -q "\"$mac1\"" "$GSTATE/macs.json"
check "guests.json records it, not as attaching" sh -c "grep -q '$vf1' $GSTATE/guests.json && ! grep -q attaching $GSTATE/guests.json"
wait_log h "INNER: hp add" 120
log "attach to the guest's netdev: $(( $(now_ms) - t0 )) ms"
glog h | grep "INNER: hp"
got=$(glog h | sed -n 's/.*INNER: hp add #1 [a-z0-9]* mac \([0-9a-f:]*\) .*/\1/p' | head -n1)
expect_eq "the new netdev has the recorded MAC" "$got" "$mac1"
check "igbvf drives it" sh -c "tr -d '\r' < $GSTATE/guests/h.log | grep 'INNER: hp add' | head -n1 | grep -q 'driver igbvf'"
wait_log h "INNER: hp ping ok" 60
check "the new NIC passes traffic (ping6 to the PF)" sh -c "tr -d '\r' < $GSTATE/guests/h.log | grep -q 'INNER: hp ping ok'"
check "the guest's pciehp saw the card" sh -c "tr -d '\r' < $GSTATE/guests/h.log | grep -qi 'pciehp.*Card present\|pciehp.*Link Up'"
# The pool is empty now: a third attach says so and changes nothing.
run_ctl /tmp/h.out vm attach h --nic tenants
expect_eq "attach with the pool empty: exit" "$rc" 1
check "attach with the pool empty: says so" grep -q "pool 'tenants' has no free VF" /tmp/h.out

# 2. Detach: the guest releases it on the attention button.
t0=$(now_ms)
run_ctl /tmp/h.out vm detach h "$mac1"
expect_eq "vm detach h" "$rc" 0
check "released by the guest" grep -q "released by the guest" /tmp/h.out
log "detach (button, pciehp's 5 s, release, reset): $(( $(now_ms) - t0 )) ms"
wait_log h "INNER: hp gone" 30
gjson
expect_eq "vm show: 1 NIC again" "$(jcount /tmp/h.json '.guest.nics[]')" 1
expect_eq "$vf1 back on vfio-pci" "$(dev_driver "$vf1")" vfio-pci
check "$vf1 reset and returned to the pool" grep -q "$vf1 reset and returned to pool tenants (guest h)" "$IOVD_LOG"
check "guests.json no longer holds $vf1" sh -c "! grep -q '$vf1' $GSTATE/guests.json"
fd0=$(fds "$pid"); rss0=$(rss "$pid")
log "iovm after one cycle: $fd0 fds, RSS $rss0 KiB"

# 3. Cycles.
max=${HP_CYCLES:-20}
secs=${HP_SECONDS:-120}
[ -n "${HP_CYCLES:-}" ] && secs=100000
t0=$(now_ms); n=1
while [ $n -lt $max ] && [ $(( $(now_ms) - t0 )) -lt $((secs * 1000)) ]; do
	n=$((n + 1))
	"$IOVCTL" vm attach h --nic tenants > /tmp/h.out 2>&1 || { cat /tmp/h.out; fail "cycle $n: attach"; }
	wait_log h "INNER: hp add" 120 "$n"
	"$IOVCTL" vm detach h 1 > /tmp/h.out 2>&1 || { cat /tmp/h.out; fail "cycle $n: detach"; }
	grep -q "released by the guest" /tmp/h.out || { cat /tmp/h.out; fail "cycle $n: not released"; }
	wait_log h "INNER: hp gone" 30 "$n"
done
el=$(( $(now_ms) - t0 ))
log "$n attach/detach cycles in all, the last $((n - 1)) in $el ms ($((el / (n > 1 ? n - 1 : 1))) ms each)"
check "at least 3 cycles" test "$n" -ge 3
expect_eq "every cycle appeared in the guest" "$(hp_count add)" "$n"
expect_eq "every cycle left the guest" "$(hp_count gone)" "$n"
expect_eq "every attach passed traffic" "$(hp_count 'ping ok')" "$n"
fd1=$(fds "$pid"); rss1=$(rss "$pid")
log "iovm after $n cycles: $fd1 fds (after 1: $fd0), RSS $rss1 KiB (after 1: $rss0)"
expect_eq "iovm's fd count flat" "$fd1" "$fd0"
check "iovm's RSS flat (within 512 KiB)" test "$rss1" -le $((rss0 + 512))
check "iovm still runs" test -d "/proc/$pid"
a0=$(glog h | grep -c "INNER: alive")
sleep 3
check "the guest still runs (it says alive)" test "$(glog h | grep -c 'INNER: alive')" -gt "$a0"
expect_eq "$vf1 on vfio-pci after the cycles" "$(dev_driver "$vf1")" vfio-pci
echo "DURATION_CYCLES $n"

# 4. iovd killed mid-attach converges at its next start. (a) After the NIC is recorded
# "attaching", before iovm has it: the next iovd finds iovm without it and returns the VF.
crashed_iovd() {	# the crashed iovd's socket and pidfile stay behind
	_i=0
	while [ -f "$IOVD_PIDFILE" ] && kill -0 "$(cat "$IOVD_PIDFILE")" 2>/dev/null; do
		_i=$((_i + 1)); [ $_i -gt 50 ] && fail "iovd did not end at its test crash"
		sleep 0.1
	done
	rm -f "$SOCK" "$IOVD_PIDFILE"
}
export IOVD_TEST_HP_CRASH=recorded
start_iovd --state-dir "$GSTATE" --config /tmp/hp-iovd.json
unset IOVD_TEST_HP_CRASH
run_ctl /tmp/h.out vm attach h --nic tenants
check "attach: iovd ended mid-way (the client says so)" test "$rc" -ne 0
crashed_iovd
check "iovd ended at the test crash point" grep -q "IOVD_TEST_HP_CRASH=recorded" "$IOVD_LOG"
check "guests.json says $vf1 is being attached" grep -q '"attaching": true' "$GSTATE/guests.json"
start_iovd --state-dir "$GSTATE" --config /tmp/hp-iovd.json
check "the new iovd: iovm does not have $vf1, back to its pool" grep -q "iovm does not have $vf1 (being attached when iovd stopped): back to its pool" "$IOVD_LOG"
gjson
expect_eq "crash before iovm had it: 1 NIC" "$(jcount /tmp/h.json '.guest.nics[]')" 1
check "guests.json no longer holds $vf1" sh -c "! grep -q '$vf1' $GSTATE/guests.json"
expect_eq "$vf1 on vfio-pci" "$(dev_driver "$vf1")" vfio-pci
# (b) After iovm was sent the group: iovm plugs it in, the next iovd keeps it.
export IOVD_TEST_HP_CRASH=sent
start_iovd --state-dir "$GSTATE" --config /tmp/hp-iovd.json
unset IOVD_TEST_HP_CRASH
run_ctl /tmp/h.out vm attach h --nic tenants
check "attach: iovd ended after sending" test "$rc" -ne 0
crashed_iovd
# The guest's log is iovd's (it reads iovm's console): the new iovd first.
start_iovd --state-dir "$GSTATE" --config /tmp/hp-iovd.json
check "the new iovd: iovm has $vf1, attached" grep -q "guest h: iovm has $vf1: attached" "$IOVD_LOG"
wait_log h "INNER: hp add" 120 $((n + 1))
gjson
expect_eq "crash after iovm had it: 2 NICs" "$(jcount /tmp/h.json '.guest.nics[]')" 2
check "not attaching any more" sh -c "! grep -q attaching $GSTATE/guests.json"
run_ctl /tmp/h.out vm detach h "$vf1"
expect_eq "detach after the re-adoption" "$rc" 0
wait_log h "INNER: hp gone" 30 $((n + 1))
expect_eq "$vf1 back on vfio-pci" "$(dev_driver "$vf1")" vfio-pci

run_ctl /tmp/h.out vm stop h --force
expect_eq "vm stop h" "$rc" 0
check "control socket removed" test ! -e "$GSTATE/guests/h.ctl"
stop_iovd
