# Helpers for the config_* scenarios (sourced; not a scenario: no presets line). iovd follows
# a host config file: applied at start, on `iovctl reload`, journaled in a state directory.

. /rig/scenarios/sriov_lib.sh

CFG=/tmp/iovd-host.json
STATE=/tmp/iovd-state
PF=$(pf_list | head -n1)
[ -n "$PF" ] || fail "no SR-IOV PF in this test host"
NET=$(pf_netdev "$PF")
[ -n "$NET" ] || fail "$PF has no netdev"

# start_cfg_iovd [ARGS...]: iovd on our socket with our config and state directory.
start_cfg_iovd() { start_iovd --config "$CFG" --state-dir "$STATE" "$@"; }

# The host as nothing configured it: no VFs, autoprobe on, no bind records, no journal.
host_reset() {
	stop_iovd
	echo 0 > "$SYSPCI/$PF/sriov_numvfs"
	echo 1 > "$SYSPCI/$PF/sriov_drivers_autoprobe"
	rm -rf "$STATE"
}

# vf_addr N: the address of VF N now.
vf_addr() { link_name "$SYSPCI/$PF/virtfn$1"; }

# expect_vf N DRIVER [IP-LINK-FRAGMENT...]: VF N's driver (sysfs) and what `ip link` shows.
expect_vf() {
	_n=$1 _d=$2; shift 2
	_a=$(vf_addr "$_n")
	[ "$_a" != null ] || fail "vf$_n does not exist"
	expect_eq "vf$_n ($_a) driver" "$(dev_driver "$_a")" "$_d"
	_l=$(ip_vf "$NET" "$_n")
	for _w in "$@"; do
		case "$_l" in *"$_w"*) ok "ip link vf $_n shows '$_w'" ;;
		*) fail "ip link vf $_n lacks '$_w': $_l" ;; esac
	done
}

# journal_sum: what the state directory holds (nothing may change on an empty apply).
journal_sum() { cat "$STATE/journal.jsonl" "$STATE/last-apply.json" 2>/dev/null | md5sum; }
