#!/bin/sh
# The Debian package on a real machine: dpkg -i, check what it set up, dpkg --purge, check
# that nothing is left. It changes this machine (a user, units, directories), so it runs only
# as root with IOV_DEB_TEST=1, by hand on a throwaway machine (`make deb-test`): neither
# `make test` nor CI (.ci/run) runs it. It refuses if iovd is already installed, and purges
# the package on any exit.
#   IOV_DEB_TEST=1 tests/eco/deb-test.sh build/deb/iovd_VERSION_ARCH.deb
set -u
DEB=${1:?usage: $0 PACKAGE.deb}
if [ "${IOV_DEB_TEST:-0}" != 1 ] || [ "$(id -u)" != 0 ]; then
	echo "deb-test: SKIPPED: nothing tested (it changes this machine: run it as root with IOV_DEB_TEST=1)"
	exit 77
fi
if dpkg-query -W -f='${Status}' iovd 2>/dev/null | grep -q installed || [ -e /usr/bin/iovd ]; then
	echo "deb-test: FAIL: iovd is already on this machine; not touching it"
	exit 1
fi
had_user=0
getent passwd iovm > /dev/null && had_user=1
T=$(mktemp -d "${TMPDIR:-/tmp}/iov-deb.XXXXXX")
installed=0
# State another iovd (a test run from the tree) left here is moved aside for the test, so
# that purge, which removes iovd's state, cannot take it, and put back at the end.
SAVED="/var/lib/iovd /run/iovd /etc/iovd"
for d in $SAVED; do
	[ -e "$d" ] && mkdir -p "$T/saved$(dirname "$d")" && mv "$d" "$T/saved$d"
done
cleanup() {
	[ $installed = 1 ] && dpkg --purge iovd > /dev/null 2>&1
	for d in $SAVED; do
		if [ -e "$T/saved$d" ]; then
			rm -rf "$d"
			mv "$T/saved$d" "$d"
		fi
	done
	rm -rf "$T"
}
trap cleanup EXIT
fail=0
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

# Every path under the trees a package can touch, minus what dpkg, apt and logs own.
snapshot() {
	find /etc /usr /var /opt /run -xdev \
		\( -path /var/lib/dpkg -o -path /var/log -o -path /var/cache -o -path /var/lib/apt \
		   -o -path /var/tmp -o -path /run/user -o -path /var/lib/systemd/catalog \) -prune -o \
		-print 2>/dev/null | sort
}
# The accounts without the iovm and iovd lines: the user and group stay after purge (as Debian leaves system
# users), everything else must be as it was.
accounts() { cat /etc/passwd /etc/group /etc/shadow /etc/gshadow 2>/dev/null | grep -v '^iovm:\|^iovd:' | md5sum; }

snapshot > "$T/before"
accounts > "$T/acc.before"

if ! dpkg -i "$DEB" > "$T/log" 2>&1; then
	bad "dpkg -i $DEB:"; cat "$T/log"
fi
installed=1
# What the package set up.
/usr/bin/iovd --version > /dev/null || bad "/usr/bin/iovd --version"
/usr/bin/iovctl --help > /dev/null || bad "/usr/bin/iovctl --help"
/usr/bin/iovm --help > /dev/null || bad "/usr/bin/iovm --help"
getent passwd iovm > /dev/null || bad "no user iovm after install (sysusers.d)"
[ "$(stat -c %a /var/lib/iovd 2>/dev/null)" = 700 ] || bad "/var/lib/iovd not created 0700 (tmpfiles.d)"
[ -d /run/iovd ] || bad "/run/iovd not created (tmpfiles.d)"
man -w iovd.conf > /dev/null 2>&1 || bad "man iovd.conf: not found"
bash -c '. /usr/share/bash-completion/completions/iovctl && complete -p iovctl' > /dev/null ||
	bad "bash completion does not load"
# zsh finds it on its default fpath (compinit registers it for iovctl).
if command -v zsh > /dev/null; then
	[ "$(zsh -fc 'autoload -Uz compinit; compinit -u -D; print -r -- ${_comps[iovctl]}')" = _iovctl ] ||
		bad "zsh completion is not found by compinit"
else
	[ -f /usr/share/zsh/vendor-completions/_iovctl ] || bad "no zsh completion in vendor-completions"
fi
[ -L /etc/systemd/system/sockets.target.wants/iovd.socket ] ||
	bad "iovd.socket not enabled (dh_installsystemd)"
systemd-analyze verify /lib/systemd/system/iovd.service /lib/systemd/system/iovd.socket \
	> "$T/verify" 2>&1 && [ ! -s "$T/verify" ] || { bad "systemd-analyze verify of the installed units:"; cat "$T/verify"; }
dpkg -L iovd > "$T/files"
echo "deb-test: installed $(grep -c . "$T/files") paths, user $(getent passwd iovm | cut -d: -f1-4)"

if ! dpkg --purge iovd > "$T/log" 2>&1; then
	bad "dpkg --purge iovd:"; cat "$T/log"
else
	installed=0
fi
snapshot > "$T/after"
accounts > "$T/acc.after"
if ! cmp -s "$T/before" "$T/after"; then
	bad "left behind (or removed) by install + purge:"
	diff "$T/before" "$T/after" | sed -n 's/^[<>] /  /p' | head -40
fi
cmp -s "$T/acc.before" "$T/acc.after" || bad "/etc/passwd, group, shadow or gshadow differ after purge"
if [ $had_user = 0 ] && getent passwd iovm > /dev/null; then
	# A machine that had no iovm: the package made it; remove it so the machine is as before.
	userdel iovm 2>/dev/null; groupdel iovm 2>/dev/null
	echo "deb-test: user iovm (made by the package, kept by purge as Debian does) removed"
fi
[ $fail = 0 ] && echo "deb-test: dpkg -i, checks, dpkg --purge: nothing left behind"
exit $fail
