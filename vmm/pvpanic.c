#include "vmm/pvpanic.h"
#include "vmm/bus.h"
#include "vmm/pci.h"
#include "vmm/pcicfg.h"
#include "lib/log.h"

#include <string.h>

#define PVPANIC_PANICKED	0x01
#define PVPANIC_CRASH_LOADED	0x02
#define PVPANIC_BAR_SIZE	0x1000

static struct {
	struct iovm_vm *vm;
	uint8_t hdr[IOVM_PCICFG_HDR];	/* what the "device" side of the config space holds */
	struct iovm_pcicfg cfg;
	bool mapped;
	uint64_t mapped_at;
	uint64_t gpa0;		/* the address "firmware" gave BAR0 */
} pv;

/* The emulated device's own config space: read-only template, writes dropped. */
static int hdr_read(void *ctx, unsigned off, unsigned len, uint32_t *val)
{
	uint32_t v = 0;

	memcpy(&v, pv.hdr + off, len);
	*val = v;
	return 0;
}

static int hdr_write(void *ctx, unsigned off, unsigned len, uint32_t val)
{
	return 0;
}

static const struct iovm_pcicfg_ops hdr_ops = { hdr_read, hdr_write };

static uint64_t bar_read(void *opaque, uint64_t off, unsigned len)
{
	return off == 0 ? PVPANIC_PANICKED | PVPANIC_CRASH_LOADED : 0;
}

static void bar_write(void *opaque, uint64_t off, uint64_t val, unsigned len)
{
	if (off != 0)
		return;
	if (val & PVPANIC_PANICKED)
		iovm_vm_request_stop(pv.vm, IOVM_EXIT_CRASH, "guest panic (pvpanic)");
	else if (val & PVPANIC_CRASH_LOADED)
		iovm_vm_request_stop(pv.vm, IOVM_EXIT_CRASH, "guest crash, kdump kernel loaded (pvpanic)");
}

static const struct iovm_bus_ops bar_ops = { .read = bar_read, .write = bar_write };

static void bar_update(void)
{
	bool want = (iovm_pcicfg_command(&pv.cfg) & 0x2) && pv.cfg.bar[0].gpa &&
		    pv.cfg.bar[0].gpa >= IOVM_PCI_MMIO_START &&
		    pv.cfg.bar[0].gpa + PVPANIC_BAR_SIZE <= IOVM_PCI_MMIO_END;

	if (pv.mapped && (!want || pv.mapped_at != pv.cfg.bar[0].gpa)) {
		iovm_bus_del(IOVM_MMIO, pv.mapped_at, &pv);
		pv.mapped = false;
	}
	if (want && !pv.mapped &&
	    iovm_bus_add(IOVM_MMIO, pv.cfg.bar[0].gpa, PVPANIC_BAR_SIZE, "pvpanic", &bar_ops, &pv) == 0) {
		pv.mapped = true;
		pv.mapped_at = pv.cfg.bar[0].gpa;
	}
}

static uint32_t cfg_read(void *opaque, unsigned off, unsigned len)
{
	return iovm_pcicfg_read(&pv.cfg, off, len);
}

static void cfg_write(void *opaque, unsigned off, uint32_t val, unsigned len)
{
	if (iovm_pcicfg_write(&pv.cfg, off, len, val) & (IOVM_PCICFG_EV_CMD | IOVM_PCICFG_EV_BAR(0)))
		bar_update();
}

static const struct iovm_pci_ops pci_ops = { .cfg_read = cfg_read, .cfg_write = cfg_write };

/* Called with no vCPU running (the bus functions take the device lock themselves). */
void iovm_pvpanic_reset(void)
{
	const uint64_t sizes[IOVM_PCI_NBARS] = { PVPANIC_BAR_SIZE };

	if (pv.mapped)
		iovm_bus_del(IOVM_MMIO, pv.mapped_at, &pv);
	pv.mapped = false;
	if (iovm_pcicfg_init(&pv.cfg, pv.hdr, sizes, &hdr_ops, NULL) == 0)
		iovm_pcicfg_write(&pv.cfg, 0x10, 4, (uint32_t)pv.gpa0);
}

int iovm_pvpanic_init(struct iovm_vm *vm)
{
	const uint64_t sizes[IOVM_PCI_NBARS] = { PVPANIC_BAR_SIZE };
	uint64_t gpa;
	int ret;

	pv.vm = vm;
	memset(pv.hdr, 0, sizeof(pv.hdr));
	pv.hdr[0x00] = 0x36;	/* 1b36: Red Hat, Inc. (QEMU) */
	pv.hdr[0x01] = 0x1b;
	pv.hdr[0x02] = 0x11;	/* 0011: PCI pvpanic */
	pv.hdr[0x03] = 0x00;
	pv.hdr[0x08] = 0x01;	/* revision */
	pv.hdr[0x0a] = 0x80;	/* system peripheral, other */
	pv.hdr[0x0b] = 0x08;
	ret = iovm_pcicfg_init(&pv.cfg, pv.hdr, sizes, &hdr_ops, NULL);
	if (ret < 0)
		return ret;
	if ((ret = iovm_pci_alloc_mmio(PVPANIC_BAR_SIZE, &gpa)) < 0)
		return ret;
	iovm_pcicfg_write(&pv.cfg, 0x10, 4, (uint32_t)gpa);
	pv.gpa0 = gpa;
	ret = iovm_pci_add("pvpanic", &pci_ops, NULL);
	return ret < 0 ? ret : 0;
}
