# Capture the test host's own sysfs/procfs as a fake-sysfs tree (runs in the guest as a step,
# with lib.sh loaded). Host side: tests/rig/capture.sh, which commits nothing by itself.
#
# State captured: every SR-IOV PF with min(4, total) VFs, VF MACs set through the PF (when it
# has a netdev), the 2nd VF (virtfn1) of each PF bound to vfio-pci (driver_override + unbind +
# drivers_probe), the others on their default driver.
# The tree keeps the kernel's hierarchy (sys/devices/pci0000:00/...) and its relative symlinks,
# so it works as an iovd --sysroot anywhere. Left out: power/, firmware_node, consumer/supplier
# links, pci_bus/; resourceN/resourceN_wc/rom are stored empty (mmappable BARs); write-only
# attributes (remove, rescan, reset, bind, ...) are stored empty; unreadable ones are skipped.

C=/tmp/cap
rm -rf "$C"
mkdir -p "$C/sys/bus/pci/devices" "$C/sys/bus/pci/drivers" "$C/proc"

for pf in $(pf_list); do
	total=$(attr "$SYSPCI/$pf/sriov_totalvfs")
	n=4
	[ "$total" -lt 4 ] && n=$total
	if echo "$n" > "$SYSPCI/$pf/sriov_numvfs"; then
		log "$pf: $n VFs (of $total)"
	else
		fail "$pf: could not create $n VFs"
	fi
done
sleep 1
# VF MAC addresses set by the administrator through the PF (as iovd does), so that a new
# capture does not differ by igbvf's random ones: 02:1e:00:BB:DD:0i (locally administered,
# BB:DD = the PF's bus and device), then each VF driver re-probed to take it (with the PF up
# meanwhile; it is down again in the capture, as after boot).
pfno=0
for pf in $(pf_list); do
	pfno=$((pfno + 1))
	pfnet=$(ls "$SYSPCI/$pf/net" 2>/dev/null | head -n1)
	[ -n "$pfnet" ] || continue
	bd=$(echo "$pf" | awk -F'[:.]' '{ print $2 ":" $3 }')
	# igb answers its VFs' mailbox only while the PF is up; it goes down again afterwards.
	$IP link set "$pfnet" up || fail "ip link set $pfnet up"
	sleep 1
	i=0
	for vf in $(vf_addrs "$pf"); do
		$IP link set "$pfnet" vf $i mac "02:1e:00:$bd:0$i" || fail "$pfnet vf $i mac"
		drv=$(dev_driver "$vf")
		if [ "$drv" != null ]; then
			echo "$vf" > "$SYSPCI/$vf/driver/unbind"
			echo "$vf" > "/sys/bus/pci/drivers/$drv/bind" || fail "re-bind $vf to $drv"
		fi
		i=$((i + 1))
	done
	sleep 1
	$IP link set "$pfnet" down
	log "$pf ($pfnet): VF MACs 02:1e:00:$bd:0N"
done
sleep 0.5
for pf in $(pf_list); do
	vf=$(vf_addrs "$pf" | sed -n 2p)
	[ -n "$vf" ] || continue
	bind_vfio "$vf"
	log "$vf (VF 1 of $pf): driver now $(dev_driver "$vf")"
done
sleep 0.5

# copy_file SRC DST: readable attributes with their content, write-only ones empty.
copy_file() {
	case "${1##*/}" in
	resource[0-9]|resource[0-9]_wc|rom|remove|rescan|reset|reset_subordinate)
		: > "$2"; return ;;
	esac
	perm=$(stat -c %a "$1")
	if [ $(( 0$perm & 0444 )) = 0 ]; then
		: > "$2"
	elif ! cat "$1" > "$2" 2>/dev/null; then
		rm -f "$2"   # readable in mode only (e.g. EIO, ENODEV): not there for a reader either
	fi
}

# copy_attrs SRCDIR DSTDIR: the regular files of SRCDIR (not recursive).
copy_attrs() {
	mkdir -p "$2"
	for f in "$1"/*; do
		[ -f "$f" ] && [ ! -L "$f" ] && copy_file "$f" "$2/${f##*/}"
	done
}

# copy_link LINK: the same relative symlink at the same place in the capture.
copy_link() {
	mkdir -p "$C$(dirname "$1")"
	ln -sfn "$(readlink "$1")" "$C$1"
}

