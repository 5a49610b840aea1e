/* The hot-plug root port's register model (vmm/hpslot.c): what the guest's pciehp reads and
 * writes, the events iovm raises, and guest-controlled offsets. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "vmm/hpslot.h"

#define EXP IOVM_HPSLOT_EXP
#define MSI IOVM_HPSLOT_MSI

static uint16_t r16(struct iovm_hpslot *s, unsigned off)
{
	return (uint16_t)iovm_hpslot_read(s, off, 2);
}

static uint16_t sta(struct iovm_hpslot *s)
{
	return r16(s, EXP + HP_EXP_SLTSTA);
}

static uint16_t ctl(struct iovm_hpslot *s)
{
	return r16(s, EXP + HP_EXP_SLTCTL);
}

static unsigned wctl(struct iovm_hpslot *s, uint16_t v)
{
	return iovm_hpslot_write(s, EXP + HP_EXP_SLTCTL, 2, v);
}

/* What pciehp does at probe (pcie_enable_notification): link events always, the button's
 * (and then no presence events: a slot with a button waits for a press), the interrupt. */
static void pciehp_probe(struct iovm_hpslot *s)
{
	/* Enable MSI first (portdrv), then the slot's events. */
	iovm_hpslot_write(s, MSI + 4, 4, 0xfee00000);
	iovm_hpslot_write(s, MSI + 12, 2, 0x4041);
	iovm_hpslot_write(s, MSI + 2, 2, 1);
	wctl(s, (uint16_t)(ctl(s) | HP_SLTCTL_HPIE | HP_SLTCTL_ABPE | HP_SLTCTL_DLLSCE));
}

static void header(void **state)
{
	struct iovm_hpslot s;
	uint64_t addr;
	uint32_t data, cap;

	iovm_hpslot_init(&s, 2, 2, 0xc0200000, 0xc03fffff);
	assert_int_equal(iovm_hpslot_read(&s, 0, 4), 0x000c1b36);
	assert_int_equal(iovm_hpslot_read(&s, 0x08, 4) >> 8, 0x060400);	/* PCI bridge */
	assert_int_equal(iovm_hpslot_read(&s, 0x0e, 1), 1);			/* type 1 */
	assert_int_equal(iovm_hpslot_secondary(&s), 2);
	assert_int_equal(iovm_hpslot_subordinate(&s), 2);
	assert_int_equal(r16(&s, 0x20), 0xc020);	/* memory base (bits 31:20) */
	assert_int_equal(r16(&s, 0x22), 0xc030);	/* memory limit */
	assert_int_equal(iovm_hpslot_read(&s, 0x34, 1), EXP);
	assert_int_equal(iovm_hpslot_read(&s, 0x3d, 1), 0);	/* no INTx */
	/* PCIe capability: root port (4), slot implemented, then MSI. */
	assert_int_equal(iovm_hpslot_read(&s, EXP, 1), 0x10);
	assert_int_equal(iovm_hpslot_read(&s, EXP + 1, 1), MSI);
	assert_int_equal((r16(&s, EXP + HP_EXP_FLAGS) >> 4) & 0xf, 4);
	assert_true(r16(&s, EXP + HP_EXP_FLAGS) & 0x100);
	cap = iovm_hpslot_read(&s, EXP + HP_EXP_SLTCAP, 4);
	assert_true(cap & 0x01);		/* attention button */
	assert_true(cap & 0x02);		/* power controller */
	assert_false(cap & 0x04);		/* no MRL sensor */
	assert_true(cap & 0x40);		/* hot-plug capable */
	assert_false(cap & 0x20);		/* not surprise-capable */
	assert_true(cap & (1u << 18));		/* no command completed support */
	assert_int_equal(cap >> 19, 2);		/* physical slot number */
	assert_true(iovm_hpslot_read(&s, EXP + HP_EXP_LNKCAP, 4) & (1u << 20));	/* DLLLARC */
	/* Empty, off, link down; MSI capability with nothing enabled. */
	assert_false(sta(&s) & HP_SLTSTA_PDS);
	assert_false(iovm_hpslot_powered(&s));
	assert_false(iovm_hpslot_link_up(&s));
	assert_int_equal(iovm_hpslot_read(&s, MSI, 1), 0x05);
	assert_false(iovm_hpslot_msi(&s, &addr, &data));
	/* No I/O or prefetchable window: they stay zero whatever the guest writes. */
	iovm_hpslot_write(&s, 0x1c, 2, 0xf0f0);
	iovm_hpslot_write(&s, 0x24, 4, 0xfff0fff0);
	assert_int_equal(r16(&s, 0x1c), 0);
	assert_int_equal(iovm_hpslot_read(&s, 0x24, 4), 0);
	/* Read-only IDs. */
	iovm_hpslot_write(&s, 0, 4, 0xffffffff);
	assert_int_equal(iovm_hpslot_read(&s, 0, 4), 0x000c1b36);
}

