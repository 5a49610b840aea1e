/* Guest-side test program for iovm on /dev/kvm (64-bit, freestanding, general registers
 * only). It checks what the loader left (registers, zero page, e820, command line) and the
 * emulated devices (UART, PCI conf1, unclaimed MMIO, marks), then ends the VM the way the
 * command line asks: mode=reboot (i8042, default), poweroff, crash, hang, echo, reboots
 * (three boots, counted in RAM), flood (144 KiB of output), escape (terminal escapes), virtio
 * (a virtio-blk driver, honest then hostile, on iovm's first disk). With `smp`
 * it starts vCPU 1 in real mode through INIT-SIPI. Results are lines "ok NAME" and
 * "FAIL NAME ..." on ttyS0; tests/vmm/run.sh reads them. */
#include <stdint.h>

#define ZP_BOOT_FLAG	0x1fe
#define ZP_HEADER	0x202
#define ZP_LOADER	0x210
#define ZP_CMDLINE	0x228
#define ZP_E820_N	0x1e8
#define ZP_E820		0x2d0

extern char ap_tramp[], ap_tramp_end[];
extern char uart_isr[];
extern volatile uint32_t uart_irqs;
extern volatile uint8_t uart_last_iir;
void payload_main(uint8_t *zp);

static inline void outb(uint16_t p, uint8_t v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(p)); }
static inline void outw(uint16_t p, uint16_t v) { __asm__ volatile("outw %0, %1" :: "a"(v), "Nd"(p)); }
static inline void outl(uint16_t p, uint32_t v) { __asm__ volatile("outl %0, %1" :: "a"(v), "Nd"(p)); }
static inline uint8_t inb(uint16_t p) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline uint16_t inw(uint16_t p) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline uint32_t inl(uint16_t p) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(p)); return v; }

static void putc_(char c)
{
	while (!(inb(0x3fd) & 0x20))
		;
	outb(0x3f8, (uint8_t)c);
}

static void puts_(const char *s)
{
	while (*s)
		putc_(*s++);
}

