# Runner self-test: the test host resets during a scenario that must never be retried
# (expects: FAIL, "never retried", and no boot for it afterwards).
# rig-presets: selftest
# rig-no-retry: runner self-test of an attack scenario
check "a check before the reset" true
echo b > /proc/sysrq-trigger
sleep 30
