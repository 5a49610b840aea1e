#include "vmm/legacy.h"
#include "vmm/bus.h"
#include "lib/log.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>

static struct iovm_vm *lvm;

/* ---- i8042 keyboard controller: enough for Linux's probe and the reset line, and a
 * keyboard behind it that answers atkbd's probe and types Ctrl-Alt-Del on request ---- */

#define I8042_DATA	0x60
#define I8042_CMD	0x64
#define I8042_STR_OBF	0x01
#define I8042_STR_SYS	0x04
#define I8042_STR_CMD	0x08
#define I8042_STR_UNLOCKED 0x10	/* keyboard not inhibited */

#define KBC_QUEUE	16
#define KBD_ACK		0xfa

static struct {
	uint8_t ctr;		/* controller configuration ("command byte") */
	uint8_t q[KBC_QUEUE];	/* output buffer and the bytes waiting behind it */
	unsigned qhead, qlen;
	uint8_t pending_cmd;	/* command waiting for its data byte (0x60, 0xd1) */
	bool last_was_cmd;
	uint8_t kbd_pending;	/* keyboard command waiting for its parameter (0xed, 0xf0, 0xf3) */
	bool kbd_scanning;	/* the keyboard sends keys (after 0xf4, until 0xf5) */
} kbc = { .ctr = 0x45 };

static void kbc_irq(void)
{
	if (kbc.qlen && (kbc.ctr & 0x01))
		iovm_vm_irq_pulse(lvm, 1);
}

/* A byte for the guest: it waits behind those not read yet; dropped when the queue is full. */
static void kbc_queue(uint8_t v)
{
	if (kbc.qlen == KBC_QUEUE)
		return;
	kbc.q[(kbc.qhead + kbc.qlen++) % KBC_QUEUE] = v;
	if (kbc.qlen == 1)
		kbc_irq();
}

/* A byte written to the data port for the keyboard: what a PS/2 keyboard answers. */
static void kbd_write(uint8_t v)
{
	uint8_t cmd = kbc.kbd_pending;

	kbc.kbd_pending = 0;
	if (cmd) {			/* the parameter of 0xed (LEDs), 0xf0 (set), 0xf3 (rate) */
		kbc_queue(KBD_ACK);
		if (cmd == 0xf0 && v == 0)
			kbc_queue(0x02);	/* scan code set 2 */
		return;
	}
	switch (v) {
	case 0xed: case 0xf0: case 0xf3:
		kbc.kbd_pending = v;
		kbc_queue(KBD_ACK);
		break;
	case 0xee: kbc_queue(0xee); break;				/* echo */
	case 0xf2: kbc_queue(KBD_ACK); kbc_queue(0xab); kbc_queue(0x83); break;	/* MF2 id */
	case 0xf4: kbc.kbd_scanning = true; kbc_queue(KBD_ACK); break;
	case 0xf5: kbc.kbd_scanning = false; kbc_queue(KBD_ACK); break;
	case 0xf6: kbc.kbd_scanning = true; kbc_queue(KBD_ACK); break;	/* defaults */
	case 0xff: kbc.kbd_scanning = true; kbc_queue(KBD_ACK); kbc_queue(0xaa); break;
	default: kbc_queue(KBD_ACK); break;
	}
}

bool iovm_legacy_ctrl_alt_del(void)
{
	/* Scan code set 1 when the controller translates (CTR bit 6, what Linux keeps), set 2
	 * otherwise: Ctrl, Alt and Delete pressed, then released. */
	static const uint8_t set1[] = { 0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d };
	static const uint8_t set2[] = { 0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0, 0x71, 0xf0, 0x11,
					0xf0, 0x14 };
	bool typed;

	iovm_bus_lock();
	typed = kbc.kbd_scanning && !(kbc.ctr & 0x10) && (kbc.ctr & 0x01);
	if (typed) {
		const uint8_t *k = (kbc.ctr & 0x40) ? set1 : set2;
		size_t n = (kbc.ctr & 0x40) ? sizeof(set1) : sizeof(set2);

		for (size_t i = 0; i < n; i++)
			kbc_queue(k[i]);
	}
	iovm_bus_unlock();
	return typed;
}

void iovm_legacy_reset(void)
{
	iovm_bus_lock();
	memset(&kbc, 0, sizeof(kbc));
	kbc.ctr = 0x45;
	iovm_bus_unlock();
}

/* opaque is NULL for the data port 0x60 and non-NULL for the command/status port 0x64. */
static uint64_t i8042_read(void *opaque, uint64_t off, unsigned len)
{
	if (!opaque) {		/* 0x60 */
		uint8_t v = kbc.q[kbc.qhead];

		if (kbc.qlen) {
			kbc.qhead = (kbc.qhead + 1) % KBC_QUEUE;
			kbc.qlen--;
			kbc_irq();	/* the next byte, if any */
		}
		return v;
	}
	return (kbc.qlen ? I8042_STR_OBF : 0) | I8042_STR_SYS | I8042_STR_UNLOCKED |
	       (kbc.last_was_cmd ? I8042_STR_CMD : 0);
}

