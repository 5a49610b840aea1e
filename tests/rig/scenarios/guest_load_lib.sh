# Helpers for guest_kill, guest_load and guest_soak (sourced; not a scenario: no presets
# line): iovd with a host config (PF with 3 VFs: 0-1 on vfio-pci in pool "tenants", 2 on
# igbvf), cheap real guests (iovm running the test payload, tests/vmm/payload.c, which halts
# or powers off at once) and the invariants every one of them checks.

. /rig/scenarios/sriov_lib.sh

GSTATE=/tmp/gload-state
GCFG=/tmp/gload-iovd.json
PAYLOAD=/rig/vmm/payload.bin
IOVM=/usr/bin/iovm

gload_setup() {
	[ -f "$PAYLOAD" ] || fail "no $PAYLOAD in the image (make rig-test builds it: build/vmm-payloads/payload.bin)"
	check "/dev/kvm" test -c /dev/kvm
	PF=$(pf_list | head -n1)
	[ -n "$PF" ] || fail "no SR-IOV PF"
	PFNET=$(pf_netdev "$PF")
	$IP link set "$PFNET" up || fail "ip link set $PFNET up"
	stop_iovd
	rm -rf "$GSTATE"
	: > "$IOVD_LOG"
	cat > "$GCFG" <<J
{ "policy": { "mac_prefix": "02:1e:00" },
  "pfs": [ { "name": "uplink", "match": { "address": "$PF" }, "num_vfs": 3,
             "vfs": { "0": { "driver": "vfio-pci" }, "1": { "driver": "vfio-pci" } } } ],
  "pools": [ { "name": "tenants", "vfs": ["uplink#0-1"] } ] }
J
	GARGS="--state-dir $GSTATE --config $GCFG"
	start_iovd $GARGS
	iovd_ready
	VF0=$(link_name "$SYSPCI/$PF/virtfn0")
	VF1=$(link_name "$SYSPCI/$PF/virtfn1")
	VF2=$(link_name "$SYSPCI/$PF/virtfn2")
	expect_eq "$VF0 on vfio-pci (pool)" "$(dev_driver "$VF0")" vfio-pci
	expect_eq "$VF2 on igbvf" "$(dev_driver "$VF2")" igbvf
}

# iovd_ready: iovd answers calls (its parent returns before it has re-adopted the guests an
# earlier iovd left; the first call is answered after that).
iovd_ready() {
	"$IOVCTL" vm list > /dev/null 2>&1 || fail "iovd does not answer vm list"
}

# vm_start NAME [NIC...]: a payload guest that halts (iovm runs until stopped).
vm_start() {
	_n=$1; shift
	_nics=""
	for _x in "$@"; do _nics="$_nics --nic $_x"; done
	# shellcheck disable=SC2086
	"$IOVCTL" vm start "$_n" --kernel "$PAYLOAD" --cmdline "mode=hang" --mem 32M $_nics
}

# iovm_pids: every iovm process running.
iovm_pids() {
	for _p in /proc/[0-9]*; do
		[ "$(readlink "$_p/exe" 2>/dev/null)" = "$IOVM" ] && echo "${_p#/proc/}"
	done
	return 0
}

# vf_state: each VF's driver and the PF's admin settings for it (what a guest changes).
vf_state() {
	for _i in 0 1 2; do
		_a=$(link_name "$SYSPCI/$PF/virtfn$_i")
		echo "vf$_i $_a $(dev_driver "$_a") $(ip_vf "$PFNET" "$_i" | sed 's/, link-state.*//')"
	done
}

# wait_gone PID: until the process has ended (5 s).
wait_gone() {
	_i=0
	while kill -0 "$1" 2>/dev/null; do
		_i=$((_i + 1)); [ $_i -gt 50 ] && fail "pid $1 still there 5 s later"
		sleep 0.1
	done
	return 0
}

