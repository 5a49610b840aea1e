#!/usr/bin/env python3
"""Where a guest's boot goes under two VMMs, initcall by initcall (issue 20).

    bench/boot_diff.py [-n 10] A.out[,A2.out...] B.out[,B2.out...] [--names iovm,qemu]

Each file is a guest console log with the boot messages that tests/rig/scenarios/vmm_lib.sh's
init prints with diag=2 (after a boot with initcall_debug): lines "DIAG [  t] initcall FN
returned R after N usecs" (those of 100 us or more) and the other boot messages. With several
files per side (comma-separated), each initcall's time is the median over them (an initcall
missing from a file counts 0: it took under 100 us there).

Prints: the N initcalls whose time differs most (A - B), the sum of all initcalls on each side,
the printk time of a few milestones (kernel's clock start to /init) on each side, and the
clock, timer and calibration lines of the first file of each side.
"""
import re
import statistics
import sys

IC = re.compile(r"^DIAG \[\s*([0-9.]+)\] initcall (\S+?)(?:\+0x[0-9a-f]+/0x[0-9a-f]+)?(?: \[\S+\])? "
                r"returned -?\d+ after (\d+) usecs")
MSG = re.compile(r"^DIAG \[\s*([0-9.]+)\] (.*)$")
MILESTONES = [
    ("clocksource switch", "clocksource: Switched to clocksource"),
    ("TSC / kvm-clock", "tsc: Detected"),
    ("APIC timer / SMP up", "smp: Brought up"),
    ("PCI probe done", "PCI: CLS"),
    ("initramfs unpacked", "Freeing initrd memory"),
    ("kernel image freed", "Freeing unused kernel image"),
    ("/init started", "Run /init as init process"),
]
CLOCKISH = re.compile(r"clocksource|tsc|TSC|[Cc]alibrat|APIC timer|x2apic|kvm-clock|kvm-guest|"
                      r"Hypervisor|lpj|BogoMIPS|clockevent|PIT|hpet|HPET|timer", re.I)


def parse(path):
    ics, msgs = {}, []
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\r\n")
            m = IC.match(line)
            if m:
                ics[m.group(2)] = ics.get(m.group(2), 0) + int(m.group(3))
                continue
            m = MSG.match(line)
            if m:
                msgs.append((float(m.group(1)), m.group(2)))
    return ics, msgs


def side(paths):
    runs = [parse(p) for p in paths]
    names = set()
    for ics, _ in runs:
        names |= set(ics)
    med = {n: statistics.median([ics.get(n, 0) for ics, _ in runs]) for n in names}
    miles = {}
    for label, needle in MILESTONES:
        ts = [next((t for t, s in msgs if needle in s), None) for _, msgs in runs]
        ts = [t for t in ts if t is not None]
        miles[label] = statistics.median(ts) if ts else None
    return med, miles, runs[0][1], len(runs)


def main(argv):
    n = 10
    names = ["A", "B"]
    args = []
    i = 0
    while i < len(argv):
        if argv[i] == "-n":
            n = int(argv[i + 1])
            i += 2
        elif argv[i] == "--names":
            names = argv[i + 1].split(",")
            i += 2
        else:
            args.append(argv[i])
            i += 1
    if len(args) != 2:
        sys.stderr.write(__doc__)
        return 2
    a_med, a_mi, a_msgs, a_n = side(args[0].split(","))
    b_med, b_mi, b_msgs, b_n = side(args[1].split(","))
    if not a_med or not b_med:
        sys.stderr.write("boot_diff: no initcall lines in %s (a boot with initcall_debug and diag=2?)\n"
                         % (args[0] if not a_med else args[1]))
        return 1
    A, B = names
    allnames = set(a_med) | set(b_med)
    diffs = sorted(allnames, key=lambda k: -abs(a_med.get(k, 0) - b_med.get(k, 0)))
    print("initcalls, median of %d %s and %d %s boots (us; under 100 us counts 0)" % (a_n, A, b_n, B))
    print("| initcall | %s us | %s us | %s - %s us |" % (A, B, A, B))
    print("|---|---|---|---|")
    for k in diffs[:n]:
        a, b = a_med.get(k, 0), b_med.get(k, 0)
        print("| %s | %.0f | %.0f | %+.0f |" % (k, a, b, a - b))
    sa, sb = sum(a_med.values()), sum(b_med.values())
    print("| all initcalls of 100 us or more | %.0f | %.0f | %+.0f |" % (sa, sb, sa - sb))
    print()
    print("milestones, the guest's printk time (s, medians)")
    print("| milestone | %s | %s |" % (A, B))
    print("|---|---|---|")
    for label, _ in MILESTONES:
        fa, fb = a_mi[label], b_mi[label]
        print("| %s | %s | %s |" % (label, "-" if fa is None else "%.3f" % fa,
                                      "-" if fb is None else "%.3f" % fb))
    for nm, msgs in ((A, a_msgs), (B, b_msgs)):
        print()
        print("clock and timer lines, %s (first boot)" % nm)
        for t, s in msgs:
            if CLOCKISH.search(s) and " initcall " not in (" " + s):
                print("  [%10.6f] %s" % (t, s))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