static void i8042_write(void *opaque, uint64_t off, uint64_t val, unsigned len)
{
	uint8_t v = (uint8_t)val;

	if (!opaque) {		/* data */
		kbc.last_was_cmd = false;
		if (kbc.pending_cmd == 0x60)
			kbc.ctr = v;
		else if (kbc.pending_cmd == 0xd1 && !(v & 1))
			iovm_vm_request_stop(lvm, IOVM_EXIT_REBOOT, "guest reset (i8042 output port)");
		else if (kbc.pending_cmd == 0xd2)
			kbc_queue(v);	/* write the keyboard's output buffer */
		else if (!kbc.pending_cmd)
			kbd_write(v);	/* for the keyboard itself */
		/* after 0xd3/0xd4 (for the aux port): swallowed, there is no mouse */
		kbc.pending_cmd = 0;
		return;
	}
	kbc.last_was_cmd = true;
	switch (v) {
	case 0x20: kbc_queue(kbc.ctr); break;		/* read CTR */
	case 0x60: case 0xd1: kbc.pending_cmd = v; break;	/* write CTR / output port */
	case 0xd2: case 0xd3: case 0xd4: kbc.pending_cmd = v; break;	/* kbd/aux out, to aux */
	case 0xa7: kbc.ctr |= 0x20; break;		/* disable aux */
	case 0xa8: kbc.ctr &= (uint8_t)~0x20; break;
	case 0xad: kbc.ctr |= 0x10; break;		/* disable keyboard */
	case 0xae: kbc.ctr &= (uint8_t)~0x10; break;
	case 0xaa: kbc_queue(0x55); break;		/* self-test passed */
	case 0xa9: case 0xab: kbc_queue(0x00); break;	/* interface tests passed */
	case 0xfe:	/* pulse the CPU reset line: what `reboot=k` does */
		iovm_vm_request_stop(lvm, IOVM_EXIT_REBOOT, "guest reset (i8042)");
		break;
	default:
		break;
	}
}

static const struct iovm_bus_ops i8042_ops = { .read = i8042_read, .write = i8042_write };

/* ---- CMOS RTC (MC146818): time in BCD, 24-hour mode, never "update in progress" ---- */

static struct {
	uint8_t index;
	uint8_t ram[128];
} rtc;

static uint8_t bcd(int v) { return (uint8_t)((v / 10) << 4 | (v % 10)); }

static uint64_t rtc_read(void *opaque, uint64_t off, unsigned len)
{
	time_t now = time(NULL);
	struct tm tm;
	uint8_t i = rtc.index & 0x7f;

	if (off == 0)
		return 0xff;
	gmtime_r(&now, &tm);
	switch (i) {
	case 0x00: return bcd(tm.tm_sec);
	case 0x02: return bcd(tm.tm_min);
	case 0x04: return bcd(tm.tm_hour);
	case 0x06: return bcd(tm.tm_wday + 1);
	case 0x07: return bcd(tm.tm_mday);
	case 0x08: return bcd(tm.tm_mon + 1);
	case 0x09: return bcd(tm.tm_year % 100);
	case 0x32: return bcd(19 + tm.tm_year / 100);
	case 0x0a: return 0x26;		/* 32.768 kHz, 1024 Hz, UIP clear */
	case 0x0b: return 0x02;		/* 24-hour, BCD, no interrupts */
	case 0x0c: return 0x00;
	case 0x0d: return 0x80;		/* RAM and time valid */
	default: return rtc.ram[i];
	}
}

static void rtc_write(void *opaque, uint64_t off, uint64_t val, unsigned len)
{
	if (off == 0)
		rtc.index = (uint8_t)val;
	else if ((rtc.index & 0x7f) >= 0x0e)	/* keep the clock registers read-only */
		rtc.ram[rtc.index & 0x7f] = (uint8_t)val;
}

static const struct iovm_bus_ops rtc_ops = { .read = rtc_read, .write = rtc_write };

/* ---- 0x92 system control port A: bit 0 resets ---- */

static uint64_t port92_read(void *opaque, uint64_t off, unsigned len) { return 0x02; }
static void port92_write(void *opaque, uint64_t off, uint64_t val, unsigned len)
{
	if (val & 1)
		iovm_vm_request_stop(lvm, IOVM_EXIT_REBOOT, "guest reset (port 0x92)");
}
static const struct iovm_bus_ops port92_ops = { .read = port92_read, .write = port92_write };