# host_invariants WHAT: nothing in two places, everything recorded. Every VF a running
# guest holds (vm list) is on vfio-pci, held by that guest's iovm (its group open) and
# recorded in guests.json; no VF is held by two guests; every iovm running is a guest's;
# a pool VF no guest holds is on vfio-pci, VF 2 when no guest holds it is on igbvf (a VF in
# quarantine is in neither).
host_invariants() {
	_w=$1
	"$IOVCTL" --json vm list > /tmp/inv-list.json 2>/tmp/inv-err || { cat /tmp/inv-err; fail "$_w: vm list"; }
	_running=$(( $("$JGET" -c /tmp/inv-list.json '.guests[state=running]') + $("$JGET" -c /tmp/inv-list.json '.guests[state=stopping]') ))
	_held=$("$JGET" /tmp/inv-list.json '.guests[].nics[].vf' | sort || true)
	_rec=$("$JGET" "$GSTATE/guests.json" '.guests[].nics[].vf' || true)
	_quar=$("$JGET" /tmp/inv-list.json '.quarantine[].device' || true)
	_dups=$(echo "$_held" | grep -v '^$' | uniq -d || true)
	[ -z "$_dups" ] || fail "$_w: a VF in two guests: $_dups"
	_pids=$(iovm_pids)
	_np=$(echo "$_pids" | grep -c . || true)
	[ "$_np" = "$_running" ] || fail "$_w: $_np iovm processes, $_running guests running ($_pids)"
	for _a in $VF0 $VF1 $VF2; do
		if echo "$_held" | grep -qx "$_a"; then
			[ "$(dev_driver "$_a")" = vfio-pci ] || fail "$_w: $_a held by a guest but on $(dev_driver "$_a")"
			echo "$_rec" | grep -qx "$_a" || fail "$_w: $_a held but not in guests.json"
			_g=$(dev_group "$_a"); _by=""
			for _p in $_pids; do
				ls -l "/proc/$_p/fd" 2>/dev/null | grep -q "/dev/vfio/$_g\$" && _by="$_by $_p"
			done
			[ "$(echo $_by | wc -w)" = 1 ] || fail "$_w: $_a (group $_g) held by iovm pids '$_by', not one"
		elif echo "$_quar" | grep -qx "$_a"; then
			log "$_w: $_a is in quarantine"
		else
			_want=vfio-pci; [ "$_a" = "$VF2" ] && _want=igbvf
			[ "$(dev_driver "$_a")" = "$_want" ] || fail "$_w: $_a free but on $(dev_driver "$_a"), not $_want"
		fi
	done
	return 0
}

# cmdline_arg NAME DEFAULT: NAME=VALUE from the test host's kernel command line (run.sh
# passes IOV_RIG_APPEND there), else DEFAULT.
cmdline_arg() {
	_v=$2
	for _w in $(cat /proc/cmdline); do case "$_w" in "$1="*) _v=${_w#*=} ;; esac; done
	echo "$_v"
}

LOCK=/tmp/gload.lock
LT=/usr/bin/loadtool

# free_vfs_recorded WHAT: every VF of the PF on vfio-pci that no guest holds is recorded
# (iovd's bind state: the config's apply or a Bind put it there and will give it back).
free_vfs_recorded() {
	for _l in "$SYSPCI/$PF"/virtfn*; do
		[ -e "$_l" ] || continue
		_a=$(link_name "$_l")
		echo "$_held" | grep -qx "$_a" && continue
		[ "$(dev_driver "$_a")" = vfio-pci ] || continue
		grep -q "\"$_a\"" "$GSTATE/bind-state.json" 2>/dev/null ||
			fail "$1: $_a is on vfio-pci, held by no guest and not in iovd's bind state"
	done
	return 0
}

