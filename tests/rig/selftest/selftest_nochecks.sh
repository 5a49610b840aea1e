# Runner self-test: a scenario that checks nothing (expects: FAIL, "no check").
# rig-presets: selftest
log "this scenario makes no check"