/* ---- iovm exit / mark port and pvpanic ---- */

#define MAX_MARKS 64
static struct { uint8_t val; double ms; uint64_t io, mmio; } marks[MAX_MARKS];
static unsigned nmarks;
static struct timespec t0;

static double ms_since_start(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0.tv_sec) * 1e3 + (double)(t.tv_nsec - t0.tv_nsec) / 1e6;
}

static void exitport_write(void *opaque, uint64_t off, uint64_t val, unsigned len)
{
	uint8_t v = (uint8_t)val;

	if (v == 0) {
		iovm_vm_request_stop(lvm, IOVM_EXIT_POWEROFF, "guest power-off (port 0x501)");
		return;
	}
	if (nmarks < MAX_MARKS) {
		uint64_t io = 0, mmio = 0;

		/* Exit counts so far (other vCPUs' counters are read racily: a snapshot). */
		for (int i = 0; i < lvm->ncpus; i++) {
			io += lvm->vcpu[i].exits[IOVM_STAT_IO];
			mmio += lvm->vcpu[i].exits[IOVM_STAT_MMIO];
		}
		marks[nmarks++] = (typeof(marks[0])){ v, ms_since_start(), io, mmio };
	}
	log_info("guest mark %#x at %.1f ms", v, ms_since_start());
}

static uint64_t pvpanic_read(void *opaque, uint64_t off, unsigned len) { return 0x01; }
static void pvpanic_write(void *opaque, uint64_t off, uint64_t val, unsigned len)
{
	if (val & 1)
		iovm_vm_request_stop(lvm, IOVM_EXIT_CRASH, "guest panic (pvpanic)");
}

static const struct iovm_bus_ops exitport_ops = { .write = exitport_write };
static const struct iovm_bus_ops pvpanic_ops = { .read = pvpanic_read, .write = pvpanic_write };

/* ---- absent hardware the guest probes: reads as a floating bus, writes dropped ---- */

static uint64_t quiet_read(void *opaque, uint64_t off, unsigned len) { return ~0ull; }
static const struct iovm_bus_ops quiet_ops = { .read = quiet_read };

void iovm_legacy_print_marks(FILE *f)
{
	for (unsigned i = 0; i < nmarks; i++)
		fprintf(f, "iovm: guest mark %#x at %.1f ms, exits so far: io %" PRIu64 " mmio %" PRIu64 "\n",
			marks[i].val, marks[i].ms, marks[i].io, marks[i].mmio);
}

int iovm_legacy_init(struct iovm_vm *vm, const struct timespec *start)
{
	static const struct { uint16_t base, len; const char *name; } quiet[] = {
		{ 0x00, 0x10, "isa-dma1" }, { 0x80, 0x10, "post+dma-page" },
		{ 0xc0, 0x20, "isa-dma2" }, { 0xed, 0x01, "io-delay" }, { 0xf0, 0x10, "fpu" },
		{ 0x278, 0x08, "lpt2" }, { 0x2e8, 0x08, "com4" }, { 0x2f8, 0x08, "com2" },
		{ 0x378, 0x08, "lpt1" }, { 0x3b0, 0x30, "vga" }, { 0x3e8, 0x08, "com3" },
		{ 0x3f0, 0x08, "floppy" }, { 0x1ce, 0x04, "vbe" }, { 0x2e, 0x02, "superio" },
		{ 0x4e, 0x02, "superio" },
	};
	int ret;

	t0 = *start;
	lvm = vm;
	tzset();	/* glibc reads /etc/localtime once, even for gmtime_r: before the sandbox */
	if ((ret = iovm_bus_add(IOVM_PIO, I8042_DATA, 1, "i8042", &i8042_ops, NULL)) < 0 ||
	    (ret = iovm_bus_add(IOVM_PIO, I8042_CMD, 1, "i8042", &i8042_ops, (void *)1)) < 0)
		return ret;
	if ((ret = iovm_bus_add(IOVM_PIO, 0x70, 2, "rtc", &rtc_ops, NULL)) < 0 ||
	    (ret = iovm_bus_add(IOVM_PIO, 0x92, 1, "port92", &port92_ops, NULL)) < 0 ||
	    (ret = iovm_bus_add(IOVM_PIO, IOVM_EXIT_PORT, 1, "exit-port", &exitport_ops, NULL)) < 0 ||
	    (ret = iovm_bus_add(IOVM_PIO, IOVM_PVPANIC_PORT, 1, "pvpanic", &pvpanic_ops, NULL)) < 0)
		return ret;
	for (size_t i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++)
		if ((ret = iovm_bus_add(IOVM_PIO, quiet[i].base, quiet[i].len, quiet[i].name,
					&quiet_ops, NULL)) < 0)
			return ret;
	return 0;
}