# ---- PCI devices
for l in "$SYSPCI"/*; do
	bdf=${l##*/}
	real=$(readlink -f "$l")
	copy_link "$l"
	copy_attrs "$real" "$C$real"
	for x in driver iommu_group iommu physfn subsystem "$real"/virtfn*; do
		x=${x##*/}
		[ -L "$real/$x" ] || continue
		copy_link "$real/$x"
		tgt=$(readlink -f "$real/$x")
		mkdir -p "$C$tgt"
	done
	if [ -d "$real/msi_irqs" ]; then
		copy_attrs "$real/msi_irqs" "$C$real/msi_irqs"
	fi
	for n in "$real"/net/*; do
		[ -d "$n" ] && copy_attrs "$n" "$C$n"
	done
	for v in "$real"/vfio-dev/*; do
		[ -d "$v" ] && copy_attrs "$v" "$C$v"
	done
done
copy_attrs /sys/bus/pci "$C/sys/bus/pci"

# Drivers: every registered PCI driver, its write-only files (bind, unbind, new_id, ...) and
# its links to bound devices.
for d in /sys/bus/pci/drivers/*; do
	copy_attrs "$d" "$C$d"
	for x in "$d"/????:??:??.?; do
		[ -L "$x" ] && copy_link "$x"
	done
done

# ---- IOMMU
if [ -d /sys/kernel/iommu_groups ]; then
	mkdir -p "$C/sys/kernel/iommu_groups"
	for g in /sys/kernel/iommu_groups/*; do
		[ -d "$g" ] || continue
		copy_attrs "$g" "$C$g"
		mkdir -p "$C$g/devices"
		for x in "$g"/devices/*; do [ -L "$x" ] && copy_link "$x"; done
	done
fi
if [ -d /sys/class/iommu ]; then
	mkdir -p "$C/sys/class/iommu"
	for i in /sys/class/iommu/*; do
		[ -L "$i" ] || continue
		copy_link "$i"
		real=$(readlink -f "$i")
		copy_attrs "$real" "$C$real"
		[ -d "$real/intel-iommu" ] && copy_attrs "$real/intel-iommu" "$C$real/intel-iommu"
		[ -d "$real/amd-iommu" ] && copy_attrs "$real/amd-iommu" "$C$real/amd-iommu"
	done
fi

# ---- net class links of PCI netdevs
for n in /sys/class/net/*; do
	case "$(readlink "$n")" in *devices/pci*) copy_link "$n" ;; esac
done

# ---- module parameters that matter to passthrough
for m in vfio vfio_iommu_type1 vfio_pci vfio_pci_core kvm kvm_amd igb igbvf; do
	[ -d "/sys/module/$m/parameters" ] && copy_attrs "/sys/module/$m/parameters" "$C/sys/module/$m/parameters"
done

cat /proc/interrupts > "$C/proc/interrupts"
cat /proc/cmdline > "$C/proc/cmdline"
# What a host-critical check reads (routes, addresses, mounts) at the moment of the capture.
mkdir -p "$C/proc/net" "$C/proc/self"
for f in route ipv6_route if_inet6; do cat "/proc/net/$f" > "$C/proc/net/$f"; done
cat /proc/self/mountinfo > "$C/proc/self/mountinfo"

# NVMe PFs: the raw Identify data iovd reads through libnvme (sriov/nvme.h), which a --sysroot
# read takes from iovd-fixture/nvme/PF/: CNS 14h, 15h, 10h and 12h for each allocated NSID.
if [ -x /usr/sbin/nvme ]; then
	for l in "$SYSPCI"/*; do
		b=${l##*/}
		[ "$(dev_driver "$b")" = nvme ] && [ -f "$l/sriov_totalvfs" ] || continue
		ctrl=$(ls "$l/nvme" 2>/dev/null | head -n1)
		[ -n "$ctrl" ] || continue
		d="$C/iovd-fixture/nvme/$b"
		mkdir -p "$d"
		ident() { /usr/sbin/nvme admin-passthru "/dev/$ctrl" --opcode=0x06 --cdw10="$1" \
			--namespace-id="$2" --data-len=4096 --read --raw-binary > "$d/$3" ||
			fail "$b: Identify CNS $1 NSID $2"; }
		ident 0x14 0 cns14.bin
		ident 0x15 0 cns15.bin
		ident 0x10 0 cns10.bin
		for ns in $(/usr/sbin/nvme list-ns "/dev/$ctrl" --all | sed -n 's/.*\]:0x\([0-9a-f]*\).*/\1/p'); do
			ident 0x12 $((0x$ns)) "cns12-ns$((0x$ns)).bin"
		done
	done
fi

# What this is, for whoever opens the folder.
{
	echo "Captured from the iovd test host (tests/rig): preset $RIG_PRESET, kernel $(uname -r)."
	echo "Regenerate with: make rig-capture (tests/rig/capture.sh). Do not edit by hand."
	echo "State: every SR-IOV PF with min(4, sriov_totalvfs) VFs; VF MACs 02:1e:00:BB:DD:0i set"
	echo "through the PF's netdev (ip link set PF vf i mac ...) and the VF drivers re-probed;"
	echo "VF 1 (virtfn1) of each PF bound to vfio-pci via driver_override + unbind + drivers_probe."
	echo "resourceN, resourceN_wc, rom and write-only attributes are stored empty; power/ omitted."
	echo "Devices (address vendor:device class driver group):"
	for l in "$SYSPCI"/*; do
		b=${l##*/}
		echo "  $b $(attr "$l/vendor" | sed 's/0x//'):$(attr "$l/device" | sed 's/0x//') $(attr "$l/class") $(dev_driver "$b") $(dev_group "$b")"
	done
	echo "/dev/vfio: $(ls /dev/vfio 2>/dev/null | tr '\n' ' ')"
} > "$C/CAPTURE.txt"
cat "$C/CAPTURE.txt"

tar -C "$C" -czf "$RIG_BLOBS/tree.tar.gz" . || fail "tar of the capture"
log "capture: $(find "$C" | wc -l) entries, $(wc -c < "$RIG_BLOBS/tree.tar.gz") bytes compressed"
