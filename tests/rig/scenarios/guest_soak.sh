# 20 start/stop cycles of a payload guest on a pool VF through iovd (after warm-up cycles that
# fill iovd's recent-events ring) with the invariants after
# each (guest_load_lib.sh) and iovd's open fds and RSS flat; 100 cycles: guest_soak_long (on
# demand). IOV_RIG_APPEND="gsoak.cycles=N" picks another count.
# rig-presets: default
# rig-timeout: 300

. /rig/scenarios/guest_load_lib.sh

gload_setup
gsoak_run "$(cmdline_arg gsoak.cycles 20)"
stop_iovd
