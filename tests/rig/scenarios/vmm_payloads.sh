# The iovm payload tests (tests/vmm/run.sh: boot paths, interrupts, SMP, pvpanic, errors) on
# the test host's nested /dev/kvm. `make vmm-test` runs this instead of the local run when
# the build machine has no usable /dev/kvm (or IOV_NO_KVM=1), so every machine runs them.
# rig-presets: default
# rig-timeout: 540
# rig-on-demand: yes

check "iovm in the image" test -x /usr/bin/iovm
check "payload in the image" test -f /rig/vmm/payload.bin
check "/dev/kvm" test -c /dev/kvm
check "KVM runs guest code" kvmcheck /dev/kvm
# Nested KVM under TCG: the console flood (144 KiB, one exit per byte) takes ~50 s here.
IOV_VMM_TIMEOUT=150 sh /rig/vmm/run.sh /usr/bin/iovm /rig/vmm/payload.bin > /tmp/vmm-payloads.out 2>&1 && rc=0 || rc=$?
cat /tmp/vmm-payloads.out
# What the payload tests could not run here is a skip of this scenario too.
sed -n 's/^SKIPPED //p' /tmp/vmm-payloads.out | while read -r what; do skip "payload test $what" "tests/vmm/run.sh"; done
grep -q "^vmm-test: .* passed, 0 failed" /tmp/vmm-payloads.out || fail "payload tests: $(tail -n 1 /tmp/vmm-payloads.out)"
expect_eq "payload tests exit status" "$rc" 0