static void attach_flow(void **state)
{
	struct iovm_hpslot s;
	uint64_t addr;
	uint32_t data;
	unsigned ev;

	iovm_hpslot_init(&s, 1, 1, 0xc0000000, 0xc01fffff);
	/* An event before pciehp enabled interrupts: no interrupt, but pending. */
	pciehp_probe(&s);
	assert_true(iovm_hpslot_msi(&s, &addr, &data));
	assert_int_equal(addr, 0xfee00000);
	assert_int_equal(data, 0x4041);
	/* The card goes in: presence detect changed and the button pressed with it, so that
	 * pciehp (which enables no presence interrupt with a button) gets an interrupt; the
	 * link stays down until power is on. */
	ev = iovm_hpslot_insert(&s);
	assert_true(ev & IOVM_HPSLOT_EV_IRQ);
	assert_true(sta(&s) & HP_SLTSTA_PDS);
	assert_true(sta(&s) & HP_SLTSTA_PDC);
	assert_true(sta(&s) & HP_SLTSTA_ABP);
	assert_false(iovm_hpslot_link_up(&s));
	assert_int_equal(iovm_hpslot_insert(&s), 0);	/* twice: nothing */
	/* pciehp clears the events (RW1C) ... */
	assert_int_equal(iovm_hpslot_write(&s, EXP + HP_EXP_SLTSTA, 2, HP_SLTSTA_PDC |
					   HP_SLTSTA_ABP), 0);
	assert_false(sta(&s) & (HP_SLTSTA_PDC | HP_SLTSTA_ABP));
	assert_true(sta(&s) & HP_SLTSTA_PDS);		/* presence state is not RW1C */
	/* ... and powers the slot on: link up, DLLSC with an interrupt. */
	ev = wctl(&s, (uint16_t)(ctl(&s) & ~HP_SLTCTL_PCC));
	assert_true(ev & IOVM_HPSLOT_EV_POWER_ON);
	assert_true(ev & IOVM_HPSLOT_EV_IRQ);
	assert_true(iovm_hpslot_link_up(&s));
	assert_true(r16(&s, EXP + HP_EXP_LNKSTA) & HP_LNKSTA_DLLLA);
	assert_int_equal((r16(&s, EXP + HP_EXP_LNKSTA) >> 4) & 0x3f, 1);	/* x1 */
	assert_false(r16(&s, EXP + HP_EXP_LNKSTA) & 0x0800);	/* not training */
	assert_true(sta(&s) & HP_SLTSTA_DLLSC);
	/* Indicator writes change no power state and make no interrupt (no CC). */
	ev = wctl(&s, (uint16_t)((ctl(&s) & ~HP_SLTCTL_PIC) | 0x0100));
	assert_false(ev & (IOVM_HPSLOT_EV_POWER_ON | IOVM_HPSLOT_EV_POWER_OFF));
	assert_false(sta(&s) & HP_SLTSTA_CC);
}

static void detach_flows(void **state)
{
	struct iovm_hpslot s;
	unsigned ev;

	iovm_hpslot_init(&s, 1, 1, 0xc0000000, 0xc01fffff);
	pciehp_probe(&s);
	iovm_hpslot_insert(&s);
	wctl(&s, (uint16_t)(ctl(&s) & ~HP_SLTCTL_PCC));
	iovm_hpslot_write(&s, EXP + HP_EXP_SLTSTA, 2, 0xffff);	/* all events cleared */
	assert_int_equal(sta(&s) & 0x11f, 0);
	/* The attention button: an interrupt; the guest then powers off: released. */
	ev = iovm_hpslot_button(&s);
	assert_true(ev & IOVM_HPSLOT_EV_IRQ);
	assert_true(sta(&s) & HP_SLTSTA_ABP);
	/* A second press while the first is pending: no new interrupt (the bit is set). */
	assert_false(iovm_hpslot_button(&s) & IOVM_HPSLOT_EV_IRQ);
	iovm_hpslot_write(&s, EXP + HP_EXP_SLTSTA, 2, HP_SLTSTA_ABP);
	ev = wctl(&s, (uint16_t)(ctl(&s) | HP_SLTCTL_PCC));
	assert_true(ev & IOVM_HPSLOT_EV_POWER_OFF);
	assert_false(iovm_hpslot_link_up(&s));
	assert_true(sta(&s) & HP_SLTSTA_PDS);		/* the card is still in */
	/* iovm takes it out: presence changes, the link was down already, and pciehp (no
	 * presence interrupts with a button) is not interrupted for a slot it turned off. */
	ev = iovm_hpslot_remove(&s);
	assert_false(ev & IOVM_HPSLOT_EV_IRQ);
	assert_false(sta(&s) & HP_SLTSTA_PDS);
	assert_true(sta(&s) & HP_SLTSTA_PDC);
	assert_int_equal(iovm_hpslot_remove(&s), 0);	/* twice: nothing */

	/* Surprise removal of a powered card: presence and link go at once. */
	iovm_hpslot_init(&s, 1, 1, 0xc0000000, 0xc01fffff);
	pciehp_probe(&s);
	iovm_hpslot_insert(&s);
	wctl(&s, (uint16_t)(ctl(&s) & ~HP_SLTCTL_PCC));
	iovm_hpslot_write(&s, EXP + HP_EXP_SLTSTA, 2, 0xffff);
	ev = iovm_hpslot_remove(&s);
	assert_true(ev & IOVM_HPSLOT_EV_IRQ);
	assert_true(sta(&s) & HP_SLTSTA_PDC);
	assert_true(sta(&s) & HP_SLTSTA_DLLSC);
	assert_false(r16(&s, EXP + HP_EXP_LNKSTA) & HP_LNKSTA_DLLLA);
}

