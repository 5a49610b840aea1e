# The README's "On a real host: from install to a guest", step by step, as a newcomer types
# it, on the test host (the closest thing to an SR-IOV machine here): each command run on a
# terminal (ptyrun -a, 100 columns) and its output kept, word for word, in
# $RIG_BLOBS/walkthrough.txt (docs/walkthrough.md is written from it). What the package's
# install does (step 1: the admin group `iovd`, /var/lib/iovd, /run/iovd) is done by hand
# (the image has the programs, no package manager); iovd is started as iovd.socket would on
# the first call (`iovd --foreground`, the unit's command line). The checks hold what the
# README promises: config check ok, apply ok, verify isolated, the guest reaching its /init
# on a pooled VF, vm stop ok; and on a terminal apply and vm start print progress lines.
#   riglock tests/rig/run.sh guests walkthrough      (on demand: never in the whole suite)
# rig-presets: guests
# rig-on-demand: yes
# rig-timeout: 420

. /rig/scenarios/sriov_lib.sh
. /rig/scenarios/vmm_lib.sh
# The default socket, as on a real host (sriov_lib.sh sets one of its own).
unset IOVD_SOCKET
SOCK=/run/iovd/io.iovd
vmm_prereqs
check "ptyrun in the image" test -x /usr/bin/ptyrun
# The test host's /dev has no pseudo-terminals until devpts is mounted on /dev/pts.
if [ ! -c /dev/pts/ptmx ]; then
	mkdir -p /dev/pts
	mount -t devpts -o ptmxmode=0666 devpts /dev/pts || fail "mount devpts on /dev/pts"
fi
[ -c /dev/ptmx ] || ln -sf pts/ptmx /dev/ptmx
check "a pseudo-terminal" /usr/bin/ptyrun true

W=/tmp/walkthrough.txt
: > "$W"
: > "$IOVD_LOG"
fail_context() {
	cp "$W" "$RIG_BLOBS/walkthrough.txt"
	echo "--- walkthrough so far:"; tail -n 40 "$W"
	if [ -s "$IOVD_LOG" ]; then echo "--- last lines of $IOVD_LOG:"; tail -n 30 "$IOVD_LOG"; fi
}
# section TEXT: a heading in the transcript.
section() { printf '\n## %s\n' "$*" >> "$W"; echo "== $*"; }
# run SHOWN: the command as the README writes it (sudo dropped to run it: the test host is
# root, and has no sudo), on a terminal; its output (CRs dropped) and a non-zero exit status
# go to the transcript; its status is in $rc and its output in /tmp/wt.out.
run() {
	printf '$ %s\n' "$1" >> "$W"
	_c=$(echo "$1" | sed 's/^sudo //; s/; sudo /; /g')
	COLUMNS=100 PATH=/usr/bin:/usr/sbin:/bin:/sbin /usr/bin/ptyrun -a sh -c "$_c" > /tmp/wt.raw 2> /tmp/wt.err && rc=0 || rc=$?
	tr -d '\r' < /tmp/wt.raw > /tmp/wt.out
	cat /tmp/wt.out >> "$W"
	[ "$rc" = 0 ] || echo "[exit status $rc]" >> "$W"
	echo "\$ $1  (exit $rc)"; cat /tmp/wt.out
	[ "$rc" = 0 ] || sed 's/^/    ptyrun: /' /tmp/wt.err
	return 0
}

section "1. Install (done by hand here: the image carries the programs; what the package adds)"
grep -q '^iovd:' /etc/group || echo 'iovd:x:991:' >> /etc/group
mkdir -p /var/lib/iovd /run/iovd /etc/iovd
run "iovctl --version"
expect_eq "iovctl --version" "$rc" 0

section "2. Look"
run "iovctl list"
expect_eq "iovctl list" "$rc" 0
check "list: interrupt remapping on" grep -q "^Interrupt remapping: on" /tmp/wt.out
pf=$(pf_list | head -n1)
pfnet=$(ls "$SYSPCI/$pf/net" | head -n1)
$IP link set "$pfnet" up
# igb takes a VF rate (the example's max_rate) only with the link up: wait for the carrier.
i=0
while [ "$(cat /sys/class/net/$pfnet/carrier 2>/dev/null)" != 1 ] && [ $i -lt 100 ]; do
	sleep 0.1; i=$((i + 1))
done

section "3. Describe the host (the editor's change: the PF's netdev $pfnet)"
run "sudo cp /usr/share/doc/iovd/examples/iovd.json /etc/iovd/iovd.json"
# The image keeps the example at /rig/iovd-example.json (no /usr/share/doc).
if [ "$rc" != 0 ]; then
	run "cp /rig/iovd-example.json /etc/iovd/iovd.json"
	expect_eq "copying the example" "$rc" 0
