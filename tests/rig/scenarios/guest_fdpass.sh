# Issue 17: no file a client names is opened by iovd (root). An admin-group member (uid
# 65534, iovd --group nogroup) starts a guest with `iovctl vm start`: iovctl opens the kernel
# and initrd as that user and passes the fds; the guest boots. The user then swaps its initrd
# symlink to a root-only file (0600, as /etc/shadow) and iovm is killed: the guest restarts
# (restart always) from the fds iovd holds, boots the same initramfs again, and nothing of
# the secret reaches its log. Files the user cannot read (the secret, a 0644 file in a 0700
# directory) fail in
# iovctl, as that user, with the kernel's answer; a FIFO is refused without blocking, and
# root's `vm list` right after answers within a second.
# rig-presets: guests
# rig-timeout: 360

. /rig/scenarios/sriov_lib.sh
. /rig/scenarios/vmm_lib.sh
vmm_prereqs
check "asuser in the image" test -x "$ASUSER"

GSTATE=/tmp/guest-state-fd
U=/tmp/u
fail_context() {
	if [ -f "$GSTATE/guests/f.log" ]; then echo "--- guest f:"; tail -n 25 "$GSTATE/guests/f.log"; fi
	if [ -s "$IOVD_LOG" ]; then echo "--- last lines of $IOVD_LOG:"; tail -n 30 "$IOVD_LOG"; fi
}
rm -rf "$GSTATE" "$U"
: > "$IOVD_LOG"
grep -q '^nogroup:' /etc/group || echo 'nogroup:x:65534:' >> /etc/group
start_iovd --state-dir "$GSTATE" --group nogroup
vmm_initramfs /tmp/inner.cpio
mkdir -p "$U" /tmp/secret
cp "$VMM_KERNEL" "$U/kernel"
cp /tmp/inner.cpio "$U/inner.cpio"
ln -s inner.cpio "$U/initrd"
echo "secret-0700-dir" > /tmp/secret/file
SECRET=/tmp/root-secret
echo "ROOTSECRET-42:x:0:0" > "$SECRET"
chmod 0600 "$SECRET"
chmod 0700 /tmp/secret
chmod 0644 /tmp/secret/file
chown -R 65534:65534 "$U"
glog() { tr -d '\r' < "$GSTATE/guests/$1.log" 2>/dev/null; }
wait_log() {
	_i=0
	while ! glog "$1" | grep -q "$2"; do
		_i=$((_i + 1))
		[ $_i -gt $(($3 * 5)) ] && fail "guest $1: no '$2' within $3 s"
		sleep 0.2
	done
}
as_nobody() { "$ASUSER" 65534:65534 "$IOVCTL" "$@"; }

# Files the caller cannot read: iovctl, as the caller, gets the kernel's answer; iovd never
# sees a path.
as_nobody vm start x --kernel "$SECRET" > /tmp/f.out 2>&1 && rc=0 || rc=$?
cat /tmp/f.out
expect_eq "nobody: --kernel (a root-only file) exit" "$rc" 2
check "nobody: the caller's EACCES" grep -q "$SECRET: Permission denied" /tmp/f.out
as_nobody vm start x --kernel /tmp/secret/file > /tmp/f.out 2>&1 && rc=0 || rc=$?
expect_eq "nobody: a 0644 file in a 0700 directory: exit" "$rc" 2
check "nobody: ... is the caller's EACCES" grep -q "Permission denied" /tmp/f.out
check "iovd logged no start of x" sh -c "! grep -q 'start guest x' $IOVD_LOG"

# A FIFO: refused at once, iovd answers root right after.
mkfifo "$U/fifo" && chown 65534:65534 "$U/fifo"
t0=$(now_ms)
as_nobody vm start x --kernel "$U/fifo" > /tmp/f.out 2>&1 && rc=0 || rc=$?
expect_eq "nobody: --kernel FIFO exit" "$rc" 2
check "FIFO: not a regular file" grep -q "not a regular file" /tmp/f.out
"$IOVCTL" vm list > /dev/null 2>&1 && rc=0 || rc=$?
expect_eq "root: vm list after the FIFO" "$rc" 0
dt=$(( $(now_ms) - t0 ))
check "FIFO refused and vm list answered within 1 s ($dt ms)" test "$dt" -lt 1000

# The start, as the admin-group member, by fds.
as_nobody vm start f --kernel "$U/kernel" --initrd "$U/initrd" --mem 256M --restart always \
	--cmdline "$VMM_CMDLINE hold=300" > /tmp/f.out 2>&1 && rc=0 || rc=$?
cat /tmp/f.out
expect_eq "nobody: vm start f (files passed)" "$rc" 0
check "iovd logged the start with files passed" grep -q "start guest f (0 NICs, files passed)" "$IOVD_LOG"
wait_log f "INNER: init up" 180
"$IOVCTL" --json vm show f > /tmp/f.json || fail "vm show f"
pid1=$("$JGET" /tmp/f.json .guest.pid)
expect_eq "vm show: files passed by uid" "$("$JGET" /tmp/f.json .guest.files_passed_by)" 65534

# The swap, then iovm dies: the restart reads the fds iovd holds.
ln -sfn "$SECRET" "$U/initrd"
kill -9 "$pid1"
i=0; pid2=$pid1
while [ "$pid2" = "$pid1" ] || [ -z "$pid2" ] || [ "$pid2" = null ]; do
	i=$((i + 1)); [ $i -gt 100 ] && fail "f not restarted within 10 s of kill -9"
	sleep 0.1
	"$IOVCTL" --json vm show f > /tmp/f.json 2>/dev/null && pid2=$("$JGET" /tmp/f.json .guest.pid)
done
expect_eq "restarts" "$("$JGET" /tmp/f.json .guest.restarts)" 1
wait_log f "INNER: init up" 180
ok "the restarted guest booted the initramfs it was started with"
check "nothing of the secret in f's log" sh -c "! grep -q ROOTSECRET $GSTATE/guests/f.log*"
"$IOVCTL" vm stop f --force > /dev/null 2>&1 && rc=0 || rc=$?
expect_eq "vm stop f" "$rc" 0
stop_iovd
