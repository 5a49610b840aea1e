#!/usr/bin/env python3
"""iovm against QEMU on real KVM: launch to the guest's /init.

    kvm_bench.py BUNDLE [--rounds N] [--mem MIB] [--cmdline CMDLINE]

BUNDLE is the folder bench/kvm/bundle.sh makes (bin/ wrappers, share/qemu firmware,
guest/vmlinuz and guest/initrd.gz). Three VMMs boot the same kernel, initramfs and command
line with 256 MiB and one vCPU: iovm, QEMU -M microvm and QEMU -M q35, both QEMU with KVM,
-cpu host (kvmclock on). Each round runs all three; the order rotates from round to round
and every round says who went first. A run's figure is the time from spawning the VMM to the
line the guest's /init prints on the serial console (IOVBENCH-INIT); the VMM is then ended.
iovm runs with --stats: its set-up phases (exec to first vCPU run) are reported as medians.

Ratios are medians of the per-round ratios. Targets (issue 20): iovm launch to /init
<= 150 ms; iovm/QEMU <= 0.5 against both machines. Exit 0: all met; 1: a target not met;
2: not run (no usable /dev/kvm, or no VMM reached /init: the reason is printed).
"""
import argparse
import os
import select
import signal
import statistics
import subprocess
import sys
import time

MARK = b'IOVBENCH-INIT'
TARGET_MS = 150.0
TARGET_RATIO = 0.5


def commands(b, mem, cmdline):
    k, i = os.path.join(b, 'guest', 'vmlinuz'), os.path.join(b, 'guest', 'initrd.gz')
    qemu = [os.path.join(b, 'bin', 'qemu-system-x86_64'), '-L', os.path.join(b, 'share', 'qemu'),
            '-accel', 'kvm', '-cpu', 'host', '-m', str(mem), '-smp', '1', '-nodefaults',
            '-no-user-config', '-nographic', '-serial', 'stdio', '-no-reboot',
            '-kernel', k, '-initrd', i, '-append', cmdline]
    return {
        'iovm': [os.path.join(b, 'bin', 'iovm'), '--kernel', k, '--initrd', i,
                 '--mem', '%dM' % mem, '--cmdline', cmdline, '--stats'],
        'qemu-microvm': qemu[:1] + ['-M', 'microvm'] + qemu[1:],
        'qemu-q35': qemu[:1] + ['-M', 'q35'] + qemu[1:],
    }


