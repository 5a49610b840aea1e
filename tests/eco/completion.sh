#!/bin/bash
# bash completion (dist/completion/iovctl.bash), driven the way bash drives it: COMP_LINE,
# COMP_POINT, and COMP_WORDS/COMP_CWORD split as readline splits them with bash's default
# COMP_WORDBREAKS (so "0000:05:1" is three words and bash replaces only the last), _iovctl
# called, COMPREPLY compared after putting back what bash keeps of the word. Then the same
# through an interactive bash's own completion (compgen -F with `complete -p`). Live values come from the generated
# fixture tree layout_a (HW.md layout A) through --sysroot on the completed line.
#   tests/eco/completion.sh BUILD
set -u
B=${1:?usage: $0 BUILD}
cd "$(dirname "$0")/../.." || exit 2
case "$B" in /*) ;; *) B="$(pwd)/$B" ;; esac
T=$(mktemp -d "${TMPDIR:-/tmp}/iov-comp.XXXXXX")
trap 'rm -rf "$T"' EXIT
python3 tests/fixtures/gen/mksysfs.py --all "$T/trees" > /dev/null || { echo "FAIL: fixture trees"; exit 1; }
TREE=$T/trees/layout_a
export IOV_PCI_IDS=$PWD/tests/fixtures/pci.ids
unset IOV_SYSROOT
# shellcheck source=/dev/null
. dist/completion/iovctl.bash
complete -p iovctl > /dev/null || { echo "FAIL: the file does not register _iovctl for iovctl"; exit 1; }

pass=0 fail=0
# comp 'LINE' 'EXPECTED WORDS (sorted, space separated)' ; LINE's last word is the one completed
# ("" when LINE ends with a space). The program word is the build's iovctl.
COMP_WORDBREAKS=$' \t\n"\'><=;|&(:'
# readline's split of LINE into COMP_WORDS: blanks separate words, and each run of the other
# COMP_WORDBREAKS characters is a word of its own.
split_words() {
	local line=$1 w="" c i
	COMP_WORDS=()
	for ((i = 0; i < ${#line}; i++)); do
		c=${line:i:1}
		if [[ $c == [[:blank:]] ]]; then
			[[ -n $w ]] && COMP_WORDS+=("$w"); w=""
		elif [[ $COMP_WORDBREAKS == *"$c"* ]]; then
			if [[ -n $w && $w != *[\>\<=\;\|\&\(:] ]]; then COMP_WORDS+=("$w"); w=""; fi
			w+=$c
		else
			if [[ -n $w && $w == *[\>\<=\;\|\&\(:] ]]; then COMP_WORDS+=("$w"); w=""; fi
			w+=$c
		fi
	done
	COMP_WORDS+=("$w")
}
comp() {
	local line=$1 want=$2 got keep
	line=$B/iovctl${line#iovctl}
	COMP_LINE=$line COMP_POINT=${#line}
	split_words "$line"
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_iovctl
	# bash replaces COMP_WORDS[COMP_CWORD] only: put back the rest of the blank-separated word
	keep=${line##*[[:blank:]]}
	keep=${keep%"${COMP_WORDS[COMP_CWORD]}"}
	got=$(printf "$keep%s\n" "${COMPREPLY[@]}" | sed "/^${keep//\//\\/}\$/d" | sort | tr '\n' ' ' | sed 's/ $//')
	if [[ $got == "$want" ]]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: '$line'"
		echo "   want: $want"
		echo "    got: $got"
	fi
}
S="iovctl --sysroot $TREE"

# Commands and global options, from iovctl --help (so new commands complete without edits).
cmds=$("$B/iovctl" --help | awk '/^commands:/ { on = 1; next } on && NF == 0 { exit } on { print $1 }' | sort | tr '\n' ' ' | sed 's/ $//')
comp "iovctl " "$cmds"
comp "iovctl ve" "verify"
comp "iovctl --js" "--json"
comp "iovctl --json li" "list"
comp "$S list " "groups pfs vfs"
# Live values: the layout-A PFs (address and netdev) ...
comp "$S vfs create " "0000:04:00.0 0000:04:00.1 0000:04:00.2 0000:04:00.3 0000:5e:00.0 0000:5e:00.1 0000:b1:00.0 0000:b1:00.1 eno1 eno2 eno3 eno4 ens2f0 ens2f1 ens3f0np0 ens3f1np1"
comp "$S vfs create eno" "eno1 eno2 eno3 eno4"
comp "$S vfs create eno1 4 --" "--dry-run --force --help --json --vfio"
comp "$S vfs destroy eno1 --" "--dry-run --force --help --json"
# ... VFs as PF/vfN (eno1 has 4 VFs, ens2f0 2, ens2f1 1) ...
comp "$S vf set eno1/" "eno1/vf0 eno1/vf1 eno1/vf2 eno1/vf3"
comp "$S vf set ens2f" "ens2f0/vf0 ens2f0/vf1 ens2f1/vf0"
comp "$S show 0000:05:1" "0000:05:10.0 0000:05:10.4 0000:05:11.0 0000:05:11.4"
# Only device lines give devices (not the legend under the table, "* IOMMU group ...").
comp "$S show \*" ""
comp "$S show IOMMU" ""
comp "$S show 0000:b1:01." "0000:b1:01.0 0000:b1:01.1 0000:b1:01.2 0000:b1:01.3"
comp "$S --json show 0000:5e:0" "0000:5e:00.0 0000:5e:00.1 0000:5e:02.0 0000:5e:02.1 0000:5e:0a.0"
comp "$S list --j" "--json"
comp "$S show eno1 --" "--help --json"
comp "iovctl list --sysroot $TREE pfs --js" "--json"
comp "$S --sysroot=$TREE vfs create eno" "eno1 eno2 eno3 eno4"
comp "$S verify eno1/vf0 eno1/vf" "eno1/vf0 eno1/vf1 eno1/vf2 eno1/vf3"
comp "$S bind --" "--driver --force --help --json"
comp "$S bind eno1/vf0 --driver " "vfio-pci"
# VF property keywords and their values.
comp "$S vf set eno1/vf0 " "mac max_rate min_rate proto qos spoofchk state trust vlan"
comp "$S vf set eno1/vf0 spoofchk " "off on"
comp "$S vf set eno1/vf0 state " "auto disable enable"
comp "$S vf set eno1/vf0 vlan 100 proto " "802.1Q 802.1ad"
comp "$S vf set eno1/vf0 mac " ""
comp "$S vf " "set unquarantine"
comp "$S vf unquarantine eno1/vf" "eno1/vf0 eno1/vf1 eno1/vf2 eno1/vf3"
comp "$S export " "cdi sriovdp"
comp "$S export cdi --" "--config --help --json --pool"
# Pools come from the config on the line (through iovctl export cdi).
cp tests/eco/cdi/layout_a.json "$T/cfg.json"
comp "$S export cdi --config $T/cfg.json --pool " "storage-net tenants"
comp "$S export cdi --config $T/cfg.json --pool te" "tenants"
comp "$S export cdi --config $T/nosuch.json --pool " ""
comp "$S monitor --" "--count --help --json --recent"
comp "$S config " "check"
comp "$S config check $T/cf" "$T/cfg.json"
comp "$S config check --" "--config-dir --help --json"
comp "$S apply --" "--dry-run --force --help --json --quiet"
# Guests come from the daemon (`iovctl vm list`): a stand-in iovd on the line's --socket
# answers io.iovd.VmList with two guests.
python3 - "$T/sock" > "$T/fake.log" 2>&1 <<'PY' &
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(8)
guests = [{"name": "web", "state": "running", "pid": 42, "cpus": 1, "mem_mib": 256,
           "nics": [{"vf": "uplink/vf0", "mac": "02:1e:00:00:01:01"}]},
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
        r = {"parameters": {"guests": guests, "quarantine": [{"device": "uplink/vf3",
             "guest": "old", "reason": "reset failed"}]}} if m.get("method") == "io.iovd.VmList" \
            else {"error": "org.varlink.service.MethodNotFound", "parameters": {}}
        c.sendall(json.dumps(r).encode() + b"\0")
    c.close()
PY
fake=$!
for _ in 1 2 3 4 5 6 7 8 9 10; do [ -S "$T/sock" ] && break; sleep 0.1; done
V="iovctl --sysroot $TREE --socket $T/sock"
comp "$V vm " "attach console detach list log reboot restart show start stop"
comp "$V vm detach " "db web"
comp "$V vm attach web --" "--help --json --nic --save"
comp "$V vm detach web --" "--help --json --save --timeout"
comp "$V vm stop " "db web"
comp "$V vm log w" "web"
comp "$V vm console w" "web"
comp "$V vm stop web --" "--force --help --json --timeout"
comp "$V vm start web --" "--cmdline --cpus --disk --help --hugepages --initrd --json --kernel --mem --nic --quiet --restart --save"
comp "$V vm restart web --" "--force --help --json --timeout"
comp "$V vm reboot web --" "--force --help --json"
comp "$V vm start web --restart " "always no on-failure"
comp "$V vm start web --kernel /boot/vmlinuz --nic eno1/vf" "eno1/vf0 eno1/vf1 eno1/vf2 eno1/vf3"
kill $fake 2>/dev/null
comp "iovctl --sysroot $TREE --socket $T/nosock vm show " ""
# A tree without SR-IOV: no PFs to offer, nothing breaks.
comp "iovctl --sysroot $T/trees/noiommu vfs create " "$("$B/iovctl" --sysroot "$T/trees/noiommu" list pfs 2>/dev/null | awk '$1 == "ADDRESS" { for (i = 1; i <= NF; i++) if ($i == "NETDEV") nd = i } $2 == "pf" { print $1; if ($nd != "-") print $nd }' | sort | tr '\n' ' ' | sed 's/ $//')"
comp "iovctl --sysroot /nonexistent vfs create " ""

echo "completion.sh: $pass passed, $fail failed"
[ "$fail" = 0 ]
