# The nvme preset's drive as nvme-cli sees it, and the raw Identify data iovd's fixtures hold
# (tests/fixtures/captured/nvme/iovd-fixture/nvme/, from this scenario's blobs): CNS 0x14
# (primary controller capabilities), 0x15 (secondary controller list), 0x10 (allocated
# namespaces) and 0x12 (controllers of a namespace). Checks the preset: 8 flexible VQ and 4
# VI resources, 4 secondary controllers, both namespaces detached, and what Namespace
# Attachment to a VF's controller needs. (nvme-cli 2.3's virt-mgmt cannot be used: it
# drops --act, sending CDW10 0x10000 for --act=8 --cntlid=1; iovd uses libnvme's
# nvme_virtual_mgmt, which encodes it.)
# rig-presets: nvme
# rig-timeout: 150

. /rig/scenarios/nvme_lib.sh

log "NVMe PF $PF, controller $DEV, cntlid $(attr /sys/class/nvme/$CTRL/cntlid)"

ident() { # SUFFIX
	"$NVME" primary-ctrl-caps "$DEV" -o binary > "$RIG_BLOBS/cns14$1.bin" || fail "primary-ctrl-caps $DEV"
	"$NVME" list-secondary "$DEV" -o binary > "$RIG_BLOBS/cns15$1.bin" || fail "list-secondary $DEV"
	"$NVME" primary-ctrl-caps "$DEV"
	"$NVME" list-secondary "$DEV"
}
# Raw Identify (CNS, NSID) through admin-passthru: list-ns / list-ctrl have no binary output.
raw() {
	"$NVME" admin-passthru "$DEV" --opcode=0x06 --cdw10="$1" --namespace-id="$2" \
		--data-len=4096 --read --raw-binary
}

echo 0 > "$SYSPCI/$PF/sriov_drivers_autoprobe"
ident ""
expect_eq "primary caps size" "$(wc -c < "$RIG_BLOBS/cns14.bin")" 4096
expect_eq "secondary list size" "$(wc -c < "$RIG_BLOBS/cns15.bin")" 4096
check "VQ flexible total 8" sh -c "'$NVME' primary-ctrl-caps '$DEV' | grep -q 'vqfrt.*: 8'"
check "VI flexible total 4" sh -c "'$NVME' primary-ctrl-caps '$DEV' | grep -q 'vifrt.*: 4'"
"$NVME" list-ns "$DEV" --all
raw 0x10 0 > "$RIG_BLOBS/cns10.bin" || fail "Identify CNS 10h"
"$NVME" list-ns "$DEV"
expect_eq "active namespaces on the PF (both detached)" "$("$NVME" list-ns "$DEV" | grep -c .)" 0

# Namespace Attachment to VF 1's secondary controller (ID 1): refused while the VFs are not
# enabled (QEMU registers a VF's controller in the subsystem when the VF appears), accepted
# after; the controller list of NSID 1 then names it.
if "$NVME" attach-ns "$DEV" --namespace-id=1 --controllers=1; then
	log "attach before the VFs exist: accepted"
	"$NVME" detach-ns "$DEV" --namespace-id=1 --controllers=1
else
	log "attach before the VFs exist: refused"
fi
create_vfs "$PF" 2
check "attach NSID 1 to controller 1 with the VFs enabled" "$NVME" attach-ns "$DEV" --namespace-id=1 --controllers=1
raw 0x12 1 > "$RIG_BLOBS/cns12-ns1-attached.bin" || fail "Identify CNS 12h NSID 1"
"$NVME" list-ctrl "$DEV" --namespace-id=1
check "detach NSID 1" "$NVME" detach-ns "$DEV" --namespace-id=1 --controllers=1
raw 0x12 1 > "$RIG_BLOBS/cns12-ns1.bin" || fail "Identify CNS 12h NSID 1"
raw 0x12 2 > "$RIG_BLOBS/cns12-ns2.bin" || fail "Identify CNS 12h NSID 2"
echo 0 > "$SYSPCI/$PF/sriov_numvfs"
echo 1 > "$SYSPCI/$PF/sriov_drivers_autoprobe"
log "nvme_identify: $checks checks passed"
