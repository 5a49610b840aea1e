#!/usr/bin/env python3
"""iovd keeps the pools' CDI specs: on a fixture tree (x710_4port: 32 VFs on vfio-pci) with
a config of two pools, iovd writes DIR/iovd.io-<pool>.json before it reports READY=1, the
same documents `iovctl export cdi --pool` prints; after a SIGHUP with one pool changed and
one gone, the changed spec is rewritten and the gone one removed, a spec of another vendor
stays; a SIGHUP with nothing changed rewrites nothing (same inode); a broken config leaves
the specs alone. Every spec directory state is checked by the CDI library (cdi-validate).
usage: cdi_daemon.py BUILD TREE CONFIG VALIDATOR"""
import json, os, shutil, signal, socket, subprocess, sys, tempfile, time

build, tree, config_src, validator = sys.argv[1:5]
fails = 0


def fail(msg):
    global fails
    fails += 1
    print("FAIL:", msg)


def validate(d, want_devices):
    p = subprocess.run([validator, d], capture_output=True, text=True)
    try:
        r = json.loads(p.stdout)
    except ValueError:
        fail(f"cdi-validate {d}: exit {p.returncode}: {p.stdout} {p.stderr}")
        return None
    if p.returncode != 0 or r["errors"]:
        fail(f"the CDI library refuses the specs in {d}: {r['errors']}")
    got = sorted(r["devices"])
    if got != sorted(want_devices):
        fail(f"CDI devices in {d}: {got}, want {sorted(want_devices)}")
    return r


def wait_for(cond, what, secs=5.0):
    end = time.time() + secs
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.05)
    fail(what)
    return False


with tempfile.TemporaryDirectory() as t:
    root = t + "/tree"
    shutil.copytree(tree, root, symlinks=True)
    cdi = root + "/run/cdi"
    cfg = t + "/iovd.json"
    shutil.copy(config_src, cfg)
    os.makedirs(cdi)
    foreign = cdi + "/vendor.example-gpu.json"
    open(foreign, "w").write('{"cdiVersion": "0.5.0", "kind": "vendor.example/gpu", '
                             '"devices": [{"name": "g0", "containerEdits": '
                             '{"deviceNodes": [{"path": "/dev/null"}]}}]}\n')
    mgr = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    mgr.bind(t + "/notify")
    mgr.settimeout(20)
    env = dict(os.environ, NOTIFY_SOCKET=t + "/notify")
    log = open(t + "/iovd.log", "w")
    p = subprocess.Popen([build + "/iovd", "--foreground", "--sysroot", root, "--config", cfg,
                          "--state-dir", t + "/state", "--socket", t + "/sock"],
                         env=env, stdout=log, stderr=log)
    try:
        msg = mgr.recv(4096).decode()
        if not msg.startswith("READY=1"):
            fail(f"first notify message {msg!r}")
        specs = sorted(f for f in os.listdir(cdi))
        want = ["iovd.io-batch.json", "iovd.io-tenants.json", "vendor.example-gpu.json"]
        if specs != want:
            fail(f"at READY=1 {cdi} holds {specs}, want {want}")
        # The daemon's files are what iovctl export prints.
        for pool in ("tenants", "batch"):
            out = subprocess.run([build + "/iovctl", "--sysroot", root, "export", "cdi",
                                  "--config", cfg, "--pool", pool],
                                 capture_output=True, text=True)
            try:
                mine = json.load(open(f"{cdi}/iovd.io-{pool}.json"))
            except (OSError, ValueError) as e:
                fail(f"iovd.io-{pool}.json: {e}")
                continue
            if out.returncode != 0 or json.loads(out.stdout) != mine:
                fail(f"pool {pool}: iovd's spec differs from iovctl export cdi ({out.stderr})")
            if oct(os.stat(f"{cdi}/iovd.io-{pool}.json").st_mode & 0o777) != "0o644":
                fail(f"iovd.io-{pool}.json is not mode 0644")
        validate(cdi, ["iovd.io/tenants=x3-vf0", "iovd.io/tenants=x3-vf1",
                       "iovd.io/tenants=x3-vf2", "iovd.io/tenants=x3-vf3",
                       "iovd.io/batch=x3-vf4", "iovd.io/batch=x3-vf5",
                       "iovd.io/batch=x3-vf30", "iovd.io/batch=x3-vf31",
                       "vendor.example/gpu=g0"])

        # One pool changes, one goes away.
        c = json.load(open(cfg))
        c["pools"] = [{"name": "tenants", "vfs": ["x3#0-1"]}]
        json.dump(c, open(cfg, "w"))
        os.kill(p.pid, signal.SIGHUP)
        wait_for(lambda: not os.path.exists(cdi + "/iovd.io-batch.json"),
                 "iovd.io-batch.json still there 5 s after its pool left the config")
        wait_for(lambda: len(json.load(open(cdi + "/iovd.io-tenants.json"))["devices"]) == 2,
                 "iovd.io-tenants.json not rewritten with the pool's 2 VFs")
        if not os.path.exists(foreign):
            fail("iovd removed another vendor's spec")
        left = sorted(os.listdir(cdi))
        if left != ["iovd.io-tenants.json", "vendor.example-gpu.json"]:
            fail(f"after the change {cdi} holds {left} (temporary files left?)")
        validate(cdi, ["iovd.io/tenants=x3-vf0", "iovd.io/tenants=x3-vf1",
                       "vendor.example/gpu=g0"])

        # Nothing changed: nothing rewritten.
        ino = os.stat(cdi + "/iovd.io-tenants.json").st_ino
        os.kill(p.pid, signal.SIGHUP)
        time.sleep(1.0)
        if os.stat(cdi + "/iovd.io-tenants.json").st_ino != ino:
            fail("a SIGHUP with the same config rewrote iovd.io-tenants.json")

        # A broken config: the previous one stays in force, and so do its specs.
        open(cfg, "w").write('{"pools": [ ')
        os.kill(p.pid, signal.SIGHUP)
        time.sleep(1.0)
        if os.stat(cdi + "/iovd.io-tenants.json").st_ino != ino:
            fail("a broken config changed the specs")
        if p.poll() is not None:
            fail(f"iovd exited ({p.returncode}) on a broken config")
    except socket.timeout:
        fail("iovd never reported READY=1")
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
        log.close()
    if fails:
        print("--- iovd log:")
        print(open(t + "/iovd.log").read()[-3000:])

print(f"cdi_daemon.py: {fails} failures")
sys.exit(1 if fails else 0)
