#!/bin/sh
# bench/list_bench.sh BIN [RUNS]: `iovctl --sysroot TREE list --json` against `lspci -D -nnk`
# on the same synthetic 16 PF x 128 VF tree (bench/list_bench.py, tree cached next to BIN),
# RUNS alternated rounds: the median wall-time ratio, CPU times, peak RSS. Exit 1 when over
# the targets (ratio 0.7, 20 MiB).
set -u
BIN=${1:?usage: $0 BIN [RUNS]}
RUNS=${2:-15}
HERE=$(cd "$(dirname "$0")" && pwd)
exec python3 "$HERE/list_bench.py" "$BIN" --runs "$RUNS"
