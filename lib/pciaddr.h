/* PCI addresses ("DDDD:BB:DD.F", short "BB:DD.F"). Pure. */
#ifndef IOV_PCIADDR_H
#define IOV_PCIADDR_H

#include <stdbool.h>
#include <stdint.h>

struct iov_pci_addr {
	uint32_t domain;	/* 16 bits normally; VMD domains are 0x10000+ */
	uint8_t bus;
	uint8_t dev;		/* 0..31 */
	uint8_t fn;		/* 0..7 */
};

#define IOV_PCI_ADDR_STRLEN 16	/* "0000:00:00.0" plus room for 5-digit domains */

/* Parses a full or short address. Returns 0, or -EINVAL for anything else
 * (trailing characters, out-of-range device or function). */
int iov_pci_addr_parse(const char *s, struct iov_pci_addr *out);
/* Writes the canonical full form; buf must hold IOV_PCI_ADDR_STRLEN bytes. */
char *iov_pci_addr_fmt(const struct iov_pci_addr *a, char *buf);
int iov_pci_addr_cmp(const struct iov_pci_addr *a, const struct iov_pci_addr *b);
/* 0..15 for a hex digit, -1 otherwise. */
int iov_hexdigit(char c);
static inline uint16_t iov_pci_addr_rid(const struct iov_pci_addr *a)
{
	return (uint16_t)(a->bus << 8 | a->dev << 3 | a->fn);
}

#endif
