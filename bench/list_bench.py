#!/usr/bin/env python3
"""list_bench.py BIN [--runs N] [--tree DIR] [--pfs 16] [--vfs 128]

Builds (once, cached in DIR) a synthetic host: 4 X710-like 4-port cards (16 PFs) with 128 VFs
each (ARI, stride 1, PF k offset 16+127k so the VF ranges are back to back and spill over two
more buses per card), every VF in its own IOMMU group, bound to iavf with 3 MSI-X vectors.

Then, side by side in one run, N rounds alternating `BIN --sysroot DIR list --json` and
`lspci -D -nnk` on the same tree (-A linux-sysfs -O sysfs.path=DIR/sys/bus/pci, the same
pci.ids file), the first of the pair alternating from round to round. Prints each one's
median wall and CPU time and the median of the per-round ratios iovctl/lspci: absolute times
differ 2-3x between machines of one kind and with their load, the ratio much less. Warm page
cache (both read the tree once before timing). Both run at SCHED_FIFO priority 10 when that
is allowed (root), so that other load on a shared machine does not decide the figure
(--no-rt: normal priority). Peak RSS from GNU time.
Targets: ratio <= 0.7, peak RSS < 20 MiB (exit 1 when missed)."""
import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests', 'fixtures', 'gen'))
import mksysfs  # noqa: E402

TARGET_RATIO = 0.7
TARGET_MIB = 20


def desc(npf, nvf):
    cards = []
    for c in range(npf // 4):
        bus = 0x10 + c * 0x10
        pfs = []
        for k in range(4):
            pfs.append({'at': '%02x:00.%d' % (bus, k), 'id': '8086:1572', 'sub': '8086:0004',
                        'driver': 'i40e', 'net': 'ens%df%d' % (c + 1, k), 'ari': True, 'msix': 129,
                        'bars': {0: '8M', 3: '32K'},
                        'sriov': {'total': nvf, 'num': nvf, 'offset': 16 + (nvf - 1) * k, 'stride': 1,
                                  'vf_id': '154c', 'vf_driver': 'iavf', 'vf_msix': 5,
                                  'vf_bars': {0: '64K', 3: '16K'}}})
        cards.append({'at': '00:%02x.0' % (c + 1), 'id': '8086:2030', 'class': 0x060400, 'port': 'root',
                      'acs': (0x5f, 0x1d), 'below': pfs})
    return {'iommu': 'intel', 'intremap': True, 'vfio': {'allow_unsafe_interrupts': 'N'},
            'devices': [{'at': '00:00.0', 'id': '8086:2020', 'class': 0x060000, 'port': 'rciep',
                         'flr': False}] + cards}


def bench_tree(binary, npf, nvf, tree=None):
    """The synthetic tree of npf x nvf, generated once and cached next to binary (also
    bench/scale_bench.py's). Returns its path."""
    tree = tree or os.path.join(os.path.dirname(os.path.abspath(binary)), 'bench-tree-%dx%d' % (npf, nvf))
    stamp = os.path.join(tree, '.complete')
    gen_src = os.path.join(HERE, '..', 'tests', 'fixtures', 'gen', 'mksysfs.py')
    if not os.path.exists(stamp) or os.path.getmtime(stamp) < os.path.getmtime(gen_src):
        t0 = time.perf_counter()
        t = mksysfs.generate(desc(npf, nvf), tree)
        open(stamp, 'w').close()
        print('tree: %s (%d devices, generated in %.1f s)' % (tree, len(t.devs), time.perf_counter() - t0))
    else:
        print('tree: %s (cached)' % tree)
    return tree


RT = None   # preexec_fn putting the child at SCHED_FIFO 10, when allowed (see main)


def rt_ok():
    try:
        pid = os.fork()
        if pid == 0:
            try:
                os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
                os._exit(0)
            except OSError:
                os._exit(1)
        return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    except (OSError, AttributeError):
        return False


def set_rt():
    os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))


