# Helpers for the nvme_apply / nvme_kill scenarios (sourced; not a scenario: no presets line).
# iovd follows a host config for the nvme preset's drive (02:00.0: 4 VFs, 8 flexible VQ and
# 4 VI resources, namespaces 1 and 2 created detached); what it did is checked with nvme-cli
# (another reader of the same Identify data) and sysfs, not only with iovctl.

. /rig/scenarios/sriov_lib.sh

NVME=/usr/sbin/nvme
CFG=/tmp/iovd-nvme.json
STATE=/tmp/iovd-nvme-state
[ -x "$NVME" ] || fail "nvme-cli is not in the image (./setup.sh installs it; rebuild the image)"
PF=
for d in $(pf_list); do [ "$(dev_driver "$d")" = nvme ] && PF=$d; done
[ -n "$PF" ] || fail "no NVMe PF in this test host"
CTRL=$(ls "$SYSPCI/$PF/nvme" 2>/dev/null | head -n1)
[ -n "$CTRL" ] || fail "$PF has no nvme controller in sysfs"
DEV=/dev/$CTRL

# nvme_cfg N [EXTRA]: the config: N VFs, 2 queues and 1 interrupt each, VF i gets NSID i+1,
# on the host's nvme driver.
nvme_cfg() {
	_v=""
	_i=0
	while [ $_i -lt "$1" ]; do
		_v="$_v${_v:+, }\"$_i\": { \"namespace\": $((_i + 1)) }"
		_i=$((_i + 1))
	done
	cat > "$CFG" <<J
{ "pfs": [ { "name": "store", "match": { "address": "$PF" }, "num_vfs": $1,
             "defaults": { "queues": ${2:-2}, "interrupts": 1, "driver": "host" },
             "vfs": { $_v } } ] }
J
}

start_nvme_iovd() { start_iovd --config "$CFG" --state-dir "$STATE" "$@"; }

# The drive as nothing configured it: VFs off (QEMU offlines their controllers and takes
# their resources back), namespaces detached, autoprobe on, no journal. Only attached
# namespaces are detached: QEMU 10.0 aborts on a detach of one that is not (hw/nvme/ctrl.c
# nvme_detach_ns: Assertion `ns->attached > 0' failed; seen for NSID 1 and controller 1).
nvme_reset() {
	stop_iovd
	echo 0 > "$SYSPCI/$PF/sriov_numvfs"
	for _s in 1 2 3 4; do
		for _n in 1 2; do
			[ "$(attached $_n $_s)" = 1 ] || continue
			"$NVME" detach-ns "$DEV" --namespace-id=$_n --controllers=$_s > /dev/null ||
				fail "detach namespace $_n from controller $_s"
		done
	done
	echo 1 > "$SYSPCI/$PF/sriov_drivers_autoprobe"
	rm -rf "$STATE"
}

# sec SCID FIELD: a field of nvme-cli's secondary controller list entry (SCS, NVQ, NVI) as
# a number.
sec() {
	"$NVME" list-secondary "$DEV" | awk -v id="$(printf '0x%04x' "$1")" -v f="$2" '
		$1 == "SCID" { cur = $NF }
		cur == id && $1 == f { for (i = 1; i <= NF; i++) if ($i ~ /^0x/) { print $i + 0; exit } }'
}
# attached NSID SCID: 0/1, from nvme-cli's controller list of the namespace.
attached() {
	"$NVME" list-ctrl "$DEV" --namespace-id="$1" | grep -q "]:0x0*$2\$" && echo 1 || echo 0
}

# expect_vf_live VF: VF's secondary controller (VF + 1) online with 2 VQ and 1 VI, its
# namespace (VF + 1) attached, the VF on the nvme driver with a controller in sysfs.
expect_vf_live() {
	_s=$(($1 + 1))
	expect_eq "controller $_s state (nvme-cli)" "$(sec $_s SCS)" 1
	expect_eq "controller $_s VQ" "$(sec $_s NVQ)" 2
	expect_eq "controller $_s VI" "$(sec $_s NVI)" 1
	expect_eq "namespace $_s attached to controller $_s" "$(attached $_s $_s)" 1
	_a=$(link_name "$SYSPCI/$PF/virtfn$1")
	expect_eq "vf$1 ($_a) driver" "$(dev_driver "$_a")" nvme
	check "vf$1 has an nvme controller in sysfs" test -d "$SYSPCI/$_a/nvme"
	# Its namespace through its controller: the path device nvme<subsys>c<ctrl>n<nsid>.
	_c=$(ls "$SYSPCI/$_a/nvme" | head -n1)
	check "namespace $_s through vf$1's controller $_c" sh -c "ls /sys/block | grep -qE '^nvme[0-9]+c${_c#nvme}n$_s\$'"
}
# expect_ctrl_empty SCID: offline, no resources, neither namespace.
expect_ctrl_empty() {
	expect_eq "controller $1 state" "$(sec $1 SCS)" 0
	expect_eq "controller $1 VQ" "$(sec $1 NVQ)" 0
	expect_eq "controller $1 VI" "$(sec $1 NVI)" 0
	expect_eq "namespace 1 on controller $1" "$(attached 1 $1)" 0
	expect_eq "namespace 2 on controller $1" "$(attached 2 $1)" 0
}

plan_empty() {
	run_ctl /tmp/p.out plan
	grep -q "no changes" /tmp/p.out && ok "$1: plan empty" || fail "$1: host differs from the config"
}
