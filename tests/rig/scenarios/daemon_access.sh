# iovd as a service: changes without a daemon fail with how to start it; only root may
# change things (SO_PEERCRED), any user may read; a second daemon does not steal the socket;
# SIGTERM ends it cleanly (exit 0, socket removed).
# rig-presets: default
# rig-timeout: 180

. /rig/scenarios/sriov_lib.sh

PF=$(pf_list | head -n1)
[ -n "$PF" ] || fail "no SR-IOV PF in this test host"
stop_iovd

# No daemon: a change fails and says how to start iovd; reads still work.
rm -f "$SOCK"
expect_refused "change without iovd" 1 "iovd is not running" vfs create "$PF" 2
grep -qi "start it" /tmp/refused.out && ok "says how to start it" || fail "no hint to start iovd"
run_ctl /tmp/d.out list
expect_eq "list without iovd" "$rc" 0
run_ctl /tmp/d.out vfs show "$PF"
expect_eq "vfs show without iovd" "$rc" 0

start_iovd
run_ctl /tmp/d.out vfs create "$PF" 2
expect_eq "root creates 2 VFs" "$rc" 0
settle

# Unprivileged peer (uid 65534, no groups): changes refused, reads fine.
[ -x "$ASUSER" ] || fail "$ASUSER missing from the image"
before=$(host_state)
"$ASUSER" 65534 "$IOVCTL" vf set "$PF/vf0" trust on > /tmp/d.out 2>&1 && rc=0 || rc=$?
cat /tmp/d.out
expect_eq "nobody: vf set exit" "$rc" 1
grep -q "permission denied" /tmp/d.out && ok "nobody: permission denied" || fail "nobody: no permission message"
"$ASUSER" 65534 "$IOVCTL" vfs destroy "$PF" > /tmp/d.out 2>&1 && rc=0 || rc=$?
expect_eq "nobody: vfs destroy exit" "$rc" 1
"$ASUSER" 65534:65534 "$IOVCTL" release "$(vf_addrs "$PF" | head -n1)" > /tmp/d.out 2>&1 && rc=0 || rc=$?
expect_eq "nobody: release exit" "$rc" 1
expect_eq "nobody changed nothing" "$(host_state)" "$before"
"$ASUSER" 65534 "$IOVCTL" --json vfs show "$PF" > /tmp/d.json 2>/tmp/d.err && rc=0 || rc=$?
cat /tmp/d.err
expect_eq "nobody: vfs show exit" "$rc" 0
expect_eq "nobody: sees 2 VFs" "$(jcount /tmp/d.json '.vfs[]')" 2
grep -q "SetVf by uid 65534" "$IOVD_LOG" && fail "iovd logged a change by uid 65534" || ok "no change by uid 65534 in the log"

# A second daemon must not take over a live socket.
"$IOVD" -f > /tmp/iovd2.log 2>&1 && rc=0 || rc=$?
cat /tmp/iovd2.log
expect_eq "second iovd exit" "$rc" 1
grep -q "already serving" /tmp/iovd2.log && ok "second iovd says why" || fail "second iovd: no reason"
[ -S "$SOCK" ] && ok "socket still there" || fail "socket gone"
run_ctl /tmp/d.out vfs destroy "$PF"
expect_eq "first iovd still serves" "$rc" 0

# SIGTERM: clean exit in the foreground, socket removed.
stop_iovd
mkdir -p /run/iovd
"$IOVD" -f -v > /tmp/iovd-fg.log 2>&1 &
pid=$!
i=0; while [ ! -S "$SOCK" ]; do i=$((i + 1)); [ $i -gt 50 ] && fail "no socket"; sleep 0.1; done
kill -TERM "$pid"
wait "$pid" && rc=0 || rc=$?
cat /tmp/iovd-fg.log
expect_eq "iovd exit status after SIGTERM" "$rc" 0
[ -e "$SOCK" ] && fail "socket left behind" || ok "socket removed"
log "daemon_access: $checks checks passed"