def run_once(cmd):
    """Wall ms, RSS MiB (over-estimate, see below), exit status, stderr, CPU ms (user+sys)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=RT)
    _, status, ru = os.wait4(p.pid, 0)
    t1 = time.perf_counter()
    err = p.stderr.read().decode(errors='replace')
    p.stderr.close()
    rc = os.waitstatus_to_exitcode(status)
    return (t1 - t0) * 1000.0, ru.ru_maxrss / 1024.0, rc, err, (ru.ru_utime + ru.ru_stime) * 1000.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('bin')
    ap.add_argument('--runs', type=int, default=15)
    ap.add_argument('--tree', default=None)
    ap.add_argument('--pfs', type=int, default=16)
    ap.add_argument('--vfs', type=int, default=128)
    ap.add_argument('--no-rt', action='store_true',
                    help='run both at normal priority (default: SCHED_FIFO 10 when allowed)')
    a = ap.parse_args()
    global RT
    # On a shared machine the other load decides wall times more than either tool does; at
    # one real-time priority both run as on an idle machine, under the same conditions.
    if not a.no_rt and rt_ok():
        RT = set_rt
    tree = bench_tree(a.bin, a.pfs, a.vfs, a.tree)
    ndev = len(os.listdir(os.path.join(tree, 'sys/bus/pci/devices')))
    cmd = [os.path.abspath(a.bin), '--sysroot', tree, 'list', '--json']
    env_ids = os.path.join(HERE, '..', 'tests', 'fixtures', 'pci.ids')
    os.environ.setdefault('IOV_PCI_IDS', env_ids)
    ms, rss, rc, err, _ = run_once(cmd)         # warm-up (page cache, dentries)
    if rc != 0:
        print('FAIL: %s exited %d: %s' % (' '.join(cmd), rc, err.strip()[:500]))
        return 1
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    import json
    j = json.loads(out)
    nvf = sum(1 for d in j['devices'] if d.get('role') == 'vf')
    lspci = shutil.which('lspci')
    if not lspci:
        print('FAIL: lspci not found: install pciutils (./setup.sh does)')
        return 1
    lcmd = [lspci, '-D', '-nnk', '-A', 'linux-sysfs', '-O', 'sysfs.path=%s/sys/bus/pci' % tree,
            '-i', os.environ['IOV_PCI_IDS']]
    ms, rss, rc, err, _ = run_once(lcmd)        # warm-up
    if rc != 0:
        print('FAIL: %s exited %d: %s' % (' '.join(lcmd), rc, err.strip()[:500]))
        return 1
    times, cpus, ltimes, lcpus, ratios = [], [], [], [], []
    for r in range(a.runs):
        pair = [(cmd, times, cpus), (lcmd, ltimes, lcpus)]
        if r % 2:
            pair.reverse()
        got = {}
        for c, tl, cl in pair:
            ms, rss, rc, err, cpu = run_once(c)
            tl.append(ms)
            cl.append(cpu)
            got[id(tl)] = ms
        ratios.append(got[id(times)] / got[id(ltimes)])
    med, lmed = statistics.median(times), statistics.median(ltimes)
    ratio = statistics.median(ratios)
    cratio = statistics.median(cpus) / statistics.median(lcpus)
    # ru_maxrss of a child forked from python includes python's own pages before exec, so
    # use GNU time (a small parent) when there is one.
    how = '/usr/bin/time -f %M, max of 3 runs'
    rsss = []
    if os.access('/usr/bin/time', os.X_OK):
        for _ in range(3):
            r = subprocess.run(['/usr/bin/time', '-f', '%M'] + cmd, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
            rsss.append(int(r.stderr.strip().splitlines()[-1]) / 1024.0)
    else:
        how = 'wait4 ru_maxrss: over-estimate, includes the forking python'
        rsss = [run_once(cmd)[1] for _ in range(3)]
    peak = max(rsss)
    print('iovctl list --json: %d devices (%d VFs) in the tree, %d in the output; %d CPUs online' % (
        ndev, nvf, len(j['devices']), os.cpu_count() or 0))
    print('iovctl list --json  wall: median %.1f ms (best %.1f, worst %.1f), CPU median %.1f ms' % (
        med, min(times), max(times), statistics.median(cpus)))
    print('lspci -D -nnk       wall: median %.1f ms (best %.1f, worst %.1f), CPU median %.1f ms' % (
        lmed, min(ltimes), max(ltimes), statistics.median(lcpus)))
    print('ratio iovctl/lspci: wall %.2f (median of %d alternated rounds; target <= %.2f), CPU %.2f' % (
        ratio, a.runs, TARGET_RATIO, cratio))
    print('both ran %s' % ('at SCHED_FIFO 10 (the machine\'s other load left out)' if RT
                           else 'at normal priority (other load on the machine counts)'))
    print('peak RSS: %.1f MiB (target < %d MiB; %s)' % (peak, TARGET_MIB, how))
    verdict = ratio <= TARGET_RATIO and peak < TARGET_MIB
    print('bench-list: %s' % ('within targets' if verdict else 'OVER TARGET'))
    return 0 if verdict else 1


if __name__ == '__main__':
    sys.exit(main())
