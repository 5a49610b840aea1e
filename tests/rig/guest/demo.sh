# The main job, on the test host, as a user does it (runs in the guest as the step "demo",
# with lib.sh loaded): the example host config (docs/examples/iovd.json: a PF by netdev, 4
# VFs, a pool, a guest) applied by iovd; a guest started with `iovctl vm start` on a pooled
# VF; traffic through the VF; `iovctl verify` and `iovctl vm list`; the guest stopped and the
# VF back in its pool, reset. Then the same iovm started by hand on the same VF, for the
# launch-to-/init comparison. Host side: tests/rig/demo.sh. Exit 0 iff every stage worked.
# rig-timeout: 420

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

vmm_initramfs /tmp/inner.cpio > /dev/null
i=0; pf6=""
while [ -z "$pf6" ] && [ $i -lt 50 ]; do
	pf6=$($IP -6 addr show dev "$pfnet" scope link 2>/dev/null | awk '/inet6 fe80/ && !/tentative/ { sub(/\/.*/, "", $2); print $2; exit }')
	[ -n "$pf6" ] || sleep 0.2
	i=$((i + 1))
done
[ -n "$pf6" ] || fail "$pfnet has no link-local address"
CMD="$VMM_CMDLINE pf6=$pf6 pings=5"

say "iovctl vm start demo --nic tenants (a VF from the pool, MAC from the registry)"
log=/var/lib/iovd/guests/demo.log
rm -f "$log"
t0=$(now_ms)
"$IOVCTL" vm start demo --kernel "$VMM_KERNEL" --initrd /tmp/inner.cpio --mem 256M \
	--cmdline "$CMD hold=20" --nic tenants || { tail -n 20 /tmp/iovd.log; fail "iovctl vm start"; }
ms=$(wait_for "$log" "INNER: init up" 120) || { tail -n 30 "$log"; fail "the guest never reached /init"; }
t_iovd=$(( $(now_ms) - t0 ))
echo "vm start to the guest's /init: $t_iovd ms"
wait_for "$log" "INNER: ping6" 90 > /dev/null || { tail -n 30 "$log"; fail "no ping result"; }
"$IOVCTL" vm log demo | tr -d '\r' | grep -E "^INNER: (igbvf|mac|ping6|\|)"
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

say "iovctl vm stop demo: the VF is reset and back in its pool"
"$IOVCTL" vm stop demo || fail "iovctl vm stop"
grep -q "$vf reset and returned to pool tenants" /tmp/iovd.log || { tail -n 20 /tmp/iovd.log; fail "$vf did not go back to the pool"; }
grep "$vf reset and returned" /tmp/iovd.log
"$IOVCTL" vm list
"$IOVCTL" show "$vf" | head -n 8

say "the same iovm by hand on $vf (root opens, iovm --user drops), for the launch time"
ulimit -l unlimited
t0=$(now_ms)
/usr/bin/iovm --user iovm --vfio "$vf" --kernel "$VMM_KERNEL" --initrd /tmp/inner.cpio --mem 256M \
	--cpus 1 --cmdline "$CMD pings=1" --stats < /dev/null > /tmp/byhand.log 2>&1 &
hp=$!
wait_for /tmp/byhand.log "INNER: init up" 120 > /dev/null || { tail -n 30 /tmp/byhand.log; fail "by hand: no /init"; }
t_hand=$(( $(now_ms) - t0 ))
wait $hp
echo "by hand, launch to the guest's /init: $t_hand ms"
echo "iovctl vm start / by hand: $(awk -v a=$t_iovd -v b=$t_hand 'BEGIN { printf "%.2f", a / b }')"
say "verdict: a guest got VF $vf from pool tenants with its recorded MAC $mac, passed traffic, was verified isolated, stopped, and its VF went back reset (vm start to /init $t_iovd ms, by hand $t_hand ms)"
