# Runner self-test: the kernel prints a WARNING during the step; the step must FAIL although
# its checks pass (tests/rig/selftest.sh expects: FAIL, "the kernel reported").
# rig-presets: selftest
check "a check that passes" true
echo "WARNING: CPU: 0 PID: 1 at tests/rig/selftest: a made-up warning for the runner's self-test" > /dev/kmsg
