# kill -9 of iovd at every step of the NVMe apply (issue 18), like config_kill_a/b for the
# NIC steps: iovd runs with the test-only fault switch IOVD_TEST_EXIT_AFTER_STEP=N (it
# _exits right after journal record N of its apply at start is durable, as a kill -9 at
# that instant would); a plain iovd then starts, recovers (rolls the started steps back, or
# finishes an apply whose steps were all done), applies the config, and the drive must
# match it every time: both controllers online with 2 VQ, 1 VI and their namespace, the VFs
# on nvme, planning again empty.
# rig-presets: nvme
# rig-timeout: 500

. /rig/scenarios/nvme_lib.sh

nvme_cfg 2
converged() {
	expect_eq "$1: numvfs" "$(attr "$SYSPCI/$PF/sriov_numvfs")" 2
	expect_vf_live 0
	expect_vf_live 1
	plan_empty "$1"
}

# The whole apply once, for its number of journal records.
nvme_reset
start_nvme_iovd
converged "uninterrupted"
stop_iovd
n=$(wc -l < "$STATE/journal.jsonl")
log "the apply from nothing: $n journal records: $(sed -n 's/.*"plan": *\[\(.*\)\].*/\1/p' "$STATE/journal.jsonl" | head -n1)"
[ "$n" -ge 20 ] || fail "expected the 12-step NVMe apply (26 records), got $n records"

k=1
while [ $k -lt "$n" ]; do
	nvme_reset
	IOVD_TEST_EXIT_AFTER_STEP=$k "$IOVD" -v --pidfile "$IOVD_PIDFILE" --config "$CFG" \
		--state-dir "$STATE" >> "$IOVD_LOG" 2>&1 && _rc=0 || _rc=$?
	expect_eq "record $k: iovd exited by the fault switch" "$_rc" 99
	rm -f "$IOVD_PIDFILE"
	_rec=$(tail -n1 "$STATE/journal.jsonl" | sed 's/.*"r": *"\([a-z]*\)".*"step": *\([0-9]*\).*/\1 step \2/; s/.*"r": *"begin".*/begin/')
	_left="numvfs=$(attr "$SYSPCI/$PF/sriov_numvfs") c1=$(sec 1 SCS)/$(sec 1 NVQ)/$(sec 1 NVI) c2=$(sec 2 SCS)/$(sec 2 NVQ)/$(sec 2 NVI)"
	"$IOVD" -v --pidfile "$IOVD_PIDFILE" --config "$CFG" --state-dir "$STATE" \
		> /tmp/iovd-start.log 2>&1 || { cat /tmp/iovd-start.log; fail "restart after record $k"; }
	cat /tmp/iovd-start.log >> "$IOVD_LOG"
	_how=$(grep -o "recovered: rolled back [0-9]* started steps\{0,1\}\|interrupted after its last step: finished" \
		/tmp/iovd-start.log | head -n1)
	[ -n "$_how" ] || { cat /tmp/iovd-start.log; fail "record $k: the restart logged no recovery"; }
	log "figure: kill after journal record $k ($_rec): left $_left (state/VQ/VI); restart: $_how, then applied"
	converged "record $k"
	stop_iovd
	k=$((k + 1))
done
nvme_reset
log "nvme_kill: $checks checks passed"
