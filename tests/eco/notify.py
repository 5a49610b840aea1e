#!/usr/bin/env python3
"""iovd's sd_notify against a fake service manager: a datagram socket as $NOTIFY_SOCKET.
READY=1 must come once the control socket accepts (and answers) a varlink call, with
MAINPID the serving process; SIGTERM must bring STOPPING=1 and exit 0. Both with
--foreground (Type=notify) and daemonizing (the forked child reports its own pid).
usage: notify.py IOVD TREE"""
import json, os, signal, socket, subprocess, sys, tempfile, time

iovd, tree = sys.argv[1], sys.argv[2]
fails = 0


def fail(msg):
    global fails
    fails += 1
    print("FAIL:", msg)


def recv(mgr, timeout):
    mgr.settimeout(timeout)
    try:
        return mgr.recv(4096).decode()
    except socket.timeout:
        return None


def call(path, method):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    s.sendall(json.dumps({"method": method}).encode() + b"\0")
    buf = b""
    while not buf.endswith(b"\0"):
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    s.close()
    return json.loads(buf.rstrip(b"\0"))


def run(foreground):
    with tempfile.TemporaryDirectory() as d:
        mgr = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        mgr.bind(d + "/notify")
        sock, pidfile = d + "/io.iovd", d + "/pid"
        env = dict(os.environ, NOTIFY_SOCKET=d + "/notify")
        args = [iovd, "--sysroot", tree, "--socket", sock, "--pidfile", pidfile,
                "--bind-state", d + "/bind.json", "--state-dir", d + "/state",
                "--config", d + "/none.json", "--cdi-dir", ""]
        if foreground:
            args.append("--foreground")
        p = subprocess.Popen(args, env=env, stderr=subprocess.DEVNULL)
        what = "foreground" if foreground else "daemon"
        msg = recv(mgr, 10)
        if msg is None:
            fail(f"{what}: no message from iovd in 10 s")
            p.kill()
            return
        fields = dict(l.split("=", 1) for l in msg.splitlines() if "=" in l)
        if fields.get("READY") != "1":
            fail(f"{what}: first message is {msg!r}, not READY=1")
        # Ready means serving: the call must be answered at once.
        try:
            r = call(sock, "io.iovd.GetVersion")
            if "version" not in r.get("parameters", {}):
                fail(f"{what}: GetVersion after READY=1 answered {r}")
        except OSError as e:
            fail(f"{what}: READY=1 sent but the socket does not serve: {e}")
        if not foreground:
            if p.wait(5) != 0:
                fail(f"{what}: the parent exited {p.returncode}")
        pid = int(open(pidfile).read())
        if fields.get("MAINPID") != str(pid):
            fail(f"{what}: MAINPID={fields.get('MAINPID')}, the serving pid is {pid}")
        os.kill(pid, signal.SIGTERM)
        msg = recv(mgr, 10)
        if msg != "STOPPING=1":
            fail(f"{what}: after SIGTERM got {msg!r}, want STOPPING=1")
        if foreground:
            if p.wait(5) != 0:
                fail(f"{what}: exit {p.returncode} after SIGTERM")
        else:
            for _ in range(100):
                if not os.path.exists(pidfile):
                    break
                time.sleep(0.05)
            if os.path.exists(pidfile):
                fail(f"{what}: still running 5 s after SIGTERM")
        if os.path.exists(sock):
            fail(f"{what}: socket left behind")


run(True)
run(False)
print(f"notify.py: 2 runs, {fails} failures")
sys.exit(1 if fails else 0)
