#!/usr/bin/env python3
"""check.py TREE LIST_JSON [DESC]: independent checks of `iovctl list --json` on one tree.
check.py --verify TREE VERIFY_JSON: the same for `iovctl --json verify DEV...` ({"schema": "iovd.verify/1", "devices": [...]}).

Does not trust the golden files: it recomputes what the output must say from the sysfs tree
itself (PCI arithmetic, links, group directories) and, when the tree was generated from a
description, from the description's 'expect' block (hardware facts, docs/hardware.md).
Prints one line per failed assertion ("FAIL fixture: ...") and a summary line
"check: N passed, M failed"; exit status 1 if anything failed."""
import ast
import json
import os
import re
import sys

passed = 0
failed = 0
NAME = ''


def ok(cond, msg):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print('FAIL %s: %s' % (NAME, msg))
    return cond


def full(a):
    """'04:00.0' -> '0000:04:00.0'; None stays None."""
    if a is None:
        return None
    return a if a.count(':') == 2 else '0000:' + a


def parse_bdf(s):
    dom, bus, rest = s.split(':')
    dev, fn = rest.split('.')
    return int(dom, 16), int(bus, 16), int(dev, 16), int(fn, 16)


def vf_addr(pf, offset, stride, n):
    dom, bus, dev, fn = parse_bdf(pf)
    r = (bus << 8 | dev << 3 | fn) + offset + n * stride
    return '%04x:%02x:%02x.%x' % (dom, r >> 8, (r >> 3) & 0x1f, r & 7)


