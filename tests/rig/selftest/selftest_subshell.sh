# Runner self-test: a check that fails inside a pipeline's subshell still fails the scenario
# (expects: FAIL, "check(s) failed in a subshell").
# rig-presets: selftest
check "a check that passes" true
echo x | while read -r _x; do ( fail "a failure in a subshell" ) || true; done
check "reached after the subshell" true
