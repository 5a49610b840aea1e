#!/usr/bin/env python3
"""plan_bench.py PLAN_BENCH [--runs N]: the config plan on the list benchmark's synthetic host
(16 PFs x 128 VFs, 2,080 devices: bench/list_bench.py builds it, cached next to the binary)
with a config naming all 16 PFs by netdev: 128 VFs each (the count they have), VFs 0-63 on
vfio-pci (the 64 binds are planned through the bind planner, group by group), 64-127 with a
VLAN (no rtnetlink on a tree: every property is planned). Runs PLAN_BENCH, which prints the
figures; target < 150 ms median for the whole pipeline."""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import list_bench  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('bin')
    ap.add_argument('--runs', type=int, default=15)
    a = ap.parse_args()
    npf, nvf = 16, 128
    tree = list_bench.bench_tree(a.bin, npf, nvf)
    pfs = []
    for c in range(npf // 4):
        for k in range(4):
            pfs.append({'name': 'p%d-%d' % (c, k), 'match': {'netdev': 'ens%df%d' % (c + 1, k)},
                        'num_vfs': nvf,
                        'vfs': {'0-63': {'driver': 'vfio-pci'},
                                '64-127': {'vlan': 10 + c * 4 + k}}})
    cfg = os.path.join(os.path.dirname(os.path.abspath(a.bin)), 'bench-plan-config.json')
    with open(cfg, 'w') as f:
        json.dump({'pfs': pfs}, f, indent=1)
    os.environ.setdefault('IOV_PCI_IDS', os.path.join(HERE, '..', 'tests', 'fixtures', 'pci.ids'))
    return subprocess.run([os.path.abspath(a.bin), '--sysroot', tree, '--config', cfg,
                           '--runs', str(a.runs)]).returncode


if __name__ == '__main__':
    sys.exit(main())
