# The host config checked against the live test host (iovd --check and iovctl config check,
# one code path): a PF by netdev and by permanent MAC (rtnetlink IFLA_PERM_ADDRESS, which
# keeps the burnt-in address after the current one is changed), num_vfs against
# sriov_totalvfs, a serial number the igb does not have. Changes nothing but the PF's
# current MAC, which it puts back.
# rig-presets: default
# rig-timeout: 90

. /rig/scenarios/sriov_lib.sh

PF=$(pf_list | head -n1)
[ -n "$PF" ] || fail "no SR-IOV PF in this test host"
NET=$(pf_netdev "$PF")
[ -n "$NET" ] || fail "$PF has no netdev"
ORIG=$(attr "/sys/class/net/$NET/address")
log "PF $PF netdev $NET address $ORIG"
C=/tmp/cfg
mkdir -p $C

# check_cfg NAME WANT_RC PATTERN: iovd --check and iovctl config check on $C/NAME.json give
# the same output and exit status WANT_RC, and the output has PATTERN.
check_cfg() {
	/usr/bin/iovd --check "$C/$1.json" > "$C/$1.iovd" 2>&1 && drc=0 || drc=$?
	"$IOVCTL" config check "$C/$1.json" > "$C/$1.ctl" 2>&1 && crc=0 || crc=$?
	sed 's/^/  | /' "$C/$1.ctl"
	expect_eq "$1: iovd --check exit" "$drc" "$2"
	expect_eq "$1: iovctl config check exit" "$crc" "$2"
	cmp -s "$C/$1.iovd" "$C/$1.ctl" && ok "$1: same output from both" ||
		fail "$1: iovd --check and iovctl config check differ"
	grep -q -- "$3" "$C/$1.ctl" && ok "$1: says '$3'" || fail "$1: lacks '$3'"
}

cat > $C/netdev.json <<JSON
{ "pfs": [ { "name": "uplink", "match": { "netdev": "$NET" }, "num_vfs": 4,
             "defaults": { "driver": "vfio-pci", "spoofchk": true } } ],
  "pools": [ { "name": "tenants", "vfs": ["uplink#0-3"] } ] }
JSON
check_cfg netdev 0 "pf uplink: $PF ($NET) by netdev $NET: 4 VFs (at most 7)"

cat > $C/toomany.json <<JSON
{ "pfs": [ { "name": "uplink", "match": { "netdev": "$NET" }, "num_vfs": 8 } ] }
JSON
check_cfg toomany 1 "8 VFs, but $PF supports 7 (sriov_totalvfs)"

# A new current address: the permanent one still matches, the current one does not.
"$IP" link set "$NET" address 02:1e:00:aa:bb:01 || fail "cannot set $NET's address"
"$IP" link show "$NET" | sed 's/^/  ip: /'
cat > $C/perm.json <<JSON
{ "pfs": [ { "name": "uplink", "match": { "perm_mac": "$ORIG" } } ] }
JSON
check_cfg perm 0 "pf uplink: $PF ($NET) by perm_mac $ORIG"
cat > $C/current.json <<JSON
{ "pfs": [ { "name": "uplink", "match": { "perm_mac": "02:1e:00:aa:bb:01" } } ] }
JSON
check_cfg current 1 "perm_mac 02:1e:00:aa:bb:01 matches no device"
"$IP" link set "$NET" address "$ORIG" || fail "cannot put $NET's address back"
expect_eq "$NET address restored" "$(attr "/sys/class/net/$NET/address")" "$ORIG"

# QEMU's igb has no Device Serial Number capability; as root the whole config space is read.
cat > $C/dsn.json <<JSON
{ "pfs": [ { "name": "uplink", "match": { "dsn": "00-1b-21-ff-ff-00-00-01" } } ] }
JSON
check_cfg dsn 1 "no device of this host has a serial number"

"$IOVCTL" --json config check $C/netdev.json > $C/netdev.jsonout 2>&1 && rc=0 || rc=$?
expect_eq "config check --json exit" "$rc" 0
expect_eq "--json: the PF's device" "$(j $C/netdev.jsonout '.pfs[0].device')" "$PF"
expect_eq "--json: total_vfs" "$(j $C/netdev.jsonout '.pfs[0].total_vfs')" 7
expect_eq "nothing changed: sriov_numvfs" "$(attr $SYSPCI/$PF/sriov_numvfs)" 0
log "$checks checks passed"
