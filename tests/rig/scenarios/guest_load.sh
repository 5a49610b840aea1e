# 8 clients issue random mutating calls (vm start/stop of payload guests on pool and named
# VFs, vf set, bind, release, vfs destroy/create) for 60 s while the invariants are checked
# after every call (guest_load_lib.sh: no VF in two guests, every VF a guest holds on
# vfio-pci, held by exactly its iovm and recorded in guests.json, every iovm a guest's, every
# other VF on vfio-pci in iovd's bind state) and a 9th client times GetVersion every 50 ms
# (root, limit 100 ms); then iovd restarted, the guests stopped, an apply, plan empty.
# The seed is printed; IOV_RIG_APPEND="gload.seed=N gload.secs=S" replays it. 5 minutes:
# guest_load_long (on demand, `make rig-load`).
# rig-presets: default
# rig-timeout: 300

. /rig/scenarios/guest_load_lib.sh

gload_setup
gload_run "$(cmdline_arg gload.secs 60)" "$(cmdline_arg gload.seed 1217)"
