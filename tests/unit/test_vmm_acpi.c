/* iovm's ACPI tables (vmm/acpi.c) and AML writer (vmm/aml.c): every table found from the
 * RSDP as a guest finds it, each checksum, the layout fields a Linux guest reads, and the
 * AML encodings. IOVM_ACPI_DUMP=DIR writes the tables there (for `iasl -d`). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/acpi.h"
#include "vmm/aml.h"

#define GPA 0xe0000ull

static uint8_t mem[IOVM_ACPI_MAX];

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) | (uint32_t)get16(p + 2) << 16; }
static uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32; }

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	for (size_t i = 0; i < n; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

/* The table at guest address gpa, checked: inside the buffer, its checksum zero. */
static const uint8_t *table(uint64_t gpa, const char *sig)
{
	const uint8_t *t;
	uint32_t len;

	assert_true(gpa >= GPA && gpa + 36 <= GPA + sizeof(mem));
	t = mem + (gpa - GPA);
	assert_memory_equal(t, sig, 4);
	len = get32(t + 4);
	assert_true(len >= 36 && gpa + len <= GPA + sizeof(mem));
	assert_int_equal(sum(t, len), 0);
	assert_memory_equal(t + 10, "IOVM  ", 6);
	return t;
}

static const struct iovm_mp_intx intx[] = { { .dev = 3, .pin = 1, .gsi = 16 } };

static int build(int ncpus, int nintx)
{
	struct iovm_acpi_cfg c = { .ncpus = ncpus, .intx = intx, .nintx = nintx,
				   .mmio_start = 0xc0000000u, .mmio_end = 0xfeb00000u,
				   .ecam_base = 0xfeb00000ull };

	memset(mem, 0xaa, sizeof(mem));
	return iovm_acpi_build(mem, sizeof(mem), GPA, &c);
}

static void dump(const uint8_t *t, const char *name)
{
	const char *dir = getenv("IOVM_ACPI_DUMP");
	char path[512];
	FILE *f;

	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
	f = fopen(path, "wb");
	if (f) {
		fwrite(t, 1, get32(t + 4), f);
		fclose(f);
	}
}

/* The XSDT's entry with signature sig. */
static const uint8_t *find(const uint8_t *xsdt, const char *sig)
{
	uint32_t n = (get32(xsdt + 4) - 36) / 8;

	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *t = mem + (get64(xsdt + 36 + 8 * i) - GPA);

		if (memcmp(t, sig, 4) == 0)
			return table(get64(xsdt + 36 + 8 * i), sig);
	}
	fail_msg("no %s in the XSDT", sig);
	return NULL;
}

static const uint8_t *memfind(const uint8_t *h, size_t hl, const void *n, size_t nl)
{
	for (size_t i = 0; i + nl <= hl; i++)
		if (memcmp(h + i, n, nl) == 0)
			return h + i;
	return NULL;
}

static void rsdp_and_xsdt(void **state)
{
	const uint8_t *x;

	assert_true(build(2, 1) > 0);
	assert_memory_equal(mem, "RSD PTR ", 8);
	assert_int_equal(sum(mem, 20), 0);		/* ACPI 1.0 checksum */
	assert_int_equal(mem[15], 2);			/* revision 2: XSDT */
	assert_int_equal(get32(mem + 20), 36);
	assert_int_equal(sum(mem, 36), 0);		/* extended checksum */
	assert_int_equal(get32(mem + 16), 0);		/* no RSDT */
	x = table(get64(mem + 24), "XSDT");
	assert_int_equal(get32(x + 4), 36 + 3 * 8);
	assert_int_equal(get64(x + 24) & 0xffffffff, 1);	/* OEM revision */
	find(x, "FACP");
	find(x, "APIC");
	find(x, "MCFG");
	dump(x, "xsdt");
}