static void interrupts_gated(void **state)
{
	struct iovm_hpslot s;
	unsigned ev;

	iovm_hpslot_init(&s, 1, 1, 0xc0000000, 0xc01fffff);
	/* No HPIE: events are recorded, no interrupt. */
	wctl(&s, (uint16_t)(ctl(&s) | HP_SLTCTL_PDCE));
	ev = iovm_hpslot_insert(&s);
	assert_false(ev & IOVM_HPSLOT_EV_IRQ);
	assert_true(sta(&s) & HP_SLTSTA_PDC);
	/* Presence alone with only PDCE off (pciehp's setting with a button) and HPIE on:
	 * the button pressed with it interrupts. */
	{
		struct iovm_hpslot t;

		iovm_hpslot_init(&t, 1, 1, 0xc0000000, 0xc01fffff);
		wctl(&t, (uint16_t)(ctl(&t) | HP_SLTCTL_HPIE | HP_SLTCTL_DLLSCE));
		assert_false(iovm_hpslot_insert(&t) & IOVM_HPSLOT_EV_IRQ);	/* no ABPE */
		iovm_hpslot_init(&t, 1, 1, 0xc0000000, 0xc01fffff);
		wctl(&t, (uint16_t)(ctl(&t) | HP_SLTCTL_HPIE | HP_SLTCTL_ABPE));
		assert_true(iovm_hpslot_insert(&t) & IOVM_HPSLOT_EV_IRQ);
	}
	/* Enabling HPIE with the event pending interrupts at once. */
	ev = wctl(&s, (uint16_t)(ctl(&s) | HP_SLTCTL_HPIE));
	assert_true(ev & IOVM_HPSLOT_EV_IRQ);
	/* An event whose enable bit is clear (the button without ABPE): none. */
	iovm_hpslot_write(&s, EXP + HP_EXP_SLTSTA, 2, 0xffff);
	ev = iovm_hpslot_button(&s);
	assert_false(ev & IOVM_HPSLOT_EV_IRQ);
}

static void hostile_offsets(void **state)
{
	struct iovm_hpslot s, before;

	iovm_hpslot_init(&s, 1, 1, 0xc0000000, 0xc01fffff);
	before = s;
	/* Bad sizes, dword-crossing and out-of-range accesses: all ones, dropped. */
	assert_int_equal(iovm_hpslot_read(&s, 0x03, 2), 0xffffffffu);
	assert_int_equal(iovm_hpslot_read(&s, 0, 3), 0xffffffffu);
	assert_int_equal(iovm_hpslot_read(&s, 4096, 4), 0xffffffffu);
	assert_int_equal(iovm_hpslot_read(&s, 0x100, 4), 0);	/* no extended capabilities */
	assert_int_equal(iovm_hpslot_read(&s, 0xffc, 4), 0);
	assert_int_equal(iovm_hpslot_write(&s, 0x03, 2, 0xffff), 0);
	assert_int_equal(iovm_hpslot_write(&s, 0, 8, 0), 0);
	assert_int_equal(iovm_hpslot_write(&s, 0x100, 4, 0xffffffff), 0);
	assert_int_equal(iovm_hpslot_write(&s, 0xffffffffu, 1, 0xff), 0);
	assert_memory_equal(&s, &before, sizeof(s));
	/* Read-only capability registers stay as they are. */
	iovm_hpslot_write(&s, EXP + HP_EXP_SLTCAP, 4, 0);
	iovm_hpslot_write(&s, EXP + HP_EXP_LNKSTA, 2, 0xffff);
	iovm_hpslot_write(&s, EXP + HP_EXP_SLTSTA, 2, 0xffff);	/* cannot fake presence */
	assert_memory_equal(&s, &before, sizeof(s));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(header),
		cmocka_unit_test(attach_flow),
		cmocka_unit_test(detach_flows),
		cmocka_unit_test(interrupts_gated),
		cmocka_unit_test(hostile_offsets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
