# guest_hotplug with 20 attach/detach cycles, as issue 22 asks (make test's guest_hotplug runs
# as many as fit in 2 minutes): `make rig-hotplug-soak`, under the rig lock.
# rig-presets: guests
# rig-on-demand
# rig-timeout: 1500

HP_CYCLES=20
. /rig/scenarios/guest_hotplug.sh
