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
  - NVMe PFs (a config entry with queues, interrupts or namespace), from the raw Identify data
    in the fixture (iovd-fixture/nvme/PF/cns14.bin, cns15.bin, cns10.bin, cns12-nsN.bin, read
    here at the specification's byte offsets): a refusal when a VF asks for more VQ/VI than
    one secondary controller may get (VQFRSM/VIFRSM), more than the drive has flexible less
    what the primary keeps, a namespace the drive lacks, one attached to another controller,
    or one given twice; else, after the count, the controllers of VFs without NVMe keys
    emptied (detach, offline, VQ/VI 0) and each configured VF's set up: assign VQ, VI (from
    0 when its VF is re-created on QEMU's drive 1b36:0010, which empties the controllers of
    VFs it disables; unknown on another), attach its namespace, online; autoprobe goes off
    before a creation on such a PF;
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


def le(b, off, n):
    return int.from_bytes(b[off:off + n], 'little')


class Drive:
    """The NVMe SR-IOV state in a fixture: NVMe 2.0 Figures 280 (CNS 14h), 282 (CNS 15h)."""
    def __init__(self, root, pf):
        d = os.path.join(root, 'iovd-fixture/nvme', pf)
        p = open(os.path.join(d, 'cns14.bin'), 'rb').read()
        self.vq = dict(total=le(p, 32, 4), primary=le(p, 40, 2), max=le(p, 44, 2))
        self.vi = dict(total=le(p, 64, 4), primary=le(p, 72, 2), max=le(p, 76, 2))
        s = open(os.path.join(d, 'cns15.bin'), 'rb').read()
        self.sec = {}
        for i in range(s[0]):
            e = s[32 + 32 * i:64 + 32 * i]
            self.sec[le(e, 8, 2)] = dict(scid=le(e, 0, 2), online=bool(e[4] & 1),
                                         nvq=le(e, 10, 2), nvi=le(e, 12, 2))
        n = open(os.path.join(d, 'cns10.bin'), 'rb').read()
        self.ns = {}
        for k in range(1024):
            nsid = le(n, 4 * k, 4)
            if not nsid:
                break
            c = open(os.path.join(d, 'cns12-ns%d.bin' % nsid), 'rb').read()
            self.ns[nsid] = [le(c, 2 + 2 * m, 2) for m in range(le(c, 0, 2))]


NVME_KEYS = ('queues', 'interrupts', 'namespace')


def nvme_model(tree, e, pf, cur, want, recreate):
    """(refused, actions after the count) for an NVMe PF entry."""
    dr = Drive(tree.root, pf)
    acts, sq, si, seen = [], 0, 0, set()
    wanted = {}
    for i in range(want):
        s = vf_settings(e, i)
        if not any(k in s for k in NVME_KEYS):
            continue
        c = dr.sec.get(i + 1)
        if c is None or 'queues' not in s or 'interrupts' not in s:
            return True, []
        if s['queues'] > dr.vq['max'] or s['interrupts'] > dr.vi['max']:
            return True, []
        sq, si = sq + s['queues'], si + s['interrupts']
        ns = s.get('namespace')
        if ns is not None:
            if ns in seen or ns not in dr.ns or any(x != c['scid'] for x in dr.ns[ns]):
                return True, []
            seen.add(ns)
        wanted[i] = s
    if sq > dr.vq['total'] - dr.vq['primary'] or si > dr.vi['total'] - dr.vi['primary']:
        return True, []
    qemu = tree.attr(pf, 'vendor') == '0x1b36' and tree.attr(pf, 'device') == '0x0010'
    for vfn in sorted(dr.sec):
        i, c = vfn - 1, dr.sec[vfn]
        if i in wanted:
            continue
        a = tree.vf_addr(pf, i)
        for ns in sorted(dr.ns):
            if c['scid'] in dr.ns[ns]:
                acts.append(('nvme_ns', pf, a, None, 'attached', 'detached'))
        if c['online']:
            acts.append(('nvme_state', pf, a, None, 'online', 'offline'))
        for k in ('nvq', 'nvi'):
            if c[k]:
                acts.append(('nvme_assign', pf, a, None, c[k], 0))
    for i, s in sorted(wanted.items()):
        c, a = dict(dr.sec[i + 1]), tree.vf_addr(pf, i)
        known = True
        if recreate and cur > 0:
            if qemu:
                c.update(online=False, nvq=0, nvi=0)
            else:
                acts.append(('nvme_state', pf, a, None, 'online', 'offline'))
                c['online'], known = False, False
        ns = s.get('namespace')
        for other in sorted(dr.ns):
            if known and other != ns and c['scid'] in dr.ns[other]:
                acts.append(('nvme_ns', pf, a, None, 'attached', 'detached'))
        if c['online'] and (c['nvq'], c['nvi']) != (s['queues'], s['interrupts']):
            acts.append(('nvme_state', pf, a, None, 'online', 'offline'))
            c.update(online=False, nvq=0, nvi=0) if qemu else None
            known = known and qemu
        for k, want_n in (('nvq', s['queues']), ('nvi', s['interrupts'])):
            if not known or c[k] != want_n:
                acts.append(('nvme_assign', pf, a, None, c[k] if known else None, want_n))
        if ns is not None and (recreate and cur > 0 or c['scid'] not in dr.ns[ns]):
            acts.append(('nvme_ns', pf, a, None, 'detached', 'attached'))
        if not c['online']:
            acts.append(('nvme_state', pf, a, None, 'offline', 'online'))
    return False, acts


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
        nvme = any(k in vf_settings(e, i) for i in range(max(want, 1)) for k in NVME_KEYS) or \
            any(k in e.get('defaults', {}) for k in NVME_KEYS)
        nv_acts = []
        if nvme:
            refused, nv_acts = nvme_model(tree, e, pf, cur, want, recreate)
            if refused:
                return 1, [], set()
        if recreate:
            if cur > 0:
                actions.append(('numvfs', pf, None, None, cur, 0))
                for i in range(cur):
                    a = tree.vf_addr(pf, i)
                    impact.add(('vf_removed', a, tree.group(a)))
            if want > 0:
                if (nvme or all(d in ('vfio-pci', 'none') for d in drv)) and \
                        tree.attr(pf, 'sriov_drivers_autoprobe') == '1':
                    actions.append(('autoprobe', pf, None, None, 1, 0))
                actions.append(('numvfs', pf, None, None, 0, want))
                for i in range(want):
                    a = tree.vf_addr(pf, i)
                    impact.add(('vf_created', a, tree.group(a) if tree.exists(a) else None))
        actions += nv_acts
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
