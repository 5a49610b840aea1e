#!/bin/sh
# tests/hardening.sh BUILD: the programs carry the build hardening (issue 10), read from their
# ELF: full RELRO (a GNU_RELRO segment and BIND_NOW), the stack protector (__stack_chk_fail
# imported), fortified libc calls (some __*_chk imported), CET instrumentation (main
# starts with endbr64), PIE. Exit 1 naming the program and what it lacks.
set -u
B=${1:?usage: $0 BUILD}
fail=0
for p in iovctl iovd iovm; do
	f=$B/$p
	[ -x "$f" ] || { echo "hardening: $f missing"; fail=1; continue; }
	lack=
	readelf -lW "$f" | grep -q GNU_RELRO || lack="$lack RELRO"
	readelf -dW "$f" | grep -Eq '\(FLAGS\).*BIND_NOW|\(FLAGS_1\).*NOW' || lack="$lack BIND_NOW"
	syms=$(readelf --dyn-syms -W "$f")
	echo "$syms" | grep -q ' __stack_chk_fail' || lack="$lack stack-protector"
	echo "$syms" | grep -Eq ' __[a-z0-9_]+_chk(@| |$)' || lack="$lack fortify"
	# -fcf-protection: every function starts with endbr64. (The IBT/SHSTK property note
	# also needs a CET-marked libc, which Debian 12 lacks, so the code is read instead.)
	n=$(objdump -d --no-show-raw-insn "$f" | grep -A1 '^[0-9a-f]* <main>:' | grep -c endbr64)
	[ "$n" -ge 1 ] || lack="$lack cf-protection"
	readelf -hW "$f" | grep -q 'DYN' || lack="$lack PIE"
	if [ -n "$lack" ]; then
		echo "hardening: $f lacks:$lack"
		fail=1
	fi
done
[ $fail = 0 ] && echo "hardening: iovctl iovd iovm: RELRO, BIND_NOW, stack protector, fortify, CET, PIE"
exit $fail
