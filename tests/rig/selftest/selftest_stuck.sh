# Runner self-test: a process that leaves the step's process group (setsid) holds the step's
# output, so the runner cannot end the step even after its timeout kills the group. The
# runner must say STUCK with what each process waits on, and run.sh stop the boot (expects:
# FAIL, "rig: STUCK: step selftest_stuck not ended", not retried).
# rig-presets: selftest
# rig-timeout: 5
check "a check before the process that holds the output" true
setsid sleep 600 &