static void puthex(uint64_t v)
{
	char b[19];
	int i = 18;

	b[i] = 0;
	do {
		b[--i] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	b[--i] = 'x';
	b[--i] = '0';
	puts_(b + i);
}

static int fails;

static void check(const char *name, uint64_t got, uint64_t want)
{
	if (got == want) {
		puts_("ok ");
		puts_(name);
	} else {
		fails++;
		puts_("FAIL ");
		puts_(name);
		puts_(" got ");
		puthex(got);
		puts_(" want ");
		puthex(want);
	}
	putc_('\n');
}

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return rd16(p) | (uint32_t)rd16(p + 2) << 16; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

/* Does the command line hold the word w (space separated)? */
static int has_word(const char *cl, const char *w)
{
	while (*cl) {
		const char *a = cl, *b = w;

		while (*a && *a != ' ' && *b && *a == *b) {
			a++;
			b++;
		}
		if (!*b && (!*a || *a == ' '))
			return 1;
		while (*cl && *cl != ' ')
			cl++;
		while (*cl == ' ')
			cl++;
	}
	return 0;
}

static uint32_t pci_read(unsigned dev, unsigned reg)
{
	outl(0xcf8, 0x80000000u | dev << 11 | (reg & 0xfc));
	return inl(0xcfc);
}

static void mmio_w32(uint64_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static uint32_t mmio_r32(uint64_t a) { return *(volatile uint32_t *)a; }

/* ---- mode=virtio: a polled virtio-blk driver (no interrupts) at 16 MiB ---- */

#define VQ_DESC		0x1000000ull
#define VQ_AVAIL	0x1001000ull
#define VQ_USED		0x1002000ull
#define VQ_HDR		0x1003000ull
#define VQ_DATA		0x1004000ull
#define VQ_STATUS	0x1005000ull
#define VQ_N		16

static uint64_t vbar;
static uint16_t vq_avail;

static void mmio_w8(uint64_t a, uint8_t v) { *(volatile uint8_t *)a = v; }
static uint8_t mmio_r8(uint64_t a) { return *(volatile uint8_t *)a; }
static void mmio_w16(uint64_t a, uint16_t v) { *(volatile uint16_t *)a = v; }
static uint16_t mmio_r16(uint64_t a) { return *(volatile uint16_t *)a; }

static void vdesc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	volatile uint8_t *d = (volatile uint8_t *)(VQ_DESC + 16 * i);

	*(volatile uint64_t *)d = addr;
	*(volatile uint32_t *)(d + 8) = len;
	*(volatile uint16_t *)(d + 12) = flags;
	*(volatile uint16_t *)(d + 14) = next;
}

/* Driver start-up: features VERSION_1 only, queue 0 of VQ_N at 16 MiB. */
static void virtio_up(void)
{
	mmio_w8(vbar + 0x14, 0);			/* reset */
	mmio_w8(vbar + 0x14, 1 | 2);			/* ACKNOWLEDGE, DRIVER */
	mmio_w32(vbar + 0x00, 1);
	check("virtio-version-1-offered", mmio_r32(vbar + 0x04) & 1, 1);
	mmio_w32(vbar + 0x08, 1);
	mmio_w32(vbar + 0x0c, 1);			/* VERSION_1 */
	mmio_w32(vbar + 0x08, 0);
	mmio_w32(vbar + 0x0c, 0);
	mmio_w8(vbar + 0x14, 1 | 2 | 8);		/* FEATURES_OK */
	check("virtio-features-ok", mmio_r8(vbar + 0x14) & 8, 8);
	mmio_w16(vbar + 0x16, 0);
	check("virtio-queue-size", mmio_r16(vbar + 0x18), 256);
	mmio_w16(vbar + 0x18, VQ_N);
	for (uint64_t a = VQ_DESC; a < VQ_STATUS + 0x1000; a += 8)
		*(volatile uint64_t *)a = 0;
	mmio_w32(vbar + 0x20, (uint32_t)VQ_DESC);
	mmio_w32(vbar + 0x24, 0);
	mmio_w32(vbar + 0x28, (uint32_t)VQ_AVAIL);
	mmio_w32(vbar + 0x2c, 0);
	mmio_w32(vbar + 0x30, (uint32_t)VQ_USED);
	mmio_w32(vbar + 0x34, 0);
	mmio_w16(vbar + 0x1c, 1);
	mmio_w8(vbar + 0x14, 1 | 2 | 8 | 4);		/* DRIVER_OK */
	vq_avail = 0;
}

/* Offers the chain at head, notifies, waits for the used index to move. Returns the status
 * byte, or 0x100 when nothing came back. */
static unsigned vq_run(uint16_t head)
{
	volatile uint16_t *used_idx = (volatile uint16_t *)(VQ_USED + 2);
	uint16_t want = (uint16_t)(*used_idx + 1);

	*(volatile uint8_t *)VQ_STATUS = 0xee;
	*(volatile uint16_t *)(VQ_AVAIL + 4 + 2 * (vq_avail % VQ_N)) = head;
	__asm__ volatile("" ::: "memory");
	*(volatile uint16_t *)(VQ_AVAIL + 2) = ++vq_avail;
	mmio_w16(vbar + 0x3000, 0);			/* notify queue 0 */
	for (uint64_t i = 0; i < 100000000ull && *used_idx != want && !(mmio_r8(vbar + 0x14) & 0x40);
	     i++)
		__asm__ volatile("pause");
	return *used_idx == want ? *(volatile uint8_t *)VQ_STATUS : 0x100;
}

/* A request: type, sector, data (len bytes at data, device-writable or not), status. */
static unsigned vq_req(uint32_t type, uint64_t sector, uint64_t data, uint32_t len, int wr)
{
	*(volatile uint32_t *)VQ_HDR = type;
	*(volatile uint32_t *)(VQ_HDR + 4) = 0;
	*(volatile uint64_t *)(VQ_HDR + 8) = sector;
	vdesc(0, VQ_HDR, 16, 1, 1);
	vdesc(1, data, len, (uint16_t)(1 | (wr ? 2 : 0)), 2);
	vdesc(2, VQ_STATUS, 1, 2, 0);
	return vq_run(0);
}

static void virtio_test(void)
{
	unsigned dev;
	uint32_t cmd;

	for (dev = 1; dev < 32 && pci_read(dev, 0) != 0x10421af4; dev++)
		;
	check("virtio-blk-found", dev < 32, 1);
	if (dev == 32)
		return;
	check("virtio-blk-class", pci_read(dev, 8), 0x01800001);
	check("virtio-msix-cap", pci_read(dev, 0x40) & 0xff, 0x11);
	check("virtio-common-cap", pci_read(dev, 0x50) & 0xff00ffff, 0x01006009);
	vbar = pci_read(dev, 0x10) & ~0xfull;
	outl(0xcf8, 0x80000000u | dev << 11 | 0x04);
	cmd = inl(0xcfc);
	outl(0xcfc, cmd | 0x6);				/* memory decode, bus master */
	virtio_up();
	check("virtio-get-id", vq_req(8, 0, VQ_DATA, 20, 1), 0);
	check("virtio-get-id-text", *(volatile uint32_t *)VQ_DATA, 0x6b736964);	/* "disk" */
	for (unsigned i = 0; i < 512; i++)
		*(volatile uint8_t *)(VQ_DATA + i) = (uint8_t)(i * 7);
	check("virtio-out", vq_req(1, 3, VQ_DATA, 512, 0), 0);
	for (unsigned i = 0; i < 512; i++)
		*(volatile uint8_t *)(VQ_DATA + i) = 0;
	check("virtio-in", vq_req(0, 3, VQ_DATA, 512, 1), 0);
	check("virtio-in-data", *(volatile uint8_t *)(VQ_DATA + 511), (uint8_t)(511 * 7));
	check("virtio-flush", vq_req(4, 0, VQ_DATA, 0, 0), 0);
	/* What a hostile driver gets: errors, then a device that wants a reset. */
	check("virtio-past-end", vq_req(0, 2048, VQ_DATA, 512, 1), 1);
	check("virtio-outside-ram", vq_req(0, 0, 0x200000000ull, 512, 1), 1);
	check("virtio-unsupported", vq_req(99, 0, VQ_DATA, 512, 1), 2);
	vdesc(0, VQ_HDR, 16, 1, 1);
	vdesc(1, VQ_DATA, 512, 1 | 2, 0);		/* a loop */
	check("virtio-loop-no-answer", vq_run(0), 0x100);
	check("virtio-needs-reset", mmio_r8(vbar + 0x14) & 0x40, 0x40);
	virtio_up();
	check("virtio-after-reset", mmio_r8(vbar + 0x14) & 0x40, 0);
	check("virtio-works-after-reset", vq_req(0, 3, VQ_DATA, 512, 1), 0);
	*(volatile uint16_t *)(VQ_AVAIL + 2) = (uint16_t)(vq_avail + 100);	/* bad avail index */
	mmio_w16(vbar + 0x3000, 0);
	for (uint64_t i = 0; i < 100000000ull && !(mmio_r8(vbar + 0x14) & 0x40); i++)
		__asm__ volatile("pause");
	check("virtio-bad-avail-needs-reset", mmio_r8(vbar + 0x14) & 0x40, 0x40);
}

static void start_ap(void)
{
	volatile uint32_t *flag;
	uint64_t n = (uint64_t)(ap_tramp_end - ap_tramp);
	char *dst = (char *)0x10000;

	for (uint64_t i = 0; i < n; i++)
		dst[i] = ap_tramp[i];
	flag = (volatile uint32_t *)(dst + n - 4);
	mmio_w32(0xfee000f0, 0x1ff);			/* LAPIC software enable */
	mmio_w32(0xfee00310, 1u << 24);			/* destination APIC id 1 */
	mmio_w32(0xfee00300, 0x00004500);		/* INIT */
	for (volatile int i = 0; i < 100000; i++)
		;
	for (int k = 0; k < 2; k++) {
		mmio_w32(0xfee00310, 1u << 24);
		mmio_w32(0xfee00300, 0x00004600 | 0x10);	/* SIPI, vector 0x10 -> 0x10000 */
		for (volatile int i = 0; i < 100000; i++)
			;
	}
	for (uint64_t i = 0; i < 2000000000ull && *flag != 0x600dcafe; i++)
		__asm__ volatile("pause");
	putc_('\n');
	check("smp-real-mode-ap", *flag, 0x600dcafe);
}

/* The legacy path Linux uses with `noapic`: 8259 PIC -> LAPIC LINT0 (ExtINT) -> CPU.
 * Enables THRE interrupts on the UART and waits for IRQ 4 at vector 0x24. */
static void irq_test(void)
{
	static struct __attribute__((packed)) { uint16_t lo, sel; uint8_t ist, type; uint16_t mid;
						uint32_t hi, rsvd; } idt[256];
	struct __attribute__((packed)) { uint16_t lim; uint64_t base; } idtr = { sizeof(idt) - 1,
										  (uint64_t)idt };
	uint64_t h = (uint64_t)uart_isr;
	uint16_t cs;

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	idt[0x24].lo = (uint16_t)h;
	idt[0x24].sel = cs;
	idt[0x24].type = 0x8e;		/* present, 64-bit interrupt gate */
	idt[0x24].mid = (uint16_t)(h >> 16);
	idt[0x24].hi = (uint32_t)(h >> 32);
	__asm__ volatile("lidt %0" :: "m"(idtr));
	/* PIC: vectors 0x20-0x2f, cascade on IRQ2, everything masked but IRQ 4 */
	outb(0x20, 0x11); outb(0xa0, 0x11);
	outb(0x21, 0x20); outb(0xa1, 0x28);
	outb(0x21, 0x04); outb(0xa1, 0x02);
	outb(0x21, 0x01); outb(0xa1, 0x01);
	outb(0x21, 0xef); outb(0xa1, 0xff);
	mmio_w32(0xfee000f0, 0x1ff);			/* LAPIC on */
	mmio_w32(0xfee00350, 0x700);			/* LINT0: ExtINT, as Linux sets it */
	outb(0x3fc, 0x08);				/* MCR OUT2: IRQ output enabled */
	outb(0x3f9, 0x02);				/* IER: THRE */
	__asm__ volatile("sti");
	for (uint64_t i = 0; i < 100000000ull && !uart_irqs; i++)
		__asm__ volatile("pause");
	__asm__ volatile("cli");
	check("uart-thre-irq-via-pic", uart_irqs > 0, 1);
	check("uart-iir-thre", uart_last_iir & 0x0f, 0x02);
	/* A write to THR with THRE enabled raises it again. */
	{
		uint32_t before = uart_irqs;

		outb(0x3f8, '.');
		__asm__ volatile("sti");
		for (uint64_t i = 0; i < 100000000ull && uart_irqs == before; i++)
			__asm__ volatile("pause");
		__asm__ volatile("cli");
		putc_('\n');
		check("uart-thre-irq-after-write", uart_irqs > before, 1);
	}
	outb(0x3f9, 0x00);
}

void payload_main(uint8_t *zp)
{
	const char *cl;
	uint64_t cr0, cr4, efer_lo;
	uint32_t lo, hi;

	puts_("iovm-payload: long mode\n");
	check("rsi-zero-page", (uint64_t)zp, 0x7000);
	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0xc0000080));
	efer_lo = lo;
	check("cr0-pe-pg", cr0 & 0x80000001u, 0x80000001u);
	check("cr4-pae", cr4 & 0x20, 0x20);
	check("efer-lma", efer_lo & 0x400, 0x400);
	{
		/* What iovm offers in CPUID (IOVM_CPUID switches it per launch, vmm/vm.c): the
		 * KVM signature's first word ("KVMK"), x2APIC and the TSC-deadline timer. */
		uint32_t a, b, c, d;

		__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x40000000u), "c"(0u));
		puts_("cpuid 0x40000000 ebx ");
		puthex(b);
		__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1u), "c"(0u));
		puts_(" x2apic ");
		puthex((c >> 21) & 1);
		puts_(" tsc-deadline ");
		puthex((c >> 24) & 1);
		putc_('\n');
	}
	check("boot-flag", rd16(zp + ZP_BOOT_FLAG), 0xaa55);
	check("hdrs", rd32(zp + ZP_HEADER), 0x53726448);
	check("loader-type", zp[ZP_LOADER], 0xff);
	{
		unsigned n = zp[ZP_E820_N];
		uint64_t ram = 0;

		check("e820-first-ram-at-0", rd64(zp + ZP_E820) == 0 && rd32(zp + ZP_E820 + 16) == 1, 1);
		for (unsigned i = 0; i < n && i < 128; i++)
			if (rd32(zp + ZP_E820 + 20 * i + 16) == 1)
				ram += rd64(zp + ZP_E820 + 20 * i + 8);
		puts_("e820 ram ");
		puthex(ram);
		putc_('\n');
	}
	{
		uint64_t ia = rd32(zp + 0x218) | (uint64_t)rd32(zp + 0x0c0) << 32;
		uint64_t is = rd32(zp + 0x21c) | (uint64_t)rd32(zp + 0x0c4) << 32;

		if (is) {
			puts_("initrd size ");
			puthex(is);
			puts_(" head ");
			puthex(rd64((const uint8_t *)ia));
			putc_('\n');
		}
	}
	/* MP table: floating pointer in the BIOS area, processor entries */
	{
		const uint8_t *fp = (const uint8_t *)0xf0000, *h, *e;
		unsigned cpus = 0, n;
		uint8_t sum = 0;

		for (int i = 0; i < 16; i++)
			sum = (uint8_t)(sum + fp[i]);
		check("mp-floating-pointer", rd32(fp) == 0x5f504d5f && sum == 0, 1);
		h = (const uint8_t *)(uint64_t)rd32(fp + 4);
		check("mp-config-table", rd32(h), 0x504d4350);
		n = rd16(h + 34);
		e = h + 44;
		for (unsigned i = 0; i < n && i < 300; i++) {
			if (e[0] == 0)
				cpus++;
			e += e[0] == 0 ? 20 : 8;
		}
		puts_("mptable cpus ");
		puthex(cpus);
		putc_('\n');
	}
	cl = (const char *)(uint64_t)rd32(zp + ZP_CMDLINE);
	puts_("cmdline [");
	puts_(cl);
	puts_("]\n");
	/* memory at 1 MiB + kernel: must be ours */
	{
		volatile uint32_t *ram = (volatile uint32_t *)0x400000;

		*ram = 0xdeadbeef;
		check("ram-rw", *ram, 0xdeadbeef);
	}
	/* UART scratch register */
	outb(0x3ff, 0x5a);
	check("uart-scratch", inb(0x3ff), 0x5a);
	/* rep outsb: many port writes in one exit */
	{
		static const char s[] = "ok rep-outsb\n";
		const char *p = s;
		uint64_t n = sizeof(s) - 1;

		__asm__ volatile("rep outsb" : "+S"(p), "+c"(n) : "d"((uint16_t)0x3f8) : "memory");
	}
	/* PCI conf1: the address register reads back; the host bridge is 8086:0d57, class 0600;
	 * slot 31 is empty; a byte read at an odd offset works. */
	outl(0xcf8, 0x80000000u);
	check("conf1-addr-readback", inl(0xcf8), 0x80000000u);
	check("pci-host-bridge-id", pci_read(0, 0), 0x0d578086);
	check("pci-host-bridge-class", pci_read(0, 8) >> 16, 0x0600);
	check("pci-empty-slot", pci_read(31, 0), 0xffffffffu);
	check("pci-pvpanic-id", pci_read(1, 0), 0x00111b36);
	check("pci-pvpanic-class", pci_read(1, 8), 0x08800001);
	/* BAR sizing from the shadow: 4 KiB, 32-bit memory */
	{
		uint32_t old = pci_read(1, 0x10);

		outl(0xcf8, 0x80000000u | 1u << 11 | 0x10);
		outl(0xcfc, 0xffffffffu);
		check("pci-pvpanic-bar-size", pci_read(1, 0x10), 0xfffff000u);
		outl(0xcf8, 0x80000000u | 1u << 11 | 0x10);
		outl(0xcfc, old);
		check("pci-pvpanic-bar-restored", pci_read(1, 0x10), old);
	}
	outl(0xcf8, 0x80000000u);
	check("pci-byte-read", inb(0xcfd), 0x80);
	check("pci-word-read", inw(0xcfe), 0x0d57);
	/* Unclaimed MMIO and ports: all ones, writes dropped. */
	mmio_w32(0xd0000000, 0x12345678);
	check("mmio-unclaimed", mmio_r32(0xd0000000), 0xffffffffu);
	check("pio-unclaimed", inb(0x2f8), 0xff);
	/* RTC: status A never shows "update in progress". */
	outb(0x70, 0x0a);
	check("rtc-uip-clear", inb(0x71) & 0x80, 0);
	/* i8042 self-test */
	outb(0x64, 0xaa);
	check("i8042-self-test", (inb(0x64) & 1) ? inb(0x60) : 0, 0x55);
	outb(0x501, 0x10);	/* a mark */
	if (has_word(cl, "irq"))
		irq_test();
	if (has_word(cl, "smp"))
		start_ap();
	puts_(fails ? "iovm-payload: FAILED\n" : "iovm-payload: all checks passed\n");
	if (has_word(cl, "mode=reboots")) {
		/* Guest RAM survives a restart in place (the kernel image is reloaded, the rest
		 * is not cleared): a counter at 32 MiB tells the boots apart. */
		volatile uint64_t *mark = (volatile uint64_t *)0x2000000ull;

		if (mark[0] != 0x52454230544f4f42ull) {	/* "BOOT0BER" */
			mark[0] = 0x52454230544f4f42ull;
			mark[1] = 0;
		}
		mark[1]++;
		puts_("iovm-payload: boot ");
		puthex(mark[1]);
		puts_("\n");
		if (mark[1] < 3)
			outb(0x64, 0xfe);	/* reset: iovm restarts us with --on-reboot restart */
		outb(0x501, 0);
	} else if (has_word(cl, "mode=flood")) {
		/* 144 KiB of console output, more than a pipe (64 KiB) and iovm's ring hold, in
		 * page-sized `rep outsb` bursts (one exit each). */
		static char line[4096];

		for (unsigned i = 0; i < sizeof(line); i++)
			line[i] = (i % 64 == 63) ? '\n' : (char)('a' + i % 26);
		for (unsigned i = 0; i < 36; i++) {
			const char *p = line;
			uint64_t n = sizeof(line);

			__asm__ volatile("rep outsb" : "+S"(p), "+c"(n) : "d"((uint16_t)0x3f8) : "memory");
		}
		puts_("iovm-payload: flood done\n");
		outb(0x501, 0);
	} else if (has_word(cl, "mode=virtio")) {
		virtio_test();
		puts_(fails ? "iovm-payload: virtio FAILED\n" : "iovm-payload: virtio checks passed\n");
		outb(0x501, 0);
	} else if (has_word(cl, "mode=escape")) {
		puts_("esc[\x1b[31mred\x1b]0;title\x07\x9b" "2J]\n");
		outb(0x501, 0);
	}

	if (has_word(cl, "mode=poweroff")) {
		outb(0x501, 0);
	} else if (has_word(cl, "mode=crash")) {
		/* An IDT of limit 0 makes the next exception a triple fault. */
		struct __attribute__((packed)) { uint16_t lim; uint64_t base; } idt = { 0, 0 };

		__asm__ volatile("lidt %0; int3" :: "m"(idt));
	} else if (has_word(cl, "mode=pvpanic")) {
		/* Find 1b36:0011 on bus 0, enable its BAR, read the events, report a panic. */
		for (unsigned dev = 1; dev < 32; dev++) {
			if (pci_read(dev, 0) != 0x00111b36)
				continue;
			uint32_t bar = pci_read(dev, 0x10) & ~0xfu;

			outl(0xcf8, 0x80000000u | dev << 11 | 0x04);
			outw(0xcfc, 0x0002);		/* memory decode on */
			check("pvpanic-events", *(volatile uint8_t *)(uint64_t)bar, 0x03);
			*(volatile uint8_t *)(uint64_t)bar = 0x01;	/* PANICKED */
		}
		puts_("iovm-payload: pvpanic not found\n");
	} else if (has_word(cl, "mode=hang")) {
		puts_("iovm-payload: hanging\n");
		for (;;)
			__asm__ volatile("hlt");
	} else if (has_word(cl, "mode=echo")) {
		char line[64];
		unsigned n = 0;

		puts_("iovm-payload: type a line\n");
		for (;;) {
			char c;

			while (!(inb(0x3fd) & 1))
				__asm__ volatile("pause");
			c = (char)inb(0x3f8);
			if (c == '\n' || c == '\r' || n == sizeof(line) - 1)
				break;
			line[n++] = c;
		}
		line[n] = 0;
		puts_("echo [");
		puts_(line);
		puts_("]\n");
		outb(0x501, 0);
	} else {
		outb(0x64, 0xfe);	/* reboot=k: pulse the reset line */
	}
	for (;;)
		__asm__ volatile("hlt");
}
