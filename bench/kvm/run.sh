#!/bin/sh
# The device check in one go, from an unpacked bench-kvm bundle (bench/kvm/bundle.sh):
#   run.sh BUNDLE [REPO]
# 1. does this machine have a /dev/kvm that runs guest code (kvmcheck: real-mode code, an I/O
#    exit, HLT); 2. iovm's payload tests on it (tests/vmm/run.sh); 3. iovm against QEMU
#    (microvm and q35) launch to /init, alternated rounds (kvm_bench.py); 4. with REPO (the
#    project's checkout, for the tree generator): the listing benchmark on this machine's CPUs.
# Needs /bin/sh and python3 only; everything else comes from the bundle. Ends with one line per
# part and exits 0 only if every part ran and met its targets.
set -u
B=$(cd "${1:?usage: run.sh BUNDLE [REPO]}" && pwd)
REPO=${2:-}
export PATH="$B/bin:$PATH"
res=""
say() { res="$res$1
"; }

echo "== machine: $(uname -srm), $(nproc) CPUs"
echo "== 1. /dev/kvm"
if [ ! -e /dev/kvm ]; then
	echo "no /dev/kvm on this machine"
	say "kvm: not run (no /dev/kvm)"
	kvm=0
elif "$B/bin/kvmcheck" /dev/kvm; then
	say "kvm: guest code runs"
	kvm=1
else
	say "kvm: /dev/kvm present but does not run guest code"
	kvm=0
fi

if [ "$kvm" = 1 ]; then
	echo "== 2. iovm payload tests"
	if sh "$B/vmm_payload_tests.sh" "$B/bin/iovm" "$B/guest/payload.bin"; then
		say "payload tests: passed"
	else
		say "payload tests: FAILED"
	fi
	echo "== 3. iovm against QEMU, launch to /init"
	python3 "$B/kvm_bench.py" "$B" --rounds "${IOV_KVM_ROUNDS:-20}"
	case $? in
	0) say "iovm vs QEMU: all targets met" ;;
	1) say "iovm vs QEMU: a target NOT MET (or a boot failed)" ;;
	*) say "iovm vs QEMU: not run (see above)" ;;
	esac
else
	say "payload tests: not run (no usable /dev/kvm)"
	say "iovm vs QEMU: not run (no usable /dev/kvm)"
fi

if [ -n "$REPO" ]; then
	echo "== 4. listing benchmark on $(nproc) CPUs"
	if python3 "$REPO/bench/list_bench.py" "$B/bin/iovctl" --runs 21 --tree "${TMPDIR:-/tmp}/iovd-bench-tree"; then
		say "listing: within targets"
	else
		say "listing: OVER TARGET or failed"
	fi
else
	say "listing: not run (no REPO given)"
fi

echo "== summary"
printf '%s' "$res"
case $res in
*"not run"* | *FAIL* | *"NOT MET"* | *OVER* | *"does not"*) exit 1 ;;
esac
exit 0
