#!/usr/bin/python3
# An independent client: python3-varlink (Debian's package, not this project's code) drives
# iovd's io.iovd interface on a writable fake sysfs tree. The binding parses the interface
# description iovd serves, so a description it cannot read fails here first. Every method and
# every error of the description must be exercised by a case below (the test fails naming
# what is not), and a Monitor subscription must see the events of an apply, in order.
#
#   tests/varlink/iovd_client.py BUILD_DIR      (from the repository root; make varlink-client)
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

try:
    import varlink
except ImportError:
    sys.exit("iovd_client: python3-varlink is missing (apt-get install python3-varlink; see setup.sh)")

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
FIXTURE = "tests/fixtures/layout_a.desc"

failures = []
methods_seen, errors_seen = set(), set()


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failures.append(what)


# python3-varlink 31 drops keyword arguments that follow positional ones: keywords only.
def expect_error(_name, fn, *args, **kwargs):
    """Calls fn; the call must fail with the varlink error name. Returns its parameters."""
    try:
        r = fn(*args, **kwargs)
    except varlink.VarlinkError as e:
        errors_seen.add(e.error())
        check(e.error() == _name, "%s -> %s (got %s %s)" % (fn.__name__, _name, e.error(),
                                                             json.dumps(e.parameters())))
        return e.parameters()
    check(False, "%s -> %s (got a reply %s)" % (fn.__name__, _name, r))
    return {}


def raw_call(sock_path, msg):
    """One message the binding would refuse to send (wrong types, unknown fields)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock_path)
    s.sendall(json.dumps(msg).encode() + b"\0")
    buf = b""
    while not buf.endswith(b"\0"):
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    s.close()
    reply = json.loads(buf.rstrip(b"\0"))
    if reply.get("error"):
        errors_seen.add(reply["error"])
    return reply


# The config: VF 0 of eno1's PF gets a MAC. Under --sysroot the VF settings cannot be read,
# so the plan sets it; the fake tree's netdev is not this machine's, so that step fails and
# the apply is rolled back: an apply whose events are started, then failed.
CONFIG = {"pfs": [{"name": "main", "match": {"netdev": "eno1"}, "num_vfs": 4,
                   "vfs": {"0": {"mac": "02:1e:00:00:00:01"}}}]}


def start_daemon(tmp, tree, extra=()):
    sock = os.path.join(tmp, "io.iovd")
    cfg = os.path.join(tmp, "iovd.json")
    with open(cfg, "w") as f:
        json.dump(CONFIG, f)
    args = [os.path.join(BUILD, "iovd"), "-f", "--sysroot", tree, "--socket", sock,
            "--state-dir", os.path.join(tmp, "state"), "--config", cfg, "--config-dir", "",
            "--no-apply"] + list(extra)
    log = open(os.path.join(tmp, "iovd.log"), "w")
    p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    for _ in range(200):
        if os.path.exists(sock):
            try:
                c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                c.connect(sock)
                c.close()
                return p, sock
            except OSError:
                pass
        if p.poll() is not None:
            break
        time.sleep(0.02)
    sys.exit("iovd_client: iovd did not start: " + open(os.path.join(tmp, "iovd.log")).read())


def as_nobody(fn):
    """Runs fn in a child with uid/gid 65534 (an unprivileged peer); returns its exit code."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            os._exit(fn())
        except BaseException as e:  # noqa: any failure is the child's answer
            print("child: %r" % e)
            os._exit(99)
    return os.waitpid(pid, 0)[1] >> 8


def main():
    tmp = tempfile.mkdtemp(prefix="iovd_client.")
    os.chmod(tmp, 0o755)
    tree = os.path.join(tmp, "tree")
    subprocess.run(["python3", "tests/fixtures/gen/mksysfs.py",
                    FIXTURE, tree], check=True, stdout=subprocess.DEVNULL)
    daemon, sock = start_daemon(tmp, tree)
    addr = "unix:" + sock
    try:
        run(addr, sock, tree, os.path.join(tmp, "iovd.json"))
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            rc = daemon.wait(20)
        except subprocess.TimeoutExpired:
            daemon.kill()
            rc = -9
        check(rc == 0, "iovd exits 0 on SIGTERM (sanitizers: no leak) (rc %s)" % rc)
        if rc != 0:
            print(open(os.path.join(tmp, "iovd.log")).read()[-4000:])
        shutil.rmtree(tmp, ignore_errors=True)


