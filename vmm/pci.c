#include "vmm/pci.h"
#include "vmm/bus.h"

#include <errno.h>
#include <string.h>

#define PCI_MAX_DEV	32
#define CONF1_ADDR	0xcf8
#define CONF1_DATA	0xcfc
#define MAX_EXCL	32

struct pci_slot {
	const char *name;
	const struct iovm_pci_ops *ops;
	void *opaque;
};

static struct {
	struct iovm_vm *vm;
	iovm_pci_bus_fn sub;	/* buses behind bridges (vmm/hotplug.c) */
	uint32_t addr;		/* conf1 address register */
	struct pci_slot dev[PCI_MAX_DEV];
	uint64_t mmio_next;
	struct iovm_range excl[MAX_EXCL];
	int nexcl;
	uint8_t hb_cfg[64];	/* the host bridge's header */
} pci;

/* ---- host bridge 00:00.0: read-only header ---- */

static uint32_t hb_read(void *opaque, unsigned off, unsigned len)
{
	uint32_t v = 0;

	if (off + len <= sizeof(pci.hb_cfg))
		memcpy(&v, pci.hb_cfg + off, len);
	return v;
}

static void hb_write(void *opaque, unsigned off, uint32_t val, unsigned len) { }

static const struct iovm_pci_ops hb_ops = { .cfg_read = hb_read, .cfg_write = hb_write };

/* ---- conf1 ---- */

/* A function on a bus behind a bridge: what the bridge's owner says is there. One slot per
 * call; every caller holds the bus lock (vmm/bus.c), so it stays valid while used. */
static struct pci_slot *sub_target(unsigned bus, unsigned dev)
{
	static struct pci_slot s;

	if (!pci.sub || !(s.ops = pci.sub(bus, dev, &s.opaque)))
		return NULL;
	s.name = "behind a bridge";
	return &s;
}

static struct pci_slot *conf1_target(unsigned *reg)
{
	unsigned bus = (pci.addr >> 16) & 0xff, dev = (pci.addr >> 11) & 0x1f,
		 fn = (pci.addr >> 8) & 7;

	if (!(pci.addr & 0x80000000u) || fn != 0)
		return NULL;
	*reg = pci.addr & 0xfc;
	if (bus != 0)
		return sub_target(bus, dev);
	return pci.dev[dev].ops ? &pci.dev[dev] : NULL;
}

static uint64_t conf1_read(void *opaque, uint64_t off, unsigned len)
{
	struct pci_slot *s;
	unsigned reg;

	if (off < 4) {		/* address register, any byte lane */
		if (len == 1 && off == 1)
			return 0;	/* 0xcf9 reset control reads 0 */
		return (pci.addr >> (8 * off)) & (len == 4 ? 0xffffffffu : (1u << (8 * len)) - 1);
	}
	off -= 4;
	if (off + len > 4 || !(s = conf1_target(&reg)))
		return ~0ull;
	return s->ops->cfg_read(s->opaque, reg + (unsigned)off, len);
}

static void conf1_write(void *opaque, uint64_t off, uint64_t val, unsigned len)
{
	struct pci_slot *s;
	unsigned reg;

	if (off < 4) {
		if (len == 1 && off == 1) {
			/* PIIX reset control (0xcf9): bit 2 starts the reset (`reboot=pci`). */
			if (val & 0x04)
				iovm_vm_request_stop(pci.vm, IOVM_EXIT_REBOOT,
						     "guest reset (port 0xcf9)");
			return;
		}
		if (len == 4) {
			pci.addr = (uint32_t)val;
		} else if (off + len <= 4) {
			uint32_t mask = ((1u << (8 * len)) - 1) << (8 * off);

			pci.addr = (pci.addr & ~mask) | (((uint32_t)val << (8 * off)) & mask);
		}
		return;
	}
	off -= 4;
	if (off + len > 4 || !(s = conf1_target(&reg)))
		return;
	s->ops->cfg_write(s->opaque, reg + (unsigned)off, (uint32_t)val, len);
}

