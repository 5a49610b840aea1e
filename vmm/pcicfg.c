#include "vmm/pcicfg.h"

#include <errno.h>
#include <string.h>

#define CMD_IO		0x0001
#define CMD_MEM		0x0002
#define STATUS_CAP_LIST	0x10
#define MAX_CAPS	48	/* a loop in a device's list stops here */

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const uint8_t *p) { return get16(p) | (uint32_t)get16(p + 2) << 16; }
static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

static void set_emu(struct iovm_pcicfg *c, unsigned off, unsigned len, uint8_t emu, uint8_t wmask)
{
	for (unsigned i = off; i < off + len && i < IOVM_PCICFG_HDR; i++) {
		c->emu[i] = emu;
		c->wmask[i] = wmask;
	}
}

static unsigned cap_size(const uint8_t *phys, unsigned pos, uint8_t id)
{
	uint16_t ctrl = get16(phys + pos + 2);

	switch (id) {
	case PCI_CAP_ID_PM:
		return 8;
	case PCI_CAP_ID_MSI:
		return 10 + ((ctrl & 0x80) ? 4 : 0) + ((ctrl & 0x100) ? 10 : 0);
	case PCI_CAP_ID_EXP:
		return (ctrl & 0xf) >= 2 ? 0x3c : 0x24;
	case PCI_CAP_ID_MSIX:
		return 12;
	}
	return 0;
}

/* Writes the guest-visible BAR registers from bar[] into the shadow. */
static void bar_store(struct iovm_pcicfg *c, int i)
{
	const struct iovm_pcicfg_bar *b = &c->bar[i];
	uint32_t v;

	if (b->upper) {
		const struct iovm_pcicfg_bar *lo = &c->bar[i - 1];

		v = (uint32_t)(lo->gpa >> 32);
	} else if (!b->size) {
		v = 0;
	} else if (b->io) {
		v = ((uint32_t)b->gpa & ~3u) | 1u;
	} else {
		v = ((uint32_t)b->gpa & ~0xfu) | (b->mem64 ? 4u : 0u) | (b->prefetch ? 8u : 0u);
	}
	put32(c->vcfg + 0x10 + 4 * i, v);
}