def boot(cmd, timeout):
    """(ms to the mark or None, output tail, iovm phases)"""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    buf, ms = b'', None
    deadline = t0 + timeout
    while True:
        left = deadline - time.perf_counter()
        if left <= 0:
            break
        r, _, _ = select.select([p.stdout], [], [], left)
        if not r:
            break
        chunk = os.read(p.stdout.fileno(), 65536)
        if not chunk:
            break
        buf += chunk
        if ms is None and MARK in buf:
            ms = (time.perf_counter() - t0) * 1000.0
            break
    # iovm ends gracefully on SIGTERM and prints its --stats; QEMU just ends.
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
    try:
        rest, _ = p.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        rest, _ = p.communicate()
    buf += rest or b''
    text = buf.decode('utf-8', 'replace')
    phases = {}
    for line in text.splitlines():
        if line.startswith('iovm: set-up phase '):
            parts = line[len('iovm: set-up phase '):].rsplit(None, 2)
            if len(parts) == 3 and parts[2] == 'ms':
                try:
                    phases[parts[0].strip()] = float(parts[1])
                except ValueError:
                    pass
        elif line.startswith('iovm: set-up (start to first vCPU run) '):
            try:
                phases['total set-up (exec to first vCPU run)'] = float(line.split()[-2])
            except ValueError:
                pass
    return ms, text[-1500:], phases


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('bundle')
    ap.add_argument('--rounds', type=int, default=20)
    ap.add_argument('--mem', type=int, default=256)
    ap.add_argument('--timeout', type=float, default=20.0)
    ap.add_argument('--cmdline', default=os.environ.get(
        'IOV_KVM_CMDLINE', 'console=ttyS0 quiet panic=-1 reboot=k acpi=off pci=conf1'))
    a = ap.parse_args()
    b = os.path.abspath(a.bundle)
    if not os.path.exists('/dev/kvm'):
        print('bench-kvm: not run: no /dev/kvm on this machine')
        return 2
    cmds = commands(b, a.mem, a.cmdline)
    names = list(cmds)
    print('bench-kvm: %s, %d CPUs, %d MiB, 1 vCPU, command line "%s", %d rounds' % (
        os.uname().release, os.cpu_count() or 0, a.mem, a.cmdline, a.rounds))

    # One boot each first: a VMM that cannot reach /init here is reported, not timed.
    usable = []
    for n in names:
        ms, tail, _ = boot(cmds[n], a.timeout)
        if ms is None:
            print('bench-kvm: %s did not reach /init in %.0f s; its errors and last lines:' % (n, a.timeout))
            lines = tail.splitlines()
            errs = [x for x in lines[:-6] if 'error' in x.lower()]
            for line in errs[-4:] + lines[-6:]:
                print('    | ' + line)
        else:
            usable.append(n)
    if 'iovm' not in usable or len(usable) < 2:
        print('bench-kvm: not run: this /dev/kvm does not boot the kernel under %s' % (
            'iovm' if 'iovm' not in usable else 'QEMU'))
        return 2

    t = {n: [] for n in usable}
    ratios = {n: [] for n in usable if n != 'iovm'}
    phases = {}
    for r in range(a.rounds):
        order = usable[r % len(usable):] + usable[:r % len(usable)]
        got = {}
        for n in order:
            ms, tail, ph = boot(cmds[n], a.timeout)
            if ms is None:
                print('bench-kvm: round %d: %s did not reach /init; output ends:' % (r + 1, n))
                for line in tail.splitlines()[-8:]:
                    print('    | ' + line)
                return 1
            got[n] = ms
            t[n].append(ms)
            for k, v in ph.items():
                phases.setdefault(k, []).append(v)
        for n in ratios:
            ratios[n].append(got['iovm'] / got[n])
        print('ROUND %2d first=%-13s %s' % (r + 1, order[0], '  '.join(
            '%s %.1f ms' % (n, got[n]) for n in usable)))

    met = True
    print()
    print('%-40s %12s %10s %10s  %s' % ('figure', 'median', 'best', 'ratio', 'target'))
    for n in usable:
        print('%-40s %9.1f ms %7.1f ms %10s  %s' % ('launch to /init, ' + n, statistics.median(t[n]),
                                                    min(t[n]), '', ''))
    im = statistics.median(t['iovm'])
    ok = im <= TARGET_MS
    met &= ok
    print('%-40s %9.1f ms %10s %10s  <= %.0f ms %s' % ('iovm launch to /init (target)', im, '', '',
                                                      TARGET_MS, 'MET' if ok else 'NOT MET'))
    for n, rs in ratios.items():
        q = statistics.median(rs)
        ok = q <= TARGET_RATIO
        met &= ok
        print('%-40s %12s %10s %10.2f  <= %.2f %s' % ('iovm/' + n + ' (median of ratios)', '', '', q,
                                                    TARGET_RATIO, 'MET' if ok else 'NOT MET'))
    for n in names:
        if n not in usable:
            print('%-40s %12s %10s %10s  not run (did not boot here)' % ('iovm/' + n, '', '', ''))
            met = False
    if phases:
        print()
        print('iovm set-up phases (median of %d runs):' % len(t['iovm']))
        for k, v in phases.items():
            print('  %-56s %8.2f ms' % (k, statistics.median(v)))
    print('bench-kvm: %s' % ('all targets met' if met else 'a target is NOT MET'))
    return 0 if met else 1


if __name__ == '__main__':
    sys.exit(main())
