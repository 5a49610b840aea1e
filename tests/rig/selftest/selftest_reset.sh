# Runner self-test: the test host resets during the step. On its first boot it resets; the
# runner boots once more (a test-host retry) where it passes, and says so (expects: PASS
# "retried").
# rig-presets: selftest
if grep -qw rig.retry=1 /proc/cmdline; then
	check "the retry boot says it is one (rig.retry=1)" true
else
	echo b > /proc/sysrq-trigger
	sleep 30
fi
