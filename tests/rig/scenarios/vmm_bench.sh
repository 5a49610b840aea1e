# iovm figures in the test host (run by bench/vmm_bench.sh, not by the suite): launch to
# guest init, iovm's own resident memory, exits to userspace during boot and during a fixed
# number of pings through the VF. Prints "FIGURE name value unit" lines.
# rig-presets: bench

. /rig/scenarios/vmm_lib.sh
vmm_prereqs
vmm_setup_vf
vmm_initramfs /tmp/inner.cpio
PINGS=${VMM_BENCH_PINGS:-50}

t0=$(date +%s)
timeout 110 /usr/bin/iovm --kernel "$VMM_KERNEL" --initrd /tmp/inner.cpio --mem 256M --stats \
	--cmdline "$VMM_CMDLINE quiet pf6=$pf6 pings=$PINGS" \
	--vfio "$vf" < /dev/null > /tmp/iovm.out 2>&1 && rc=0 || rc=$?
cp /tmp/iovm.out "$RIG_BLOBS/iovm-bench.out"
grep -E 'INNER:|^iovm|^  ' /tmp/iovm.out || true
expect_eq "iovm exit status" "$rc" 3
check "ping6 through the VF" grep -q "INNER: ping6 ok" /tmp/iovm.out
# iovm: guest mark 0x31 at 11068.2 ms, exits so far: io 123 mmio 45
m() { sed -n "s/^iovm: guest mark $1 at \([0-9.]*\) ms, exits so far: io \([0-9]*\) mmio \([0-9]*\)/\1 \2 \3/p" "${2:-/tmp/iovm.out}"; }
set -- $(m 0x31); init_ms=${1:-} boot_io=${2:-} boot_mmio=${3:-}
set -- $(m 0x32); p0_io=${2:-0} p0_mmio=${3:-0}
set -- $(m 0x33); p1_io=${2:-} p1_mmio=${3:-0}
[ -n "$init_ms" ] && [ -n "$p1_io" ] || fail "marks missing in iovm --stats"
echo "FIGURE launch_to_init_ms $init_ms ms"
echo "FIGURE boot_exits_io $boot_io exits"
echo "FIGURE boot_exits_mmio $boot_mmio exits"
echo "FIGURE ping_count $PINGS pings"
echo "FIGURE ping_exits_io $((p1_io - p0_io)) exits"
echo "FIGURE ping_exits_mmio $((p1_mmio - p0_mmio)) exits"
echo "FIGURE setup_ms $(sed -n 's/^iovm: set-up (start to first vCPU run) \([0-9.]*\) ms/\1/p' /tmp/iovm.out) ms"
echo "FIGURE iovm_overhead_kib $(sed -n 's/.*iovm overhead \([0-9]*\) KiB/\1/p' /tmp/iovm.out) KiB"
echo "FIGURE guest_ram_rss_kib $(sed -n 's/.*of which guest RAM \([0-9]*\) KiB.*/\1/p' /tmp/iovm.out) KiB"
echo "FIGURE iovm_wall_s $(( $(date +%s) - t0 )) s"

# The same boot with guest RAM on 2 MiB hugepages (pinning 256 MiB is most of the set-up).
echo 160 > /proc/sys/vm/nr_hugepages
timeout 110 /usr/bin/iovm --kernel "$VMM_KERNEL" --initrd /tmp/inner.cpio --mem 256M --stats \
	--hugepages --cmdline "$VMM_CMDLINE quiet pf6=$pf6 pings=3" \
	--vfio "$vf" < /dev/null > /tmp/iovm-huge.out 2>&1 && rc=0 || rc=$?
echo 0 > /proc/sys/vm/nr_hugepages
expect_eq "iovm --hugepages exit status" "$rc" 3
echo "FIGURE hugepages_setup_ms $(sed -n 's/^iovm: set-up (start to first vCPU run) \([0-9.]*\) ms/\1/p' /tmp/iovm-huge.out) ms"
set -- $(m 0x31 /tmp/iovm-huge.out)
echo "FIGURE hugepages_launch_to_init_ms ${1:-?} ms"
