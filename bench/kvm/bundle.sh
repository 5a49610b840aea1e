#!/bin/sh
# bench/kvm/bundle.sh BUILD HELPERS KERNEL OUT: a self-contained folder for `make bench-kvm` on a machine
# that has /dev/kvm but none of the project's packages (a borrowed machine that reaches no
# registry): iovm, iovctl, lspci, QEMU and GNU time with every library ldd names and the
# loader, QEMU's firmware for q35 and microvm, the guest kernel, a busybox initramfs whose
# /init prints a mark on the serial console, the VMM test payload, and the scripts. The
# binaries run through the bundled loader (bin/NAME wrappers), so the machine's own libraries
# do not matter. OUT.tar.xz is what travels; bench/kvm/run.sh runs from the unpacked folder.
set -eu
U="usage: bundle.sh BUILD HELPERS KERNEL OUT"
BUILD=${1:?$U}
HELPERS=${2:?$U}
KERNEL=${3:?$U}
OUT=${4:?$U}
HERE=$(cd "$(dirname "$0")" && pwd)
die() { echo "bench-kvm bundle: $*" >&2; exit 1; }

[ -f "$KERNEL" ] || die "no kernel at $KERNEL (make rig-image fetches the test host's)"
for t in qemu-system-x86_64 lspci busybox cpio gzip ldd xz; do
	command -v "$t" > /dev/null 2>&1 || die "$t not found: run ./setup.sh"
done
QEMU=$(command -v qemu-system-x86_64)
BUSYBOX=$(command -v busybox)
ldd "$BUSYBOX" > /dev/null 2>&1 && die "$BUSYBOX is dynamic; install busybox-static (./setup.sh)"

rm -rf "$OUT"
mkdir -p "$OUT/real" "$OUT/bin" "$OUT/lib" "$OUT/share/qemu" "$OUT/guest"

# add NAME PATH: the binary, its libraries, and a wrapper that runs it through the loader.
add() {
	cp -L "$2" "$OUT/real/$1"
	ldd "$2" | awk '/=> \// { print $3 } /^[[:space:]]*\/.*ld-linux/ { print $1 }' |
		while read -r l; do cp -Ln "$l" "$OUT/lib/" 2> /dev/null || true; done
	printf '#!/bin/sh\nd=$(cd "$(dirname "$0")/.." && pwd)\nexec "$d/lib/ld-linux-x86-64.so.2" --library-path "$d/lib" "$d/real/%s" "$@"\n' \
		"$1" > "$OUT/bin/$1"
	chmod +x "$OUT/bin/$1"
}
add iovm "$BUILD/iovm"
add iovctl "$BUILD/iovctl"
add qemu-system-x86_64 "$QEMU"
add lspci "$(command -v lspci)"
[ -x /usr/bin/time ] && add time /usr/bin/time
[ -f "$OUT/lib/ld-linux-x86-64.so.2" ] || die "no loader found in ldd's output"

# QEMU's firmware: SeaBIOS and the option ROMs -kernel uses (q35), qboot for microvm.
for f in bios-256k.bin qboot.rom bios-microvm.bin linuxboot_dma.bin linuxboot.bin kvmvapic.bin; do
	for d in /usr/share/qemu /usr/share/seabios; do
		[ -e "$d/$f" ] && { cp -L "$d/$f" "$OUT/share/qemu/"; break; }
	done
done
[ -f "$OUT/share/qemu/bios-256k.bin" ] || die "no bios-256k.bin (package seabios)"

# The guest: the kernel, and an initramfs whose /init prints the mark and reboots at once.
cp -L "$KERNEL" "$OUT/guest/vmlinuz"
ird=$(mktemp -d)
mkdir -p "$ird/bin" "$ird/dev"
cp "$BUSYBOX" "$ird/bin/busybox"
cat > "$ird/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox echo IOVBENCH-INIT
/bin/busybox reboot -f
INIT
chmod +x "$ird/init"
(cd "$ird" && find . | cpio -o -H newc --quiet | gzip -9) > "$OUT/guest/initrd.gz"
rm -rf "$ird"

cp "$BUILD/vmm-payloads/payload.bin" "$OUT/guest/payload.bin"
[ -x "$HELPERS/kvmcheck" ] || die "no $HELPERS/kvmcheck (make rig-helpers)"
cp "$HELPERS/kvmcheck" "$OUT/bin/kvmcheck"        # static
cp "$HERE/kvm_bench.py" "$HERE/run.sh" "$OUT/"
cp "$HERE/../../tests/vmm/run.sh" "$OUT/vmm_payload_tests.sh"
tar -C "$(dirname "$OUT")" -cJf "$OUT.tar.xz" "$(basename "$OUT")"
echo "bench-kvm bundle: $OUT ($(du -sh "$OUT" | cut -f1)), $OUT.tar.xz ($(du -h "$OUT.tar.xz" | cut -f1))"