def run(addr, sock, tree, cfg):
    client = varlink.Client(address=addr)

    # org.varlink.service, through the binding's own calls
    ifaces = client.get_interfaces()
    check("io.iovd" in ifaces, "GetInfo lists io.iovd (%s)" % ifaces)
    iface = client.get_interface("io.iovd")      # parses iovd's description
    idl_methods = [m for m, v in iface.members.items() if isinstance(v, varlink.scanner._Method)]
    idl_errors = ["io.iovd." + m for m, v in iface.members.items()
                  if isinstance(v, varlink.scanner._Error)]
    check(len(idl_methods) >= 8, "the description has the methods (%s)" % idl_methods)
    with client.open("org.varlink.service") as svc:
        expect_error("org.varlink.service.InterfaceNotFound", svc.GetInterfaceDescription,
                     interface="io.nope")

    io = client.open("io.iovd")

    def call(_m, *a, **kw):
        methods_seen.add(_m)
        return getattr(io, _m)(*a, **kw)

    def call_err(_err, _m, *a, **kw):
        methods_seen.add(_m)
        return expect_error(_err, getattr(io, _m), *a, **kw)

    # reads
    v = call("GetVersion")
    check(v["sysroot"] == tree and v["version"], "GetVersion: sysroot %s" % v["sysroot"])
    h = call("GetHost")["host"]
    devs = {d["address"]: d for d in h.get("devices", [])}
    check("0000:04:00.0" in devs and devs["0000:04:00.0"].get("driver") == "igb",
          "GetHost: the igb PF 0000:04:00.0 with its driver")
    call_err("io.iovd.NoSuchDevice", "GetVfs", pf="0000:99:00.0")
    call_err("io.iovd.InvalidArgument", "GetVfs", pf="0000:00:01.1")   # a bridge, not a PF
    # the fake tree's netdevs are not this machine's: rtnetlink has no eno1
    call_err("io.iovd.Failed", "GetVfs", pf="eno1")

    # changes
    r = call("SetVfCount", pf="0000:04:00.1", count=2, dry_run=True)
    acts = [a["action"] for a in r["plan"]]
    check(r["pf"] == "0000:04:00.1" and "write" in acts and "wait" in acts,
          "SetVfCount dry_run: the plan (%s)" % acts)
    call_err("io.iovd.Refused", "SetVfCount", pf="0000:04:00.1", count=9)        # total is 8
    call_err("io.iovd.InvalidArgument", "SetVf", pf="0000:04:00.0", vf=0,
             config={"mac": "01:00:5e:00:00:01"})
    call_err("io.iovd.InvalidArgument", "SetVf", pf="0000:04:00.0", vf=7, config={"vlan": 5})
    call_err("io.iovd.Failed", "SetVf", pf="0000:04:00.0", vf=0, config={"vlan": 5})  # no netdev here
    call_err("io.iovd.NoSuchDevice", "Bind", device="0000:77:00.0")
    r = call("Release", device="0000:05:10.0")      # never bound by iovd: nothing to give back
    check(r == {"device": "0000:05:10.0", "released": 0}, "Release of a device iovd never bound: a no-op")
    # a PF whose netdev the host may use: refused before anything is touched
    call_err("io.iovd.Refused", "Bind", device="0000:04:00.3")
    # a bind the fake kernel never completes (the driver stays): put back, Refused
    p = call_err("io.iovd.Refused", "Bind", device="0000:05:10.0")
    check("nothing changed" in p.get("message", ""), "Bind: says nothing changed")
    # a PF with VFs on vfio-pci (5e:00.1's VF): destroying without force is refused
    call_err("io.iovd.Refused", "SetVfCount", pf="0000:5e:00.1", count=0)

    # guests (none run here: iovm needs /dev/kvm and a VF; these are the refusals)
    r = call("VmList")
    check(r["guests"] == [] and r["quarantine"] == [], "VmList: no guests, nothing quarantined")
    call_err("io.iovd.Refused", "VmShow", name="nope")
    call_err("io.iovd.Refused", "VmLog", name="nope")
    call_err("io.iovd.Refused", "VmLog", name="nope", **{"from": 0})
    call_err("io.iovd.Refused", "VmConsoleInput", name="nope", data="x")
    call_err("io.iovd.InvalidArgument", "VmConsoleInput", name="nope", data="x" * 4097)
    call_err("io.iovd.Refused", "VmStop", name="nope")
    call_err("io.iovd.Refused", "VmRestart", name="nope")
    call_err("io.iovd.InvalidArgument", "VmRestart", name="nope", timeout=101)
    call_err("io.iovd.Refused", "VmReboot", name="nope")
    call_err("io.iovd.Refused", "VmAttach", name="nope", nic={"pool": "tenants"})
    call_err("io.iovd.InvalidArgument", "VmAttach", name="nope", nic="tenants")
    call_err("io.iovd.Refused", "VmDetach", name="nope", nic="0")
    call_err("io.iovd.InvalidArgument", "VmDetach", name="nope", nic="0", timeout=101)
    call_err("io.iovd.InvalidArgument", "VmStart", name="g1", kernel="vmlinuz",
             nics=[{"device": "0000:05:10.0"}])
    call_err("io.iovd.Refused", "VfUnquarantine", device="0000:05:10.0")

    # Monitor: without more -> ExpectedMore; with more -> subscribed, then events
    call_err("org.varlink.service.ExpectedMore", "Monitor")
    mon_client = varlink.Client(address=addr)
    mon = mon_client.open("io.iovd")
    stream = mon.Monitor(_more=True)
    first = next(stream)
    check(first.get("event") is None and first.get("missed") == 0,
          "Monitor: the first reply says subscribed (%s)" % first)
    methods_seen.add("Monitor")
    monitor_sees_apply(call, call_err, stream)
    mon.close()

    # the config methods
    p = call("Plan")
    lines = [a["line"] for a in p["actions"]]
    check(any("main/vf0 mac" in x and "02:1e:00:00:00:01" in x for x in lines),
          "Plan: the MAC of main/vf0 (%s)" % lines)
    r = call("Apply", dry_run=True)
    check(r["applied"] is False and r["result"] == "dry run", "Apply dry_run: nothing applied")
    st = call("GetStatus")
    check(st["config"]["pfs"] == 1 and "drift" in st and st["drift"]["state"] == "none",
          "GetStatus: the config in force, no drift (%s)" % st.get("drift"))
    check(st["last_apply"] and st["last_apply"]["result"] != "ok",
          "GetStatus: the last apply failed (%s)" % (st["last_apply"] or {}).get("result"))
    with open(cfg) as f:
        good = f.read()
    with open(cfg, "w") as f:
        f.write('{"pfs": [ {"name": "main", "num_vfs": 2} ]}')    # no match
    p = call_err("io.iovd.ConfigError", "Reload")
    check("match" in p.get("message", "") + p.get("fix", ""), "Reload: the error names match")
    call_err("io.iovd.ConfigError", "Plan")
    st = call("GetStatus")
    check(st["config"]["pfs"] == 1 and st["config_error"], "the previous config stays in force")
    with open(cfg, "w") as f:
        f.write(good)
    r = call_err("io.iovd.Failed", "Reload")     # loads, applies, the step fails again
    check(True, "Reload with the good config applies it (%s)" % r.get("message", ""))

    # protocol-level errors the binding would not send
    r = raw_call(sock, {"method": "io.iovd.NoSuch"})
    check(r.get("error") == "org.varlink.service.MethodNotFound", "an unknown method")
    r = raw_call(sock, {"method": "io.iovd.GetVfs", "parameters": {"pf": 5}})
    check(r.get("error") == "io.iovd.InvalidArgument", "pf: 5 (not a string)")
    r = raw_call(sock, {"method": "io.iovd.GetVersion", "more": "yes"})
    check(r.get("error") == "org.varlink.service.InvalidParameter", "more: \"yes\"")

    # an unprivileged peer may read but not change
    def unpriv():
        c = varlink.Client(address=addr).open("io.iovd")
        c.GetVersion()
        try:
            c.VmConsoleInput(name="nope", data="")      # console input is a change
            return 3
        except varlink.VarlinkError as e:
            if e.error() != "org.varlink.service.PermissionDenied":
                return 4
        try:
            c.SetVfCount(pf="0000:04:00.1", count=1, dry_run=True)
        except varlink.VarlinkError as e:
            return 0 if e.error() == "org.varlink.service.PermissionDenied" else 2
        return 1
    rc = as_nobody(unpriv)
    check(rc == 0, "uid 65534: reads yes, VmConsoleInput and SetVfCount PermissionDenied (rc %d)" % rc)
    if rc == 0:
        errors_seen.add("org.varlink.service.PermissionDenied")
    io.close()

    missing_m = [m for m in idl_methods if m not in methods_seen]
    missing_e = [e for e in idl_errors if e not in errors_seen]
    check(not missing_m, "every method of the description was called (missing: %s)" % missing_m)
    check(not missing_e, "every error of the description was seen (missing: %s)" % missing_e)


