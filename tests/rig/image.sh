#!/bin/sh
# Build the test host's boot image: a Debian 6.12 kernel (fetched once into a cache, never
# installed) and an initramfs with busybox, iproute2's ip, the modules the rig needs, the
# project's binaries, the rig's helpers and the scenario scripts.
#
#   tests/rig/image.sh [-q]
#
# Environment:
#   IOV_RIG_CACHE   kernel cache (default $HOME/.cache/iovd-rig); nothing in the repo
#   IOV_RIG_OUT     output folder (default build/rig); writes $IOV_RIG_OUT/image/{vmlinuz,initrd.gz}
#   IOV_RIG_BIN     folder holding the project's programs (default build)
#   IOV_RIG_PROGS   which of them go in /usr/bin (default: iovctl iovd iovm iov-bindtool; missing
#                   ones are left out with a note, and scenarios needing them fail)
#   IOV_RIG_HELPERS folder holding the rig's static helpers jget, kvmcheck, asuser, vfiocheck, msiforge, cdi-validate, ptyrun, diskbench, loadtool (default $IOV_RIG_OUT/helpers)
#   IOV_RIG_WITH_QEMU 1: also QEMU (qemu-system-x86_64, its libraries, qboot and option ROMs) for
#                   the iovm-against-QEMU benchmark; give it its own IOV_RIG_OUT (bench-vmm
#                   uses build/rig-bench) so that the suite's image stays small
#   IOV_RIG_KERNEL_PKG  exact package name to use instead of the newest
#                       linux-image-6.12.N+deb12-amd64 that apt knows
#
# The initramfs is rebuilt only when one of its inputs changed (sizes + mtimes + names).
set -eu

# depmod, modprobe and iproute2's ip live in /usr/sbin, which a normal user's PATH may lack.
PATH=$PATH:/usr/sbin:/sbin
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cd "$top"

quiet=0
[ "${1:-}" = "-q" ] && quiet=1
say() { [ "$quiet" = 1 ] || echo "rig-image: $*" >&2; }
die() { echo "rig-image: $*" >&2; exit 1; }

CACHE=${IOV_RIG_CACHE:-$HOME/.cache/iovd-rig}
OUT=${IOV_RIG_OUT:-build/rig}
BIN=${IOV_RIG_BIN:-build}
HELPERS=${IOV_RIG_HELPERS:-$OUT/helpers}

# Modules to load in the guest, in this order (dependencies are added by modprobe --show-depends).
MODULES="i2c-algo-bit dca igb igbvf e1000e vfio vfio_iommu_type1 irqbypass vfio-pci-core vfio-pci \
kvm ccp kvm-amd nvme pvpanic-pci button evdev"
# Modules for iovm's inner guests only (in /lib/modules/inner, with their own order file; the
# test host does not load them): virtio-blk and ext4 for a guest whose root is on a disk.
# virtio, virtio_ring and virtio_pci are built into Debian's kernel.
INNER_MODULES="virtio_blk ext4"

for t in dpkg apt-get apt-cache depmod modprobe xz cpio gzip ldd busybox mkfs.ext4; do
	command -v "$t" >/dev/null 2>&1 || die "'$t' not found; run ./setup.sh"
done
BUSYBOX=$(command -v busybox)
# busybox-static's binary is static; a dynamic busybox would need its libs too.
if ldd "$BUSYBOX" >/dev/null 2>&1; then
	die "$BUSYBOX is dynamic; install busybox-static (./setup.sh)"
fi

# ---------------------------------------------------------------- kernel (cached)
kernel_ready() { [ -f "$CACHE/kernel/$1/.ready" ]; }

pick_pkg() {
	if [ -n "${IOV_RIG_KERNEL_PKG:-}" ]; then
		echo "$IOV_RIG_KERNEL_PKG"
		return
	fi
	# Every linux-image-6.12.N+deb12-amd64 that has an install candidate, newest first.
	apt-cache pkgnames linux-image-6.12 2>/dev/null |
		grep -E '^linux-image-6\.12\.[0-9]+\+deb12-amd64$' | sort -rV |
		while read -r p; do
			c=$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ { print $2 }')
			[ -n "$c" ] && [ "$c" != "(none)" ] && echo "$p"
		done
}

