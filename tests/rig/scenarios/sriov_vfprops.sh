# VF properties through iovd (iovctl vf set): every property igb supports is set and read
# back both with iproute2 (`ip link show`) and with iovctl's own read-back (vfs show --json);
# what igb refuses fails with the driver's reason and puts back what was already changed;
# bad input (MAC rules, duplicates, ranges, unknown VF/device/keyword) is refused with exit
# 2 (usage) or 1 (refused) and leaves the host exactly as it was.
# rig-presets: default
# rig-timeout: 240

. /rig/scenarios/sriov_lib.sh

PF=$(pf_list | head -n1)
[ -n "$PF" ] || fail "no SR-IOV PF in this test host"
NET=$(pf_netdev "$PF")
[ -n "$NET" ] || fail "$PF has no netdev"
log "PF $PF netdev $NET"
# igb accepts a TX rate limit only with the link up.
"$IP" link set "$NET" up
i=0
while [ "$(attr "/sys/class/net/$NET/carrier")" != 1 ]; do
	i=$((i + 1)); [ $i -gt 100 ] && fail "$NET: no carrier 10 s after link up"
	sleep 0.1
done
log "figure: $NET carrier after about $((i * 100)) ms"
start_iovd
run_ctl /tmp/p.out vfs create "$PF" 4
expect_eq "vfs create 4" "$rc" 0
settle

# Every property igb supports, in one command.
t0=$(now_ms)
run_ctl /tmp/p.out vf set "$PF/vf0" mac 02:00:00:00:01:00 vlan 100 qos 3 proto 802.1Q \
	spoofchk off trust on max-rate 100
t1=$(now_ms)
expect_eq "vf set vf0 (all supported): exit" "$rc" 0
log "figure: vf set with 6 properties took $((t1 - t0)) ms"
L=$(ip_vf "$NET" 0)
log "ip: $L"
for want in "link/ether 02:00:00:00:01:00" "vlan 100" "qos 3" "spoof checking off" "trust on" \
	"max_tx_rate 100Mbps"; do
	case "$L" in *"$want"*) ok "ip shows '$want'" ;; *) fail "ip lacks '$want': $L" ;; esac
done
"$IOVCTL" --json vfs show "$PF" > /tmp/v.json || fail "iovctl vfs show --json"
cp /tmp/v.json "$RIG_BLOBS/vfs-show.json"
expect_eq "read-back mac" "$(j /tmp/v.json '.vfs[vf=0].mac')" 02:00:00:00:01:00
expect_eq "read-back vlan" "$(j /tmp/v.json '.vfs[vf=0].vlan')" 100
expect_eq "read-back qos" "$(j /tmp/v.json '.vfs[vf=0].qos')" 3
expect_eq "read-back proto" "$(j /tmp/v.json '.vfs[vf=0].proto')" 802.1Q
expect_eq "read-back spoofchk" "$(jj /tmp/v.json '.vfs[vf=0].spoofchk')" false
expect_eq "read-back trust" "$(jj /tmp/v.json '.vfs[vf=0].trust')" true
expect_eq "read-back max_rate" "$(j /tmp/v.json '.vfs[vf=0].max_rate')" 100
expect_eq "read-back vf1 untouched" "$(j /tmp/v.json '.vfs[vf=1].vlan')" 0
# iovctl show reads the same settings without the daemon, for a VF and for its PF.
"$IOVCTL" --json show "$PF/vf0" > /tmp/s.json || fail "iovctl show PF/vf0 --json"
expect_eq "show vf0: vf_settings.mac" "$(j /tmp/s.json '.vf_settings.mac')" 02:00:00:00:01:00
expect_eq "show vf0: vf_settings.vlan" "$(j /tmp/s.json '.vf_settings.vlan')" 100
"$IOVCTL" --json show "$PF" > /tmp/s.json || fail "iovctl show PF --json"
expect_eq "show PF: vf_settings[vf=0].qos" "$(j /tmp/s.json '.vf_settings[vf=0].qos')" 3
"$IOVCTL" show "$PF/vf0" > /tmp/s.txt || fail "iovctl show PF/vf0"
grep -q "02:00:00:00:01:00 *100 *3" /tmp/s.txt && ok "show vf0: settings row" ||
	fail "show vf0: no settings row: $(cat /tmp/s.txt)"
run_ctl /tmp/v.txt vfs show "$PF"
expect_eq "vfs show: exit" "$rc" 0
grep -q "^  0 *02:00:00:00:01:00 *100 *3 *802.1Q *off *on *auto *0/100$" /tmp/v.txt &&
	ok "vfs show: the vf0 row" || fail "vfs show: no matching vf0 row"