# load_invariants WHAT: host_invariants' rules for any number of VFs (they come and go).
load_invariants() {
	_w=$1
	"$IOVCTL" --json vm list > /tmp/inv-list.json 2>/tmp/inv-err || { cat /tmp/inv-err; fail "$_w: vm list"; }
	_running=$(( $("$JGET" -c /tmp/inv-list.json '.guests[state=running]') + $("$JGET" -c /tmp/inv-list.json '.guests[state=stopping]') ))
	_held=$("$JGET" /tmp/inv-list.json '.guests[].nics[].vf' | sort || true)
	_rec=$("$JGET" "$GSTATE/guests.json" '.guests[].nics[].vf' || true)
	_quar=$("$JGET" /tmp/inv-list.json '.quarantine[].device' || true)
	_dups=$(echo "$_held" | grep -v '^$' | uniq -d || true)
	[ -z "$_dups" ] || fail "$_w: a VF in two guests: $_dups"
	_pids=$(iovm_pids)
	_np=$(echo "$_pids" | grep -c . || true)
	[ "$_np" = "$_running" ] || fail "$_w: $_np iovm processes, $_running guests running ($_pids)"
	for _a in $_held; do
		echo "$_quar" | grep -qx "$_a" && fail "$_w: $_a held by a guest and in quarantine"
		[ "$(dev_driver "$_a")" = vfio-pci ] || fail "$_w: $_a held by a guest but on $(dev_driver "$_a")"
		echo "$_rec" | grep -qx "$_a" || fail "$_w: $_a held but not in guests.json"
		_g=$(dev_group "$_a"); _by=""
		for _p in $_pids; do
			ls -l "/proc/$_p/fd" 2>/dev/null | grep -q "/dev/vfio/$_g\$" && _by="$_by $_p"
		done
		[ "$(echo $_by | wc -w)" = 1 ] || fail "$_w: $_a (group $_g) held by iovm pids '$_by', not one"
	done
	free_vfs_recorded "$_w"
	return 0
}

# rnd: the next number of this client's generator (a 31-bit LCG on $x).
rnd() { x=$(( (x * 1103515245 + 12345) % 2147483648 )); r=$(( x / 65536 )); }

# one_op CLIENT: one random mutating call (shared lock), then the invariants (exclusive).
# Its line in /tmp/gload-CLIENT.log: the call, its exit status, its time.
one_op() {
	_c=$1
	rnd; _op=$(( r % 10 ))
	rnd; _vf=$(( r % 3 ))
	rnd; _g=g$(( r % 4 ))
	rnd; _v=$(( r % 4095 ))
	case $_op in
	0|1) set -- vm start "$_g" --kernel "$PAYLOAD" --cmdline mode=hang --mem 32M --nic tenants ;;
	2) set -- vm start "$_g" --kernel "$PAYLOAD" --cmdline mode=hang --mem 32M --nic "$PFNET/vf$_vf" ;;
	3|4) set -- vm stop "$_g" --force ;;
	5) set -- vf set "$PFNET/vf$_vf" vlan "$_v" ;;
	6) set -- bind "$PFNET/vf$_vf" ;;
	7) set -- release "$PFNET/vf$_vf" ;;
	8) set -- vfs destroy "$PFNET" ;;
	9) set -- vfs create "$PFNET" 3 ;;
	esac
	_t0=$(now_ms)
	"$LT" lock -s "$LOCK" "$IOVCTL" "$@" > /tmp/gload-$_c.out 2>&1 && _rc=0 || _rc=$?
	echo "$(( _t0 - T0 )) c$_c rc=$_rc $(( $(now_ms) - _t0 ))ms iovctl $*" >> /tmp/gload-calls.log
	case $_rc in 0|1|2|3|4|5|6|7|8|9|10) ;; *) cat /tmp/gload-$_c.out; fail "client $_c: iovctl $* exit $_rc (crashed or lost iovd)" ;; esac
	# The checks see the host between calls (no call runs while they do: exclusive lock).
	"$LT" lock -x "$LOCK" sh -c ". /rig/lib.sh; . /rig/scenarios/guest_load_lib.sh; PF=$PF; PFNET=$PFNET; load_invariants 'client $_c after iovctl $*'" ||
		{ cat /tmp/gload-$_c.out; fail "client $_c: invariants after iovctl $* (seed $SEED)"; }
}

