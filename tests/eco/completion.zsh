#!/usr/bin/zsh -f
# zsh completion (dist/completion/_iovctl) through zsh's own machinery: an interactive zsh
# on a pseudo-terminal (zsh/zpty) with compinit and the file on its fpath, a line typed and
# TAB pressed (zle's complete-word); the candidates zsh's completion system adds are recorded by a
# wrapper around the compadd builtin (what each call adds after zsh's own prefix matching:
# compadd -O), and compared. Live values come from the generated fixture tree layout_a
# through --sysroot on the line, guests from a stand-in iovd on --socket.
#   tests/eco/completion.zsh BUILD
emulate -L zsh
setopt no_unset
B=${1:?usage: $0 BUILD}
cd ${0:A:h}/../..
[[ $B == /* ]] || B=$PWD/$B
T=$(mktemp -d ${TMPDIR:-/tmp}/iov-zcomp.XXXXXX)
fake=
trap 'kill $fake 2>/dev/null; zpty -d z 2>/dev/null; rm -rf $T' EXIT
python3 tests/fixtures/gen/mksysfs.py --all $T/trees > /dev/null || { print "FAIL: fixture trees"; exit 1 }
TREE=$T/trees/layout_a
export IOV_PCI_IDS=$PWD/tests/fixtures/pci.ids
unset IOV_SYSROOT
CAP=$T/cap
mkdir $T/bin && ln -s $B/iovctl $T/bin/iovctl

zmodload zsh/zpty
# What the terminal shows is read and dropped as it comes: a full pty would stop the shell.
drain() { local out; while zpty -rt z out 2>/dev/null; do :; done; return 0 }
zpty z "env -i HOME=$T TERM=dumb PATH=$T/bin:/usr/bin:/bin IOV_PCI_IDS=$IOV_PCI_IDS zsh -f -i"
zpty -w z "stty columns 4000 rows 1000; unsetopt auto_list auto_menu list_beep; PS1='> '; PS2=''; RPS1=''; bindkey -e"
zpty -w z "fpath=($PWD/dist/completion \$fpath); autoload -Uz compinit; compinit -u -D"
# The recorder: what compsys adds, after its own matching against the word; then the real
# compadd. Calls that only ask (-O, -A, -D) pass through.
zpty -w z "compadd() { if (( \${@[(I)-[OAD]]} )); then builtin compadd \"\$@\"; return; fi; local -a __h; builtin compadd -O __h \"\$@\"; (( \$#__h )) && print -rl -- \$__h >> $CAP; builtin compadd \"\$@\" }"
# TAB: zsh's complete-word, then a mark that it has finished.
zpty -w z "_iov_tab() { zle complete-word; print -r -- @@done >> $CAP }; zle -N _iov_tab"
zpty -w z "bindkey '^I' _iov_tab; zstyle ':completion:*' menu no; setopt no_beep; print -r -- @@ready > $CAP"
for i in {1..200}; do drain; [[ -s $CAP ]] && break; sleep 0.05; done
[[ $(<$CAP) == @@ready ]] || { print "FAIL: the interactive zsh did not start"; exit 1 }
# compinit registered the function for iovctl
zpty -w z "print -r -- \${_comps[iovctl]} > $T/reg"
for i in {1..100}; do drain; [[ -s $T/reg ]] && break; sleep 0.05; done
[[ $(<$T/reg) == _iovctl ]] || { print "FAIL: compinit did not register _iovctl for iovctl: '$(<$T/reg)'"; exit 1 }

pass=0 fail=0
# comp 'LINE' 'EXPECTED WORDS (sorted, space separated)': LINE typed, TAB, the candidates.
comp() {
	local line=$1 want=$2 got i
	: > $CAP
	zpty -w -n z "$line"$'\t'
	for i in {1..200}; do drain; grep -q '^@@done$' $CAP && break; sleep 0.05; done
	# the line is cleared for the next case (Ctrl-U: kill-whole-line in emacs mode)
	zpty -w -n z $'\x15'
	drain
	got=$(grep -v '^@@done$' $CAP | sort -u | tr '\n' ' ' | sed 's/ $//')
	if ! grep -q '^@@done$' $CAP; then
		(( fail++ )); print "FAIL: '$line': completion did not finish"
	elif [[ $got == $want ]]; then
		(( pass++ ))
	else
		(( fail++ ))
		print "FAIL: '$line'"
		print "   want: $want"
		print "    got: $got"
	fi
	return 0
}
S="iovctl --sysroot $TREE"

cmds=$($B/iovctl --help | awk '/^commands:/ { on = 1; next } on && NF == 0 { exit } on { print $1 }' | sort | tr '\n' ' ' | sed 's/ $//')
comp "iovctl " "$cmds"
comp "iovctl ve" "verify"
comp "iovctl --js" "--json"
comp "iovctl --json li" "list"
comp "$S vfs create " "0000:04:00.0 0000:04:00.1 0000:04:00.2 0000:04:00.3 0000:5e:00.0 0000:5e:00.1 0000:b1:00.0 0000:b1:00.1 eno1 eno2 eno3 eno4 ens2f0 ens2f1 ens3f0np0 ens3f1np1"
comp "$S vfs create eno" "eno1 eno2 eno3 eno4"
comp "$S vfs create eno1 4 --" "--dry-run --force --help --json --vfio"
comp "$S list eno" "eno1 eno2 eno3 eno4"
comp "$S vf set eno1/" "eno1/vf0 eno1/vf1 eno1/vf2 eno1/vf3"
comp "$S vf set ens2f" "ens2f0/vf0 ens2f0/vf1 ens2f1/vf0"
# A PCI address is one word: no COMP_WORDBREAKS in zsh.
comp "$S show 0000:05:1" "0000:05:10.0 0000:05:10.4 0000:05:11.0 0000:05:11.4"
comp "$S show IOMMU" ""
comp "$S show eno1 --" "--help --json"
comp "iovctl list --sysroot $TREE pfs --js" "--json"
comp "$S verify eno1/vf0 eno1/vf" "eno1/vf0 eno1/vf1 eno1/vf2 eno1/vf3"
comp "$S bind eno1/vf0 --driver " "vfio-pci"
comp "$S vf set eno1/vf0 " "mac max_rate min_rate proto qos spoofchk state trust vlan"
comp "$S vf set eno1/vf0 state " "auto disable enable"
comp "$S vf set eno1/vf0 mac " ""
comp "$S apply --" "--dry-run --force --help --json --quiet"
comp "$S monitor --c" "--count"
cp tests/eco/cdi/layout_a.json $T/cfg.json
comp "$S export cdi --config $T/cfg.json --pool " "storage-net tenants"
# A file: _files adds the name within its directory (the prefix stays as typed).
comp "$S config check $T/cf" "cfg.json"
# Guests from a stand-in iovd on the line's --socket (io.iovd.VmList with two guests).
python3 - $T/sock > $T/fake.log 2>&1 <<'PY' &
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(8)
guests = [{"name": "web", "state": "running", "pid": 42, "cpus": 1, "mem_mib": 256, "nics": []},
          {"name": "db", "state": "stopped", "cpus": 2, "mem_mib": 512, "nics": []}]
while True:
    c, _ = s.accept()
    buf = b""
    while not buf.endswith(b"\0"):
        d = c.recv(4096)
        if not d:
            break
        buf += d
    if buf:
        m = json.loads(buf.rstrip(b"\0"))
        r = {"parameters": {"guests": guests, "quarantine": []}} if m.get("method") == "io.iovd.VmList" \
            else {"error": "org.varlink.service.MethodNotFound", "parameters": {}}
        c.sendall(json.dumps(r).encode() + b"\0")
    c.close()
PY
fake=$!
for i in {1..50}; do [[ -S $T/sock ]] && break; sleep 0.1; done
V="iovctl --sysroot $TREE --socket $T/sock"
comp "$V vm " "attach console detach list log reboot restart show start stop"
comp "$V vm detach " "db web"
comp "$V vm reboot " "db web"
comp "$V vm stop " "db web"
comp "$V vm start web --" "--cmdline --cpus --disk --help --hugepages --initrd --json --kernel --mem --nic --quiet --restart --save"
comp "$V vm detach web --" "--help --json --save --timeout"
comp "$V vm start web --restart " "always no on-failure"
comp "$V vm start web --kernel /boot/vmlinuz --nic eno1/vf" "eno1/vf0 eno1/vf1 eno1/vf2 eno1/vf3"

print "completion.zsh: $pass passed, $fail failed"
(( fail == 0 ))
