#!/bin/sh
# Host-side checks of jget, the JSON reader the scenarios rely on (a broken reader could make
# scenarios pass or fail for the wrong reason).   tests/rig/jget-test.sh PATH/TO/jget
set -u
J=${1:?usage: jget-test.sh JGET}
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fails=0
same() { # DESC GOT WANT
	if [ "$2" = "$3" ]; then :; else echo "jget-test: $1: got '$2', want '$3'"; fails=$((fails + 1)); fi
}
cat > "$t/a.json" <<'J'
{"iommu": {"enabled": true, "vendor": null, "units": [], "n": -1.5e3},
 "devices": [{"address": "0000:01:00.0", "role": "pf", "vfs": ["0000:01:10.0", "0000:01:10.2"], "g": 4},
             {"address": "0000:01:10.0", "role": "vf", "pf": "0000:01:00.0", "g": 5, "s": "a\"b\\c\u00e9\ud83d\ude00 x"}],
 "groups": [{"id": 4, "devices": ["0000:01:00.0"]}, {"id": 5, "devices": ["0000:01:10.0"]}]}
J
same "bool" "$("$J" "$t/a.json" .iommu.enabled)" true
same "null as JSON" "$("$J" -j "$t/a.json" .iommu.vendor)" null
same "number" "$("$J" "$t/a.json" .iommu.n)" -1.5e3
same "empty array count" "$("$J" -c "$t/a.json" '.iommu.units[]')" 0
same "iterate" "$("$J" "$t/a.json" '.devices[].address' | tr '\n' ' ')" "0000:01:00.0 0000:01:10.0 "
same "select by string" "$("$J" "$t/a.json" '.devices[role=vf].pf')" 0000:01:00.0
same "select by number" "$("$J" "$t/a.json" '.groups[id=5].devices[0]')" 0000:01:10.0
same "index" "$("$J" "$t/a.json" '.devices[0].vfs[1]')" 0000:01:10.2
same "unescape" "$("$J" "$t/a.json" '.devices[1].s')" "$(printf 'a"b\\c\303\251\360\237\230\200 x')"
same "string as JSON" "$("$J" -j "$t/a.json" '.devices[0].role')" '"pf"'
same "compact object" "$("$J" -j "$t/a.json" '.groups[0]')" '{"id":4,"devices":["0000:01:00.0"]}'
same "types" "$("$J" -t "$t/a.json" '.iommu[]' | tr '\n' ' ')" "bool null array number "
same "columns" "$("$J" "$t/a.json" '.devices[]' .address .g '.vfs[]' .pf)" \
	"0000:01:00.0 4 0000:01:10.0,0000:01:10.2 <none>
0000:01:10.0 5 <none> 0000:01:00.0"
same "columns as JSON" "$("$J" -j "$t/a.json" '.groups[]' .id .devices)" \
	'4 ["0000:01:00.0"]
5 ["0000:01:10.0"]'
"$J" "$t/a.json" .nothing > /dev/null; same "no match exits 1" $? 1
"$J" "$t/a.json" '.devices[role=xx]' > /dev/null; same "no selected element exits 1" $? 1
for bad in '{"a":1,}' '[1 2]' '{"a":01}' '"x' '{"a":tru}' '[1] 2' '' '{"a":"\x"}' '["\ud800"]'; do
	printf '%s' "$bad" > "$t/bad.json"
	"$J" "$t/bad.json" . > /dev/null 2>&1; same "malformed $bad exits 2" $? 2
done
[ $fails = 0 ] && echo "jget-test: all checks passed"
[ $fails = 0 ]
