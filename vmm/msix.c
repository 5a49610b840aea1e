#include "vmm/msix.h"

#include <errno.h>
#include <string.h>

#define CTRL_MASKBIT 1u

int iovm_msix_init(struct iovm_msix *m, unsigned nr)
{
	if (nr == 0 || nr > IOVM_MSIX_MAX)
		return -EINVAL;
	m->nr = nr;
	memset(m->e, 0, sizeof(m->e));
	for (unsigned i = 0; i < IOVM_MSIX_MAX; i++)
		m->e[i].ctrl = CTRL_MASKBIT;
	return 0;
}

static bool table_access_ok(const struct iovm_msix *m, uint64_t off, unsigned len)
{
	return (len == 4 || len == 8) && (off & (len - 1)) == 0 &&
	       off < (uint64_t)m->nr * IOVM_MSIX_ENTRY_SIZE;
}

static uint32_t *word(struct iovm_msix *m, uint64_t off)
{
	struct iovm_msix_entry *e = &m->e[off / IOVM_MSIX_ENTRY_SIZE];

	switch (off % IOVM_MSIX_ENTRY_SIZE) {
	case 0: return &e->addr_lo;
	case 4: return &e->addr_hi;
	case 8: return &e->data;
	default: return &e->ctrl;
	}
}

static int write32(struct iovm_msix *m, uint64_t off, uint32_t v)
{
	uint32_t *w = word(m, off), old = *w;

	if (off % IOVM_MSIX_ENTRY_SIZE == 12)
		v = (old & ~CTRL_MASKBIT) | (v & CTRL_MASKBIT);	/* only the mask bit is RW */
	else if (off % IOVM_MSIX_ENTRY_SIZE == 0)
		v &= ~3u;					/* address is dword aligned */
	*w = v;
	return v != old ? (int)(off / IOVM_MSIX_ENTRY_SIZE) : IOVM_MSIX_NOCHANGE;
}

int iovm_msix_table_write(struct iovm_msix *m, uint64_t off, unsigned len, uint64_t val)
{
	int a, b;

	if (!table_access_ok(m, off, len))
		return -EINVAL;
	a = write32(m, off, (uint32_t)val);
	if (len == 4)
		return a;
	b = write32(m, off + 4, (uint32_t)(val >> 32));
	return a != IOVM_MSIX_NOCHANGE ? a : b;
}

uint64_t iovm_msix_table_read(const struct iovm_msix *m, uint64_t off, unsigned len)
{
	struct iovm_msix *mm = (struct iovm_msix *)m;	/* word() does not modify */
	uint64_t v;

	if (!table_access_ok(m, off, len))
		return ~0ull;
	v = *word(mm, off);
	if (len == 8)
		v |= (uint64_t)*word(mm, off + 4) << 32;
	return v;
}

uint64_t iovm_msix_pba_size(const struct iovm_msix *m)
{
	return ((m->nr + 63) / 64) * 8;
}

uint64_t iovm_msix_pba_read(const struct iovm_msix *m, uint64_t off, unsigned len)
{
	if ((len != 4 && len != 8) || (off & (len - 1)) || off >= iovm_msix_pba_size(m))
		return ~0ull;
	return 0;
}

bool iovm_msix_masked(const struct iovm_msix *m, unsigned i)
{
	return i >= m->nr || (m->e[i].ctrl & CTRL_MASKBIT);
}

uint64_t iovm_msix_addr(const struct iovm_msix *m, unsigned i)
{
	return i < m->nr ? (uint64_t)m->e[i].addr_hi << 32 | m->e[i].addr_lo : 0;
}

uint32_t iovm_msix_data(const struct iovm_msix *m, unsigned i)
{
	return i < m->nr ? m->e[i].data : 0;
}