fetch_kernel() {
	mkdir -p "$CACHE/deb" "$CACHE/kernel"
	pkgs=$(pick_pkg)
	[ -n "$pkgs" ] || die "apt knows no linux-image-6.12.N+deb12-amd64 package; run ./setup.sh (it adds bookworm-backports) or set IOV_RIG_KERNEL_PKG"
	for p in $pkgs; do
		ver=${p#linux-image-}
		if kernel_ready "$ver"; then
			echo "$ver"
			return
		fi
		deb=$(ls "$CACHE/deb/${p}_"*.deb 2>/dev/null | head -n1 || true)
		if [ -z "$deb" ]; then
			say "downloading $p into $CACHE/deb (about 105 MB, once)"
			t0=$(date +%s)
			sandbox=""
			[ "$(id -u)" = 0 ] && sandbox="-o APT::Sandbox::User=root"  # root-owned cache: no _apt warning
			if ! (cd "$CACHE/deb" && apt-get download -q $sandbox "$p" >&2); then
				say "download of $p failed; trying an older one"
				continue
			fi
			say "downloaded in $(( $(date +%s) - t0 )) s"
			deb=$(ls "$CACHE/deb/${p}_"*.deb | head -n1)
		fi
		say "unpacking $deb"
		tmp="$CACHE/kernel/.$ver.tmp.$$"
		rm -rf "$tmp"
		dpkg -x "$deb" "$tmp"
		[ -f "$tmp/boot/vmlinuz-$ver" ] || die "$deb has no boot/vmlinuz-$ver"
		[ -d "$tmp/lib/modules/$ver" ] || die "$deb has no lib/modules/$ver"
		say "depmod for $ver"
		depmod -b "$tmp" "$ver"
		touch "$tmp/.ready"
		rm -rf "${CACHE:?}/kernel/$ver"
		mv "$tmp" "$CACHE/kernel/$ver"
		rm -f "$deb"
		echo "$ver"
		return
	done
	die "could not download any of: $pkgs"
}

cached_kernel() { # the newest ready kernel in the cache, if any
	for d in $(ls -d "$CACHE"/kernel/6.12.*+deb12-amd64 2>/dev/null | sort -rV); do
		if [ -f "$d/.ready" ]; then basename "$d"; return; fi
	done
}

KVER=""
if [ -n "${IOV_RIG_KERNEL_PKG:-}" ]; then
	KVER=$(fetch_kernel)
else
	# Reuse the newest kernel already in the cache; fetch only when there is none.
	KVER=$(cached_kernel)
	if [ -z "$KVER" ]; then
		# One download at a time (parallel first runs share the cache).
		mkdir -p "$CACHE"
		exec 9> "$CACHE/.fetch.lock"
		command -v flock > /dev/null 2>&1 && flock 9
		KVER=$(cached_kernel)
		[ -n "$KVER" ] || KVER=$(fetch_kernel)
		exec 9>&-
	fi
fi
KDIR="$CACHE/kernel/$KVER"
say "kernel $KVER ($KDIR)"

# ---------------------------------------------------------------- initramfs inputs
IMG="$OUT/image"
mkdir -p "$IMG"

progs=""
for p in ${IOV_RIG_PROGS:-iovctl iovd iovm iov-bindtool}; do
	if [ -x "$BIN/$p" ]; then progs="$progs $BIN/$p"; else say "note: $BIN/$p missing; the image will lack it"; fi
done
helpers=""
for h in jget kvmcheck asuser vfiocheck msiforge cdi-validate ptyrun diskbench loadtool; do
	[ -x "$HELPERS/$h" ] || die "$HELPERS/$h missing; build it with 'make rig-helpers'"
	helpers="$helpers $HELPERS/$h"
done
# nvme-cli's nvme (the NVMe scenarios cross-check iovd with it); optional: without it the
# image lacks it and those checks fail.
NVMECLI=$(command -v nvme 2>/dev/null || true)
[ -n "$NVMECLI" ] || { [ -x /usr/sbin/nvme ] && NVMECLI=/usr/sbin/nvme; } || true
[ -n "$NVMECLI" ] || say "note: nvme-cli's nvme not found (./setup.sh installs it); the image will lack it"
IP=$(command -v ip 2>/dev/null || true)
[ -n "$IP" ] && [ -x /usr/sbin/ip ] && IP=/usr/sbin/ip
[ -n "$IP" ] || die "iproute2's ip not found; run ./setup.sh"
PCIIDS=""
[ -f /usr/share/misc/pci.ids ] && PCIIDS=/usr/share/misc/pci.ids
QEMU_BIN="" QEMU_FW=""
if [ "${IOV_RIG_WITH_QEMU:-0}" = 1 ]; then
	QEMU_BIN=$(command -v qemu-system-x86_64 2>/dev/null) || die "IOV_RIG_WITH_QEMU=1: qemu-system-x86_64 not found; run ./setup.sh"
	for f in qboot.rom linuxboot_dma.bin kvmvapic.bin; do
		[ -f "/usr/share/qemu/$f" ] || die "IOV_RIG_WITH_QEMU=1: /usr/share/qemu/$f missing"
		QEMU_FW="$QEMU_FW /usr/share/qemu/$f"
	done
fi

# Load order, resolved by modprobe in the unpacked tree: load_order MODULE... prints the
# module files, dependencies first, each once.
load_order() {
	_order=""
	for m in "$@"; do
		deps=$(modprobe -d "$KDIR" -S "$KVER" --show-depends "$m") || die "modprobe cannot resolve module $m in $KDIR"
		for f in $(echo "$deps" | awk '$1 == "insmod" { print $2 }'); do
			case " $_order " in *" $f "*) ;; *) _order="$_order $f" ;; esac
		done
	done
	echo "$_order"
}
order=$(load_order $MODULES)
inner_order=$(load_order $INNER_MODULES)

