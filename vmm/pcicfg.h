/* Virtual PCI config space of a passed-through device (pure: no VFIO calls, the device is
 * reached through caller-supplied callbacks, so unit tests use a fake).
 *
 * The guest sees a shadow of the device's header: BARs hold guest addresses and are sized
 * from the region sizes (not from the device), the expansion ROM reads 0, the
 * multifunction bit is clear, the capability list holds only PM, MSI, PCIe and MSI-X,
 * and everything from 0x100 (extended capabilities: SR-IOV, ARI, resizable BAR...) reads 0.
 * Each byte has a mask of emulated bits: those come from the shadow, the others from the
 * device. The PM and PCIe capability bodies and the status register go to the device
 * (the kernel's vfio-pci virtualizes what needs it, e.g. FLR through Device Control); MSI
 * and MSI-X control stay here and become VFIO_DEVICE_SET_IRQS calls by the caller.
 * Every offset the guest gives is bounds-checked here. */
#ifndef IOVM_PCICFG_H
#define IOVM_PCICFG_H

#include <stdbool.h>
#include <stdint.h>

#define IOVM_PCICFG_SIZE	4096	/* PCIe config space the guest may address */
#define IOVM_PCICFG_HDR		256	/* what is shadowed; above reads 0 */
#define IOVM_PCI_NBARS		6

#define IOVM_PCICFG_EV_CMD	(1u << 0)		/* memory or I/O decode changed */
#define IOVM_PCICFG_EV_BAR(i)	(1u << (1 + (i)))	/* BAR i moved */
#define IOVM_PCICFG_EV_MSIX	(1u << 8)		/* MSI-X enable / function mask */
#define IOVM_PCICFG_EV_MSI	(1u << 9)		/* MSI control, address, data or mask */

#define PCI_CAP_ID_PM		0x01
#define PCI_CAP_ID_MSI		0x05
#define PCI_CAP_ID_EXP		0x10
#define PCI_CAP_ID_MSIX		0x11

struct iovm_pcicfg_ops {
	int (*read)(void *ctx, unsigned off, unsigned len, uint32_t *val);
	int (*write)(void *ctx, unsigned off, unsigned len, uint32_t val);
};

struct iovm_pcicfg_bar {
	uint64_t size;		/* power of two; 0: not implemented (or upper half) */
	uint64_t gpa;		/* guest address as programmed */
	bool io, mem64, prefetch;
	bool upper;		/* the high dword of the 64-bit BAR before it */
};

struct iovm_msi_state {
	bool enabled;
	unsigned nvec;		/* vectors enabled (1 << MME) */
	unsigned max_vec;	/* capability's limit (1 << MMC) */
	uint64_t addr;
	uint32_t data;
	uint32_t mask;		/* per-vector mask bits (0 if not supported) */
};

struct iovm_pcicfg {
	uint8_t vcfg[IOVM_PCICFG_HDR];	/* shadow */
	uint8_t emu[IOVM_PCICFG_HDR];	/* emulated bits per byte */
	uint8_t wmask[IOVM_PCICFG_HDR];	/* guest-writable emulated bits */
	struct iovm_pcicfg_bar bar[IOVM_PCI_NBARS];
	uint8_t cap_pm, cap_msi, cap_exp, cap_msix;	/* offsets, 0 = absent/hidden */
	bool msi_64, msi_maskbit;
	uint16_t msix_nr;		/* table size */
	uint8_t msix_table_bir, msix_pba_bir;
	uint32_t msix_table_off, msix_pba_off;
	const struct iovm_pcicfg_ops *ops;
	void *ctx;
};

/* phys: the device's first 256 bytes; bar_size[i]: region size of BAR i (0 if absent).
 * -EINVAL if the header is not a type-0 header or a BAR size is not a power of two. */
int iovm_pcicfg_init(struct iovm_pcicfg *c, const uint8_t *phys,
		     const uint64_t bar_size[IOVM_PCI_NBARS], const struct iovm_pcicfg_ops *ops,
		     void *ctx);
/* Guest reads/writes: off < 4096, len 1/2/4, not crossing a dword; others read as all ones
 * and are dropped. write returns IOVM_PCICFG_EV_* bits. */
uint32_t iovm_pcicfg_read(struct iovm_pcicfg *c, unsigned off, unsigned len);
unsigned iovm_pcicfg_write(struct iovm_pcicfg *c, unsigned off, unsigned len, uint32_t val);

uint16_t iovm_pcicfg_command(const struct iovm_pcicfg *c);
bool iovm_pcicfg_msix_enabled(const struct iovm_pcicfg *c);
bool iovm_pcicfg_msix_fmask(const struct iovm_pcicfg *c);
void iovm_pcicfg_msi(const struct iovm_pcicfg *c, struct iovm_msi_state *out);

/* Where the guest put a memory BAR of size bytes at gpa. REFUSE: wrapping, or outside both
 * the PCI MMIO window [win_lo, win_hi) and the space above RAM (top) up to 2^46. DIRECT: page
 * aligned, so the device's pages can become KVM memory. TRAP: allowed but not page aligned
 * (a BAR smaller than a page needs only its own size's alignment): it works, every access
 * through the VMM. Pure. */
enum iovm_bar_place { IOVM_BAR_REFUSE, IOVM_BAR_TRAP, IOVM_BAR_DIRECT };
enum iovm_bar_place iovm_bar_placement(uint64_t gpa, uint64_t size, uint64_t win_lo,
				       uint64_t win_hi, uint64_t top);

#endif
