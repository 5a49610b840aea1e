#!/bin/sh
# The main job, end to end on the test host (QEMU: VT-d + an SR-IOV igb + nested KVM):
#   boot the `guests` preset (the default hardware, one vCPU); on it iovd applies the example
#   config, `iovctl vm start` boots a guest on a pooled VF, traffic goes through it, verify,
#   stop, the VF back in its pool (tests/rig/guest/demo.sh).
# Prints everything live and a final verdict.       tests/rig/demo.sh   (or: make rig-demo)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
OUT=${IOV_RIG_OUT:-build/rig}
if "$here/run.sh" --mode demo "${IOV_RIG_DEMO_PRESET:-guests}"; then
	echo "demo: PASS ($(sed -n 's/^== verdict: //p' "$OUT/logs/${IOV_RIG_DEMO_PRESET:-guests}-demo/demo.log"))"
else
	echo "demo: FAIL (log: $OUT/logs/${IOV_RIG_DEMO_PRESET:-guests}-demo/)"
	exit 1
fi
