#include "vmm/hpslot.h"

#include <string.h>

#define EXP IOVM_HPSLOT_EXP
#define MSI IOVM_HPSLOT_MSI
#define MSI_CTL (MSI + 2)

/* The slot events pciehp can enable, each with its enable bit in Slot Control. */
static const struct { uint16_t sta, ctl; } events[] = {
	{ HP_SLTSTA_ABP, HP_SLTCTL_ABPE },	{ HP_SLTSTA_PFD, HP_SLTCTL_PFDE },
	{ HP_SLTSTA_MRLSC, HP_SLTCTL_MRLSCE },	{ HP_SLTSTA_PDC, HP_SLTCTL_PDCE },
	{ HP_SLTSTA_CC, HP_SLTCTL_CCIE },	{ HP_SLTSTA_DLLSC, HP_SLTCTL_DLLSCE },
};

static uint16_t get16(const struct iovm_hpslot *s, unsigned off)
{
	return (uint16_t)(s->cfg[off] | s->cfg[off + 1] << 8);
}

static void put16(uint8_t *p, unsigned off, uint16_t v)
{
	p[off] = (uint8_t)v;
	p[off + 1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, unsigned off, uint32_t v)
{
	put16(p, off, (uint16_t)v);
	put16(p, off + 2, (uint16_t)(v >> 16));
}

/* Events both raised in Slot Status and enabled in Slot Control. */
static uint16_t enabled_events(const struct iovm_hpslot *s)
{
	uint16_t sta = get16(s, EXP + HP_EXP_SLTSTA), ctl = get16(s, EXP + HP_EXP_SLTCTL), r = 0;

	for (unsigned i = 0; i < sizeof(events) / sizeof(events[0]); i++)
		if ((sta & events[i].sta) && (ctl & events[i].ctl))
			r |= events[i].sta;
	return (ctl & HP_SLTCTL_HPIE) ? r : 0;
}

/* Sets event bits in Slot Status; an interrupt when one of them is newly pending. */
static unsigned raise(struct iovm_hpslot *s, uint16_t bits)
{
	uint16_t before = enabled_events(s);

	put16(s->cfg, EXP + HP_EXP_SLTSTA, get16(s, EXP + HP_EXP_SLTSTA) | bits);
	return (enabled_events(s) & ~before) ? IOVM_HPSLOT_EV_IRQ : 0;
}

/* Link Status from presence and power; Data Link Layer State Changed on each change. */
static unsigned update_link(struct iovm_hpslot *s)
{
	uint16_t lnk = get16(s, EXP + HP_EXP_LNKSTA);
	bool was = lnk & HP_LNKSTA_DLLLA, up = iovm_hpslot_link_up(s);

	if (was == up)
		return 0;
	lnk = (uint16_t)(lnk & ~(HP_LNKSTA_DLLLA | 0x03f0));	/* DLLLA, negotiated width */
	if (up)
		lnk |= HP_LNKSTA_DLLLA | HP_LNKSTA_NLW_X1;
	put16(s->cfg, EXP + HP_EXP_LNKSTA, lnk);
	return raise(s, HP_SLTSTA_DLLSC);
}

static void set_presence(struct iovm_hpslot *s, bool present)
{
	uint16_t sta = get16(s, EXP + HP_EXP_SLTSTA);

	s->present = present;
	sta = (uint16_t)(present ? sta | HP_SLTSTA_PDS : sta & ~HP_SLTSTA_PDS);
	put16(s->cfg, EXP + HP_EXP_SLTSTA, sta);
}

void iovm_hpslot_init(struct iovm_hpslot *s, unsigned chip, uint8_t secondary, uint32_t win_base,
		      uint32_t win_limit)
{
	uint8_t *c = s->cfg, *w = s->wmask;

	memset(s, 0, sizeof(*s));
	put16(c, 0x00, 0x1b36);		/* Red Hat, Inc. */
	put16(c, 0x02, 0x000c);		/* QEMU PCIe root port: no quirks in Linux */
	put16(c, 0x04, 0x0000);
	put16(w, 0x04, 0x0547);		/* I/O, memory, bus master, parity, SERR, INTx disable */
	put16(c, 0x06, 0x0010);		/* capability list */
	c[0x0a] = 0x04;			/* PCI-to-PCI bridge */
	c[0x0b] = 0x06;
	c[0x0e] = 0x01;			/* type 1 header, single function */
	/* Bus numbers: primary 0, secondary = subordinate, the guest may renumber. */
	c[0x18] = 0;
	c[0x19] = secondary;
	c[0x1a] = secondary;
	memset(w + 0x18, 0xff, 4);	/* primary, secondary, subordinate, latency */
	/* Memory window, 1 MiB granularity (bits 15:4 of base and limit). */
	put16(c, 0x20, (uint16_t)((win_base >> 16) & 0xfff0));
	put16(c, 0x22, (uint16_t)((win_limit >> 16) & 0xfff0));
	put16(w, 0x20, 0xfff0);
	put16(w, 0x22, 0xfff0);
	c[0x34] = EXP;
	c[0x3c] = 0;
	w[0x3c] = 0xff;			/* interrupt line: scratch for the guest */
	c[0x3d] = 0;			/* no INTx: MSI only */
	put16(w, 0x3e, 0x0c1b);		/* bridge control: parity, SERR, ISA, VGA, bus reset... */

	/* PCIe capability, version 2: root port, slot implemented, interrupt message 0. */
	c[EXP] = 0x10;
	c[EXP + 1] = MSI;
	put16(c, EXP + HP_EXP_FLAGS, 0x0142);
	put32(c, EXP + 0x04, 0x00008000);	/* device caps: role-based error reporting */
	put16(w, EXP + 0x08, 0x7cff);		/* device control (payload sizes, errors) */
	put16(s->w1c, EXP + 0x0a, 0x000f);	/* device status errors: RW1C */
	/* Link caps: 2.5 GT/s, x1, Data Link Layer Link Active Reporting, port number chip. */
	put32(c, EXP + HP_EXP_LNKCAP, 0x00100011u | (chip & 0xff) << 24);
	put16(w, EXP + 0x10, 0x01c3);		/* link control: ASPM, RCB, common clock, ... */
	put16(c, EXP + HP_EXP_LNKSTA, 0x1001);	/* slot clock, 2.5 GT/s, link down */
	/* Slot caps: button, power controller, attention and power indicators, hot-plug
	 * capable, no command completed support, physical slot number chip. */
	put32(c, EXP + HP_EXP_SLTCAP, 0x0000005bu | 1u << 18 | (chip & 0x1fff) << 19);
	/* Slot control: power off, indicators off, no interrupts. */
	put16(c, EXP + HP_EXP_SLTCTL, HP_SLTCTL_PCC | 0x0300 | 0x00c0);
	put16(w, EXP + HP_EXP_SLTCTL, 0x1fff);
	put16(s->w1c, EXP + HP_EXP_SLTSTA, HP_SLTSTA_ABP | HP_SLTSTA_PFD | HP_SLTSTA_MRLSC |
	      HP_SLTSTA_PDC | HP_SLTSTA_CC | HP_SLTSTA_DLLSC);
	put16(w, EXP + 0x1c, 0x001f);		/* root control: error and PME interrupts */
	put16(s->w1c, EXP + 0x20 + 2, 0x0001);	/* root status: PME status */
	put32(c, EXP + 0x2c, 0x00000002);	/* link caps 2: 2.5 GT/s supported */
	put16(w, EXP + 0x28, 0x041f);		/* device control 2 */
	put16(c, EXP + 0x30, 0x0001);		/* link control 2: target 2.5 GT/s */
	put16(w, EXP + 0x30, 0x000f);

	/* MSI: one vector, 64-bit, no per-vector mask. */
	c[MSI] = 0x05;
	c[MSI + 1] = 0;
	put16(c, MSI_CTL, 0x0080);
	put16(w, MSI_CTL, 0x0001);		/* enable (one vector: MME stays 0) */
	put32(w, MSI + 4, 0xfffffffc);
	put32(w, MSI + 8, 0xffffffff);
	put16(w, MSI + 12, 0xffff);
}

uint32_t iovm_hpslot_read(const struct iovm_hpslot *s, unsigned off, unsigned len)
{
	uint32_t v = 0;

	if ((len != 1 && len != 2 && len != 4) || (off & 3) + len > 4 || off >= 4096)
		return ~0u;
	if (off >= IOVM_HPSLOT_CFG)
		return 0;
	memcpy(&v, s->cfg + off, len);
	return v;
}

unsigned iovm_hpslot_write(struct iovm_hpslot *s, unsigned off, unsigned len, uint32_t val)
{
	uint16_t ctl_before, ctl;
	bool pow_before;
	unsigned ev = 0;

	if ((len != 1 && len != 2 && len != 4) || (off & 3) + len > 4 || off >= IOVM_HPSLOT_CFG)
		return 0;
	ctl_before = get16(s, EXP + HP_EXP_SLTCTL);
	pow_before = iovm_hpslot_powered(s);
	for (unsigned i = 0; i < len; i++) {
		uint8_t b = (uint8_t)(val >> (8 * i));
		unsigned o = off + i;

		s->cfg[o] = (uint8_t)((s->cfg[o] & ~s->wmask[o]) | (b & s->wmask[o]));
		s->cfg[o] &= (uint8_t)~(b & s->w1c[o]);
	}
	ctl = get16(s, EXP + HP_EXP_SLTCTL);
	if (ctl != ctl_before) {
		bool pow = iovm_hpslot_powered(s);

		if (pow != pow_before)
			ev |= pow ? IOVM_HPSLOT_EV_POWER_ON : IOVM_HPSLOT_EV_POWER_OFF;
		ev |= update_link(s);
		/* An event already pending when the guest enables its interrupt interrupts now
		 * (the spec: the interrupt follows the logical AND of the bits). */
		if ((ctl & ~ctl_before & (HP_SLTCTL_HPIE | 0x101f)) && enabled_events(s))
			ev |= IOVM_HPSLOT_EV_IRQ;
	}
	return ev;
}

unsigned iovm_hpslot_insert(struct iovm_hpslot *s)
{
	if (s->present)
		return 0;
	set_presence(s, true);
	/* pciehp enables Presence Detect Changed interrupts only on slots without an
	 * attention button: with one, a new card waits for a press. So the button is pressed
	 * with the insertion (as QEMU's root ports do); pciehp sees both events in one
	 * interrupt and, finding a card present, powers the slot on at once instead of after
	 * the button's 5 s. */
	return raise(s, HP_SLTSTA_PDC | HP_SLTSTA_ABP) | update_link(s);
}

unsigned iovm_hpslot_button(struct iovm_hpslot *s)
{
	return raise(s, HP_SLTSTA_ABP);
}

unsigned iovm_hpslot_remove(struct iovm_hpslot *s)
{
	if (!s->present)
		return 0;
	set_presence(s, false);
	return raise(s, HP_SLTSTA_PDC) | update_link(s);
}

bool iovm_hpslot_powered(const struct iovm_hpslot *s)
{
	return !(get16(s, EXP + HP_EXP_SLTCTL) & HP_SLTCTL_PCC);
}

bool iovm_hpslot_link_up(const struct iovm_hpslot *s)
{
	return s->present && iovm_hpslot_powered(s);
}

uint8_t iovm_hpslot_secondary(const struct iovm_hpslot *s)
{
	return s->cfg[0x19];
}

uint8_t iovm_hpslot_subordinate(const struct iovm_hpslot *s)
{
	return s->cfg[0x1a];
}

bool iovm_hpslot_msi(const struct iovm_hpslot *s, uint64_t *addr, uint32_t *data)
{
	uint32_t lo, hi;

	if (!(get16(s, MSI_CTL) & 1))
		return false;
	memcpy(&lo, s->cfg + MSI + 4, 4);
	memcpy(&hi, s->cfg + MSI + 8, 4);
	*addr = (uint64_t)hi << 32 | lo;
	*data = get16(s, MSI + 12);
	return true;
}
