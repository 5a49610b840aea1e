#!/usr/bin/python3
# `iovctl vm console` without a person at a terminal: iovctl runs on a pty against a stand-in
# iovd (a few lines of varlink over a UNIX socket, below) that plays guest "web" (running; its
# "tty" echoes what is typed into its log, as a guest's line discipline does) and "off" (not
# running). Checks: the attach line names Ctrl-]; typed bytes reach the guest; the guest's
# output is shown; the terminal is raw while attached and restored on Ctrl-] and on SIGTERM;
# an unknown guest, one not running and a refused caller are refused before the terminal is
# touched. The real iovd's side (VmConsoleInput, VmLog from) is in iovd_client.py and the
# test host's guest_seccomp scenario.
#
#   tests/varlink/console_pty.py BUILD_DIR      (from the repository root)
import json
import os
import pty
import select
import signal
import socket
import subprocess
import sys
import tempfile
import termios
import threading
import time

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
failures = []


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failures.append(what)


class FakeIovd:
    def __init__(self, path):
        self.log = b"boot messages\r\nweb login: "
        self.typed = b""
        self.deny = False
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(16)
        threading.Thread(target=self.serve, daemon=True).start()

    def reply(self, method, p):
        name = p.get("name")
        if name not in ("web", "off"):
            return {"error": "io.iovd.Refused",
                    "parameters": {"message": "no guest named '%s'" % name,
                                   "fix": "see `iovctl vm list`"}}
        if method == "io.iovd.VmShow":
            return {"parameters": {"guest": {"name": name,
                                             "state": "running" if name == "web" else "stopped"}}}
        if method == "io.iovd.VmLog":
            with self.lock:
                start = p.get("from", max(0, len(self.log) - p.get("bytes", 65536)))
                return {"parameters": {"log": self.log[start:].decode(), "end": len(self.log)}}
        if method == "io.iovd.VmConsoleInput":
            if self.deny:
                return {"error": "org.varlink.service.PermissionDenied", "parameters": {}}
            if name == "off":
                return {"error": "io.iovd.Failed",
                        "parameters": {"message": "guest off is not running",
                                       "fix": "start it (`iovctl vm start off`)"}}
            data = p["data"].encode()
            with self.lock:
                self.typed += data
                self.log += data.replace(b"\r", b"\r\n")     # the guest's tty echoes
            return {"parameters": {"taken": len(data)}}
        return {"error": "org.varlink.service.MethodNotFound", "parameters": {"method": method}}

    def serve(self):
        while True:
            c, _ = self.sock.accept()
            buf = b""
            while not buf.endswith(b"\0"):
                d = c.recv(65536)
                if not d:
                    break
                buf += d
            if buf.endswith(b"\0"):
                m = json.loads(buf[:-1])
                c.sendall(json.dumps(self.reply(m["method"], m.get("parameters") or {})).encode()
                          + b"\0")
            c.close()


def spawn(sock, name):
    """iovctl vm console NAME on a new pty; returns (pid, master fd)."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(BUILD + "/iovctl", [BUILD + "/iovctl", "--socket", sock, "vm", "console", name])
    return pid, fd


def read_until(fd, want, secs=5.0):
    out = b""
    end = time.time() + secs
    while want not in out and time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                d = os.read(fd, 4096)
            except OSError:
                break
            if not d:
                break
            out += d
    return out


def wait(pid, secs=5.0):
    end = time.time() + secs
    while time.time() < end:
        p, st = os.waitpid(pid, os.WNOHANG)
        if p:
            return os.waitstatus_to_exitcode(st)
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None


def lflag(fd):
    return termios.tcgetattr(fd)[3]


def main():
    tmp = tempfile.mkdtemp(prefix="iovd-console.")
    sock = os.path.join(tmp, "sock")
    fake = FakeIovd(sock)

    # attach, type, see the echo and new output, detach with Ctrl-]
    pid, fd = spawn(sock, "web")
    out = read_until(fd, b"Ctrl-]")
    check(b"detach with Ctrl-]" in out, "the attach line names the detach key (%r)" % out)
    time.sleep(0.3)
    check(not (lflag(fd) & (termios.ICANON | termios.ECHO)), "raw terminal while attached")
    os.write(fd, b"root\r")
    out = read_until(fd, b"root")
    check(b"root" in out, "typed bytes come back as the guest's echo (%r)" % out)
    check(b"boot messages" not in out, "attaching shows new output, not the old log")
    with fake.lock:
        fake.log += b"Welcome\n"
    out = read_until(fd, b"Welcome")
    check(b"Welcome\r\n" in out, "guest output shown, a bare newline as CR LF (%r)" % out)
    os.write(fd, b"ls\x1dignored")
    out = read_until(fd, b"Detached")
    rc = wait(pid)
    check(rc == 0, "Ctrl-] detaches, exit 0 (%s)" % rc)
    check(b"Detached from guest web" in out, "says it detached (%r)" % out)
    check(fake.typed == b"root\rls", "the guest got what was typed before Ctrl-], no more (%r)"
          % fake.typed)
    os.close(fd)

    # SIGTERM: the terminal is restored
    pid, fd = spawn(sock, "web")
    read_until(fd, b"Ctrl-]")
    time.sleep(0.3)
    os.kill(pid, signal.SIGTERM)
    read_until(fd, b"Detached")
    rc = wait(pid)
    check(rc == 0, "SIGTERM ends the console (%s)" % rc)
    try:
        restored = bool(lflag(fd) & termios.ICANON)
    except termios.error:
        restored = None
    check(restored is not False, "terminal settings restored after SIGTERM")
    os.close(fd)

    # refusals, before the terminal is touched
    for name, want, what in (("nope", b"no guest named 'nope'", "an unknown guest"),
                             ("off", b"not running", "a guest not running")):
        pid, fd = spawn(sock, name)
        out = read_until(fd, want)
        rc = wait(pid)
        check(rc not in (0, None) and want in out and b"Connected" not in out,
              "%s is refused (rc %s, %r)" % (what, rc, out))
        os.close(fd)
    fake.deny = True
    r = subprocess.run([BUILD + "/iovctl", "--socket", sock, "vm", "console", "web"],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=10)
    check(r.returncode != 0 and b"Connected" not in r.stderr,
          "a caller who may not change things is refused (rc %d, %r)" % (r.returncode, r.stderr))
    fake.deny = False

    # pipes, no terminal: the end of input detaches
    r = subprocess.run([BUILD + "/iovctl", "--socket", sock, "vm", "console", "web"],
                       input=b"piped\r", capture_output=True, timeout=10)
    check(r.returncode == 0 and b"piped" in r.stdout,
          "from a pipe: input sent, echo shown, detached at the end (rc %d, %r)"
          % (r.returncode, r.stdout))

    if failures:
        print("console_pty: %d FAILED" % len(failures))
        sys.exit(1)
    print("console_pty: all passed")


main()
