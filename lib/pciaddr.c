#include "lib/pciaddr.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int iov_hexdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Reads 1..maxdigits hex digits; returns the number of characters consumed or -1. */
static int hexfield(const char *s, int maxdigits, unsigned long *out)
{
	unsigned long v = 0;
	int n = 0;

	while (n < maxdigits && iov_hexdigit(s[n]) >= 0)
		v = v * 16 + (unsigned long)iov_hexdigit(s[n++]);
	if (n == 0)
		return -1;
	*out = v;
	return n;
}

int iov_pci_addr_parse(const char *s, struct iov_pci_addr *out)
{
	unsigned long dom = 0, bus, dev, fn;
	const char *p = s;
	int n;

	if (!s)
		return -EINVAL;
	/* Domain present iff there are two colons. */
	if (strchr(s, ':') && strchr(s, ':') != strrchr(s, ':')) {
		n = hexfield(p, 8, &dom);
		if (n < 0 || p[n] != ':' || dom > 0xffffffUL)
			return -EINVAL;
		p += n + 1;
	}
	n = hexfield(p, 2, &bus);
	if (n < 0 || p[n] != ':')
		return -EINVAL;
	p += n + 1;
	n = hexfield(p, 2, &dev);
	if (n < 0 || p[n] != '.' || dev > 31)
		return -EINVAL;
	p += n + 1;
	if (p[0] < '0' || p[0] > '7' || p[1] != '\0')
		return -EINVAL;
	fn = (unsigned long)(p[0] - '0');
	out->domain = (uint32_t)dom;
	out->bus = (uint8_t)bus;
	out->dev = (uint8_t)dev;
	out->fn = (uint8_t)fn;
	return 0;
}

char *iov_pci_addr_fmt(const struct iov_pci_addr *a, char *buf)
{
	snprintf(buf, IOV_PCI_ADDR_STRLEN, "%04x:%02x:%02x.%u", a->domain, a->bus, a->dev, a->fn);
	return buf;
}

int iov_pci_addr_cmp(const struct iov_pci_addr *a, const struct iov_pci_addr *b)
{
	if (a->domain != b->domain)
		return a->domain < b->domain ? -1 : 1;
	int ra = iov_pci_addr_rid(a), rb = iov_pci_addr_rid(b);
	return ra < rb ? -1 : ra > rb;
}