def monitor_sees_apply(call, call_err, stream):
    """An apply's events, in order, on the subscription: apply.started, then apply.failed
    for the same transaction (its one step cannot succeed on the fake tree), with seq
    numbers that only grow."""
    p = call_err("io.iovd.Failed", "Apply")
    check("main/vf0" in p.get("message", "") and "put back" in p.get("message", ""),
          "Apply: the failed step is named and rolled back (%s)" % p.get("message", ""))
    events = []
    while len(events) < 2:
        r = next(stream)
        if r.get("event"):
            events.append(r["event"])
    types = [e["type"] for e in events]
    check(types == ["apply.started", "apply.failed"], "Monitor: the apply's events in order (%s)" % types)
    check(events[0].get("txn") == events[1].get("txn") and events[0]["seq"] < events[1]["seq"],
          "Monitor: one transaction, seq growing (%s)" % [(e["seq"], e.get("txn")) for e in events])
    plan = events[0].get("plan", [])
    check(events[0].get("steps") == len(plan) and
          any("main/vf0 mac" in x and x.endswith("-> 02:1e:00:00:00:01") or
              x == "+ main/vf0 mac 02:1e:00:00:00:01" for x in plan),
          "apply.started carries the plan (%s)" % plan)


if __name__ == "__main__":
    main()
    print("%d failed" % len(failures) if failures else "all passed")
    sys.exit(1 if failures else 0)