int iovm_pcicfg_init(struct iovm_pcicfg *c, const uint8_t *phys,
		     const uint64_t bar_size[IOVM_PCI_NBARS], const struct iovm_pcicfg_ops *ops,
		     void *ctx)
{
	uint8_t keep[MAX_CAPS];
	unsigned nkeep = 0, pos, n = 0;
	bool seen[IOVM_PCICFG_HDR] = { false };

	if ((phys[0x0e] & 0x7f) != 0)
		return -EINVAL;		/* bridges and CardBus are not passed through */
	memset(c, 0, sizeof(*c));
	c->ops = ops;
	c->ctx = ctx;
	/* Default: every byte emulated, read-only zero; then open up what is known. */
	set_emu(c, 0, IOVM_PCICFG_HDR, 0xff, 0);
	memcpy(c->vcfg, phys, 0x40);
	c->vcfg[0x0e] &= 0x7f;			/* multifunction: the guest sees one function */
	c->vcfg[0x0f] = 0;			/* BIST */
	memset(c->vcfg + 0x28, 0, 4);		/* CardBus CIS */
	memset(c->vcfg + 0x30, 0, 4);		/* expansion ROM hidden */
	memset(c->vcfg + 0x35, 0, 7);
	c->vcfg[0x34] = 0;
	c->vcfg[0x06] &= (uint8_t)~STATUS_CAP_LIST;
	c->vcfg[0x04] = 0;			/* decode off until the guest turns it on */
	c->vcfg[0x05] = 0;
	set_emu(c, 0x04, 1, 0xff, 0x47);	/* I/O, memory, master, parity: shadowed */
	set_emu(c, 0x05, 1, 0xff, 0x05);	/* SERR, INTx disable */
	set_emu(c, 0x06, 1, STATUS_CAP_LIST, 0);	/* status from the device but for bit 4 */
	set_emu(c, 0x07, 1, 0x00, 0);
	set_emu(c, 0x0c, 2, 0xff, 0xff);	/* cache line size, latency timer */
	set_emu(c, 0x3c, 1, 0xff, 0xff);	/* interrupt line */

	for (int i = 0; i < IOVM_PCI_NBARS; i++) {
		uint32_t raw = get32(phys + 0x10 + 4 * i);
		struct iovm_pcicfg_bar *b = &c->bar[i];

		if (i > 0 && c->bar[i - 1].mem64 && c->bar[i - 1].size) {
			b->upper = true;
			bar_store(c, i);
			continue;
		}
		b->size = bar_size[i];
		if (b->size & (b->size - 1))
			return -EINVAL;
		b->io = raw & 1;
		if (!b->io) {
			b->mem64 = ((raw >> 1) & 3) == 2 && i < IOVM_PCI_NBARS - 1;
			b->prefetch = raw & 8;
		}
		if (b->size && b->size < (b->io ? 4u : 16u))
			b->size = b->io ? 4 : 16;
		bar_store(c, i);
	}

	/* Capabilities: walk the device's list, keep the safe ones. */
	if (phys[0x06] & STATUS_CAP_LIST) {
		pos = phys[0x34] & 0xfc;
		while (pos >= 0x40 && pos < IOVM_PCICFG_HDR && n++ < MAX_CAPS && !seen[pos]) {
			uint8_t id = phys[pos];
			unsigned sz;

			seen[pos] = true;
			sz = pos + 4 <= IOVM_PCICFG_HDR ? cap_size(phys, pos, id) : 0;
			if (sz && pos + sz <= IOVM_PCICFG_HDR && nkeep < MAX_CAPS)
				keep[nkeep++] = (uint8_t)pos;
			pos = phys[pos + 1] & 0xfc;
		}
	}
	for (unsigned k = 0; k < nkeep; k++) {
		unsigned p = keep[k];
		uint8_t id = phys[p];
		unsigned sz = cap_size(phys, p, id);
		uint16_t ctrl = get16(phys + p + 2);

		memcpy(c->vcfg + p, phys + p, sz);
		c->vcfg[p + 1] = k + 1 < nkeep ? keep[k + 1] : 0;	/* rebuilt chain */
		switch (id) {
		case PCI_CAP_ID_PM:
		case PCI_CAP_ID_EXP:
			set_emu(c, p + 2, sz - 2, 0x00, 0);	/* body from the device */
			if (id == PCI_CAP_ID_PM)
				c->cap_pm = (uint8_t)p;
			else
				c->cap_exp = (uint8_t)p;
			break;
		case PCI_CAP_ID_MSI: {
			unsigned data = p + (ctrl & 0x80 ? 0x0c : 0x08);

			c->cap_msi = (uint8_t)p;
			c->msi_64 = ctrl & 0x80;
			c->msi_maskbit = ctrl & 0x100;
			c->vcfg[p + 2] &= (uint8_t)~0x71;	/* disabled, MME 0; keep MMC, 64-bit */
			set_emu(c, p + 2, 1, 0xff, 0x71);	/* enable, multiple message enable */
			memset(c->vcfg + p + 4, 0, sz - 4);
			set_emu(c, p + 4, 1, 0xff, 0xfc);	/* address, dword aligned */
			set_emu(c, p + 5, 3, 0xff, 0xff);
			if (c->msi_64)
				set_emu(c, p + 8, 4, 0xff, 0xff);
			set_emu(c, data, 2, 0xff, 0xff);
			if (c->msi_maskbit)
				set_emu(c, data + 4, 4, 0xff, 0xff);	/* mask; pending stays 0 */
			break;
		}
		case PCI_CAP_ID_MSIX: {
			uint32_t t = get32(phys + p + 4), pba = get32(phys + p + 8);

			c->cap_msix = (uint8_t)p;
			c->msix_nr = (uint16_t)((ctrl & 0x7ff) + 1);
			c->msix_table_bir = t & 7;
			c->msix_table_off = t & ~7u;
			c->msix_pba_bir = pba & 7;
			c->msix_pba_off = pba & ~7u;
			c->vcfg[p + 3] &= 0x3f;			/* disabled, not function-masked */
			set_emu(c, p + 3, 1, 0xff, 0xc0);	/* enable, function mask */
			break;
		}
		}
	}
	if (nkeep) {
		c->vcfg[0x34] = keep[0];
		c->vcfg[0x06] |= STATUS_CAP_LIST;
	}
	return 0;
}

