#!/usr/bin/env python3
"""An independent check of the key facts of every golden config plan (tests/golden/plans/).

The goldens are iovctl's own output (plans.sh --update); this models the plan rules from the
config and the fixture's sysfs tree alone, without iovctl, and checks what a plan must say:
  - which PF each config entry names (match by address, netdev, vendor_device + index);
  - the VF count changes: a different count goes through 0 (remove the current VFs, then
    create the wanted number), an equal count changes nothing;
  - autoprobe goes 1 -> 0 before a creation whose VFs all go to vfio-pci or no driver;
  - driver moves: every VF (re)created that wants vfio-pci/none; an existing VF whose driver in
    the tree differs from the wanted one;
  - VF properties: every configured one (mac, vlan [qos N], spoofchk/trust on|off, rates),
    defaults merged under the VF's own; the kernel's current values are not in sysfs, so an
    existing VF's property is always planned;
  - each action's VF address from the PF's address + sriov_offset + i * sriov_stride;
  - the impact: every current VF removed (with its IOMMU group from the tree), every new VF
    created, every existing VF that moves to vfio-pci moves its group;
  - the order: per PF, removal before autoprobe before creation before any VF action;
  - a refusal (exit 1) when a VF is to go to vfio-pci on a tree without IOMMU groups, or where
    the PF's VFs share the PF's own IOMMU group; exit 0 otherwise;
  - the text form (.out) carries every action's line.
Usage: plan_check.py TREES (the generated fixture trees, as plans.sh makes them).
Prints "plan-check: N passed, M failed"; exit 1 on any failure."""
import json
import os
import re
import sys

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CFGS = os.path.join(TOP, 'tests/config/plans')
EXP = os.environ.get('PLAN_CHECK_EXP', os.path.join(TOP, 'tests/golden/plans'))
passed = failed = 0


