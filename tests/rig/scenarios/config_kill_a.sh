# kill -9 of iovd (the test-only fault switch) after each of journal records 1-6 of an apply
# from nothing; restart; the host converges to the config every time. Records 7-11:
# config_kill_b. See config_kill_lib.sh.
# rig-presets: default
# rig-timeout: 200

. /rig/scenarios/config_kill_lib.sh

for n in 1 2 3 4 5 6; do kill_at $n; done
host_reset
