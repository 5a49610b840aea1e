#include "lib/intremap.h"
#include "lib/host.h"

#include <string.h>

/* Scans the chip-name columns of /proc/interrupts. Returns 1 if an IR- chip is present,
 * 0 if interrupt chips are listed but none remaps, -1 if nothing conclusive. */
static int scan_interrupts(const char *s)
{
	bool any_chip = false;

	for (const char *line = s; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		const char *p;

		for (p = line; p + 3 <= line + len; p++) {
			if ((p == line || p[-1] == ' ') && strncmp(p, "IR-", 3) == 0)
				return 1;
		}
		for (p = line; p + 7 <= line + len; p++) {
			if (strncmp(p, "IO-APIC", 7) == 0 || strncmp(p, "PCI-MSI", 7) == 0) {
				any_chip = true;
				break;
			}
		}
	}
	return any_chip ? 0 : -1;
}

void iov_intremap_decide(struct iov_iommu *io, const char *interrupts)
{
	int seen = interrupts ? scan_interrupts(interrupts) : -1;
	size_t intel = 0, intel_ir = 0, known = 0;

	for (size_t i = 0; i < io->n_units; i++) {
		if (io->units[i].vendor != IOV_IOMMU_INTEL)
			continue;
		intel++;
		if (io->units[i].regs_known) {
			known++;
			if (io->units[i].ecap & IOV_INTEL_ECAP_IR)
				intel_ir++;
		}
	}

	if (seen == 1) {
		io->intremap = 1;
		io->intremap_why = "remapped interrupt chips (IR-*) in /proc/interrupts";
	} else if (seen == 0) {
		io->intremap = 0;
		io->intremap_why = intel && known == intel && !intel_ir
			? "no DMAR unit supports it (ecap bit 3 clear) and no IR-* chips in /proc/interrupts"
			: "no IR-* chips in /proc/interrupts: interrupts are delivered without remapping";
	} else if (intel && known == intel && !intel_ir) {
		io->intremap = 0;
		io->intremap_why = "no DMAR unit supports it (ecap bit 3 clear)";
	} else if (io->n_units == 0) {
		io->intremap = 0;
		io->intremap_why = "no IOMMU units";
	} else {
		io->intremap = IOV_UNKNOWN;
		io->intremap_why = intel_ir
			? "DMAR units support it (ecap bit 3) but /proc/interrupts is unreadable"
			: "/proc/interrupts is unreadable and the IOMMU exposes no capability bit";
	}
}
