# 20 rapid create/destroy cycles through iovd (each one dozens of uevents, coalesced, and a
# drift check) leave no leaked fds or memory in iovd, and an apply afterwards ends in the
# declared state. iovd's fds (/proc/PID/fd) and VmRSS are compared after a first cycle
# (warm: pci.ids, libudev, netlink caches) and after the 20th.
# rig-presets: default
# rig-timeout: 240

. /rig/scenarios/events_lib.sh

host_reset
cat > "$CFG" <<J
{ "pfs": [ { "name": "uplink", "match": { "address": "$PF" }, "num_vfs": 2,
             "vfs": { "0": { "mac": "02:1e:00:00:0d:00", "vlan": 7 },
                      "1": { "mac": "02:1e:00:00:0d:01", "driver": "vfio-pci" } } } ] }
J
start_cfg_iovd
wait_for "declared state at start" 10 vf_is 1 vfio-pci "02:1e:00:00:0d:01"

# The declared VFs go first (vf1 is on vfio-pci: destroy --force), then each cycle creates 2
# VFs for igbvf and destroys them.
"$IOVCTL" vfs destroy "$PF" --force > /tmp/c.out 2>&1 || { cat /tmp/c.out; fail "destroy the declared VFs"; }
cycle() {
	"$IOVCTL" vfs create "$PF" 2 > /tmp/c.out 2>&1 || { cat /tmp/c.out; fail "cycle $1: create"; }
	"$IOVCTL" vfs destroy "$PF" --force > /tmp/c.out 2>&1 || { cat /tmp/c.out; fail "cycle $1: destroy"; }
}
cycle 0
iovd_quiet		# the last window closes, its drift check runs
fd0=$(iovd_fds) rss0=$(iovd_rss_kb)
log "after a first cycle: $fd0 fds, VmRSS $rss0 kB"
t0=$(now_ms)
i=1
while [ $i -le 20 ]; do
	cycle $i
	i=$((i + 1))
done
t1=$(now_ms)
log "figure: 20 create(2)/destroy cycles took $((t1 - t0)) ms"
iovd_quiet
# A leak shows as a count that stays above fd0: wait (10 s at most) for it to come back.
i=0
while [ "$(iovd_fds)" != "$fd0" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
fd1=$(iovd_fds) rss1=$(iovd_rss_kb)
log "figure: after 20 cycles: $fd1 fds (was $fd0), VmRSS $rss1 kB (was $rss0 kB)"
ls -l "/proc/$(cat "$IOVD_PIDFILE")/fd" > "$RIG_BLOBS/iovd-fds.txt"
expect_eq "no fd leaked" "$fd1" "$fd0"
[ $((rss1 - rss0)) -lt 1024 ] && ok "VmRSS grew by $((rss1 - rss0)) kB (< 1 MiB)" ||
	fail "VmRSS grew by $((rss1 - rss0)) kB over 20 cycles"
# the daemon still answers, the monitor still runs, and the uevents were coalesced
run_ctl /tmp/v.out status
expect_eq "status after the cycles: exit" "$rc" 0
kill -0 "$MON_PID" 2>/dev/null && ok "the monitor is still subscribed" || fail "the monitor died"
windows=$(grep -c "host changed:" "$IOVD_LOG") || true
log "figure: $windows udev windows for 21 cycles"
[ "$windows" -lt 63 ] && ok "uevents coalesced ($windows windows)" || fail "$windows windows"

# back to the declared state
run_ctl /tmp/a.out apply
expect_eq "apply: exit" "$rc" 0
expect_eq "numvfs declared" "$(attr "$SYSPCI/$PF/sriov_numvfs")" 2
expect_vf 0 igbvf "02:1e:00:00:0d:00" "vlan 7"
expect_vf 1 vfio-pci "02:1e:00:00:0d:01"
run_ctl /tmp/p.out plan
grep -q "no changes" /tmp/p.out && ok "the host matches the config" || fail "plan not empty"
stop_cfg_iovd
host_reset
