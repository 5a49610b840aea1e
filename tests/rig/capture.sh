#!/bin/sh
# Regenerate tests/fixtures/captured/PRESET/ from the test host's real sysfs.
#
#   tests/rig/capture.sh [PRESET...]      (default: every preset)
#
# Boots each preset in capture mode (guest/capture.sh: 4 VFs per PF, VF 1 on vfio-pci), gets
# the tree back over the results serial port (tar.gz, base64) and replaces the fixture folder.
# Review with `git status tests/fixtures/captured` and commit what changed.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cd "$top"
. "$here/presets.sh"

OUT=${IOV_RIG_OUT:-build/rig}
DEST=${IOV_RIG_CAPTURE_DEST:-tests/fixtures/captured}
presets=${*:-$(echo "$RIG_PRESETS" | sed "s/ guests//")}	# guests: the default hardware again

"$here/image.sh" -q
fail=0
for p in $presets; do
	if ! "$here/run.sh" --no-image --mode capture "$p"; then
		echo "rig-capture: $p: capture failed (logs in $OUT/logs/$p-capture)" >&2
		fail=1
		continue
	fi
	tarball="$OUT/logs/$p-capture/blobs/capture.tree.tar.gz"
	[ -s "$tarball" ] || { echo "rig-capture: $p: no tree came back" >&2; fail=1; continue; }
	tmp="$DEST/.$p.tmp.$$"
	rm -rf "$tmp"
	mkdir -p "$tmp"
	tar -C "$tmp" -xzf "$tarball"
	rm -rf "${DEST:?}/$p"
	mv "$tmp" "$DEST/$p"
	echo "rig-capture: $p -> $DEST/$p ($(du -sk "$DEST/$p" | cut -f1) KiB on disk, $(find "$DEST/$p" | wc -l) entries)"
done
exit $fail