# gload_run SECONDS SEED: 8 clients of random mutating calls for SECONDS, the invariants after
# each call, a 9th timing GetVersion every 50 ms (limit 100 ms); then iovd restarted (no
# recovery to do, the guests re-adopted, the invariants), every guest stopped, an apply, and
# the host as the config says (plan empty).
gload_run() {
	_secs=$1 _seed=$2
	SEED=$_seed
	log "figure: seed $_seed, $_secs s (replay: IOV_RIG_APPEND=\"gload.seed=$_seed\")"
	: > /tmp/gload-calls.log
	"$LT" fifo "$(cat "$IOVD_PIDFILE")"
	"$LT" ping "$SOCK" "$_secs" 50 100 > /tmp/gload-ping.out 2>&1 &
	_pp=$!
	T0=$(now_ms)
	_end=$(( T0 + _secs * 1000 ))
	_cl=""
	for c in 1 2 3 4 5 6 7 8; do
		( x=$(( _seed * 16 + c )); n=0
		  while [ "$(now_ms)" -lt "$_end" ]; do one_op "$c"; n=$((n + 1)); done
		  echo "$n" > /tmp/gload-n.$c ) > /tmp/gload-client.$c.log 2>&1 &
		_cl="$_cl $!"
	done
	_bad=""
	for _p in $_cl; do wait "$_p" || _bad="$_bad $_p"; done
	wait "$_pp" && _prc=0 || _prc=$?
	for c in 1 2 3 4 5 6 7 8; do
		if grep -q "FAIL" /tmp/gload-client.$c.log; then
			tail -n 30 /tmp/gload-client.$c.log
		fi
	done
	[ -z "$_bad" ] || { tail -n 40 /tmp/gload-calls.log; fail "clients failed (pids$_bad; seed $_seed)"; }
	_calls=$(wc -l < /tmp/gload-calls.log)
	_ok=$(grep -c " rc=0 " /tmp/gload-calls.log || true)
	log "figure: $_calls calls by 8 clients in $_secs s, $_ok answered success; by kind:"
	awk '{ k = ($6 == "vm" || $6 == "vfs" || $6 == "vf") ? $6 " " $7 : $6; n[k]++; if ($3 == "rc=0") s[k]++ } END { for (k in n) printf "  %s: %d (%d ok)\n", k, n[k], s[k] }' /tmp/gload-calls.log | sort
	cat /tmp/gload-ping.out
	"$IOVCTL" --json status > /tmp/gload-status.json 2>&1 || true	# figures only
	"$JGET" -j /tmp/gload-status.json '.loop' 2>/dev/null | head -c 1500; echo
	_summary=$(grep "^ping:" /tmp/gload-ping.out || true)
	[ -n "$_summary" ] || fail "the GetVersion timer (loadtool ping, exit $_prc) printed no summary"
	_pfail=$(echo "$_summary" | sed 's/.*failed: \([0-9]*\).*/\1/')
	_pover=$(echo "$_summary" | sed 's/.* 100 ms: \([0-9]*\),.*/\1/')
	_pmax=$(echo "$_summary" | sed 's/.*max \([0-9]*\) ms.*/\1/')
	expect_eq "root's GetVersion answered every time during the load (seed $_seed)" "$_pfail" 0
	_longest=$("$JGET" /tmp/gload-status.json '.loop.longest_what' 2>/dev/null || echo unknown)
	if [ "$_pover" = 0 ]; then
		ok "iovd answered root's GetVersion within 100 ms every time (max $_pmax ms)"
	else
		# Known and open (docs/security.md, "Not yet done"): Bind, Release, SetVfCount and
		# a guest's VF binds and resets still run on iovd's loop. Counted, never a pass.
		skip "iovd answers root within 100 ms throughout the load" "not yet: $_pover GetVersion calls over 100 ms, max $_pmax ms; longest loop turn: $_longest"
	fi
	[ "$_ok" -gt 0 ] && ok "some calls succeeded ($_ok of $_calls)" || fail "no call succeeded"
	# iovd restarted: nothing to recover, the running guests re-adopted, still consistent.
	_mark=$(wc -l < "$IOVD_LOG")
	start_iovd $GARGS
	iovd_ready
	load_invariants "after iovd's restart"
	tail -n +"$((_mark + 1))" "$IOVD_LOG" | grep -E "recover|re-adopted|rolled back" | head -n 10 || true	# context
	for _g in g0 g1 g2 g3; do
		"$IOVCTL" vm stop "$_g" --force > /dev/null 2>&1 || true	# not running is fine
	done
	load_invariants "all guests stopped"
	expect_eq "no iovm left" "$(iovm_pids)" ""
	run_ctl /tmp/gload.out apply
	expect_eq "apply after the load" "$rc" 0
	run_ctl /tmp/gload.out plan
	grep -q "no changes" /tmp/gload.out && ok "plan empty after the apply" || fail "the host differs from the config after an apply"
	stop_iovd
}