static bool access_ok(unsigned off, unsigned len)
{
	return (len == 1 || len == 2 || len == 4) && off < IOVM_PCICFG_SIZE &&
	       (off & 3) + len <= 4;
}

uint32_t iovm_pcicfg_read(struct iovm_pcicfg *c, unsigned off, unsigned len)
{
	uint32_t v = 0, dev = 0;
	bool need_dev = false;

	if (!access_ok(off, len))
		return 0xffffffffu;
	if (off >= IOVM_PCICFG_HDR)
		return 0;			/* extended capabilities hidden */
	for (unsigned i = 0; i < len; i++)
		need_dev |= c->emu[off + i] != 0xff;
	if (need_dev && (!c->ops || c->ops->read(c->ctx, off, len, &dev) < 0))
		dev = 0xffffffffu;
	for (unsigned i = 0; i < len; i++) {
		uint8_t e = c->emu[off + i];
		uint8_t b = (uint8_t)((c->vcfg[off + i] & e) | ((uint8_t)(dev >> (8 * i)) & ~e));

		v |= (uint32_t)b << (8 * i);
	}
	return v;
}

/* A write to the BAR dword at index i: merged from the bytes written, then masked by the
 * BAR's size (so sizing with all ones reads back the size) and type. */
static unsigned bar_write(struct iovm_pcicfg *c, int i, unsigned byte, unsigned len, uint32_t val)
{
	uint8_t *reg = c->vcfg + 0x10 + 4 * i;
	struct iovm_pcicfg_bar *b = &c->bar[i];
	struct iovm_pcicfg_bar *lo = b->upper ? &c->bar[i - 1] : b;
	uint64_t old = lo->gpa;
	uint32_t v;

	if (!b->size && !b->upper)
		return 0;
	for (unsigned k = 0; k < len; k++)
		reg[byte + k] = (uint8_t)(val >> (8 * k));
	v = get32(reg);
	if (b->upper) {
		uint32_t hmask = (uint32_t)(~(lo->size - 1) >> 32);

		lo->gpa = (lo->gpa & 0xffffffffull) | (uint64_t)(v & hmask) << 32;
	} else {
		uint64_t mask = ~(b->size - 1) & (b->io ? ~3ull : ~0xfull);

		b->gpa = (b->gpa & ~0xffffffffull) | (v & mask & 0xffffffffull);
		if (!b->mem64)
			b->gpa &= 0xffffffffull;
	}
	bar_store(c, i);
	if (b->upper)
		bar_store(c, i - 1);
	else if (b->mem64)
		bar_store(c, i + 1);
	return lo->gpa != old ? IOVM_PCICFG_EV_BAR(b->upper ? i - 1 : i) : 0;
}