# Input fingerprint: when nothing changed, keep the current initrd.
stamp=$( {
	echo "$KVER"
	echo "$order"
	echo "$inner_order"
	find "$here/disk" -type f -exec ls -l --time-style=+%s {} + | sort
	ls -lL --time-style=+%s "$BUSYBOX" "$IP" $NVMECLI $progs $helpers $PCIIDS "$KDIR/boot/vmlinuz-$KVER" $QEMU_BIN $QEMU_FW
	find "$here/guest" "$here/scenarios" "$here/selftest" -type f -exec ls -l --time-style=+%s {} + | sort
	ls -lL --time-style=+%s "$BIN/vmm-payloads/payload.bin" "$here/../vmm/run.sh" \
		"$here/../vmm/sandbox.sh" 2>/dev/null
	cat "$0" | cksum
} | cksum | cut -d' ' -f1)
if [ -f "$IMG/initrd.gz" ] && [ -f "$IMG/stamp" ] && [ "$(cat "$IMG/stamp")" = "$stamp" ] &&
   [ -e "$IMG/vmlinuz" ]; then
	say "initramfs up to date ($IMG/initrd.gz)"
	exit 0
fi

# ---------------------------------------------------------------- initramfs
root="$IMG/root.$$"
rm -rf "$root"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/bin "$root"/sbin "$root"/usr/bin "$root"/usr/sbin "$root"/lib/modules \
	"$root"/proc "$root"/sys "$root"/dev "$root"/tmp "$root"/run "$root"/root "$root"/etc \
	"$root"/rig "$root"/usr/share/misc "$root"/var/run

cp "$BUSYBOX" "$root/bin/busybox"
# Applet links are made at boot (busybox --install); sh is needed before that.
ln -s busybox "$root/bin/sh"

# A dynamic binary with the libraries ldd names and the loader, at the same paths.
copy_dyn() {
	src=$1 dst=$2
	cp "$src" "$root$dst"
	ldd "$src" 2>/dev/null | awk '
		/=>/ && $3 ~ /^\// { print $3 }
		$1 ~ /^\// { print $1 }' | while read -r lib; do
		[ -f "$root$lib" ] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}

