# Runner self-test: skip_scenario with no check before is a SKIP, never a PASS.
# rig-presets: selftest
skip_scenario "runner self-test: nothing to check here"
