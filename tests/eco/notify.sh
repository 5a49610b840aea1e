#!/bin/sh
# sd_notify end to end: tests/eco/notify.py runs the build's iovd on a generated fixture tree
# with a fake $NOTIFY_SOCKET. (lib/sdnotify.c itself: tests/unit/test_sdnotify.c.)
#   tests/eco/notify.sh BUILD
set -u
B=${1:?usage: $0 BUILD}
cd "$(dirname "$0")/../.." || exit 2
T=$(mktemp -d "${TMPDIR:-/tmp}/iov-notify.XXXXXX")
trap 'rm -rf "$T"' EXIT
python3 tests/fixtures/gen/mksysfs.py --all "$T" > /dev/null || { echo "FAIL: fixture trees"; exit 1; }
python3 tests/eco/notify.py "$B/iovd" "$T/layout_a"
