#!/bin/sh
# iovm's sandbox from the inside, no /dev/kvm needed: `iovm --test-sandbox-only
# --test-forbidden-syscall=CALL` puts in place what a guest's iovm runs under (the user,
# Landlock, the seccomp allow-list) and makes one call the sandbox must stop. Each call
# must kill iovm with SIGSYS (the allow-list); with --sandbox landlock-only (no allow-list),
# the calls Landlock covers must fail with EACCES or EPERM. The one signal allowed (to
# iovm's own thread: the vCPU kick) must go through, and a signal to another process of
# the same uid must not.
# Usage: sandbox.sh IOVM [UID]: as root, iovm drops to UID (default 65534) and the process
# it tries to signal or trace runs as UID too (util-linux setpriv, or $IOV_ASUSER: the
# test host's asuser helper); otherwise both run as the caller.
# Ends with "vmm-sandbox: N passed, M failed, K skipped"; exit 0 iff nothing failed.
set -u
IOVM=${1:?usage: sandbox.sh IOVM [UID]}
GUID=${2:-65534}
T=$(mktemp -d)
pass=0 fail=0 nskip=0
target=
cleanup() { [ -n "$target" ] && kill "$target" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT

ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; sed 's/^/     | /' "$T/out" | tail -n 8; }
skip() { nskip=$((nskip + 1)); echo "SKIPPED $1 ($2)"; }

# The same uid as iovm's: a process outside iovm that only the sandbox keeps it from.
user=
if [ "$(id -u)" = 0 ]; then
	user="--user $GUID"
	if [ -n "${IOV_ASUSER:-}" ]; then
		"$IOV_ASUSER" "$GUID" sleep 120 &
	else
		setpriv --reuid "$GUID" --regid "$GUID" --clear-groups sleep 120 &
	fi
else
	sleep 120 &
fi
target=$!
sleep 0.2
kill -0 "$target" || { echo "FAIL no target process"; exit 1; }

# probe CALL [iovm options]: runs the probe; $st is the exit status, $T/out the messages.
probe() {
	call=$1
	shift
	# shellcheck disable=SC2086 # $user is two words or none
	timeout 20 "$IOVM" --test-sandbox-only --test-forbidden-syscall="$call" -v $user "$@" \
		< /dev/null > "$T/out" 2>&1
	st=$?
}

# The sanitizer runtime needs some of the forbidden calls (iovm --seccomp-list says which):
# there they reach the kernel and Landlock must refuse them instead.
san_line=$("$IOVM" --seccomp-list | grep '^# sanitizer build' | tr ';:' '  ')
san_allows() {
	case $1 in fork) set -- clone ;; mprotect-exec) set -- mprotect ;; esac
	case " $san_line " in *" $1 "*) return 0 ;; esac
	return 1
}

# SIGSYS (the shell's 128 + 31) for every call the allow-list forbids.
for c in openat open newfstatat statx execve socket "kill:$target" "tgkill:$target" \
	 "ptrace:$target" mount bpf unshare fork mprotect-exec memfd_create ioctl setuid; do
	probe "$c"
	name=${c%%:*}
	if [ "$st" = 159 ]; then
		ok "seccomp: $name kills iovm (SIGSYS)"
	elif san_allows "$name" && [ "$st" = 0 ] && grep -q "probe $c: refused" "$T/out"; then
		ok "seccomp: $name (sanitizer build: allowed by the filter) refused by Landlock"
	elif san_allows "$name" && [ "$st" = 1 ]; then
		skip "seccomp: $name" "the sanitizer build's filter lets it through"
	else
		bad "seccomp: $name: exit status $st, want 159 (SIGSYS)"
	fi
done
kill -0 "$target" && ok "the other process of the same uid is still there" ||
	bad "the other process of the same uid is gone"

# The control: a signal to iovm's own thread (what pthread_kill does to kick a vCPU).
probe tgkill-self
if [ "$st" = 1 ] && grep -q "probe tgkill-self: allowed" "$T/out"; then
	ok "seccomp: tgkill to iovm's own thread goes through"
else
	bad "seccomp: tgkill-self: exit status $st, want 1 and 'allowed'"
fi
probe openat --sandbox off
if [ "$st" = 1 ] && grep -q "probe openat: went through" "$T/out"; then
	ok "--sandbox off: openat goes through (the probe can tell)"
else
	bad "--sandbox off: openat: exit status $st, want 1 and 'went through'"
fi

# Landlock alone.
probe openat --sandbox landlock-only
abi=$(sed -n 's/.*Landlock (ABI \([0-9]*\)) in place.*/\1/p' "$T/out")
if [ -z "$abi" ]; then
	if grep -q "Landlock is not available" "$T/out" && [ "$st" = 1 ]; then
		ok "no Landlock here: said once, not fatal"
		skip "Landlock probes" "this kernel has no Landlock: $(grep -o 'not available ([^)]*)' "$T/out")"
	else
		bad "Landlock: neither in place nor said to be unavailable (status $st)"
	fi
else
	echo "     Landlock ABI $abi"
	for c in openat open execve "ptrace:$target"; do
		probe "$c" --sandbox landlock-only
		if [ "$st" = 0 ] && grep -q "probe $c: refused" "$T/out"; then
			ok "Landlock: ${c%%:*} refused"
		else
			bad "Landlock: ${c%%:*}: exit status $st, want 0 (refused)"
		fi
	done
	if [ "$abi" -ge 6 ]; then
		for c in "kill:$target" "tgkill:$target"; do
			probe "$c" --sandbox landlock-only
			if [ "$st" = 0 ] && grep -q "probe $c: refused (EPERM)" "$T/out"; then
				ok "Landlock (ABI 6 scope): ${c%%:*} to a same-uid process refused"
			else
				bad "Landlock: ${c%%:*}: exit status $st, want 0 (refused: EPERM)"
			fi
		done
	else
		skip "Landlock signal scope" "ABI $abi < 6"
	fi
	probe tgkill-self --sandbox landlock-only
	if [ "$st" = 1 ] && grep -q "allowed" "$T/out"; then
		ok "Landlock: a signal to iovm's own thread goes through"
	else
		bad "Landlock: tgkill-self: exit status $st, want 1 and 'allowed'"
	fi
fi

echo "vmm-sandbox: $pass passed, $fail failed, $nskip skipped"
[ "$fail" = 0 ]