copy_dyn "$IP" /usr/sbin/ip
[ -z "$NVMECLI" ] || copy_dyn "$NVMECLI" /usr/sbin/nvme
for p in $progs; do copy_dyn "$p" "/usr/bin/$(basename "$p")"; done
for h in $helpers; do copy_dyn "$h" "/usr/bin/$(basename "$h")"; done
[ -n "$PCIIDS" ] && cp "$PCIIDS" "$root/usr/share/misc/pci.ids"
if [ -n "$QEMU_BIN" ]; then
	copy_dyn "$QEMU_BIN" /usr/bin/qemu-system-x86_64
	mkdir -p "$root/usr/share/qemu"
	cp -L $QEMU_FW "$root/usr/share/qemu/"
fi

# put_modules DIR FILE...: the modules decompressed into DIR, their names in DIR/order.
put_modules() {
	_dir=$1
	shift
	mkdir -p "$_dir"
	: > "$_dir/order"
	for f in "$@"; do
		name=$(basename "$f" .xz)
		case "$f" in
		*.xz) xz -dc "$f" > "$_dir/$name" ;;
		*) cp "$f" "$_dir/$name" ;;
		esac
		echo "$name" >> "$_dir/order"
	done
}
put_modules "$root/lib/modules" $order

put_modules "$root/lib/modules/inner" $inner_order

# The root disk of iovm's disk guests (scenario vmm_disk): an ext4 image made here (the test
# host has no mkfs.ext4) holding busybox and tests/rig/disk/init as /sbin/init.
disk="$IMG/disk.$$"
rm -rf "$disk"
mkdir -p "$disk/bin" "$disk/sbin" "$disk/dev" "$disk/proc" "$disk/sys" "$disk/tmp" "$disk/data"
cp "$BUSYBOX" "$disk/bin/busybox"
ln -s busybox "$disk/bin/sh"
cp "$here/disk/init" "$disk/sbin/init"
chmod 755 "$disk/sbin/init"
mkdir -p "$root/rig/disk"
mkfs.ext4 -q -F -L iovm-root -d "$disk" "$root/rig/disk/root.ext4" 32M ||
	die "mkfs.ext4 -d: cannot build the disk guests' root image"
rm -rf "$disk"

# The same kernel, for guests the test host boots itself (iovm on the nested /dev/kvm).
mkdir -p "$root/boot"
cp "$KDIR/boot/vmlinuz-$KVER" "$root/boot/vmlinuz"

cp "$here/guest/init" "$root/init"
chmod 755 "$root/init"
cp "$here/guest/"*.sh "$root/rig/"
# The example host config, which the demo applies.
cp "$here/../../docs/examples/iovd.json" "$root/rig/iovd-example.json"
mkdir -p "$root/rig/scenarios"
cp "$here/scenarios/"*.sh "$root/rig/scenarios/" 2>/dev/null || true
# The runner's own tests (tests/rig/selftest.sh; never part of the suite).
mkdir -p "$root/rig/selftest"
cp "$here/selftest/"*.sh "$root/rig/selftest/" 2>/dev/null || true
# The iovm payload tests (scenario vmm_payloads), when the payload is built; the sandbox
# probes (scenario vmm_sandbox).
mkdir -p "$root/rig/vmm"
cp "$here/../vmm/sandbox.sh" "$root/rig/vmm/"
if [ -f "$BIN/vmm-payloads/payload.bin" ]; then
	cp "$BIN/vmm-payloads/payload.bin" "$here/../vmm/run.sh" "$root/rig/vmm/"
fi
echo "$KVER" > "$root/etc/rig-kernel"
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\n' > "$root/etc/group"
# iovd runs guests as the system user iovm (as setup.sh creates on a real host).
printf 'iovm:x:990:990:iovd guests:/nonexistent:/bin/false\n' >> "$root/etc/passwd"
printf 'iovm:x:990:\n' >> "$root/etc/group"

(cd "$root" && find . -print | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -1 > "$IMG/initrd.gz.tmp"
mv "$IMG/initrd.gz.tmp" "$IMG/initrd.gz"
ln -sf "$KDIR/boot/vmlinuz-$KVER" "$IMG/vmlinuz"
echo "$stamp" > "$IMG/stamp"
echo "$KVER" > "$IMG/kernel-version"
say "built $IMG/initrd.gz ($(du -k "$IMG/initrd.gz" | cut -f1) KiB, kernel $KVER)"
