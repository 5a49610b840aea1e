/* A small AML (ACPI Machine Language) writer for the DSDT iovm generates: names, integers,
 * strings, EISA IDs, packages, scopes, devices, methods, Notify, and the resource descriptors
 * of a ResourceTemplate. Pure: it writes into a caller's buffer; the unit tests read back what
 * it wrote. Encodings: ACPI 6.5, chapter 20 (AML) and 6.4 (resource descriptors). */
#ifndef IOVM_AML_H
#define IOVM_AML_H

#include <stddef.h>
#include <stdint.h>

#define IOVM_AML_DEPTH 8

struct iovm_aml {
	uint8_t *buf;
	size_t len, cap;
	int err;			/* first error (-ENOSPC, -EINVAL); later calls do nothing */
	size_t open[IOVM_AML_DEPTH];	/* where each open object's PkgLength goes */
	int depth;
};

void iovm_aml_init(struct iovm_aml *a, uint8_t *buf, size_t cap);
/* Bytes as they are. */
void iovm_aml_raw(struct iovm_aml *a, const void *p, size_t n);
/* A NameString: "\\_SB_.PCI0", "PCI0", "_S5_" (segments of up to 4 characters, padded with
 * '_'; a leading '\\' is the root). */
void iovm_aml_namestring(struct iovm_aml *a, const char *path);
/* Name(path, ...): the value follows (an integer, a string, a package, a buffer). */
void iovm_aml_name(struct iovm_aml *a, const char *path);
/* The smallest integer encoding: ZeroOp, OneOp, Byte/Word/DWord/QWord prefix. */
void iovm_aml_int(struct iovm_aml *a, uint64_t v);
void iovm_aml_string(struct iovm_aml *a, const char *s);
/* EisaId("PNP0A08"): three upper-case letters and four hex digits, as a DWord. */
void iovm_aml_eisaid(struct iovm_aml *a, const char *id);
/* Buffer(){ bytes } */
void iovm_aml_buffer(struct iovm_aml *a, const void *p, size_t n);
/* Objects with a PkgLength: closed by iovm_aml_close, which writes the length. */
void iovm_aml_scope(struct iovm_aml *a, const char *path);
void iovm_aml_device(struct iovm_aml *a, const char *name);
void iovm_aml_method(struct iovm_aml *a, const char *name, unsigned nargs);
void iovm_aml_package(struct iovm_aml *a, unsigned nelem);
void iovm_aml_close(struct iovm_aml *a);
/* Notify(path, value) */
void iovm_aml_notify(struct iovm_aml *a, const char *path, uint8_t value);
/* The PkgLength encoding of a length that counts itself: 1 to 4 bytes into out. Returns the
 * number of bytes, or -EINVAL above 2^28 - 1. */
int iovm_aml_pkglen(size_t content, uint8_t out[4]);

/* Resource descriptors, appended to a plain byte buffer (a ResourceTemplate's body). */
struct iovm_res {
	uint8_t buf[256];
	size_t len;
	int err;
};
void iovm_res_bus(struct iovm_res *r, uint16_t min, uint16_t max);	/* WordBusNumber */
void iovm_res_io_window(struct iovm_res *r, uint16_t min, uint16_t max);	/* WordIO */
void iovm_res_mem32(struct iovm_res *r, uint32_t min, uint32_t max, int producer); /* DWordMemory */
void iovm_res_io(struct iovm_res *r, uint16_t base, uint8_t len);	/* IO(Decode16, base, base) */
void iovm_res_irq(struct iovm_res *r, uint8_t irq);			/* IRQNoFlags(){irq} */
/* Interrupt(ResourceConsumer, Edge|Level, ActiveHigh|ActiveLow, Exclusive){gsi} */
void iovm_res_gsi(struct iovm_res *r, uint32_t gsi, int edge, int active_low);
/* The end tag; then the buffer is complete. */
void iovm_res_end(struct iovm_res *r);

#endif
