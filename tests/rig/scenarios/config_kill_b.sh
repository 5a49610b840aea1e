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
sleep 0.4
kill -9 "$(cat "$IOVD_PIDFILE")"
wait
rm -f "$IOVD_PIDFILE" "$SOCK"
log "journal after the real kill: $(wc -l < "$STATE/journal.jsonl") records, last: $(tail -n1 "$STATE/journal.jsonl" | cut -c1-80)"
sed -i 's/"num_vfs": 3/"num_vfs": 2/' "$CFG"
start_cfg_iovd
converged "after the real kill -9"
host_reset
