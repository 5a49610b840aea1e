# Helpers for test-host scenarios (busybox sh). Sourced before each scenario, which the
# runner (guest/init) then runs under `set -eu`: every command that fails stops the
# scenario (a command whose failure is expected is checked: `cmd && rc=0 || rc=$?`, then
# expect_eq on $rc), and an unset variable is an error.
#
# Everything a scenario prints is its log (sent to the host). The scenario passes iff it
# reaches its end, made at least one check and no check failed (see guest/init); `fail`
# stops it at once. Kernel messages of the step are appended to the log by the runner and
# checked (a WARNING, BUG, DMAR fault... fails the step unless the scenario's
# "# rig-kernel-allow: ERE" line names it); the boot messages are in /tmp/dmesg-boot.
# Files put in $RIG_BLOBS are sent to the host too.

RIG_BLOBS=/tmp/rig-blobs
RIG_STEP_DIR=/tmp/rig-step	# the runner's per-step records: ok, failed, skipped, end
RIG_STEP=${RIG_STEP:-scenario}
IP=/usr/sbin/ip          # iproute2 (busybox's own `ip` wins for a bare `ip`)
IOVCTL=/usr/bin/iovctl
JGET=/usr/bin/jget
SYSPCI=/sys/bus/pci/devices
checks=0

log() { echo "$*"; }
# fail_context: what a scenario library prints before a failure (iovd's log...); redefined
# by the libraries, never `fail` itself.
fail_context() { :; }
# Checks are counted in files, so that one made in a subshell or a pipeline counts too.
fail() { fail_context || true; echo "FAIL: $*"; echo "$*" >> "$RIG_STEP_DIR/failed"; exit 1; }
ok() { checks=$((checks + 1)); echo "$*" >> "$RIG_STEP_DIR/ok"; echo "ok: $*"; }
# skip WHAT WHY: a check this test host cannot make (no iommufd in its kernel, no ftrace...):
# said as SKIPPED and counted as a skip, never as a pass.
skip() { echo "$1 ($2)" >> "$RIG_STEP_DIR/skipped"; echo "SKIPPED: $1 ($2)"; }
# skip_scenario WHY: the rest of the scenario cannot run here; ends it (a SKIP when it made
# no check before).
skip_scenario() { skip "$RIG_STEP: the rest of the scenario" "$1"; : > "$RIG_STEP_DIR/end"; exit 0; }

# Called by the runner around the scenario: an exit before rig_end is reported, with its status.
rig_begin() {
	mkdir -p "$RIG_STEP_DIR"
	trap '_rc=$?; [ -e "$RIG_STEP_DIR/end" ] || [ -s "$RIG_STEP_DIR/failed" ] || echo "rig: the scenario stopped (status $_rc) before its end"' EXIT
}
rig_end() { : > "$RIG_STEP_DIR/end"; }

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

# wait_kmsg ERE SECONDS: waits until the kernel log (dmesg) has a line matching ERE; returns 1
# after SECONDS without one (the check that follows says what is missing).
wait_kmsg() {
	_i=0
	until dmesg | grep -Eq -- "$1"; do
		_i=$((_i + 1)); [ $_i -le $(($2 * 10)) ] || return 1
		sleep 0.1
	done
}

# A sysfs attribute without its trailing newline.
attr() { cat "$1" 2>/dev/null || true; }

# The basename a symlink points to, or "null" when there is no link.
link_name() { if [ -L "$1" ]; then basename "$(readlink "$1")"; else echo null; fi; }
dev_driver() { link_name "$SYSPCI/$1/driver"; }
dev_group() { link_name "$SYSPCI/$1/iommu_group"; }

# PCI addresses of the SR-IOV capable functions (PFs), one a line.
pf_list() {
	for d in "$SYSPCI"/*; do if [ -f "$d/sriov_totalvfs" ]; then basename "$d"; fi; done
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
	# VF drivers (igbvf) bind asynchronously to the write.
	vfs_settled "$1"
}

# vfs_settled PF: waits (up to 10 s, then fails) until every VF of PF that its PF's autoprobe
# gives a driver has one: with sriov_drivers_autoprobe on and the VF's driver module loaded
# (igbvf for igb), until each VF is bound. Replaces a fixed settle time.
vfs_settled() {
	[ "$(attr "$SYSPCI/$1/sriov_drivers_autoprobe")" = 1 ] || return 0
	case "$(dev_driver "$1")" in igb) [ -d /sys/bus/pci/drivers/igbvf ] || return 0 ;; *) return 0 ;; esac
	_i=0
	for _v in $(vf_addrs "$1"); do
		while [ "$(dev_driver "$_v")" = null ]; do
			_i=$((_i + 1)); [ $_i -gt 100 ] && fail "$_v: no driver 10 s after its VFs were created (autoprobe on)"
			sleep 0.1
		done
	done
	return 0
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
	"$IOVCTL" list --json > "$1" 2> /tmp/iovctl.err && _rc=0 || _rc=$?
	[ -s /tmp/iovctl.err ] && { echo "iovctl stderr:"; cat /tmp/iovctl.err; }
	[ $_rc = 0 ] || fail "iovctl list --json exited $_rc"
	"$JGET" -j "$1" . > /dev/null || fail "iovctl list --json printed no valid JSON: $(head -c 400 "$1")"
	cp "$1" "$RIG_BLOBS/$(basename "$1")"
}

# j FILE PATH: jget's values, one a line (strings unquoted). jj: same, as JSON.
j() { "$JGET" "$1" "$2"; }
jj() { "$JGET" -j "$1" "$2"; }
jcount() { "$JGET" -c "$1" "$2"; }
