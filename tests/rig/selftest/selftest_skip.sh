# Runner self-test: a skipped check beside a passing one is a PASS with 1 skip; a scenario
# that skips everything is a SKIP (selftest_skipall).
# rig-presets: selftest
check "a check that passes" true
skip "a check this test host cannot make" "runner self-test"
