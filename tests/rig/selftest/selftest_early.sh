# Runner self-test: a scenario that exits 0 before its end (expects: FAIL, "before its end").
# rig-presets: selftest
check "a check that passes" true
exit 0
check "never reached" true
