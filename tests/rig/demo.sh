#!/bin/sh
# The main job, end to end on the test host (QEMU: VT-d + an SR-IOV igb + nested KVM):
#   boot the `default` preset; on it: iovctl list, create 4 VFs, put VF 1 on vfio-pci,
#   iovctl verify; then iovm boots a VM with a VF that pings the PF through it.
# Prints everything live and a final verdict.       tests/rig/demo.sh   (or: make rig-demo)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
OUT=${IOV_RIG_OUT:-build/rig}
if "$here/run.sh" --mode demo "${IOV_RIG_DEMO_PRESET:-default}"; then
	echo "demo: PASS ($(sed -n 's/^== verdict: //p' "$OUT/logs/${IOV_RIG_DEMO_PRESET:-default}-demo/demo.log"))"
else
	echo "demo: FAIL (log: $OUT/logs/${IOV_RIG_DEMO_PRESET:-default}-demo/)"
	exit 1
fi