static void fadt(void **state)
{
	const uint8_t *f, *d;

	assert_true(build(1, 0) > 0);
	f = find(table(get64(mem + 24), "XSDT"), "FACP");
	dump(f, "facp");
	assert_int_equal(get32(f + 4), 276);
	assert_int_equal(f[8], 6);				/* revision */
	assert_int_equal(f[131], 5);				/* minor version */
	assert_true(get32(f + 112) & (1u << 20));		/* HW_REDUCED_ACPI */
	assert_true(get32(f + 112) & (1u << 10));		/* RESET_REG_SUP */
	assert_true(get32(f + 112) & (1u << 4));		/* PWR_BUTTON: control method */
	assert_true(get16(f + 109) & 2);			/* i8042 present */
	assert_int_equal(get16(f + 46), 0);			/* no SCI */
	/* reset register: system I/O 0xcf9, byte, value 6 */
	assert_int_equal(f[116], 1);
	assert_int_equal(f[117], 8);
	assert_int_equal(get64(f + 120), IOVM_ACPI_RESET_PORT);
	assert_int_equal(f[128], IOVM_ACPI_RESET_VALUE);
	/* sleep control and status registers */
	assert_int_equal(f[244], 1);
	assert_int_equal(get64(f + 248), IOVM_ACPI_SLEEP_PORT);
	assert_int_equal(f[256], 1);
	assert_int_equal(get64(f + 260), IOVM_ACPI_SLEEP_PORT + 1);
	/* DSDT by both pointers */
	assert_int_equal(get64(f + 140), get32(f + 40));
	d = table(get64(f + 140), "DSDT");
	assert_int_equal(d[8], 2);
}

static void madt(void **state)
{
	const uint8_t *m, *e, *end;
	int cpus = 0, ioapics = 0, nmis = 0;

	assert_true(build(4, 0) > 0);
	m = find(table(get64(mem + 24), "XSDT"), "APIC");
	dump(m, "apic");
	assert_int_equal(get32(m + 36), 0xfee00000u);
	end = m + get32(m + 4);
	for (e = m + 44; e < end; e += e[1]) {
		assert_true(e[1] >= 2 && e + e[1] <= end);
		switch (e[0]) {
		case 0:
			assert_int_equal(e[1], 8);
			assert_int_equal(e[3], cpus);		/* APIC ids 0..n-1 */
			assert_int_equal(get32(e + 4), 1);	/* enabled */
			cpus++;
			break;
		case 1:
			assert_int_equal(e[1], 12);
			assert_int_equal(e[2], 4);		/* id = ncpus, as the MP table */
			assert_int_equal(get32(e + 4), 0xfec00000u);
			assert_int_equal(get32(e + 8), 0);
			ioapics++;
			break;
		case 4:
			assert_int_equal(e[5], 1);		/* LINT1 */
			nmis++;
			break;
		default:
			fail_msg("unexpected MADT entry type %u", e[0]);
		}
	}
	assert_ptr_equal(e, end);
	assert_int_equal(cpus, 4);
	assert_int_equal(ioapics, 1);
	assert_int_equal(nmis, 1);
}

static void mcfg(void **state)
{
	const uint8_t *m;

	assert_true(build(1, 0) > 0);
	m = find(table(get64(mem + 24), "XSDT"), "MCFG");
	dump(m, "mcfg");
	assert_int_equal(get32(m + 4), 36 + 8 + 16);
	assert_int_equal(get64(m + 44), 0xfeb00000ull);
	assert_int_equal(get16(m + 52), 0);		/* segment */
	assert_int_equal(m[54], 0);			/* buses 0..0 */
	assert_int_equal(m[55], 0);
}

