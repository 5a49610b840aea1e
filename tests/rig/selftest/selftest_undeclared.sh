# Runner self-test: a declared fault does not let another one through (expects: FAIL, "the
# kernel reported").
# rig-presets: selftest
# rig-kernel-allow: DMAR: \[INTR-REMAP\] Request device \[ff:1f\.7\]
echo "DMAR: [DMA Read NO_PASID] Request device [ff:1f.6] fault addr 0x100000000 (runner self-test)" > /dev/kmsg
check "a check that passes" true
