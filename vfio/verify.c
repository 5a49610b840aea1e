#include "vfio/verify.h"

#include "lib/host.h"
#include "vfio/guard.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The ACS bits the kernel requires on every bridge between a device and the root complex
 * before it gives the device a group of its own (drivers/iommu/iommu.c REQ_ACS_FLAGS). */
#define REQ_ACS (IOV_ACS_SV | IOV_ACS_RR | IOV_ACS_CR | IOV_ACS_UF)

static const char *const check_names[IOV_CHECK_COUNT] = {
	[IOV_CHECK_IOMMU] = "iommu",
	[IOV_CHECK_INTREMAP] = "interrupt_remapping",
	[IOV_CHECK_GROUP_VIABLE] = "group_viable",
	[IOV_CHECK_ACS] = "acs",
	[IOV_CHECK_RESET] = "reset",
	[IOV_CHECK_HOST_CRITICAL] = "host_critical",
	[IOV_CHECK_NUMA] = "numa",
};

const char *iov_check_name(enum iov_check_id id)
{
	return (unsigned)id < IOV_CHECK_COUNT ? check_names[id] : "?";
}

const char *iov_check_status_name(enum iov_check_status s)
{
	switch (s) {
	case IOV_CHECK_OK: return "ok";
	case IOV_CHECK_FAIL: return "fail";
	default: return "unknown";
	}
}

bool iov_check_counts(enum iov_check_id id)
{
	return id != IOV_CHECK_NUMA;
}

bool iov_driver_vfio_safe(const char *drv)
{
	size_t n;

	if (!drv)
		return true;
	if (!strcmp(drv, "vfio-pci") || !strcmp(drv, "pci-stub") || !strcmp(drv, "pcieport"))
		return true;
	/* Vendor variant drivers built on vfio-pci-core: mlx5_vfio_pci, hisi_acc_vfio_pci,
	 * pds_vfio_pci, virtio_vfio_pci, ... */
	n = strlen(drv);
	return n > 9 && !strcmp(drv + n - 9, "_vfio_pci");
}

__attribute__((format(printf, 3, 4)))
static void set(struct iov_check *c, enum iov_check_status st, const char *fmt, ...)
{
	va_list ap;

	c->status = st;
	va_start(ap, fmt);
	vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 2, 3)))
static void fix(struct iov_check *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->fix, sizeof(c->fix), fmt, ap);
	va_end(ap);
}

