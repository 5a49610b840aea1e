# Nested KVM: kvm + ccp + kvm-amd loaded on QEMU's emulated SVM give the test host a working
# /dev/kvm with nested paging, and a VM created through it runs real guest code.
# rig-presets: default

check "kvm module loaded" grep -q '^kvm ' /proc/modules
check "kvm_amd module loaded" grep -q '^kvm_amd ' /proc/modules
check "/dev/kvm is a character device" test -c /dev/kvm
expect_eq "kvm_amd nested parameter" "$(attr /sys/module/kvm_amd/parameters/nested)" 1
expect_eq "kvm_amd npt (nested paging) parameter" "$(attr /sys/module/kvm_amd/parameters/npt)" Y
check "CPU advertises svm" grep -qw svm /proc/cpuinfo
# kvmcheck creates a VM and a vCPU, runs real-mode code, checks its I/O exit, HLT and registers.
check "KVM_CREATE_VM + KVM_RUN of real guest code" kvmcheck /dev/kvm
