#!/bin/sh
# `make install` into a throwaway DESTDIR, twice (PREFIX=/usr/local, the default, and
# PREFIX=/usr as packagers use it): exactly the expected files with the expected modes, the
# unit's ExecStart follows BINDIR, the installed programs run, systemd-sysusers creates the
# VMM user iovm and systemd-tmpfiles the runtime and state directories (both with --root
# inside DESTDIR), and `make uninstall` leaves no file behind.
#   tests/eco/install.sh BUILD
set -u
B=${1:?usage: $0 BUILD}
cd "$(dirname "$0")/../.." || exit 2
T=$(mktemp -d "${TMPDIR:-/tmp}/iov-install.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

for prefix in /usr/local /usr; do
	D=$T/root$(echo "$prefix" | tr / _)
	if ! make --no-print-directory -s BUILD="$B" DESTDIR="$D" PREFIX="$prefix" install > "$T/log" 2>&1; then
		bad "make install PREFIX=$prefix:"; cat "$T/log"; continue
	fi
	P=${prefix#/}
	want="$P/bin/iovctl 755
$P/bin/iovd 755
$P/bin/iovm 755
$P/lib/modules-load.d/iovd.conf 644
$P/lib/systemd/system/iovd.service 644
$P/lib/systemd/system/iovd.socket 644
$P/lib/sysusers.d/iovd.conf 644
$P/lib/tmpfiles.d/iovd.conf 644
$P/share/bash-completion/completions/iovctl 644
$P/share/doc/iovd/iovd.md 644
$P/share/doc/iovd/iovm.md 644
$P/share/doc/iovd/verify.md 644"
	for p in "$B"/man/man*/*; do
		p=${p##*/}
		want="$want
$P/share/man/man${p##*.}/$p 644"
	done
	[ -f docs/fleet.md ] && want="$want
$P/share/doc/iovd/fleet.md 644"
	# zsh's completion: Debian's zsh reads vendor-completions under /usr, site-functions
	# under /usr/local.
	if [ "$prefix" = /usr ]; then zc=vendor-completions; else zc=site-functions; fi
	want="$want
$P/share/zsh/$zc/_iovctl 644"
	[ -f docs/examples/iovd.json ] && want="$want
$P/share/doc/iovd/examples/iovd.json 644"
	got=$(cd "$D" && find . -type f -printf '%P %m\n' | sort)
	want=$(echo "$want" | sort)
	[ "$got" = "$want" ] || { bad "PREFIX=$prefix: installed files differ:"; \
		diff -u "$(printf '%s\n' "$want" > "$T/w"; echo "$T/w")" \
		"$(printf '%s\n' "$got" > "$T/g"; echo "$T/g")"; }
	grep -q "^ExecStart=$prefix/bin/iovd --foreground" "$D/$P/lib/systemd/system/iovd.service" ||
		bad "PREFIX=$prefix: ExecStart does not name $prefix/bin/iovd"
	"$D/$P/bin/iovctl" --help > /dev/null || bad "installed iovctl --help failed"
	"$D/$P/bin/iovd" --version > /dev/null || bad "installed iovd --version failed"
	"$D/$P/bin/iovm" --help > /dev/null || bad "installed iovm --help failed"
	MANPATH="$D/$P/share/man" man -w iovd > /dev/null 2>&1 || bad "man cannot find iovd(8) under $D/$P/share/man"

	# The sysusers.d and tmpfiles.d entries do what they say, inside DESTDIR.
	mkdir -p "$D/etc"
	if systemd-sysusers --root="$D" "$D/$P/lib/sysusers.d/iovd.conf" > "$T/log" 2>&1; then
		grep -q '^iovm:x:[0-9]*:[0-9]*:iovd guest VMM:/nonexistent:/usr/sbin/nologin$' "$D/etc/passwd" ||
			bad "systemd-sysusers made no user iovm: $(cat "$D/etc/passwd" 2>/dev/null)"
		# The example config works as written on a fresh install: the admin group it
		# names is one the package creates.
		g=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["policy"]["admin_group"])' \
			"$D/$P/share/doc/iovd/examples/iovd.json")
		grep -q "^$g:x:[0-9]*:" "$D/etc/group" ||
			bad "the example's admin_group '$g' is not a group systemd-sysusers creates: $(cat "$D/etc/group")"
	else
		bad "systemd-sysusers: $(cat "$T/log")"
	fi
	if systemd-tmpfiles --root="$D" --create "$D/$P/lib/tmpfiles.d/iovd.conf" > "$T/log" 2>&1; then
		for d in "run/iovd 755" "var/lib/iovd 700" "run/cdi 755"; do
			m=$(stat -c %a "$D/${d% *}" 2>/dev/null)
			[ "$m" = "${d#* }" ] || bad "systemd-tmpfiles: $D/${d% *} mode '$m', want ${d#* }"
		done
	else
		bad "systemd-tmpfiles: $(cat "$T/log")"
	fi
	rm -rf "$D/etc" "$D/run" "$D/var"

	make --no-print-directory -s BUILD="$B" DESTDIR="$D" PREFIX="$prefix" uninstall > "$T/log" 2>&1 ||
		bad "make uninstall: $(cat "$T/log")"
	left=$(find "$D" -type f)
	[ -z "$left" ] || bad "PREFIX=$prefix: make uninstall left: $left"
done
echo "install.sh: 2 prefixes, $fail failures"
[ "$fail" = 0 ]
