# Named QEMU configurations of the test host (sourced by run.sh; POSIX sh).
#
# Every preset: q35, TCG with -cpu max (SVM for nested KVM), 2048 MB, 2 vCPUs, no default
# devices. Every NIC's netdev is a port on a hub of its own with nothing else on it, so no
# packet can leave QEMU (there is no user/tap/socket backend anywhere).
#
#   default       VT-d with interrupt remapping; igb (SR-IOV, 7 VFs) at 01:00.0 behind a root port
#   shared-group  default + a PCIe switch (x3130 upstream, two xio3130 downstream ports without
#                 ACS): igb at 04:00.0 under port 03:00.0, e1000e at 05:00.0 under port 03:01.0.
#                 04:00.0, its VFs and 03:00.0 end up in one IOMMU group.
#   no-intremap   VT-d without interrupt remapping (ecap bit 3 clear), igb at 01:00.0
#   no-iommu      no IOMMU at all, igb at 01:00.0
#   nvme          default + an NVMe controller with SR-IOV (sriov_max_vfs=4, 8 flexible VQ and 4
#                 flexible VI resources for its secondary controllers) at 02:00.0, in an
#                 nvme-subsys, with two 64 MiB namespaces created detached: NSID 1 on a sparse
#                 file made fresh for each boot (run.sh: @DISKDIR@, so what a guest writes is
#                 there for the next guest: nvme_disk), NSID 2 null-co (reads give zeroes,
#                 writes are dropped); the admin attaches them (Namespace Attachment) to the
#                 VFs' secondary controllers. One vCPU, as guests: nvme_disk boots nested
#                 guests on the NVMe VFs.
#   guests        default with one vCPU: for the scenarios that boot nested Linux guests
#                 (guest_*, vmm_* but vmm_intx, and the demo). With two, QEMU's TCG emulation
#                 of SVM does not survive nested guests for long: an inner guest triple-faults
#                 during its boot (KVM shutdown exit, at a different place each time), or the
#                 test host itself resets; seen in 3 of 4 runs of guest_supervise on 2 vCPUs
#                 (one with both guests pinned to one test-host CPU), in CI, and once with a
#                 single guest (vmm_sandbox); 0 of 5 on one vCPU, which is no slower for them.
#                 guest_seccomp stays on default: it checks interrupt placement on CPU 1.

RIG_PRESETS="default shared-group no-intremap no-iommu nvme guests"

# rig_preset_args PRESET: print the preset's QEMU arguments (device part), or fail.
rig_preset_args() {
	_igb1="-device pcie-root-port,id=rp1,chassis=1 -device igb,bus=rp1,netdev=n0,romfile= -netdev hubport,id=n0,hubid=0"
	case "$1" in
	default)
		echo "-machine q35,kernel-irqchip=split -device intel-iommu,intremap=on,caching-mode=on $_igb1"
		;;
	shared-group)
		echo "-machine q35,kernel-irqchip=split -device intel-iommu,intremap=on,caching-mode=on $_igb1" \
			"-device pcie-root-port,id=rp2,chassis=2" \
			"-device x3130-upstream,id=up1,bus=rp2" \
			"-device xio3130-downstream,id=dn1,bus=up1,chassis=3,slot=0" \
			"-device igb,bus=dn1,netdev=n1,romfile= -netdev hubport,id=n1,hubid=1" \
			"-device xio3130-downstream,id=dn2,bus=up1,chassis=4,slot=0" \
			"-device e1000e,bus=dn2,netdev=n2,romfile= -netdev hubport,id=n2,hubid=2"
		;;
	no-intremap)
		echo "-machine q35,kernel-irqchip=split -device intel-iommu,intremap=off,caching-mode=on $_igb1"
		;;
	no-iommu)
		echo "-machine q35 $_igb1"
		;;
	guests)
		# A later -smp replaces the one in RIG_QEMU_COMMON.
		echo "-smp 1 -machine q35,kernel-irqchip=split -device intel-iommu,intremap=on,caching-mode=on $_igb1"
		;;
	nvme)
		echo "-smp 1 -machine q35,kernel-irqchip=split -device intel-iommu,intremap=on,caching-mode=on $_igb1" \
			"-device pcie-root-port,id=rp2,chassis=2" \
			"-device nvme-subsys,id=subsys0" \
			"-device nvme,id=nvme0,bus=rp2,serial=iovrig0,subsys=subsys0,sriov_max_vfs=4,sriov_vq_flexible=8,sriov_vi_flexible=4,max_ioqpairs=10,msix_qsize=6" \
			"-blockdev driver=file,node-name=nvns1,filename=@DISKDIR@/nvns1.img" \
			"-device nvme-ns,bus=nvme0,drive=nvns1,nsid=1,detached=on" \
			"-blockdev driver=null-co,node-name=nvns2,size=67108864,read-zeroes=on" \
			"-device nvme-ns,bus=nvme0,drive=nvns2,nsid=2,detached=on"
		;;
	*)
		return 1
		;;
	esac
}

# The part common to every preset. IOV_RIG_ACCEL and IOV_RIG_SMP are for experiments only
# (e.g. IOV_RIG_ACCEL=tcg,thread=single: one host thread for both vCPUs, far too slow for
# nested guests).
RIG_QEMU_COMMON="-nodefaults -accel ${IOV_RIG_ACCEL:-tcg} -cpu max -m 2048 -smp ${IOV_RIG_SMP:-2} -nographic -no-reboot"
RIG_KERNEL_ARGS="console=ttyS0 quiet intel_iommu=on panic=-1 no_timer_check"
