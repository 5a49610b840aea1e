#!/bin/sh
# The tree reads as the architecture: each folder includes only folders below it.
#   programs: cli/ (iovctl), src/ (iovd)      vmm/ (iovm): base layer only
#   config/ > sriov/ > vfio/ > irq/ > lib/ (the base layer: includes nothing above it)
# Prints every include that points sideways or up, and fails if there is one.
cd "$(dirname "$0")/.." || exit 2
rank() {
	case $1 in
	lib) echo 0 ;; irq) echo 1 ;; vfio) echo 2 ;; sriov) echo 3 ;; config) echo 4 ;;
	src|cli) echo 5 ;; *) echo 99 ;;
	esac
}
bad=0 n=0
for dir in lib irq vfio sriov config src cli vmm; do
	for f in "$dir"/*.c "$dir"/*.h; do
		[ -f "$f" ] || continue
		n=$((n + 1))
		for inc in $(sed -n 's/^#include "\([a-z]*\)\/.*/\1/p' "$f" | sort -u); do
			[ "$inc" = "$dir" ] && continue
			ok=0
			if [ "$dir" = vmm ]; then
				[ "$inc" = lib ] && ok=1
			elif [ "$(rank "$inc")" -lt "$(rank "$dir")" ]; then
				ok=1
			fi
			if [ $ok = 0 ]; then
				echo "layers: $f includes $inc/: $dir/ may only include folders below it (see docs/HACKING.md)"
				bad=$((bad + 1))
			fi
		done
	done
done
echo "layers: $n files, $bad includes pointing sideways or up"
[ $bad = 0 ]
