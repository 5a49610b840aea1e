# kill -9 of iovd (the test-only fault switch) after each of journal records 7-11 of an apply
# from nothing (11 = after the last step, before the end record: the restart finishes it);
# restart; the host converges to the config every time. Then a real SIGKILL in the middle of
# a reload. See config_kill_lib.sh.
# rig-presets: default
# rig-timeout: 200

. /rig/scenarios/config_kill_lib.sh

for n in 7 8 9 10 11; do kill_at $n; done

# A real kill -9 while a reload is applying (3 -> 2 VFs back and forth).
host_reset
start_cfg_iovd
converged "before the real kill"
sed -i 's/"num_vfs": 2/"num_vfs": 3/' "$CFG"
"$IOVCTL" reload > /tmp/reload.out 2>&1 &
# The moment the reload's transaction is in the journal, the daemon dies.
i=0
until grep -q '"r":"start","step":0,"txn":2\|"step":0,"txn":2' "$STATE/journal.jsonl" 2>/dev/null; do
	i=$((i + 1)); [ $i -gt 400 ] && fail "the reload's apply never started"
	sleep 0.02
done
kill -9 "$(cat "$IOVD_PIDFILE")"
wait
rm -f "$IOVD_PIDFILE" "$SOCK"
log "journal after the real kill: $(wc -l < "$STATE/journal.jsonl") records, last: $(tail -n1 "$STATE/journal.jsonl" | cut -c1-80)"
sed -i 's/"num_vfs": 3/"num_vfs": 2/' "$CFG"
start_cfg_iovd
grep -q "apply 2: recovered\|apply 2 was interrupted" "$IOVD_LOG" && ok "the restart recovered apply 2" ||
	fail "no recovery of apply 2 logged"
converged "after the real kill -9"
host_reset