static void dsdt(void **state)
{
	const uint8_t *f, *d;
	size_t len;
	/* EisaId encodings and names a guest looks for */
	static const uint8_t pnp0a08[] = { 0x0c, 0x41, 0xd0, 0x0a, 0x08 };
	static const uint8_t pnp0c02[] = { 0x0c, 0x41, 0xd0, 0x0c, 0x02 };
	static const uint8_t pnp0501[] = { 0x0c, 0x41, 0xd0, 0x05, 0x01 };
	static const uint8_t pnp0c0c[] = { 0x0c, 0x41, 0xd0, 0x0c, 0x0c };
	static const uint8_t pnp0303[] = { 0x0c, 0x41, 0xd0, 0x03, 0x03 };
	static const uint8_t s5[] = { 0x08, '\\', '_', 'S', '5', '_', 0x12, 0x05, 0x02, 0x0a, 0x05, 0x00 };
	/* the host bridge window: DWordMemory 0xc0000000-0xfeafffff */
	static const uint8_t win[] = { 0x00, 0x00, 0x00, 0xc0, 0xff, 0xff, 0xaf, 0xfe };
	/* _PRT entry: Package(4){ 0x3ffff, 0, 0, 16 } */
	static const uint8_t prt[] = { 0x12, 0x0b, 0x04, 0x0c, 0xff, 0xff, 0x03, 0x00, 0x00, 0x00,
				       0x0a, 0x10 };
	/* GED interrupt: extended IRQ descriptor, consumer, edge, high, GSI 9 */
	static const uint8_t ged_irq[] = { 0x89, 0x06, 0x00, 0x03, 0x01, 0x09, 0x00, 0x00, 0x00 };

	assert_true(build(1, 1) > 0);
	f = find(table(get64(mem + 24), "XSDT"), "FACP");
	d = table(get64(f + 140), "DSDT");
	dump(d, "dsdt");
	len = get32(d + 4);
	assert_non_null(memfind(d, len, pnp0a08, sizeof(pnp0a08)));
	assert_non_null(memfind(d, len, pnp0c02, sizeof(pnp0c02)));
	assert_non_null(memfind(d, len, pnp0501, sizeof(pnp0501)));
	assert_non_null(memfind(d, len, pnp0c0c, sizeof(pnp0c0c)));
	assert_non_null(memfind(d, len, pnp0303, sizeof(pnp0303)));
	assert_non_null(memfind(d, len, "\x0d" "ACPI0013", 10));
	assert_non_null(memfind(d, len, s5, sizeof(s5)));
	assert_non_null(memfind(d, len, win, sizeof(win)));
	assert_non_null(memfind(d, len, prt, sizeof(prt)));
	assert_non_null(memfind(d, len, ged_irq, sizeof(ged_irq)));
	assert_non_null(memfind(d, len, "_EVT", 4));
	/* No INTx routes: no _PRT. */
	assert_true(build(1, 0) > 0);
	f = find(table(get64(mem + 24), "XSDT"), "FACP");
	d = table(get64(f + 140), "DSDT");
	assert_null(memfind(d, get32(d + 4), "_PRT", 4));
}

/* Hot-plug root ports: the host bridge's bus range covers the buses behind them, and an
 * _OSC returns what the OS asked for (native PCIe hot-plug granted); none without ports. */
static void dsdt_hotplug(void **state)
{
	struct iovm_acpi_cfg c = { .ncpus = 1, .mmio_start = 0xc0000000u, .mmio_end = 0xfeb00000u,
				   .ecam_base = 0xfeb00000ull, .hp_ports = 3 };
	/* WordBusNumber 0..3 (length 4); 0..0 without ports */
	static const uint8_t bus3[] = { 0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00,
					0x03, 0x00, 0x00, 0x00, 0x04, 0x00 };
	static const uint8_t bus0[] = { 0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00,
					0x00, 0x00, 0x00, 0x00, 0x01, 0x00 };
	/* Method (_OSC, 4) { Return (Arg3) } */
	static const uint8_t osc[] = { 0x14, 0x08, '_', 'O', 'S', 'C', 0x04, 0xa4, 0x6b };
	const uint8_t *f, *d;
	size_t len;

	memset(mem, 0xaa, sizeof(mem));
	assert_true(iovm_acpi_build(mem, sizeof(mem), GPA, &c) > 0);
	f = find(table(get64(mem + 24), "XSDT"), "FACP");
	d = table(get64(f + 140), "DSDT");
	dump(d, "dsdt-hotplug");
	len = get32(d + 4);
	assert_non_null(memfind(d, len, bus3, sizeof(bus3)));
	assert_non_null(memfind(d, len, osc, sizeof(osc)));
	assert_true(build(1, 0) > 0);
	f = find(table(get64(mem + 24), "XSDT"), "FACP");
	d = table(get64(f + 140), "DSDT");
	len = get32(d + 4);
	assert_non_null(memfind(d, len, bus0, sizeof(bus0)));
	assert_null(memfind(d, len, "_OSC", 4));
}

static void bad_cfg(void **state)
{
	struct iovm_acpi_cfg c = { .ncpus = 1, .mmio_start = 0xc0000000u, .mmio_end = 0xfeb00000u,
				   .ecam_base = 0xfeb00000ull };
	struct iovm_mp_intx bad = { .dev = 40, .pin = 1, .gsi = 16 };

	assert_true(iovm_acpi_build(mem, sizeof(mem), GPA, &c) > 0);
	assert_int_equal(iovm_acpi_build(mem, 200, GPA, &c), -ENOSPC);
	assert_int_equal(iovm_acpi_build(mem, sizeof(mem), GPA + 4, &c), -EINVAL);
	c.ncpus = 0;
	assert_int_equal(iovm_acpi_build(mem, sizeof(mem), GPA, &c), -EINVAL);
	c.ncpus = 1;
	c.ecam_base = 0xfeb01000ull;	/* not 1 MiB aligned */
	assert_int_equal(iovm_acpi_build(mem, sizeof(mem), GPA, &c), -EINVAL);
	c.ecam_base = 0xfeb00000ull;
	c.intx = &bad;
	c.nintx = 1;
	assert_int_equal(iovm_acpi_build(mem, sizeof(mem), GPA, &c), -EINVAL);
}