# Through the netdev name, and back to defaults.
run_ctl /tmp/p.out vf set "$NET/vf0" vlan 0 spoofchk on trust off max-rate 0
expect_eq "vf set $NET/vf0 (defaults): exit" "$rc" 0
L=$(ip_vf "$NET" 0)
case "$L" in *"vlan 100"*) fail "vlan still set: $L" ;; *) ok "vlan cleared" ;; esac
case "$L" in *"spoof checking on"*) ok "spoof checking on" ;; *) fail "spoofchk: $L" ;; esac
case "$L" in *"trust off"*) ok "trust off" ;; *) fail "trust: $L" ;; esac
case "$L" in *max_tx_rate*) fail "rate still set: $L" ;; *) ok "rate cleared" ;; esac

# What igb does not support: the driver's refusal reaches the user; earlier properties of the
# same command are put back (mac goes first, so it must be restored).
for p in "state disable" "vlan 10 proto 802.1ad" "min-rate 10 max-rate 100"; do
	before=$(host_state)
	run_ctl /tmp/p.out vf set "$PF/vf1" mac 02:00:00:00:01:99 $p
	if [ "$rc" = 0 ]; then
		skip "roll-back of the MAC when '$p' fails" "igb accepted '$p': nothing failed to roll back"
		continue
	fi
	expect_eq "'$p': exit" "$rc" 1
	grep -qE "setting |cannot set [a-z]" /tmp/p.out && ok "'$p': names the property" || fail "'$p': no property named"
	expect_eq "'$p': mac put back, host unchanged" "$(host_state)" "$before"
done

# Bad input: refused, host unchanged.
expect_refused "multicast mac" 2 "multicast" vf set "$PF/vf1" mac 01:00:5e:00:00:01
expect_refused "broadcast mac" 2 "multicast" vf set "$PF/vf1" mac ff:ff:ff:ff:ff:ff
expect_refused "zero mac" 2 "all-zero" vf set "$PF/vf1" mac 00:00:00:00:00:00
expect_refused "malformed mac" 2 "not a MAC" vf set "$PF/vf1" mac 02:00:00:00:01
expect_refused "duplicate of vf0's mac" 1 "already used" vf set "$PF/vf1" mac 02:00:00:00:01:00
PFMAC=$(attr "/sys/class/net/$NET/address")
expect_refused "the PF's own mac" 1 "already used by netdev $NET" vf set "$PF/vf1" mac "$PFMAC"
expect_refused "vlan 4096" 2 "4095" vf set "$PF/vf1" vlan 4096
expect_refused "qos 8" 2 "0 to 7" vf set "$PF/vf1" vlan 5 qos 8
expect_refused "qos without vlan" 2 "needs vlan" vf set "$PF/vf1" qos 1
expect_refused "bad proto" 2 "802.1Q or 802.1ad" vf set "$PF/vf1" vlan 5 proto 802.1x
expect_refused "bad on/off" 2 "on or off" vf set "$PF/vf1" trust maybe
expect_refused "bad rate" 2 "Mbit/s" vf set "$PF/vf1" max-rate fast
expect_refused "VF index >= num VFs" 2 "has 4 VFs" vf set "$PF/vf4" trust on
expect_refused "unknown device" 2 "no such" vf set 0000:7f:00.0/vf0 trust on
expect_refused "unknown netdev" 2 "no such" vf set nosuch0/vf0 trust on
expect_refused "unknown keyword" 2 "unknown property" vf set "$PF/vf1" colour red
expect_refused "missing value" 2 "missing value" vf set "$PF/vf1" trust
expect_refused "bad VF spec" 2 "PF/vfN" vf set "$PF" trust on
expect_refused "not a PF" 2 "not an SR-IOV" vf set "$(vf_addrs "$PF" | head -n1)/vf0" trust on

# The daemon kept serving through all of that.
run_ctl /tmp/p.out vf set "$PF/vf3" mac 02:00:00:00:01:03
expect_eq "still serving" "$rc" 0
case "$(ip_vf "$NET" 3)" in *02:00:00:00:01:03*) ok "vf3 mac set" ;; *) fail "vf3 mac" ;; esac

run_ctl /tmp/p.out vfs destroy "$PF"
expect_eq "destroy" "$rc" 0
stop_iovd
cp "$IOVD_LOG" "$RIG_BLOBS/iovd-sriov_vfprops.log"
log "sriov_vfprops: $checks checks passed"