/* Appends to a reason buffer, truncating quietly. */
__attribute__((format(printf, 3, 4)))
static void cat(char *buf, size_t len, const char *fmt, ...)
{
	size_t n = strlen(buf);
	va_list ap;

	if (n + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
}

static const char *enable_iommu_fix(const struct iov_host *h)
{
	if (h->iommu.vendor == IOV_IOMMU_AMD)
		return "enable AMD-Vi (IOMMU) in the firmware and boot without amd_iommu=off "
		       "(iommu=pt is fine)";
	return "enable VT-d in the firmware and boot with intel_iommu=on (iommu=pt is fine); "
	       "in QEMU add -device intel-iommu,intremap=on";
}

/* ---- iommu ---- */

static void check_iommu(const struct iov_host *h, const struct iov_dev *d, struct iov_check *c)
{
	const struct iov_group *g = d->group;

	if (!h->iommu.enabled) {
		if (h->iommu.n_units)
			set(c, IOV_CHECK_FAIL, "IOMMU hardware (%s) is present but DMA translation "
			    "is off: sys/kernel/iommu_groups is empty, a VM could DMA anywhere",
			    h->iommu.units[0].name);
		else
			set(c, IOV_CHECK_FAIL, "no IOMMU: no sys/class/iommu units and no "
			    "sys/kernel/iommu_groups, a VM could DMA anywhere");
		fix(c, "%s", enable_iommu_fix(h));
		return;
	}
	if (!g) {
		if (d->bad & IOV_BAD_GROUP) {
			set(c, IOV_CHECK_UNKNOWN, "%s/iommu_group is unreadable", d->name);
			fix(c, "ls -l /sys/bus/pci/devices/%s/iommu_group (a broken link means "
			    "sysfs is damaged or the device is being removed)", d->name);
			return;
		}
		set(c, IOV_CHECK_FAIL, "the IOMMU is on but %s has no IOMMU group: no IOMMU "
		    "unit translates for it", d->name);
		fix(c, "check the firmware's DMAR/IVRS tables cover this slot (dmesg | grep -i "
		    "-e DMAR -e AMD-Vi)");
		return;
	}
	if (!g->type) {
		set(c, IOV_CHECK_OK, "IOMMU group %d (its type file is unreadable; older "
		    "kernels have none)", g->id);
		return;
	}
	if (!strcmp(g->type, "identity")) {
		/* The type file shows the default domain, which host drivers use. VFIO never
		 * uses it: when a VM attaches the group, vfio_iommu_type1 claims DMA ownership
		 * and attaches its own translated (unmanaged) domain, so iommu=pt does not
		 * weaken the VM's isolation. */
		set(c, IOV_CHECK_OK, "IOMMU group %d; its default domain is identity "
		    "(iommu=pt): host drivers' DMA is untranslated, but VFIO attaches a "
		    "translated domain when a VM opens the group", g->id);
		return;
	}
	set(c, IOV_CHECK_OK, "the IOMMU (%s) translates DMA: group %d, domain type %s",
	    iov_iommu_vendor_name(h->iommu.vendor) ? iov_iommu_vendor_name(h->iommu.vendor)
						   : "unknown vendor",
	    g->id, g->type);
}

/* ---- interrupt_remapping ---- */

static void check_intremap(const struct iov_host *h, struct iov_check *c)
{
	const char *why = h->iommu.intremap_why ? h->iommu.intremap_why : "no evidence";

	if (h->iommu.intremap == 1) {
		set(c, IOV_CHECK_OK, "interrupt remapping is on (%s)", why);
		return;
	}
	if (h->iommu.intremap == IOV_UNKNOWN) {
		set(c, IOV_CHECK_UNKNOWN, "could not tell whether interrupt remapping is on (%s)",
		    why);
		fix(c, "look for \"DMAR-IR: Enabled IRQ remapping\" or \"AMD-Vi: Interrupt "
		    "remapping enabled\" in dmesg, or IR- chips in /proc/interrupts");
		return;
	}
	set(c, IOV_CHECK_FAIL, "interrupt remapping is off (%s): a VM can forge MSI writes "
	    "and raise interrupts in the host%s", why,
	    h->iommu.unsafe_interrupts == 1
		? "; vfio_iommu_type1 allow_unsafe_interrupts=1 is set, so VFIO runs anyway"
		: "; VFIO refuses the group unless vfio_iommu_type1 allow_unsafe_interrupts=1");
	fix(c, "enable interrupt remapping (x2APIC/VT-d in the firmware, no intremap=off on "
	    "the kernel command line; QEMU: intel-iommu,intremap=on). Only if you accept the "
	    "risk: start iovd with --allow-unsafe-interrupts, which logs every such bind as "
	    "UNSAFE; without it iovd refuses to bind devices to vfio-pci here");
}

/* ---- group_viable ---- */

static bool in_model(const struct iov_group *g, const char *name)
{
	for (size_t i = 0; i < g->n_devs; i++)
		if (!strcmp(g->devs[i]->name, name))
			return true;
	return false;
}

static void check_group(const struct iov_dev *d, struct iov_check *c)
{
	const struct iov_group *g = d->group;
	char list[400] = "";
	size_t blockers = 0, unknown = 0, others = 0;
	const struct iov_dev *pf_with_vfs = NULL;

	if (!g) {
		set(c, IOV_CHECK_FAIL, "%s has no IOMMU group: VFIO cannot use it", d->name);
		fix(c, "see the iommu check");
		return;
	}
	if (d->sriov && d->sriov->num_vfs > 0) {
		/* Unbinding the PF driver disables SR-IOV (the driver's remove()), and a VM
		 * owning the PF would control VFs that others use. */
		set(c, IOV_CHECK_FAIL, "%s is a PF with %d VFs enabled: unbinding its driver to "
		    "move it to vfio-pci would remove them, so iovd refuses to bind it",
		    d->name, d->sriov->num_vfs);
		fix(c, "remove its VFs first (`iovctl vfs destroy %s`), or pass one of its VFs "
		    "(%s/vf0)", d->name, d->name);
		return;
	}
	for (size_t i = 0; i < g->n_devs; i++) {
		const struct iov_dev *m = g->devs[i];

		if (m == d)
			continue;
		others++;
		cat(list, sizeof(list), "%s%s (%s%s%s)", *list ? ", " : "", m->name,
		    iov_dev_is_bridge(m) ? "bridge, " : "", m->driver ? m->driver : "no driver",
		    m->sriov && m->sriov->num_vfs > 0 ? ", PF with VFs" : "");
		if (iov_dev_is_bridge(m) || iov_driver_vfio_safe(m->driver))
			continue;
		blockers++;
		if (m->sriov && m->sriov->num_vfs > 0)
			pf_with_vfs = m;
	}
	for (size_t i = 0; i < g->n_members; i++) {
		if (in_model(g, g->members[i]))
			continue;
		others++;
		unknown++;
		cat(list, sizeof(list), "%s%s (not a PCI device in the model)", *list ? ", " : "",
		    g->members[i]);
	}
	if (!others) {
		set(c, IOV_CHECK_OK, "group %d holds only %s", g->id, d->name);
		return;
	}
	if (blockers) {
		set(c, IOV_CHECK_FAIL, "group %d also holds %s; %zu of them %s host drivers, "
		    "so VFIO cannot use the group while the host does", g->id, list, blockers,
		    blockers == 1 ? "uses" : "use");
		if (pf_with_vfs && d->pf == pf_with_vfs)
			fix(c, "the PF %s and its VFs share group %d: its VFs cannot go to VMs one "
			    "by one, and unbinding the PF would remove them. Move the card behind "
			    "a port with ACS (see acs)", pf_with_vfs->name, g->id);
		else
			fix(c, "give the whole group to one VM (`iovctl bind %s` moves every "
			    "endpoint of group %d to vfio-pci), or move the card behind a port "
			    "with ACS", d->name, g->id);
		return;
	}
	if (unknown) {
		set(c, IOV_CHECK_UNKNOWN, "group %d also holds %s: cannot tell their drivers",
		    g->id, list);
		fix(c, "ls -l /sys/kernel/iommu_groups/%d/devices", g->id);
		return;
	}
	set(c, IOV_CHECK_OK, "group %d also holds %s: each is a bridge, on a VFIO driver or "
	    "driverless", g->id, list);
}

/* ---- acs ---- */

static bool is_multifunction(const struct iov_host *h, const struct iov_dev *d)
{
	if (d->role == IOV_ROLE_VF)
		return false;
	if (d->header_type != IOV_UNKNOWN && (d->header_type & 0x80))
		return true;
	for (size_t i = 0; i < h->n_devs; i++) {
		const struct iov_dev *o = h->devs[i];

		if (o != d && o->role != IOV_ROLE_VF && o->addr.domain == d->addr.domain &&
		    o->addr.bus == d->addr.bus && o->addr.dev == d->addr.dev)
			return true;
	}
	return false;
}

static const char *port_kind(const struct iov_dev *b)
{
	switch (b->pcie_type) {
	case IOV_PCIE_ROOT_PORT: return "root port";
	case IOV_PCIE_DOWNSTREAM: return "switch downstream port";
	case IOV_PCIE_UPSTREAM: return "switch upstream port";
	case IOV_PCIE_PCIE_TO_PCI: return "PCIe-to-PCI bridge";
	case IOV_PCIE_PCI_TO_PCIE: return "PCI-to-PCIe bridge";
	case IOV_UNKNOWN: return iov_dev_is_bridge(b) ? "PCI bridge" : "PCI device";
	default: return iov_dev_is_bridge(b) ? "bridge" : "function";
	}
}

/* Does the kernel consider ACS enabled on this element of the path (pci_acs_enabled()
 * without the device-specific quirks)? 1 yes, 0 no (what is missing goes into why),
 * IOV_UNKNOWN when config space is unreadable. */
static int acs_enabled(const struct iov_host *h, const struct iov_dev *e, char *why,
		       size_t len)
{
	unsigned need, missing;

	/* Without root, sysfs config reads stop at 64 bytes: the capability lists, and
	 * with them the PCIe type and ACS, are then unknown, not absent. */
	if (e->cfg_len < 64)
		return IOV_UNKNOWN;
	switch (e->pcie_type) {
	case IOV_UNKNOWN:
		/* Conventional PCI: a shared bus, every device on it can see the others. */
		snprintf(why, len, "no ACS (conventional PCI has none)");
		return 0;
	case IOV_PCIE_PCIE_TO_PCI:
	case IOV_PCIE_PCI_TO_PCIE:
	case IOV_PCIE_RC_EC:
		snprintf(why, len, "%s: ACS does not apply, the kernel treats it as not "
			 "isolating", port_kind(e));
		return 0;
	case IOV_PCIE_DOWNSTREAM:
	case IOV_PCIE_ROOT_PORT:
		break;
	default:
		/* Endpoints and upstream ports: ACS matters only between functions of a
		 * multifunction device. */
		if (!is_multifunction(h, e))
			return 1;
		break;
	}
	if (e->cfg_len < 0x104)
		return IOV_UNKNOWN;	/* extended config space (ACS lives there) unread */
	if (!e->acs_present) {
		snprintf(why, len, "no ACS capability");
		return 0;
	}
	/* Bits the port does not implement count as satisfied (pci_acs_flags_enabled()). */
	need = REQ_ACS & e->acs_cap;
	missing = need & ~e->acs_ctrl;
	if (!missing)
		return 1;
	snprintf(why, len, "ACS%s%s%s%s not enabled (cap 0x%04x ctrl 0x%04x)",
		 missing & IOV_ACS_SV ? " SV" : "", missing & IOV_ACS_RR ? " RR" : "",
		 missing & IOV_ACS_CR ? " CR" : "", missing & IOV_ACS_UF ? " UF" : "",
		 e->acs_cap, e->acs_ctrl);
	return 0;
}

/* The way out for one port that breaks isolation, fitted to what the port is and what
 * it lacks (r as from acs_enabled()). Returns a static buffer. */
static const char *port_fix(const struct iov_host *h, const struct iov_dev *b, int r,
			    const struct iov_group *g)
{
	static char buf[320];
	char whole[64] = "";

	if (g)
		snprintf(whole, sizeof(whole), ", or give the whole group %d to one VM", g->id);
	if (r == IOV_UNKNOWN)
		snprintf(buf, sizeof(buf), "%s: run as root to read its ACS registers%s", b->name,
			 whole);
	else if (b->pcie_type == IOV_UNKNOWN || b->pcie_type == IOV_PCIE_PCIE_TO_PCI ||
		 b->pcie_type == IOV_PCIE_PCI_TO_PCIE || b->pcie_type == IOV_PCIE_RC_EC)
		/* Behind a PCI bridge, transactions carry the bridge's requester ID: the IOMMU
		 * cannot tell the devices apart. */
		snprintf(buf, sizeof(buf), "%s: devices behind a PCI bridge share its requester "
			 "ID and cannot be isolated from each other: use a PCIe slot%s", b->name,
			 whole);
	else if (b->acs_present && !h->iommu.enabled)
		/* pci_enable_acs() runs only when an IOMMU driver asked for it. */
		snprintf(buf, sizeof(buf), "%s: the kernel turns ACS on only when the IOMMU is "
			 "on: see the iommu check", b->name);
	else if (b->acs_present)
		snprintf(buf, sizeof(buf), "%s: its ACS capability is there but off: drop "
			 "pci=config_acs= / pci=disable_acs_redir= from the kernel command line if "
			 "set, enable ACS in the firmware setup, or move the card%s", b->name, whole);
	else if (b->pcie_type == IOV_PCIE_ROOT_PORT)
		/* Many root ports isolate without advertising ACS; the kernel trusts those only
		 * through device quirks (drivers/pci/quirks.c, pci_dev_acs_enabled()). */
		snprintf(buf, sizeof(buf), "%s: a root port without ACS; the running kernel has "
			 "no quirk for %04x:%04x saying it isolates (a newer kernel may), else move "
			 "the card to a root port with ACS%s", b->name, (unsigned)b->vendor,
			 (unsigned)b->device, whole);
	else if (b->pcie_type == IOV_PCIE_DOWNSTREAM)
		snprintf(buf, sizeof(buf), "%s: a switch port without ACS: move the card to a "
			 "slot on a root port or on a switch with ACS (SV RR CR UF)%s", b->name,
			 whole);
	else
		snprintf(buf, sizeof(buf), "%s: a multifunction device without ACS between its "
			 "functions: give all its functions to one VM", b->name);
	return buf;
}

static bool acs_override(const struct iov_usage *u)
{
	return u && u->cmdline && strstr(u->cmdline, "pcie_acs_override=");
}

static void check_acs(const struct iov_host *h, const struct iov_usage *u,
		      const struct iov_dev *d, struct iov_check *c)
{
	char ok_list[300] = "", quirks[300] = "", bad[512] = "", fixes[512] = "";
	bool unknown = false, override = acs_override(u);
	const struct iov_dev *b;
	size_t nbad = 0;

	/* The device's own functions: a multifunction device needs ACS between them unless
	 * the kernel knows it isolates them (quirk tables; visible as separate groups). */
	if (is_multifunction(h, d)) {
		char why[160] = "";
		int r = acs_enabled(h, d, why, sizeof(why));

		if (r != 1) {
			const struct iov_dev *shared = NULL;

			for (size_t i = 0; i < h->n_devs && !shared; i++) {
				const struct iov_dev *o = h->devs[i];

				if (o != d && o->role != IOV_ROLE_VF &&
				    o->addr.domain == d->addr.domain && o->addr.bus == d->addr.bus &&
				    o->addr.dev == d->addr.dev && (!d->group || o->group == d->group))
					shared = o;
			}
			if (r == IOV_UNKNOWN && !d->group) {
				unknown = true;
				cat(quirks, sizeof(quirks), "%s: ACS between its functions unreadable",
				    d->name);
			} else if (shared) {
				nbad++;
				cat(bad, sizeof(bad), "%s is a multifunction device with %s, and its "
				    "function %s can reach it peer-to-peer (same group)", d->name,
				    r == 0 ? why : "no ACS the kernel trusts", shared->name);
				cat(fixes, sizeof(fixes), "%s: pass all its functions to the same VM, "
				    "or use a device with ACS between its functions", d->name);
			} else if (r == 0 && override) {
				nbad++;
				cat(bad, sizeof(bad), "%s: %s between functions; its group is split "
				    "only by pcie_acs_override on the kernel command line", d->name,
				    why);
				cat(fixes, sizeof(fixes), "%s: boot without pcie_acs_override= and pass "
				    "all functions to one VM", d->name);
			} else if (r == 0) {
				cat(quirks, sizeof(quirks), "%s: %s between its functions, yet the "
				    "kernel gives each function its own group (kernel quirk)", d->name,
				    why);
			} else {
				cat(quirks, sizeof(quirks), "%s: ACS between functions unreadable (run "
				    "as root), but each function has its own group", d->name);
			}
		}
	}

	/* Walk the whole path: every port that breaks isolation is named with what it
	 * lacks, and the fix is the one that fits that port. */
	for (b = d->parent; b; b = b->parent) {
		char why[160] = "";
		int r = acs_enabled(h, b, why, sizeof(why));

		if (r == 1) {
			if (b->pcie_type == IOV_PCIE_DOWNSTREAM || b->pcie_type == IOV_PCIE_ROOT_PORT)
				cat(ok_list, sizeof(ok_list), "%s%s (%s)", *ok_list ? ", " : "",
				    b->name, port_kind(b));
			continue;
		}
		/* ACS is off or unreadable here. The groups are the kernel's conclusion, quirks
		 * included: below a port it does not trust, the device joins the port's group. */
		if (d->group && b->group && b->group != d->group) {
			if (override) {
				nbad++;
				cat(bad, sizeof(bad), "%s%s %s: %s (the groups are split only by "
				    "pcie_acs_override on the kernel command line)", *bad ? "; " : "",
				    port_kind(b), b->name, r == 0 ? why : "ACS unreadable");
				cat(fixes, sizeof(fixes), "%s%s: boot without pcie_acs_override= "
				    "and move the card behind a port with ACS", *fixes ? "; " : "",
				    b->name);
				continue;
			}
			if (r == 0)
				cat(quirks, sizeof(quirks), "%s%s %s: %s, yet the kernel isolates "
				    "the device (kernel quirk)", *quirks ? "; " : "", port_kind(b),
				    b->name, why);
			else
				cat(quirks, sizeof(quirks), "%s%s: ACS unreadable (run as root), "
				    "but the kernel gives the device a group of its own",
				    *quirks ? "; " : "", b->name);
			continue;
		}
		if (r == IOV_UNKNOWN && d->group && b->group == d->group) {
			/* The registers are out of reach (not root), the kernel's verdict is not. */
			nbad++;
			cat(bad, sizeof(bad), "%s%s: the kernel put it in the device's group %d, so "
			    "peer-to-peer traffic below it is not isolated (its ACS registers are "
			    "unreadable: run as root for the details)", *bad ? "; " : "", b->name,
			    d->group->id);
			cat(fixes, sizeof(fixes), "%s%s", *fixes ? "; " : "",
			    port_fix(h, b, r, d->group));
			continue;
		}
		if (r == IOV_UNKNOWN) {
			unknown = true;
			cat(quirks, sizeof(quirks), "%s%s: ACS unreadable", *quirks ? "; " : "",
			    b->name);
			continue;
		}
		nbad++;
		cat(bad, sizeof(bad), "%s%s %s: %s", *bad ? "; " : "", port_kind(b), b->name, why);
		if (d->group && b->group == d->group)
			cat(bad, sizeof(bad), ", and the kernel put it and the device in one group (%d)",
			    d->group->id);
		cat(fixes, sizeof(fixes), "%s%s", *fixes ? "; " : "", port_fix(h, b, r, d->group));
	}
	if (nbad) {
		if (nbad == 1)
			set(c, IOV_CHECK_FAIL, "%s, so peer-to-peer traffic from below it is not "
			    "forced through the IOMMU", bad);
		else
			set(c, IOV_CHECK_FAIL, "%zu places on the path to the root complex break "
			    "isolation: %s; peer-to-peer traffic there is not forced through the "
			    "IOMMU", nbad, bad);
		fix(c, "%s", fixes);
		return;
	}
	if (unknown) {
		set(c, IOV_CHECK_UNKNOWN, "cannot read ACS: %s", quirks);
		fix(c, "run as root (config space beyond 64 bytes needs it)");
		return;
	}
	if (!*ok_list && !*quirks)
		set(c, IOV_CHECK_OK, "no port between %s and the root complex", d->name);
	else if (!*quirks)
		set(c, IOV_CHECK_OK, "ACS SV RR CR UF enabled on %s", ok_list);
	else
		set(c, IOV_CHECK_OK, "%s%s%s", quirks,
		    *ok_list ? "; ACS SV RR CR UF enabled on " : "", ok_list);
}

/* ---- reset ---- */

/* Since 5.15 the kernel shows reset_method only on devices that have a reset method; so
 * once any device has the file, a device without it has none. */
static bool kernel_has_reset_method(const struct iov_host *h)
{
	for (size_t i = 0; i < h->n_devs; i++)
		if (h->devs[i]->reset_methods_known)
			return true;
	return false;
}

static void check_reset(const struct iov_host *h, const struct iov_dev *d, struct iov_check *c)
{
	if (d->reset_methods_known) {
		char list[128] = "";

		for (size_t i = 0; i < d->n_reset_methods; i++)
			cat(list, sizeof(list), "%s%s", i ? " " : "", d->reset_methods[i]);
		if (d->n_reset_methods) {
			set(c, IOV_CHECK_OK, "reset methods: %s", list);
			return;
		}
		set(c, IOV_CHECK_FAIL, "%s has no reset method (reset_method is empty): state "
		    "can leak from one VM to the next", d->name);
		fix(c, "give the device to one VM for its whole life, or use a device with FLR");
		return;
	}
	if (d->flr == 1) {
		set(c, IOV_CHECK_OK, "FLR (PCIe DevCap; reset_method is unreadable)");
		return;
	}
	if (kernel_has_reset_method(h)) {
		set(c, IOV_CHECK_FAIL, "%s has no reset method (the kernel shows reset_method only "
		    "on devices that have one): state can leak from one VM to the next", d->name);
		fix(c, "give the device to one VM for its whole life, or use a device with FLR");
		return;
	}
	set(c, IOV_CHECK_UNKNOWN, "reset_method is unreadable and %s",
	    d->flr == 0 ? "DevCap has no FLR: PM or bus reset may still work"
			: "config space is unreadable");
	fix(c, "use a kernel with the reset_method attribute (5.15+), or run as root");
}

/* ---- host_critical ---- */

static void check_host(const struct iov_usage *u, const struct iov_dev *d,
		       struct iov_check *c)
{
	char why[400];
	enum iov_guard_verdict v;

	if (!u) {
		set(c, IOV_CHECK_UNKNOWN, "host usage (routes, addresses, mounts) was not read");
		return;
	}
	v = iov_guard_group(u, d, NULL, why, sizeof(why));
	if (v == IOV_GUARD_CRITICAL) {
		set(c, IOV_CHECK_FAIL, "the host uses this %s: %s",
		    d->group ? "group" : "device", why);
		fix(c, "move that use to another device first; iovd refuses to bind a group the "
		    "host depends on");
		return;
	}
	if (v == IOV_GUARD_UNKNOWN) {
		set(c, IOV_CHECK_UNKNOWN, "%s", why);
		fix(c, "run on the host itself, or give the sysroot a proc/ with net/route and "
		    "self/mountinfo");
		return;
	}
	if (d->group)
		set(c, IOV_CHECK_OK, "no member of group %d holds a default route, an address "
		    "or a mounted filesystem", d->group->id);
	else
		set(c, IOV_CHECK_OK, "%s holds no default route, address or mounted filesystem",
		    d->name);
}

/* ---- numa ---- */

static void check_numa(const struct iov_dev *d, struct iov_check *c)
{
	if (d->numa_node == IOV_UNKNOWN)
		set(c, IOV_CHECK_UNKNOWN, "%s/numa_node is unreadable", d->name);
	else if (d->numa_node < 0)
		set(c, IOV_CHECK_OK, "no NUMA node reported (-1): a single-node host, or firmware "
		    "without proximity information; nothing to pin");
	else
		set(c, IOV_CHECK_OK, "NUMA node %d: keep the VM's memory and vCPUs on node %d",
		    d->numa_node, d->numa_node);
}

enum iov_check_status iov_verify_acs(const struct iov_host *h, const struct iov_usage *u,
				     const struct iov_dev *d, struct iov_check *c)
{
	memset(c, 0, sizeof(*c));
	c->id = IOV_CHECK_ACS;
	check_acs(h, u, d, c);
	return c->status;
}

void iov_verify(const struct iov_host *h, const struct iov_usage *u, const struct iov_dev *d,
		struct iov_verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->dev = d;
	for (int i = 0; i < IOV_CHECK_COUNT; i++)
		v->checks[i].id = (enum iov_check_id)i;
	check_iommu(h, d, &v->checks[IOV_CHECK_IOMMU]);
	check_intremap(h, &v->checks[IOV_CHECK_INTREMAP]);
	check_group(d, &v->checks[IOV_CHECK_GROUP_VIABLE]);
	check_acs(h, u, d, &v->checks[IOV_CHECK_ACS]);
	check_reset(h, d, &v->checks[IOV_CHECK_RESET]);
	check_host(u, d, &v->checks[IOV_CHECK_HOST_CRITICAL]);
	check_numa(d, &v->checks[IOV_CHECK_NUMA]);
	v->isolated = true;
	for (int i = 0; i < IOV_CHECK_COUNT; i++)
		if (iov_check_counts((enum iov_check_id)i) && v->checks[i].status != IOV_CHECK_OK)
			v->isolated = false;
}
