/* A PCI Express root port with a native hot-plug slot, as the guest's pciehp driver sees it
 * (pure: registers and state only, no KVM or VFIO; the caller, vmm/hotplug.c, delivers the
 * interrupt and plugs the device in).
 *
 * Type 1 header (1b36:000c, QEMU's generic root port IDs), a non-prefetchable memory window
 * the guest may program (no I/O, no prefetchable window: both read as zero, which is how
 * a bridge says it has none), a PCIe capability (root port, slot implemented) and an MSI
 * capability (one vector, 64-bit; no INTx: the interrupt pin is 0).
 *
 * The slot (PCIe base spec, 7.5.3.9-7.5.3.11, 6.7): attention button, power controller,
 * power and attention indicators, no MRL, not surprise-capable, no command-completed
 * interrupts (No Command Completed Support: pciehp then never waits for one). Link
 * capabilities report Data Link Layer Link Active Reporting, so pciehp waits for DLLLA
 * instead of sleeping. The link is up when a card is present and the slot powered.
 *
 * Events the VMM makes: insert (Presence Detect State set, Presence Detect Changed and
 * Attention Button Pressed: pciehp enables no presence interrupt on a slot with a button), the
 * attention button (Attention Button Pressed: pciehp waits 5 s, then unbinds the driver and
 * powers the slot off), and remove (presence and link gone: a surprise removal when the
 * slot was on). Each returns IOVM_HPSLOT_EV_IRQ when the guest asked for an interrupt for
 * it (HPIE and the event's enable bit). Guest writes to Slot Control may turn power on or
 * off: IOVM_HPSLOT_EV_POWER_ON / _OFF; a power-off with a card present is the guest's
 * release of it. Link Status follows power and presence, Data Link Layer State Changed
 * is raised on each link change. Every offset the guest gives is checked here. */
#ifndef IOVM_HPSLOT_H
#define IOVM_HPSLOT_H

#include <stdbool.h>
#include <stdint.h>

#define IOVM_HPSLOT_CFG		256	/* emulated config space; above reads 0 */
#define IOVM_HPSLOT_EXP		0x40	/* PCIe capability */
#define IOVM_HPSLOT_MSI		0x80	/* MSI capability */

/* Registers inside the PCIe capability (offsets from IOVM_HPSLOT_EXP). */
#define HP_EXP_FLAGS	0x02
#define HP_EXP_LNKCAP	0x0c
#define HP_EXP_LNKSTA	0x12
#define HP_EXP_SLTCAP	0x14
#define HP_EXP_SLTCTL	0x18
#define HP_EXP_SLTSTA	0x1a

/* Slot Control bits */
#define HP_SLTCTL_ABPE	0x0001
#define HP_SLTCTL_PFDE	0x0002
#define HP_SLTCTL_MRLSCE 0x0004
#define HP_SLTCTL_PDCE	0x0008
#define HP_SLTCTL_CCIE	0x0010
#define HP_SLTCTL_HPIE	0x0020
#define HP_SLTCTL_AIC	0x00c0
#define HP_SLTCTL_PIC	0x0300
#define HP_SLTCTL_PCC	0x0400	/* 1: power off */
#define HP_SLTCTL_EIC	0x0800
#define HP_SLTCTL_DLLSCE 0x1000
/* Slot Status bits */
#define HP_SLTSTA_ABP	0x0001
#define HP_SLTSTA_PFD	0x0002
#define HP_SLTSTA_MRLSC	0x0004
#define HP_SLTSTA_PDC	0x0008
#define HP_SLTSTA_CC	0x0010
#define HP_SLTSTA_MRLSS	0x0020
#define HP_SLTSTA_PDS	0x0040
#define HP_SLTSTA_EIS	0x0080
#define HP_SLTSTA_DLLSC	0x0100
/* Link Status bits */
#define HP_LNKSTA_NLW_X1 0x0010
#define HP_LNKSTA_DLLLA	0x2000

#define IOVM_HPSLOT_EV_IRQ	(1u << 0)	/* send the port's interrupt */
#define IOVM_HPSLOT_EV_POWER_ON	(1u << 1)	/* the guest turned slot power on */
#define IOVM_HPSLOT_EV_POWER_OFF (1u << 2)	/* ... off (with a card in: released it) */

struct iovm_hpslot {
	uint8_t cfg[IOVM_HPSLOT_CFG];
	uint8_t wmask[IOVM_HPSLOT_CFG];		/* guest-writable bits */
	uint8_t w1c[IOVM_HPSLOT_CFG];		/* write-1-to-clear bits */
	bool present;				/* a card is in the slot */
};

/* Port number and physical slot number chip (1..), the secondary bus the port starts with
 * (subordinate = secondary), and the memory window [base, limit] as firmware would program
 * it (1 MiB granularity; base > limit: none). */
void iovm_hpslot_init(struct iovm_hpslot *s, unsigned chip, uint8_t secondary, uint32_t win_base,
		      uint32_t win_limit);
/* Guest accesses: off < 4096, len 1/2/4 within a dword; others read all ones / are dropped. */
uint32_t iovm_hpslot_read(const struct iovm_hpslot *s, unsigned off, unsigned len);
unsigned iovm_hpslot_write(struct iovm_hpslot *s, unsigned off, unsigned len, uint32_t val);

/* VMM events (see above). insert on a slot with a card, or remove on an empty one: 0. */
unsigned iovm_hpslot_insert(struct iovm_hpslot *s);
unsigned iovm_hpslot_button(struct iovm_hpslot *s);
unsigned iovm_hpslot_remove(struct iovm_hpslot *s);

bool iovm_hpslot_powered(const struct iovm_hpslot *s);
/* Link up: card present and powered; only then does config space below the port answer. */
bool iovm_hpslot_link_up(const struct iovm_hpslot *s);
uint8_t iovm_hpslot_secondary(const struct iovm_hpslot *s);
uint8_t iovm_hpslot_subordinate(const struct iovm_hpslot *s);
/* The MSI message when the guest enabled MSI; false otherwise (no interrupt to send). */
bool iovm_hpslot_msi(const struct iovm_hpslot *s, uint64_t *addr, uint32_t *data);

#endif
