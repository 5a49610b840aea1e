# Helpers for test-host scenarios (busybox sh). Sourced before each scenario, which runs
# with `sh` (not -e): use `check`/`fail`, which stop the scenario.
#
# Everything a scenario prints is its log (sent to the host). The scenario passes iff it
# exits 0. Kernel messages of the step are appended to the log by the runner; the boot
# messages are in /tmp/dmesg-boot. Files put in $RIG_BLOBS are sent to the host too.

RIG_BLOBS=/tmp/rig-blobs
IP=/usr/sbin/ip          # iproute2 (busybox's own `ip` wins for a bare `ip`)
IOVCTL=/usr/bin/iovctl
JGET=/usr/bin/jget
SYSPCI=/sys/bus/pci/devices
checks=0

log() { echo "$*"; }
fail() { echo "FAIL: $*"; exit 1; }
ok() { checks=$((checks + 1)); echo "ok: $*"; }

# check DESCRIPTION COMMAND...: run COMMAND, fail the scenario when it fails.
check() {
	_d=$1; shift
	if "$@"; then ok "$_d"; else fail "$_d (command: $*)"; fi
}

# expect_eq WHAT GOT WANT
expect_eq() {
	if [ "$2" = "$3" ]; then ok "$1 = '$3'"; else fail "$1: got '$2', want '$3'"; fi
}

# expect_ne WHAT GOT NOTWANT
expect_ne() {
	if [ "$2" != "$3" ]; then ok "$1 = '$2' (not '$3')"; else fail "$1: got '$2'"; fi
}

# expect_same_lines WHAT EXPECTED_FILE GOT_FILE: the same lines, in any order.
expect_same_lines() {
	sort "$2" > /tmp/.esl.exp; sort "$3" > /tmp/.esl.got
	if cmp -s /tmp/.esl.exp /tmp/.esl.got; then
		ok "$1: $(wc -l < /tmp/.esl.exp) lines agree"
	else
		echo "--- expected (kernel)  +++ got"
		diff -u /tmp/.esl.exp /tmp/.esl.got | tail -n +3
		fail "$1 differ"
	fi
}

# A sysfs attribute without its trailing newline.
attr() { cat "$1" 2>/dev/null; }

# The basename a symlink points to, or "null" when there is no link.
link_name() { if [ -L "$1" ]; then basename "$(readlink "$1")"; else echo null; fi; }
dev_driver() { link_name "$SYSPCI/$1/driver"; }
dev_group() { link_name "$SYSPCI/$1/iommu_group"; }

# PCI addresses of the SR-IOV capable functions (PFs), one a line.
pf_list() {
	for d in "$SYSPCI"/*; do [ -f "$d/sriov_totalvfs" ] && basename "$d"; done
}

# VF addresses of PF from its virtfnN links, in VF-index order.
vf_addrs() {
	_n=0
	while [ -L "$SYSPCI/$1/virtfn$_n" ]; do
		basename "$(readlink "$SYSPCI/$1/virtfn$_n")"
		_n=$((_n + 1))
	done
}

# create_vfs PF N: set sriov_numvfs (via 0 when some are already there) and wait for the links.
create_vfs() {
	_cur=$(attr "$SYSPCI/$1/sriov_numvfs")
	[ "$_cur" = "$2" ] && return 0
	[ "$_cur" = 0 ] || echo 0 > "$SYSPCI/$1/sriov_numvfs" || fail "cannot reset sriov_numvfs of $1"
	echo "$2" > "$SYSPCI/$1/sriov_numvfs" || fail "cannot write $2 to $SYSPCI/$1/sriov_numvfs"
	_i=0
	while [ "$(vf_addrs "$1" | wc -l)" -lt "$2" ]; do
		_i=$((_i + 1)); [ $_i -gt 50 ] && fail "$1: $2 VFs not there after 5 s"
		sleep 0.1
	done
	# Give the VF drivers (igbvf) time to probe; drivers bind asynchronously to the write.
	sleep 0.5
}

# bind_vfio BDF: driver_override + unbind + drivers_probe, as an administrator would.
bind_vfio() {
	echo vfio-pci > "$SYSPCI/$1/driver_override" || fail "driver_override of $1"
	[ -L "$SYSPCI/$1/driver" ] && { echo "$1" > "$SYSPCI/$1/driver/unbind" || fail "unbind $1"; }
	echo "$1" > /sys/bus/pci/drivers_probe || true
}

# iovctl_json FILE: `iovctl list --json` into FILE, which must be valid JSON.
iovctl_json() {
	[ -x "$IOVCTL" ] || fail "iovctl is not in the image (build it: make; then rebuild the image)"
	"$IOVCTL" list --json > "$1" 2> /tmp/iovctl.err
	_rc=$?
	[ -s /tmp/iovctl.err ] && { echo "iovctl stderr:"; cat /tmp/iovctl.err; }
	[ $_rc = 0 ] || fail "iovctl list --json exited $_rc"
	"$JGET" -j "$1" . > /dev/null || fail "iovctl list --json printed no valid JSON: $(head -c 400 "$1")"
	cp "$1" "$RIG_BLOBS/$(basename "$1")"
}

# j FILE PATH: jget's values, one a line (strings unquoted). jj: same, as JSON.
j() { "$JGET" "$1" "$2"; }
jj() { "$JGET" -j "$1" "$2"; }
jcount() { "$JGET" -c "$1" "$2"; }
