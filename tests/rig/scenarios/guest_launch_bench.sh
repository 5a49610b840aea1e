# `iovctl vm start` against the same iovm started by hand (run by `make bench-guest`, bench/rig_bench.sh,
# not by the suite): rounds alternate between the two on the same pooled VF, same kernel,
# initramfs, command line, 256 MiB, 1 vCPU; each round's time is launch to the guest's
# /init ("INNER: init up" in its console). By hand: root opens, `iovm --user iovm` drops,
# as an admin would run it. Prints "ROUND ..." and "FIGURE name value unit" lines; the
# ratio of the medians is what issue 9 asks to be within 10 %.
# rig-presets: default
# rig-on-demand
# rig-timeout: 900

. /rig/scenarios/sriov_lib.sh
. /rig/scenarios/vmm_lib.sh
vmm_prereqs
ROUNDS=${GUEST_BENCH_ROUNDS:-4}
GS=/tmp/glb-state
PF=$(pf_list | head -n1)
[ -n "$PF" ] || fail "no SR-IOV PF"
cat > /tmp/glb.json <<J
{ "pfs": [ { "name": "uplink", "match": { "address": "$PF" }, "num_vfs": 1,
             "defaults": { "driver": "vfio-pci" } } ],
  "pools": [ { "name": "tenants", "vfs": ["uplink#0"] } ] }
J
rm -rf "$GS"
start_iovd --config /tmp/glb.json --state-dir "$GS"
vf=$(vf_addrs "$PF" | sed -n 1p)
expect_eq "$vf on vfio-pci" "$(dev_driver "$vf")" vfio-pci
vmm_initramfs /tmp/inner.cpio
CMD="$VMM_CMDLINE quiet hold=600"
ulimit -l unlimited

# until FILE PATTERN SECONDS: 0 once FILE (CRs dropped) has PATTERN.
until_log() {
	_i=0
	while ! tr -d '\r' < "$1" 2>/dev/null | grep -q "$2"; do
		_i=$((_i + 1)); [ $_i -gt $(($3 * 20)) ] && return 1
		sleep 0.05
	done
}
r=0
: > /tmp/glb.rounds
while [ $r -lt "$ROUNDS" ]; do
	r=$((r + 1))
	# The order flips every round, so a trend in the machine's load falls on both.
	first=hand; [ $((r % 2)) = 1 ] && first=iovd
	for who in $( [ $first = iovd ] && echo "iovd hand" || echo "hand iovd" ); do
		if [ "$who" = iovd ]; then
			t0=$(now_ms)
			"$IOVCTL" vm start g --kernel "$VMM_KERNEL" --initrd /tmp/inner.cpio --mem 256M \
				--cmdline "$CMD" --nic tenants > /tmp/glb.out 2>&1 || { cat /tmp/glb.out; fail "vm start"; }
			until_log "$GS/guests/g.log" "INNER: init up" 180 || { tail -n 20 "$GS/guests/g.log"; fail "round $r: vm start: no /init"; }
			t=$(( $(now_ms) - t0 ))
			"$IOVCTL" vm stop g > /tmp/glb.out 2>&1 || { cat /tmp/glb.out; fail "vm stop"; }
		else
			t0=$(now_ms)
			/usr/bin/iovm --user iovm --vfio "$vf" --kernel "$VMM_KERNEL" --initrd /tmp/inner.cpio \
				--mem 256M --cpus 1 --cmdline "$CMD" < /dev/null > /tmp/glb.hand 2>&1 &
			hp=$!
			until_log /tmp/glb.hand "INNER: init up" 180 || { tail -n 20 /tmp/glb.hand; fail "round $r: by hand: no /init"; }
			t=$(( $(now_ms) - t0 ))
			kill "$hp"; wait "$hp" 2>/dev/null || true	# ended by our SIGTERM
		fi
		echo "ROUND $r $who $t ms$([ "$who" = "$first" ] && echo " (first this round)")"
		echo "$r $who $t" >> /tmp/glb.rounds
	done
done
# Medians one way everywhere (as vmm_vs_qemu): the lower middle value; the ratio is the
# median of the per-round ratios, the medians of each side are for reference.
med() { awk -v w="$1" '$2 == w { print $3 }' /tmp/glb.rounds | sort -n |
	awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
ratio_med() { awk '{ t[$1 " " $2] = $3; r[$1] = 1 } END { for (k in r) if (t[k " hand"] > 0) print t[k " iovd"] / t[k " hand"] }' \
	/tmp/glb.rounds | sort -n | awk '{ a[NR] = $1 } END { printf "%.2f", a[int((NR + 1) / 2)] }'; }
mi=$(med iovd)
mh=$(med hand)
echo "FIGURE guest_launch_vm_start_ms $mi ms (median of $ROUNDS: iovctl vm start to the guest's /init)"
echo "FIGURE guest_launch_by_hand_ms $mh ms (median of $ROUNDS: iovm --user iovm by hand to /init)"
echo "FIGURE guest_launch_ratio $(ratio_med) x (median of $ROUNDS per-round ratios vm start / by hand; goal <= 1.10)"
ok "$ROUNDS alternating rounds each way"
run_ctl /tmp/glb.out vfs destroy "$PF" --force
expect_eq "vfs destroy --force" "$rc" 0
stop_iovd