# iovd_mem: "FDS RSS_KIB" of the running iovd.
iovd_mem() {
	_ip=$(cat "$IOVD_PIDFILE")
	echo "$(ls "/proc/$_ip/fd" | wc -l) $(awk '/^VmRSS:/ { print $2 }' "/proc/$_ip/status")"
}

# iovd_mem_low: iovd_mem's least fds and least RSS of 10 samples 0.3 s apart: what iovd
# holds for a moment (a host read of its periodic drift check: one more fd, +1.7-1.9 MiB
# malloc'd by mmap and freed after, seen every ~40 s) is not a leak.
iovd_mem_low() {
	_lf="" _lr=""
	for _s in 1 2 3 4 5 6 7 8 9 10; do
		_m=$(iovd_mem)
		if [ -z "$_lf" ] || [ "${_m% *}" -lt "$_lf" ]; then _lf=${_m% *}; fi
		if [ -z "$_lr" ] || [ "${_m#* }" -lt "$_lr" ]; then _lr=${_m#* }; fi
		sleep 0.3
	done
	echo "$_lf $_lr"
}

# ring_full: iovd's recent-events ring (256 events, src/events.c) is full: its growth, each
# event a few KiB, is bounded and not a leak. monitor --recent --count 256 replays them and
# ends at once when there are 256, else waits for more (cut after 3 s).
ring_full() { timeout 3 "$IOVCTL" monitor --recent --count 256 > /dev/null 2>&1; }

# soak_cycle I: one start/stop of a payload guest on a pool VF, the invariants after it.
soak_cycle() {
	vm_start s tenants > /tmp/s.out 2>&1 || { cat /tmp/s.out; fail "cycle $1: vm start"; }
	"$IOVCTL" vm stop s --force > /tmp/s.out 2>&1 || { cat /tmp/s.out; fail "cycle $1: vm stop"; }
	host_invariants "cycle $1"
}

# gsoak_run CYCLES: a payload guest on a pool VF started and stopped through iovd (vm start;
# vm stop --force), the invariants after each; warm-up cycles until iovd's event ring is full
# (at least 2), then iovd's open fds and RSS taken, CYCLES more, and taken again: the fds the
# same, the RSS at most 128 KiB more.
gsoak_run() {
	_cycles=$1
	_t0=$(now_ms)
	log "figure: iovd at start: fds/RSS KiB $(iovd_mem)"
	_warm=0
	while :; do
		_warm=$((_warm + 1))
		soak_cycle "warm-up $_warm"
		if [ "$_warm" -ge 2 ] && [ $((_warm % 5)) = 0 ] && ring_full; then break; fi
		[ "$_warm" -lt 300 ] || fail "iovd's event ring not full after 300 cycles"
	done
	base=$(iovd_mem_low)
	log "figure: $_warm warm-up cycles (the event ring full) in $(( ($(now_ms) - _t0) / 1000 )) s: fds/RSS KiB $base"
	_t0=$(now_ms)
	for i in $(seq 1 "$_cycles"); do
		soak_cycle "$i"
		if [ $((i % 10)) = 0 ]; then
			log "cycle $i: fds/RSS KiB $(iovd_mem), $(( ($(now_ms) - _t0) / i )) ms a cycle"
		fi
	done
	end=$(iovd_mem_low)
	log "figure: $_cycles start/stop cycles in $(( ($(now_ms) - _t0) / 1000 )) s; iovd fds/RSS KiB before: $base, after: $end"
	expect_eq "iovd's open fds flat over $_cycles cycles" "${end% *}" "${base% *}"
	_grow=$(( ${end#* } - ${base#* } ))
	[ "$_grow" -le 128 ] && ok "iovd's RSS flat over $_cycles cycles (+$_grow KiB)" ||
		fail "iovd's RSS grew $_grow KiB over $_cycles cycles"
	expect_eq "no iovm left" "$(iovm_pids)" ""
}