def rd(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except (OSError, UnicodeDecodeError):
        return None


def rdint(path, base):
    s = rd(path)
    if s is None:
        return None
    try:
        if base == 16 and not s.startswith('0x'):
            return None if path.endswith(('vendor', 'device', 'class')) else int(s, 16)
        return int(s, base if base != 16 else 0)
    except ValueError:
        return None


def link_base(path, must_exist=True):
    if not os.path.islink(path):
        return None
    if must_exist and not os.path.exists(path):
        return None
    return os.path.basename(os.readlink(path))


def main(argv):
    global NAME
    tree, js = argv[0], argv[1]
    desc = ast.literal_eval(open(argv[2]).read()) if len(argv) > 2 and argv[2] else {}
    NAME = os.path.basename(os.path.normpath(tree))
    try:
        with open(js) as f:
            j = json.load(f)
    except (OSError, ValueError) as e:
        ok(False, 'list --json is not valid JSON: %s' % e)
        return finish()
    sysd = os.path.join(tree, 'sys')
    devdir = os.path.join(sysd, 'bus/pci/devices')
    ok(j.get('schema') == 'iovd.host/1', 'list --json: schema %r, want iovd.host/1' % j.get('schema'))
    # acs: always an object with the verdict of verify's acs check (null for a bridge)
    for d in j.get('devices', []):
        a = d.get('acs')
        ok(isinstance(a, dict) and a.get('capability') in (True, False, None) and
           (a.get('verdict') is None if d.get('bridge') else a.get('verdict') in ('ok', 'fail', 'unknown')),
           '%s: acs %r is not {"capability", "cap", "ctrl", "verdict", "reason"}' % (d.get('address'), a))
    devs = {d['address']: d for d in j.get('devices', [])}
    addrs = [d['address'] for d in j.get('devices', [])]

    # -- every device in sysfs is listed exactly once, in address order
    on_disk = sorted(os.listdir(devdir))
    ok(sorted(addrs) == on_disk, 'devices listed %s != sysfs %s' % (
        sorted(set(addrs) ^ set(on_disk)), 'bus/pci/devices'))
    ok(len(addrs) == len(set(addrs)), 'a device is listed twice')
    ok(addrs == sorted(addrs, key=parse_bdf), 'devices not sorted by address')

    for a in on_disk:
        d = devs.get(a)
        if d is None:
            continue
        p = os.path.join(devdir, a)
        # IDs and class straight from sysfs (null when missing/garbage)
        for f, w in (('vendor', 4), ('device', 4), ('class', 6)):
            v = rdint(os.path.join(p, f), 16)
            want = None if v is None else '%0*x' % (w, v)
            ok(d.get(f) == want, '%s %s: got %r, sysfs says %r' % (a, f, d.get(f), want))
        # driver, group, numa, netdevs
        drv = link_base(os.path.join(p, 'driver'))
        ok(d.get('driver') == drv, '%s driver: got %r, sysfs %r' % (a, d.get('driver'), drv))
        g = link_base(os.path.join(p, 'iommu_group'))
        g = int(g) if g is not None else None
        ok(d.get('iommu_group') == g, '%s iommu_group: got %r, sysfs (resolving link) %r' % (
            a, d.get('iommu_group'), g))
        numa = rdint(os.path.join(p, 'numa_node'), 10)
        ok(d.get('numa_node') == numa, '%s numa_node: got %r, sysfs %r' % (a, d.get('numa_node'), numa))
        nd = os.path.join(p, 'net')
        nets = sorted(os.listdir(nd)) if os.path.isdir(nd) else []
        if not nets and drv == 'virtio-pci':
            # virtio-net: the netdev sits under the virtio device, DEV/virtioN/net/IFNAME
            for v in sorted(os.listdir(p)):
                vn = os.path.join(p, v, 'net')
                if re.fullmatch(r'virtio\d+', v) and os.path.isdir(vn):
                    nets += os.listdir(vn)
            nets.sort()
        ok(d.get('netdevs') == nets, '%s netdevs: got %r, sysfs %r' % (a, d.get('netdevs'), nets))
        # role
        if os.path.islink(os.path.join(p, 'physfn')):
            role = 'vf'
        elif os.path.exists(os.path.join(p, 'sriov_totalvfs')):
            role = 'pf'
        else:
            role = 'other'
        ok(d.get('role') == role, '%s role: got %r, sysfs says %r' % (a, d.get('role'), role))
        if role == 'vf':
            pf = link_base(os.path.join(p, 'physfn'))
            ok(d.get('pf') == pf, '%s pf: got %r, physfn %r' % (a, d.get('pf'), pf))
        ov = rd(os.path.join(p, 'driver_override'))
        ov = None if ov in (None, '', '(null)') else ov
        ok(d.get('driver_override') == ov, '%s driver_override: got %r, sysfs %r' % (
            a, d.get('driver_override'), ov))

    # -- SR-IOV arithmetic: VF n = PF RID + offset + n*stride, and back links
    for a, d in devs.items():
        if d.get('role') != 'pf':
            continue
        sr = d.get('sriov') or {}
        vfs = d.get('vfs') or []
        off, st = sr.get('offset'), sr.get('stride')
        p = os.path.join(devdir, a)
        links = sorted(int(f[6:]) for f in os.listdir(p) if re.fullmatch(r'virtfn\d+', f))
        ok(len(vfs) == (links[-1] + 1 if links else 0),
           '%s vfs: %d listed, virtfn links 0..%s' % (a, len(vfs), links[-1] if links else '-'))
        for n, v in enumerate(vfs):
            tgt = os.path.join(p, 'virtfn%d' % n)
            real = link_base(tgt) if os.path.exists(tgt) else None
            ok(v == real, '%s vfs[%d]: got %r, virtfn%d -> %r' % (a, n, v, n, real))
            if v is None:
                continue
            if off is not None and st is not None:
                ok(v == vf_addr(a, off, st, n), '%s vfs[%d] = %s but RID arithmetic (offset %d, stride %d) '
                   'gives %s' % (a, n, v, off, st, vf_addr(a, off, st, n)))
            vd = devs.get(v)
            if ok(vd is not None, '%s vfs[%d] %s not among devices' % (a, n, v)):
                ok(vd.get('role') == 'vf' and vd.get('pf') == a and vd.get('vf_index') == n,
                   '%s: role/pf/vf_index = %r/%r/%r, want vf/%s/%d' % (
                       v, vd.get('role'), vd.get('pf'), vd.get('vf_index'), a, n))
                if sr.get('vf_device') is not None and vd.get('device') is not None:
                    ok(vd['device'] == sr['vf_device'], '%s device %s != PF sriov.vf_device %s' % (
                        v, vd['device'], sr['vf_device']))
                if d.get('vendor') and vd.get('vendor'):
                    ok(vd['vendor'] == d['vendor'], '%s vendor %s != PF vendor %s' % (v, vd['vendor'], d['vendor']))
        for f, sysf in (('total_vfs', 'sriov_totalvfs'), ('num_vfs', 'sriov_numvfs'),
                        ('offset', 'sriov_offset'), ('stride', 'sriov_stride')):
            want = rdint(os.path.join(p, sysf), 10)
            ok(sr.get(f) == want, '%s sriov.%s: got %r, sysfs %r' % (a, f, sr.get(f), want))
        want = rd(os.path.join(p, 'sriov_vf_device'))
        if want is not None and not re.fullmatch(r'[0-9a-f]{1,4}', want):
            want = None
        want = None if want is None else '%04x' % int(want, 16)
        ok(sr.get('vf_device') == want, '%s sriov.vf_device: got %r, sysfs %r' % (a, sr.get('vf_device'), want))

    # -- groups: members equal sysfs devices/ listing; device <-> group consistency
    gdir = os.path.join(sysd, 'kernel/iommu_groups')
    jg = {g['id']: g for g in j.get('groups', [])}
    disk_groups = {}
    if os.path.isdir(gdir):
        for g in os.listdir(gdir):
            disk_groups[int(g)] = sorted(os.listdir(os.path.join(gdir, g, 'devices')))
    ok(sorted(jg) == sorted(disk_groups), 'groups %s != sysfs iommu_groups %s' % (
        sorted(jg), sorted(disk_groups)))
    for gid, members in disk_groups.items():
        if gid in jg:
            ok(jg[gid].get('devices') == members, 'group %d devices %r != sysfs %r' % (
                gid, jg[gid].get('devices'), members))
            gt = rd(os.path.join(gdir, str(gid), 'type'))
            ok(jg[gid].get('type') == gt, 'group %d type %r != sysfs %r' % (gid, jg[gid].get('type'), gt))
    for a, d in devs.items():
        if d.get('iommu_group') is not None:
            g = jg.get(d['iommu_group'])
            ok(g is not None and a in g.get('devices', []),
               '%s says group %r but that group does not list it' % (a, d['iommu_group']))

    # -- IOMMU and interrupt remapping, from the tree
    io = j.get('iommu') or {}
    ok(io.get('enabled') == bool(disk_groups), 'iommu.enabled %r but %d groups in sysfs' % (
        io.get('enabled'), len(disk_groups)))
    cls = os.path.join(sysd, 'class/iommu')
    units = sorted(os.listdir(cls)) if os.path.isdir(cls) else []
    ok(sorted(u.get('name') for u in io.get('units', [])) == units, 'iommu.units %r != sysfs class/iommu %r' % (
        [u.get('name') for u in io.get('units', [])], units))
    vendor = None
    if any(os.path.isdir(os.path.join(cls, u, 'intel-iommu')) for u in units):
        vendor = 'intel'
    elif any(os.path.isdir(os.path.join(cls, u, 'amd-iommu')) for u in units):
        vendor = 'amd'
    ok(io.get('vendor') == vendor, 'iommu.vendor %r, sysfs says %r' % (io.get('vendor'), vendor))
    unsafe = rd(os.path.join(sysd, 'module/vfio_iommu_type1/parameters/allow_unsafe_interrupts'))
    unsafe = {'Y': True, 'N': False}.get(unsafe) if unsafe is not None else None
    ok(io.get('unsafe_interrupts_allowed') == unsafe, 'iommu.unsafe_interrupts_allowed %r, sysfs %r' % (
        io.get('unsafe_interrupts_allowed'), unsafe))
    intr = rd(os.path.join(tree, 'proc/interrupts')) or ''
    ir_chips = bool(re.search(r'\sIR-\S+', intr))
    if vendor is None:
        ok(io.get('interrupt_remapping') in (False, None),
           'interrupt_remapping %r without any IOMMU' % io.get('interrupt_remapping'))
    elif ir_chips:
        ok(io.get('interrupt_remapping') is True, 'IR-* chips in /proc/interrupts but interrupt_remapping %r'
           % io.get('interrupt_remapping'))
    elif vendor == 'intel' and intr:
        ok(io.get('interrupt_remapping') is False, 'no IR-* chips in /proc/interrupts but interrupt_remapping %r'
           % io.get('interrupt_remapping'))

    # -- the description's intent (hardware facts, docs/hardware.md)
    e = desc.get('expect', {})
    for pf, want in e.get('vfs', {}).items():
        d = devs.get(full(pf), {})
        ok(d.get('vfs', []) == [full(v) for v in want], '%s vfs %r, docs/hardware.md says %r' % (
            pf, d.get('vfs'), [full(v) for v in want]))
    for pf, (first, last, n) in e.get('vf_first_last', {}).items():
        v = devs.get(full(pf), {}).get('vfs') or []
        ok(len(v) == n and v[0] == full(first) and v[-1] == full(last),
           '%s: %d VFs %s..%s, docs/hardware.md says %d %s..%s' % (pf, len(v), v[:1], v[-1:], n, first, last))
    for gid, members in e.get('groups', {}).items():
        g = jg.get(gid)
        ok(g is not None and g.get('devices') == sorted(full(m) for m in members),
           'group %d: %r, docs/hardware.md says %r' % (gid, g and g.get('devices'), members))
    for a, want in e.get('netdevs', {}).items():
        got = devs.get(full(a), {}).get('netdevs')
        ok(got == want, '%s netdevs %r, the fixture intends %r' % (a, got, want))
    counts = {}
    for d in devs.values():
        counts[d.get('iommu_group')] = counts.get(d.get('iommu_group'), 0) + 1
    for a in e.get('own_group', []):
        g = devs.get(full(a), {}).get('iommu_group')
        ok(g is not None and counts.get(g) == 1, '%s should be alone in its group (group %r)' % (a, g))
    for a in e.get('no_group', []):
        ok(devs.get(full(a), {}).get('iommu_group', 0) is None, '%s should have no group' % a)
    if e.get('no_groups'):
        ok(not jg and all(d.get('iommu_group') is None for d in devs.values()), 'no IOMMU: no groups expected')
    if 'group_type' in e:
        ok(all(g.get('type') == e['group_type'] for g in jg.values()), 'group types should be %s' % e['group_type'])
    for a, n in e.get('numa', {}).items():
        ok(devs.get(full(a), {}).get('numa_node') == n, '%s numa_node %r, want %r' % (
            a, devs.get(full(a), {}).get('numa_node'), n))
    for a, drv in e.get('drivers', {}).items():
        ok(devs.get(full(a), {}).get('driver', 0) == drv, '%s driver %r, want %r' % (
            a, devs.get(full(a), {}).get('driver'), drv))
    for a, (v, dv) in e.get('vf_ids', {}).items():
        d = devs.get(full(a), {})
        ok((d.get('vendor'), d.get('device'), d.get('role')) == (v, dv, 'vf'),
           '%s: %s:%s role %s, want %s:%s vf' % (a, d.get('vendor'), d.get('device'), d.get('role'), v, dv))
    for a, c in e.get('classes', {}).items():
        ok(devs.get(full(a), {}).get('class') == c, '%s class %r want %r' % (a, devs.get(full(a), {}).get('class'), c))
    for a, fields in e.get('nulls', {}).items():
        d = devs.get(full(a))
        if not ok(d is not None, '%s (damaged) must still be listed' % a):
            continue
        for f in fields:
            v = d
            for k in f.split('.'):
                v = v.get(k) if isinstance(v, dict) else None
            ok(v is None, '%s %s should be null (damaged file), got %r' % (a, f, v))
    if 'interrupt_remapping' in e:
        ok(io.get('interrupt_remapping') == e['interrupt_remapping'], 'interrupt_remapping %r, fixture intends %r' % (
            io.get('interrupt_remapping'), e['interrupt_remapping']))
    if 'iommu_vendor' in e:
        ok(io.get('vendor') == e['iommu_vendor'], 'iommu.vendor %r, fixture intends %r' % (io.get('vendor'), e['iommu_vendor']))
    if 'iommu_enabled' in e:
        ok(io.get('enabled') == e['iommu_enabled'], 'iommu.enabled %r, fixture intends %r' % (io.get('enabled'), e['iommu_enabled']))
    if 'unsafe_interrupts_allowed' in e:
        ok(io.get('unsafe_interrupts_allowed') == e['unsafe_interrupts_allowed'],
           'unsafe_interrupts_allowed %r, fixture intends %r' % (io.get('unsafe_interrupts_allowed'),
                                                                 e['unsafe_interrupts_allowed']))
    return finish()

CHECK_IDS = ['iommu', 'interrupt_remapping', 'group_viable', 'acs', 'reset', 'host_critical', 'numa']
# Words a sentence cannot end on: a reason or fix ending so was cut off (issue 14 item 1).
DANGLING = {'to', 'and', 'or', 'the', 'a', 'an', 'of', 'with', 'by', 'for', 'so', 'but', 'from',
            'than', 'that', 'its', 'is', 'are', 'on', 'in'}


def vfio_safe(drv):
    return drv is None or drv in ('vfio-pci', 'pci-stub', 'pcieport') or drv.endswith('_vfio_pci')


def is_bridge_dir(p):
    c = rdint(os.path.join(p, 'class'), 16)
    return c is not None and (c >> 8) == 0x0604


def sentence_ok(text):
    t = text.strip()
    if not t:
        return False
    if t[-1] in ',;:':
        return False
    return t.split()[-1].lower() not in DANGLING


def verify_main(argv):
    """Recomputes from the tree what each verdict must say (not from iovctl's model)."""
    global NAME
    tree, js = argv[0], argv[1]
    NAME = os.path.basename(os.path.normpath(tree)) + ' verify'
    try:
        with open(js) as f:
            vs = json.load(f)
    except (OSError, ValueError) as e:
        ok(False, 'verify --json is not valid JSON: %s' % e)
        return finish()
    # The contract (docs/json.md): one object, its schema named, the verdicts always an array.
    ok(isinstance(vs, dict) and vs.get('schema') == 'iovd.verify/1' and
       isinstance(vs.get('devices'), list), 'verify --json: not {"schema": "iovd.verify/1", '
       '"devices": [...]}')
    vs = vs.get('devices', []) if isinstance(vs, dict) else []
    sysd = os.path.join(tree, 'sys')
    devdir = os.path.join(sysd, 'bus/pci/devices')
    gdir = os.path.join(sysd, 'kernel/iommu_groups')
    groups_exist = os.path.isdir(gdir) and bool(os.listdir(gdir))
    interrupts = rd(os.path.join(tree, 'proc/interrupts')) or ''
    for v in vs:
        a = v.get('device')
        p = os.path.join(devdir, a or '?')
        if not ok(os.path.isdir(p), '%r: not a device of the tree' % a):
            continue
        checks = v.get('checks') or []
        ids = [c.get('id') for c in checks]
        ok(ids == CHECK_IDS, '%s: checks %r, want %r in this order' % (a, ids, CHECK_IDS))
        c = {x.get('id'): x for x in checks}
        for x in checks:
            ok(x.get('status') in ('ok', 'fail', 'unknown'), '%s %s: status %r' % (a, x.get('id'), x.get('status')))
            ok(sentence_ok(x.get('reason') or ''), '%s %s: reason reads as cut off: %r' % (
                a, x.get('id'), x.get('reason')))
            if x.get('fix') is not None:
                ok(sentence_ok(x['fix']), '%s %s: fix reads as cut off: %r' % (a, x.get('id'), x['fix']))
            if x.get('id') != 'numa' and x.get('status') != 'ok':
                ok(bool(x.get('fix')), '%s %s is %s without a fix' % (a, x.get('id'), x.get('status')))
        if ids != CHECK_IDS:
            continue
        want_iso = all(c[i]['status'] == 'ok' for i in CHECK_IDS if i != 'numa')
        ok(v.get('isolated') is want_iso, '%s: isolated %r, but the counting checks say %r' % (
            a, v.get('isolated'), want_iso))

        # iommu: groups and the device's iommu_group link
        g = link_base(os.path.join(p, 'iommu_group'))
        if not groups_exist or (g is None and not os.path.islink(os.path.join(p, 'iommu_group'))):
            ok(c['iommu']['status'] == 'fail', '%s iommu: %s, but the tree has %s' % (
                a, c['iommu']['status'], 'no groups' if not groups_exist else 'no iommu_group link'))
        elif g is not None:
            ok(c['iommu']['status'] == 'ok' and ('group %s' % g) in c['iommu']['reason'],
               '%s iommu: %s %r, the tree puts it in group %s' % (a, c['iommu']['status'],
                                                                  c['iommu']['reason'], g))
        # interrupt remapping: remapped chips in proc/interrupts are proof
        if 'IR-' in interrupts:
            ok(c['interrupt_remapping']['status'] == 'ok',
               '%s interrupt_remapping: %s, proc/interrupts has IR-* chips' % (a, c['interrupt_remapping']['status']))
        # group_viable: the group's members and their drivers, read here
        numvfs = rdint(os.path.join(p, 'sriov_numvfs'), 10)
        if g is None:
            if groups_exist:
                pass
            else:
                ok(c['group_viable']['status'] == 'fail', '%s group_viable without a group: %s' % (
                    a, c['group_viable']['status']))
        elif numvfs:
            ok(c['group_viable']['status'] == 'fail' and 'PF with %d VFs' % numvfs in c['group_viable']['reason'],
               '%s group_viable: a PF with %d VFs enabled must fail: %r' % (a, numvfs, c['group_viable']['reason']))
        else:
            members = sorted(os.listdir(os.path.join(gdir, g, 'devices')))
            blockers = []
            for m in members:
                if m == a:
                    continue
                mp = os.path.join(devdir, m)
                if not os.path.isdir(mp):
                    blockers = None
                    break
                if is_bridge_dir(mp):
                    continue
                if not vfio_safe(link_base(os.path.join(mp, 'driver'))):
                    blockers.append(m)
            if blockers is not None:
                want = 'fail' if blockers else 'ok'
                ok(c['group_viable']['status'] == want, '%s group_viable: %s, members on host drivers: %r' % (
                    a, c['group_viable']['status'], blockers))
                for m in blockers:
                    ok(m in c['group_viable']['reason'], '%s group_viable does not name %s' % (a, m))
        # acs: a bridge above the device in the device's own group is the kernel saying
        # that the path does not isolate it
        real = os.path.realpath(p)
        ups = [x for x in real.split(os.sep)[:-1] if re.fullmatch(r'[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]', x)]
        for b in ups:
            bg = link_base(os.path.join(devdir, b, 'iommu_group'))
            if g is not None and bg == g:
                ok(c['acs']['status'] == 'fail' and b in c['acs']['reason'],
                   '%s acs: %s %r, but port %s shares its group %s' % (a, c['acs']['status'],
                                                                      c['acs']['reason'], b, g))
        # reset: reset_method as the kernel shows it
        rm = rd(os.path.join(p, 'reset_method'))
        if rm is not None:
            if rm.split():
                ok(c['reset']['status'] == 'ok' and rm in c['reset']['reason'],
                   '%s reset: %s %r, reset_method says %r' % (a, c['reset']['status'], c['reset']['reason'], rm))
            else:
                ok(c['reset']['status'] == 'fail', '%s reset: %s with an empty reset_method' % (a, c['reset']['status']))
        # numa
        numa = rdint(os.path.join(p, 'numa_node'), 10)
        ok((c['numa']['status'] == 'ok') == (numa is not None), '%s numa: %s, numa_node %r' % (
            a, c['numa']['status'], numa))
    return finish()


def finish():
    print('check %s: %d passed, %d failed' % (NAME, passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    if sys.argv[1:2] == ['--verify']:
        sys.exit(verify_main(sys.argv[2:]))
    sys.exit(main(sys.argv[1:]))