def check(name, cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print('FAIL: plan-check %s: %s' % (name, what))


def rd(path, default=None):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


def link(path):
    return os.path.basename(os.readlink(path)) if os.path.islink(path) else None


def bdf(s):
    return s if s.count(':') == 2 else '0000:' + s


class Tree:
    def __init__(self, root):
        self.root = root
        self.devs = os.path.join(root, 'sys/bus/pci/devices')

    def pfs(self):
        return sorted(d for d in os.listdir(self.devs)
                      if os.path.exists(os.path.join(self.devs, d, 'sriov_totalvfs')))

    def attr(self, dev, name):
        return rd(os.path.join(self.devs, dev, name))

    def driver(self, dev):
        return link(os.path.join(self.devs, dev, 'driver'))

    def group(self, dev):
        g = link(os.path.join(self.devs, dev, 'iommu_group'))
        return int(g) if g is not None else None

    def exists(self, dev):
        return os.path.isdir(os.path.join(self.devs, dev))

    def has_groups(self):
        g = os.path.join(self.root, 'sys/kernel/iommu_groups')
        return os.path.isdir(g) and len(os.listdir(g)) > 0

    def vf_addr(self, pf, i):
        dom, bus, df = pf.split(':')
        dev, fn = df.split('.')
        rid = (int(bus, 16) << 8 | int(dev, 16) << 3 | int(fn)) + \
            int(self.attr(pf, 'sriov_offset')) + i * int(self.attr(pf, 'sriov_stride'))
        return '%s:%02x:%02x.%d' % (dom, rid >> 8, (rid >> 3) & 31, rid & 7)

    def resolve(self, m):
        if 'address' in m:
            a = bdf(m['address'])
            return a if a in self.pfs() else None
        if 'netdev' in m:
            for p in self.pfs():
                if os.path.isdir(os.path.join(self.devs, p, 'net', m['netdev'])):
                    return p
            return None
        if 'vendor_device' in m:
            v, d = m['vendor_device'].split(':')
            hits = [p for p in self.pfs() if self.attr(p, 'vendor') == '0x' + v and
                    self.attr(p, 'device') == '0x' + d]
            i = m.get('index', 0)
            return hits[i] if i < len(hits) else None
        raise ValueError('plan_check.py models no match by %s' % list(m))


def vf_settings(entry, i):
    """The merged settings of VF i: defaults, then every "vfs" key (N or N-M) naming i."""
    s = dict(entry.get('defaults', {}))
    for k, v in entry.get('vfs', {}).items():
        lo, _, hi = k.partition('-')
        if int(lo) <= i <= int(hi or lo):
            s.update(v)
    return s


def prop_values(s):
    out = {}
    onoff = lambda b: 'on' if b else 'off'
    if 'mac' in s:
        out['mac'] = s['mac']
    if 'vlan' in s:
        out['vlan'] = str(s['vlan']) + (' qos %d' % s['qos'] if s.get('qos') else '')
    for k in ('spoofchk', 'trust'):
        if k in s:
            out[k] = onoff(s[k])
    for k in ('max_rate', 'min_rate'):
        if k in s:
            out[k] = str(s[k])
    return out


def model(tree, cfg):
    """(exit status, actions [(kind, pf_device, device, field, from, to)], impact set)."""
    actions, impact = [], set()
    for e in cfg['pfs']:
        pf = tree.resolve(e['match'])
        if pf is None:
            return 1, [], set()
        cur = int(tree.attr(pf, 'sriov_numvfs'))
        want = e.get('num_vfs', cur)
        drv = [vf_settings(e, i).get('driver') for i in range(want)]
        if 'vfio-pci' in drv:
            if not tree.has_groups():
                return 1, [], set()
            pg = tree.group(pf)
            if any(tree.group(tree.vf_addr(pf, i)) == pg for i in range(cur)):
                return 1, [], set()
        recreate = want != cur
        if recreate:
            if cur > 0:
                actions.append(('numvfs', pf, None, None, cur, 0))
                for i in range(cur):
                    a = tree.vf_addr(pf, i)
                    impact.add(('vf_removed', a, tree.group(a)))
            if want > 0:
                if all(d in ('vfio-pci', 'none') for d in drv) and \
                        tree.attr(pf, 'sriov_drivers_autoprobe') == '1':
                    actions.append(('autoprobe', pf, None, None, 1, 0))
                actions.append(('numvfs', pf, None, None, 0, want))
                for i in range(want):
                    a = tree.vf_addr(pf, i)
                    impact.add(('vf_created', a, tree.group(a) if tree.exists(a) else None))
        for i in range(want):
            a = tree.vf_addr(pf, i)
            for f, v in prop_values(vf_settings(e, i)).items():
                actions.append(('vf_prop', pf, a, f, None, v))
            d = drv[i]
            if d is None:
                continue
            now = None if recreate else (tree.driver(a) or 'none')
            if now != d:
                actions.append(('driver', pf, a, None, now, d))
                if not recreate and d == 'vfio-pci':
                    impact.add(('group_moved', a, tree.group(a)))
    return 0, actions, impact


def norm(v):
    return None if v is None else str(v)


def main():
    trees = sys.argv[1]
    for fn in sorted(os.listdir(CFGS)):
        if '--' not in fn or not fn.endswith('.json'):
            continue
        base = fn[:-5]
        fx = base.split('--')[0]
        root = os.path.join(TOP, 'tests/fixtures/captured', fx[len('captured-'):]) \
            if fx.startswith('captured-') else os.path.join(trees, fx)
        cfg = json.load(open(os.path.join(CFGS, fn)))
        rc, want_act, want_imp = model(Tree(root), cfg)
        got_rc = int(re.match(r'exit (\d+)', rd(os.path.join(EXP, base + '.err'))).group(1))
        check(base, got_rc == rc, 'exit %d in the golden, the model says %d' % (got_rc, rc))
        if rc != 0:
            continue
        g = json.load(open(os.path.join(EXP, base + '.json')))
        got = [(a['action'], a['pf_device'], a['device'], a.get('field'), norm(a['from']),
                norm(a['to'])) for a in g['actions']]
        want = [(k, p, d, f, norm(fr), norm(to)) for k, p, d, f, fr, to in want_act]
        for a in sorted(set(want) - set(got), key=str):
            check(base, False, 'the golden lacks the action %s' % (a,))
        for a in sorted(set(got) - set(want), key=str):
            check(base, False, 'the golden has an action the model does not: %s' % (a,))
        check(base, len(got) == len(set(got)), 'an action twice in the golden')
        check(base, set(got) == set(want), 'the actions differ (%d in the golden, %d in the model)' %
              (len(got), len(want)))
        # Order: per PF, remove < autoprobe < create < any VF action.
        for pf in {a[1] for a in got}:
            seq = [a for a in got if a[1] == pf]
            rank = [0 if a[0] == 'numvfs' and a[5] == '0' else 1 if a[0] == 'autoprobe' else
                    2 if a[0] == 'numvfs' else 3 for a in seq]
            check(base, rank == sorted(rank), 'actions of %s out of order: %s' % (pf, seq))
        gi = {(i['kind'], i['device'], i['group']) for i in g['impact']}
        check(base, gi == want_imp, 'impact differs: golden only %s, model only %s' %
              (sorted(gi - want_imp, key=str), sorted(want_imp - gi, key=str)))
        out = rd(os.path.join(EXP, base + '.out'), '')
        for a in g['actions']:
            check(base, a['line'] in out, 'the text plan lacks "%s"' % a['line'])
    print('plan-check: %d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
