# 100 start/stop cycles of a payload guest on a pool VF through iovd (after warm-up cycles that
# fill iovd's recent-events ring) with the invariants after
# each (guest_load_lib.sh) and iovd's open fds and RSS flat; in make test: guest_soak (20
# cycles). IOV_RIG_APPEND="gsoak.cycles=N" picks another count.
# rig-presets: default
# rig-timeout: 600
# rig-on-demand: yes

. /rig/scenarios/guest_load_lib.sh

gload_setup
gsoak_run "$(cmdline_arg gsoak.cycles 100)"
stop_iovd
