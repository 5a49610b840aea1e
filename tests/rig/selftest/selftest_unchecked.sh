# Runner self-test: a command that fails without a check stops the scenario (set -e; expects:
# FAIL, "stopped").
# rig-presets: selftest
check "a check that passes" true
false
check "never reached" true
