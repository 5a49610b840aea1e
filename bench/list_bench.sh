#!/bin/sh
# bench/list_bench.sh BIN [RUNS]: wall time (best/median of RUNS) and peak RSS of
# `iovctl --sysroot TREE list --json` on a synthetic 16 PF x 128 VF tree (bench/list_bench.py,
# tree cached next to BIN). Exit 1 when over the targets (100 ms, 20 MiB).
set -u
BIN=${1:?usage: $0 BIN [RUNS]}
RUNS=${2:-15}
HERE=$(cd "$(dirname "$0")" && pwd)
exec python3 "$HERE/list_bench.py" "$BIN" --runs "$RUNS"