static void aml_pkglen(void **state)
{
	uint8_t b[4];

	/* one byte holds up to 63 with itself */
	assert_int_equal(iovm_aml_pkglen(62, b), 1);
	assert_int_equal(b[0], 63);
	/* two bytes: 63 content + 2 = 65 = 0x41: lead 0x41 & 0x0f | 1 << 6, then 0x41 >> 4 */
	assert_int_equal(iovm_aml_pkglen(63, b), 2);
	assert_int_equal(b[0], 0x40 | 0x01);
	assert_int_equal(b[1], 0x04);
	assert_int_equal(iovm_aml_pkglen(4093, b), 2);	/* 4095 total */
	assert_int_equal(iovm_aml_pkglen(4094, b), 3);	/* 4097 total */
	assert_int_equal(b[0], 0x80 | 0x01);
	assert_int_equal(b[1], 0x00);
	assert_int_equal(b[2], 0x01);
	assert_int_equal(iovm_aml_pkglen((1u << 20), b), 4);
	assert_int_equal(iovm_aml_pkglen((1u << 28), b), -EINVAL);
}

static void aml_encodings(void **state)
{
	uint8_t buf[128];
	struct iovm_aml a;
	static const uint8_t ints[] = { 0x00, 0x01, 0x0a, 0x2a, 0x0b, 0x34, 0x12, 0x0c, 0x78, 0x56,
					0x34, 0x12, 0x0e, 1, 0, 0, 0, 1, 0, 0, 0 };
	static const uint8_t dev[] = { 0x5b, 0x82, 0x0b, 'D', 'E', 'V', '_', 0x08, '_', 'U', 'I',
				       'D', 0x00 };
	static const uint8_t path[] = { '\\', 0x2e, '_', 'S', 'B', '_', 'P', 'W', 'R', 'B' };

	iovm_aml_init(&a, buf, sizeof(buf));
	iovm_aml_int(&a, 0);
	iovm_aml_int(&a, 1);
	iovm_aml_int(&a, 42);
	iovm_aml_int(&a, 0x1234);
	iovm_aml_int(&a, 0x12345678);
	iovm_aml_int(&a, 0x100000001ull);
	assert_int_equal(a.err, 0);
	assert_int_equal(a.len, sizeof(ints));
	assert_memory_equal(buf, ints, sizeof(ints));

	iovm_aml_init(&a, buf, sizeof(buf));
	iovm_aml_device(&a, "DEV");
	iovm_aml_name(&a, "_UID");
	iovm_aml_int(&a, 0);
	iovm_aml_close(&a);
	assert_int_equal(a.err, 0);
	assert_int_equal(a.len, sizeof(dev));
	assert_memory_equal(buf, dev, sizeof(dev));

	iovm_aml_init(&a, buf, sizeof(buf));
	iovm_aml_namestring(&a, "\\_SB.PWRB");
	assert_memory_equal(buf, path, sizeof(path));

	/* errors stick: bad names, unbalanced close, no room */
	iovm_aml_init(&a, buf, sizeof(buf));
	iovm_aml_namestring(&a, "TOOLONG");
	assert_int_equal(a.err, -EINVAL);
	iovm_aml_init(&a, buf, sizeof(buf));
	iovm_aml_close(&a);
	assert_int_equal(a.err, -EINVAL);
	iovm_aml_init(&a, buf, 3);
	iovm_aml_string(&a, "ACPI0013");
	assert_int_equal(a.err, -ENOSPC);
	iovm_aml_init(&a, buf, sizeof(buf));
	iovm_aml_eisaid(&a, "pnp0a08");
	assert_int_equal(a.err, -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rsdp_and_xsdt),
		cmocka_unit_test(fadt),
		cmocka_unit_test(madt),
		cmocka_unit_test(mcfg),
		cmocka_unit_test(dsdt),
		cmocka_unit_test(dsdt_hotplug),
		cmocka_unit_test(bad_cfg),
		cmocka_unit_test(aml_pkglen),
		cmocka_unit_test(aml_encodings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