fi
sed -i "s/\"netdev\": \"[^\"]*\"/\"netdev\": \"$pfnet\"/" /etc/iovd/iovd.json
run "grep -n netdev /etc/iovd/iovd.json"
run "iovctl config check"
expect_eq "iovctl config check" "$rc" 0

section "4. Apply it (iovd started as iovd.socket starts it on the first call)"
# The unit's command line (dist/systemd/iovd.service): it applies the config at start.
"$IOVD" --foreground >> "$IOVD_LOG" 2>&1 &
echo $! > "$IOVD_PIDFILE"
i=0
while [ ! -S "$SOCK" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
check "iovd serves" test -S "$SOCK"
run "sudo iovctl plan"
expect_eq "iovctl plan" "$rc" 0
run "sudo iovctl apply"
expect_eq "iovctl apply" "$rc" 0
run "iovctl status"
expect_eq "iovctl status" "$rc" 0
run "iovctl verify $pfnet/vf2"
expect_eq "iovctl verify $pfnet/vf2 (isolated)" "$rc" 0
# Progress on a terminal: a change to apply (the pool VFs' VLAN 200 -> 300).
sed -i 's/"vlan": 200/"vlan": 300/' /etc/iovd/iovd.json
printf '$ sudo editor /etc/iovd/iovd.json     # the pool VFs: "vlan": 200 -> 300\n' >> "$W"
run "sudo iovctl apply"
expect_eq "iovctl apply (VLAN 300)" "$rc" 0
check "apply on a terminal: the 'applying' progress line" grep -Eq '^\[ *[0-9.]+s\] applying: [0-9]+ steps? \(transaction [0-9]+\)$' /tmp/wt.out
check "apply on a terminal: a step as it was done" grep -Eq '^\[ *[0-9.]+s\]   [0-9]+/[0-9]+ ~ uplink/vf[23] vlan 200 -> 300 \([0-9.]+ s\)$' /tmp/wt.out
# The last event comes just before iovd's reply: the progress must not lose it.
check "apply on a terminal: the end, as the last progress line" grep -Eq '^\[ *[0-9.]+s\]   all [0-9]+ steps? done$' /tmp/wt.out

section "5. Run a guest"
vmm_initramfs /tmp/inner.cpio > /dev/null
cd /tmp
cp /tmp/inner.cpio web.cpio
run "sudo iovctl vm start web --kernel /boot/vmlinuz-\$(uname -r) --initrd web.cpio --cmdline \"console=ttyS0 panic=-1\" --nic tenants"
if [ "$rc" != 0 ]; then
	# The image has the kernel as /boot/vmlinuz only.
	run "sudo iovctl vm start web --kernel /boot/vmlinuz --initrd web.cpio --cmdline \"console=ttyS0 panic=-1\" --nic tenants"
fi
expect_eq "iovctl vm start web" "$rc" 0
check "vm start on a terminal: the launch as a progress line" grep -Eq '^\[ *[0-9.]+s\] web: launching iovm' /tmp/wt.out
check "vm start on a terminal: the VF from the pool" grep -Eq '^\[ *[0-9.]+s\] web: nic0: VF .* from pool tenants' /tmp/wt.out
check "vm start on a terminal: iovm running, the last progress line" grep -Eq '^\[ *[0-9.]+s\] web: iovm running \(pid [0-9]+\)$' /tmp/wt.out
i=0
while ! tr -d '\r' < /var/lib/iovd/guests/web.log 2>/dev/null | grep -q "INNER: init up"; do
	i=$((i + 1)); [ $i -gt 600 ] && fail "the guest never reached its /init"
	sleep 0.2
done
ok "the guest reached its /init"
run "iovctl vm list; iovctl vm log web | tail -n 12; sudo iovctl vm stop web"
expect_eq "vm list; vm log; vm stop" "$rc" 0
run "iovctl vm list"

section "iovd's log (journalctl -u iovd on a real host)"
sed 's/^/    /' "$IOVD_LOG" >> "$W"
cp "$W" "$RIG_BLOBS/walkthrough.txt"
# systemctl stop iovd: SIGTERM. Under TCG iovd took more than sriov_lib's 5 s once
# (2026-12-07: "signal 15: exiting" logged, still there 5 s later): its time is recorded.
p=$(cat "$IOVD_PIDFILE")
t0=$(now_ms)
kill "$p"
i=0
while kill -0 "$p" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
kill -0 "$p" 2>/dev/null && fail "iovd did not exit within 30 s of SIGTERM"
ok "iovd exited $(( $(now_ms) - t0 )) ms after SIGTERM"
rm -f "$IOVD_PIDFILE"
ok "transcript: $(wc -l < "$W") lines"