static const struct iovm_bus_ops conf1_ops = { .read = conf1_read, .write = conf1_write };

/* ---- ECAM: offset = bus << 20 | device << 15 | function << 12 | register ---- */

static struct pci_slot *ecam_target(uint64_t off, unsigned len, unsigned *reg)
{
	unsigned dev = (unsigned)(off >> 15) & 0x1f, fn = (unsigned)(off >> 12) & 7;

	*reg = (unsigned)off & 0xfff;
	/* Bus 0 (the window is 1 MiB), function 0, no access across a dword. */
	if (fn != 0 || (*reg & 3) + len > 4 || !pci.dev[dev].ops)
		return NULL;
	return &pci.dev[dev];
}

static uint64_t ecam_read(void *opaque, uint64_t off, unsigned len)
{
	unsigned reg;
	struct pci_slot *s = ecam_target(off, len, &reg);

	return s ? s->ops->cfg_read(s->opaque, reg, len) : ~0ull;
}

static void ecam_write(void *opaque, uint64_t off, uint64_t val, unsigned len)
{
	unsigned reg;
	struct pci_slot *s = ecam_target(off, len, &reg);

	if (s)
		s->ops->cfg_write(s->opaque, reg, (uint32_t)val, len);
}

static const struct iovm_bus_ops ecam_ops = { .read = ecam_read, .write = ecam_write };

void iovm_pci_set_sub(iovm_pci_bus_fn fn)
{
	pci.sub = fn;
}

int iovm_pci_add(const char *name, const struct iovm_pci_ops *ops, void *opaque)
{
	for (int d = 0; d < PCI_MAX_DEV; d++) {
		if (!pci.dev[d].ops) {
			pci.dev[d] = (struct pci_slot){ name, ops, opaque };
			return d;
		}
	}
	return -ENOSPC;
}

void iovm_pci_exclude(const struct iovm_range *r, int n)
{
	for (int i = 0; i < n && pci.nexcl < MAX_EXCL; i++)
		pci.excl[pci.nexcl++] = r[i];
}

int iovm_pci_alloc_mmio(uint64_t size, uint64_t *gpa)
{
	uint64_t a;

	if (size < 4096)
		size = 4096;
	if (size & (size - 1))
		return -EINVAL;
	a = (pci.mmio_next + size - 1) & ~(size - 1);
	for (int i = 0; i < pci.nexcl; i++) {
		if (a < pci.excl[i].end && pci.excl[i].start < a + size) {
			a = (pci.excl[i].end + size - 1) & ~(size - 1);
			i = -1;		/* re-check every range from the new start */
		}
	}
	if (a + size > IOVM_PCI_MMIO_END || a + size < a)
		return -ENOSPC;
	pci.mmio_next = a + size;
	*gpa = a;
	return 0;
}

int iovm_pci_init(struct iovm_vm *vm)
{
	int ret;

	pci.vm = vm;
	pci.mmio_next = IOVM_PCI_MMIO_START;
	memset(pci.hb_cfg, 0, sizeof(pci.hb_cfg));
	pci.hb_cfg[0x00] = 0x86;	/* vendor 8086 */
	pci.hb_cfg[0x01] = 0x80;
	pci.hb_cfg[0x02] = 0x57;	/* device 0d57: a host bridge with no chipset quirks */
	pci.hb_cfg[0x03] = 0x0d;
	pci.hb_cfg[0x0a] = 0x00;	/* subclass: host bridge */
	pci.hb_cfg[0x0b] = 0x06;	/* class: bridge */
	ret = iovm_pci_add("host-bridge", &hb_ops, NULL);
	if (ret < 0)
		return ret;
	ret = iovm_bus_add(IOVM_PIO, CONF1_ADDR, 8, "pci-conf1", &conf1_ops, NULL);
	if (ret < 0)
		return ret;
	return iovm_bus_add(IOVM_MMIO, IOVM_PCI_ECAM_BASE, IOVM_PCI_ECAM_SIZE, "pci-ecam",
			    &ecam_ops, NULL);
}