unsigned iovm_pcicfg_write(struct iovm_pcicfg *c, unsigned off, unsigned len, uint32_t val)
{
	unsigned ev = 0, start = off, plen = 0;
	uint16_t old_cmd = iovm_pcicfg_command(c);
	uint8_t old_msix = c->cap_msix ? c->vcfg[c->cap_msix + 3] : 0;
	uint8_t old_msi[24] = { 0 };
	unsigned msi_len = c->cap_msi ? IOVM_PCICFG_HDR - c->cap_msi : 0;

	if (!access_ok(off, len) || off >= IOVM_PCICFG_HDR)
		return 0;
	if (off >= 0x10 && off < 0x28)
		return bar_write(c, (int)(off - 0x10) / 4, off & 3, len, val);
	if (off >= 0x30 && off < 0x34)
		return 0;			/* ROM BAR: hidden, writes ignored */
	if (msi_len > sizeof(old_msi))
		msi_len = sizeof(old_msi);
	memcpy(old_msi, c->vcfg + c->cap_msi, msi_len);

	for (unsigned i = 0; i < len; i++) {
		unsigned o = off + i;
		uint8_t b = (uint8_t)(val >> (8 * i)), w = c->wmask[o] & c->emu[o];

		c->vcfg[o] = (uint8_t)((c->vcfg[o] & ~w) | (b & w));
	}
	/* Bytes not fully emulated go to the device: one contiguous run at most per dword
	 * in practice (status, PM and PCIe bodies); split if not. */
	for (unsigned i = 0; i <= len; i++) {
		bool dev = i < len && c->emu[off + i] != 0xff;

		if (dev) {
			if (!plen)
				start = off + i;
			plen++;
			continue;
		}
		if (plen && c->ops) {
			/* Sub-runs of 3 bytes are written as 2 + 1. */
			unsigned s = start, l = plen;

			while (l) {
				unsigned chunk = l >= 4 && !(s & 3) ? 4 : l >= 2 && !(s & 1) ? 2 : 1;

				c->ops->write(c->ctx, s, chunk, val >> (8 * (s - off)));
				s += chunk;
				l -= chunk;
			}
		}
		plen = 0;
	}
	/* Command: shadowed for our BAR mapping, and written through for bus mastering. */
	if (off <= 0x05 && off + len > 0x04) {
		uint16_t cmd = iovm_pcicfg_command(c);

		if (c->ops)
			c->ops->write(c->ctx, 0x04, 2, cmd);
		if ((cmd ^ old_cmd) & (CMD_IO | CMD_MEM))
			ev |= IOVM_PCICFG_EV_CMD;
	}
	if (c->cap_msix && c->vcfg[c->cap_msix + 3] != old_msix)
		ev |= IOVM_PCICFG_EV_MSIX;
	if (c->cap_msi && memcmp(old_msi, c->vcfg + c->cap_msi, msi_len))
		ev |= IOVM_PCICFG_EV_MSI;
	return ev;
}

uint16_t iovm_pcicfg_command(const struct iovm_pcicfg *c)
{
	return get16(c->vcfg + 0x04);
}

bool iovm_pcicfg_msix_enabled(const struct iovm_pcicfg *c)
{
	return c->cap_msix && (c->vcfg[c->cap_msix + 3] & 0x80);
}

bool iovm_pcicfg_msix_fmask(const struct iovm_pcicfg *c)
{
	return c->cap_msix && (c->vcfg[c->cap_msix + 3] & 0x40);
}

void iovm_pcicfg_msi(const struct iovm_pcicfg *c, struct iovm_msi_state *out)
{
	struct iovm_msi_state s = { 0 };
	unsigned p = c->cap_msi;

	if (p) {
		uint16_t ctrl = get16(c->vcfg + p + 2);
		unsigned data = p + (c->msi_64 ? 0x0c : 0x08);
		unsigned mme = (ctrl >> 4) & 7, mmc = (ctrl >> 1) & 7;

		if (mme > 5)
			mme = 5;
		if (mmc > 5)
			mmc = 5;
		if (mme > mmc)
			mme = mmc;
		s.enabled = ctrl & 1;
		s.nvec = 1u << mme;
		s.max_vec = 1u << mmc;
		s.addr = get32(c->vcfg + p + 4);
		if (c->msi_64)
			s.addr |= (uint64_t)get32(c->vcfg + p + 8) << 32;
		s.data = get16(c->vcfg + data);
		if (c->msi_maskbit)
			s.mask = get32(c->vcfg + data + 4);
	}
	*out = s;
}

enum iovm_bar_place iovm_bar_placement(uint64_t gpa, uint64_t size, uint64_t win_lo,
				       uint64_t win_hi, uint64_t top)
{
	if (!size || gpa + size < gpa)
		return IOVM_BAR_REFUSE;
	if (!((gpa >= win_lo && gpa + size <= win_hi) ||
	      (gpa >= top && gpa + size <= (1ull << 46))))
		return IOVM_BAR_REFUSE;
	return gpa & 4095 ? IOVM_BAR_TRAP : IOVM_BAR_DIRECT;
}
