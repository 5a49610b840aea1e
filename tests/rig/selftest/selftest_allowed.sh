# Runner self-test: a fault the scenario declares is let through, and only that one
# (expects: PASS). The line imitates the interrupt-remapping fault msi_forgery provokes.
# rig-presets: selftest
# rig-kernel-allow: DMAR: \[INTR-REMAP\] Request device \[ff:1f\.7\] fault index 0x7d0
echo "DMAR: [INTR-REMAP] Request device [ff:1f.7] fault index 0x7d0 [fault reason 0x22] (runner self-test)" > /dev/kmsg
check "a check that passes" true
