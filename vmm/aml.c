#include "vmm/aml.h"

#include <errno.h>
#include <string.h>

#define OP_ZERO		0x00
#define OP_ONE		0x01
#define OP_NAME		0x08
#define OP_BYTE		0x0a
#define OP_WORD		0x0b
#define OP_DWORD	0x0c
#define OP_STRING	0x0d
#define OP_QWORD	0x0e
#define OP_SCOPE	0x10
#define OP_BUFFER	0x11
#define OP_PACKAGE	0x12
#define OP_METHOD	0x14
#define OP_EXT		0x5b
#define OP_DEVICE	0x82	/* after OP_EXT */
#define OP_NOTIFY	0x86
#define PREFIX_ROOT	'\\'
#define PREFIX_DUAL	0x2e
#define PREFIX_MULTI	0x2f

void iovm_aml_init(struct iovm_aml *a, uint8_t *buf, size_t cap)
{
	*a = (struct iovm_aml){ .buf = buf, .cap = cap };
}

void iovm_aml_raw(struct iovm_aml *a, const void *p, size_t n)
{
	if (a->err)
		return;
	if (n > a->cap - a->len) {
		a->err = -ENOSPC;
		return;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

static void byte(struct iovm_aml *a, uint8_t b)
{
	iovm_aml_raw(a, &b, 1);
}

static void le(struct iovm_aml *a, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		byte(a, (uint8_t)(v >> (8 * i)));
}

void iovm_aml_namestring(struct iovm_aml *a, const char *path)
{
	char seg[16][4];
	int n = 0;
	const char *p = path;

	if (*p == PREFIX_ROOT) {
		byte(a, PREFIX_ROOT);
		p++;
	}
	while (*p) {
		size_t l = strcspn(p, ".");

		if (l == 0 || l > 4 || n == 16 || (*p >= '0' && *p <= '9')) {
			a->err = a->err ? a->err : -EINVAL;
			return;
		}
		memset(seg[n], '_', 4);
		memcpy(seg[n], p, l);
		n++;
		p += l;
		if (*p == '.')
			p++;
	}
	if (n == 0) {
		byte(a, 0x00);		/* NullName */
		return;
	}
	if (n == 2)
		byte(a, PREFIX_DUAL);
	else if (n > 2) {
		byte(a, PREFIX_MULTI);
		byte(a, (uint8_t)n);
	}
	for (int i = 0; i < n; i++)
		iovm_aml_raw(a, seg[i], 4);
}

void iovm_aml_name(struct iovm_aml *a, const char *path)
{
	byte(a, OP_NAME);
	iovm_aml_namestring(a, path);
}

void iovm_aml_int(struct iovm_aml *a, uint64_t v)
{
	if (v == 0)
		byte(a, OP_ZERO);
	else if (v == 1)
		byte(a, OP_ONE);
	else if (v <= 0xff)
		byte(a, OP_BYTE), le(a, v, 1);
	else if (v <= 0xffff)
		byte(a, OP_WORD), le(a, v, 2);
	else if (v <= 0xffffffffu)
		byte(a, OP_DWORD), le(a, v, 4);
	else
		byte(a, OP_QWORD), le(a, v, 8);
}

void iovm_aml_string(struct iovm_aml *a, const char *s)
{
	byte(a, OP_STRING);
	iovm_aml_raw(a, s, strlen(s) + 1);
}

void iovm_aml_eisaid(struct iovm_aml *a, const char *id)
{
	uint32_t v = 0;

	if (strlen(id) != 7) {
		a->err = a->err ? a->err : -EINVAL;
		return;
	}
	for (int i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z') {
			a->err = a->err ? a->err : -EINVAL;
			return;
		}
		v = v << 5 | (uint32_t)(id[i] - 0x40);
	}
	/* Compressed letters big-endian in the first two bytes, the product id's hex digits
	 * as two bytes after them: "PNP0A08" is 41 d0 0a 08. */
	byte(a, OP_DWORD);
	byte(a, (uint8_t)(v >> 8));
	byte(a, (uint8_t)v);
	for (int i = 3; i < 7; i += 2) {
		char h[3] = { id[i], id[i + 1], 0 };
		unsigned x = 0;

		for (int k = 0; k < 2; k++) {
			char c = h[k];

			if (c >= '0' && c <= '9')
				x = x << 4 | (unsigned)(c - '0');
			else if (c >= 'A' && c <= 'F')
				x = x << 4 | (unsigned)(c - 'A' + 10);
			else
				a->err = a->err ? a->err : -EINVAL;
		}
		byte(a, (uint8_t)x);
	}
}

int iovm_aml_pkglen(size_t content, uint8_t out[4])
{
	/* The length counts its own bytes: one byte holds up to 63 in total, two up to 4095,
	 * three up to 2^20 - 1, four up to 2^28 - 1. */
	size_t total;

	if (content + 1 <= 0x3f) {
		out[0] = (uint8_t)(content + 1);
		return 1;
	}
	for (int n = 2; n <= 4; n++) {
		total = content + (size_t)n;
		if (total < (1u << (4 + 8 * (n - 1)))) {
			out[0] = (uint8_t)((n - 1) << 6 | (total & 0x0f));
			for (int i = 1; i < n; i++)
				out[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
			return n;
		}
	}
	return -EINVAL;
}

static void open_obj(struct iovm_aml *a)
{
	if (a->err)
		return;
	if (a->depth == IOVM_AML_DEPTH) {
		a->err = -EINVAL;
		return;
	}
	a->open[a->depth++] = a->len;
}

void iovm_aml_close(struct iovm_aml *a)
{
	uint8_t pl[4];
	size_t at, content;
	int n;

	if (a->err)
		return;
	if (a->depth == 0) {
		a->err = -EINVAL;
		return;
	}
	at = a->open[--a->depth];
	content = a->len - at;
	n = iovm_aml_pkglen(content, pl);
	if (n < 0 || (size_t)n > a->cap - a->len) {
		a->err = n < 0 ? n : -ENOSPC;
		return;
	}
	memmove(a->buf + at + n, a->buf + at, content);
	memcpy(a->buf + at, pl, (size_t)n);
	a->len += (size_t)n;
}

void iovm_aml_scope(struct iovm_aml *a, const char *path)
{
	byte(a, OP_SCOPE);
	open_obj(a);
	iovm_aml_namestring(a, path);
}

void iovm_aml_device(struct iovm_aml *a, const char *name)
{
	byte(a, OP_EXT);
	byte(a, OP_DEVICE);
	open_obj(a);
	iovm_aml_namestring(a, name);
}

void iovm_aml_method(struct iovm_aml *a, const char *name, unsigned nargs)
{
	byte(a, OP_METHOD);
	open_obj(a);
	iovm_aml_namestring(a, name);
	byte(a, (uint8_t)(nargs & 7));	/* not serialized, sync level 0 */
}

void iovm_aml_package(struct iovm_aml *a, unsigned nelem)
{
	byte(a, OP_PACKAGE);
	open_obj(a);
	byte(a, (uint8_t)nelem);
}

void iovm_aml_buffer(struct iovm_aml *a, const void *p, size_t n)
{
	byte(a, OP_BUFFER);
	open_obj(a);
	iovm_aml_int(a, n);
	iovm_aml_raw(a, p, n);
	iovm_aml_close(a);
}

void iovm_aml_notify(struct iovm_aml *a, const char *path, uint8_t value)
{
	byte(a, OP_NOTIFY);
	iovm_aml_namestring(a, path);
	iovm_aml_int(a, value);
}

/* ---- resource descriptors ---- */

static void res(struct iovm_res *r, const uint8_t *p, size_t n)
{
	if (r->err)
		return;
	if (n > sizeof(r->buf) - r->len) {
		r->err = -ENOSPC;
		return;
	}
	memcpy(r->buf + r->len, p, n);
	r->len += n;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }

/* Word Address Space Descriptor (large item 0x88): resource type, fixed min and max. */
static void word_space(struct iovm_res *r, uint8_t type, uint8_t tflags, uint16_t min,
		       uint16_t max)
{
	uint8_t d[16] = { 0x88, 13, 0, type, 0x0c, tflags };

	put16(d + 6, 0);			/* granularity */
	put16(d + 8, min);
	put16(d + 10, max);
	put16(d + 12, 0);			/* translation */
	put16(d + 14, (uint16_t)(max - min + 1));
	res(r, d, sizeof(d));
}

void iovm_res_bus(struct iovm_res *r, uint16_t min, uint16_t max)
{
	word_space(r, 2, 0, min, max);
}

void iovm_res_io_window(struct iovm_res *r, uint16_t min, uint16_t max)
{
	word_space(r, 1, 3, min, max);		/* EntireRange */
}

void iovm_res_mem32(struct iovm_res *r, uint32_t min, uint32_t max, int producer)
{
	/* DWord Address Space Descriptor (0x87), memory, fixed min/max, read-write,
	 * non-cacheable; general flag bit 0 set = consumer. */
	uint8_t d[26] = { 0x87, 23, 0, 0, (uint8_t)(0x0c | (producer ? 0 : 1)), 0x01 };

	put32(d + 6, 0);
	put32(d + 10, min);
	put32(d + 14, max);
	put32(d + 18, 0);
	put32(d + 22, max - min + 1);
	res(r, d, sizeof(d));
}

void iovm_res_io(struct iovm_res *r, uint16_t base, uint8_t len)
{
	uint8_t d[8] = { 0x47, 0x01 };		/* small item: I/O port, 16-bit decode */

	put16(d + 2, base);
	put16(d + 4, base);
	d[6] = 1;				/* alignment */
	d[7] = len;
	res(r, d, sizeof(d));
}

void iovm_res_irq(struct iovm_res *r, uint8_t irq)
{
	uint8_t d[3] = { 0x22 };		/* small item: IRQ, no flags (edge, high) */

	put16(d + 1, (uint16_t)(1u << (irq & 15)));
	res(r, d, sizeof(d));
}

void iovm_res_gsi(struct iovm_res *r, uint32_t gsi, int edge, int active_low)
{
	/* Extended Interrupt Descriptor (0x89): consumer, one interrupt. */
	uint8_t d[9] = { 0x89, 6, 0, (uint8_t)(0x01 | (edge ? 0x02 : 0) | (active_low ? 0x04 : 0)), 1 };

	put32(d + 5, gsi);
	res(r, d, sizeof(d));
}

void iovm_res_end(struct iovm_res *r)
{
	const uint8_t d[2] = { 0x79, 0x00 };	/* checksum 0: "treated as correct" */

	res(r, d, sizeof(d));
}
