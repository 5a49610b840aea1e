/* The isolation verdict (vfio/verify.c) and the host-critical guard (vfio/guard.c) on
 * hand-built layouts, plus the usage loader on a small proc/sys tree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/host.h"
#include "lib/sysfs.h"
#include "tests/unit/fakesys.h"
#include "vfio/guard.h"
#include "vfio/verify.h"

#define ACS_ALL (IOV_ACS_SV | IOV_ACS_RR | IOV_ACS_CR | IOV_ACS_UF)

/* A usage snapshot with every source read and nothing in use. */
static struct iov_usage *quiet_usage(void)
{
	struct iov_usage *u = calloc(1, sizeof(*u));

	assert_non_null(u);
	u->net_known = u->ipv4_addrs_known = u->mounts_known = u->vfio_known = true;
	return u;
}

/* Layout: root port 00:01.0 (ACS on) -> igb PF 01:00.0 (group 1) with VFs 01:10.0 (group 2)
 * and 01:10.2 (group 3), like the test host's default preset. */
struct lay {
	struct iov_host *h;
	struct iov_dev *rp, *pf, *vf0, *vf1;
};

static void lay_default(struct lay *l)
{
	l->h = fk_host_new();
	l->rp = fk_bridge(l->h, "00:01.0", IOV_PCIE_ROOT_PORT, true, 0x1f, ACS_ALL);
	l->pf = fk_dev(l->h, "01:00.0", "igb");
	l->vf0 = fk_dev(l->h, "01:10.0", "igbvf");
	l->vf1 = fk_dev(l->h, "01:10.2", "igbvf");
	fk_parent(l->pf, l->rp);
	fk_vf(l->pf, l->vf0);
	fk_vf(l->pf, l->vf1);
	fk_netdev(l->pf, "eth0");
	fk_netdev(l->vf0, "eth1");
	fk_join(fk_group(l->h, 0, "DMA"), l->rp);
	fk_join(fk_group(l->h, 1, "DMA"), l->pf);
	fk_join(fk_group(l->h, 2, "DMA"), l->vf0);
	fk_join(fk_group(l->h, 3, "DMA-FQ"), l->vf1);
}

static enum iov_check_status st(const struct iov_verdict *v, enum iov_check_id id)
{
	return v->checks[id].status;
}

static void assert_reason(const struct iov_verdict *v, enum iov_check_id id, const char *needle)
{
	if (!strstr(v->checks[id].reason, needle))
		fail_msg("%s reason \"%s\" lacks \"%s\"", iov_check_name(id), v->checks[id].reason,
			 needle);
}

static void test_viable_single(void **state)
{
	struct lay l;
	struct iov_usage *u = quiet_usage();
	struct iov_verdict v;

	lay_default(&l);
	iov_verify(l.h, u, l.vf0, &v);
	for (int i = 0; i < IOV_CHECK_COUNT; i++)
		if (v.checks[i].status != IOV_CHECK_OK)
			fail_msg("%s: %s", iov_check_name(v.checks[i].id), v.checks[i].reason);
	assert_true(v.isolated);
	assert_reason(&v, IOV_CHECK_GROUP_VIABLE, "holds only 0000:01:10.0");
	assert_reason(&v, IOV_CHECK_ACS, "0000:00:01.0 (root port)");
	iov_usage_free(u);
	fk_host_free(l.h);
}

/* The shared-group preset: switch downstream port without ACS, PF + VFs in its group. */
static void test_shared_group(void **state)
{
	struct iov_host *h = fk_host_new();
	struct iov_usage *u = quiet_usage();
	struct iov_dev *rp = fk_bridge(h, "00:02.0", IOV_PCIE_ROOT_PORT, true, 0x1f, ACS_ALL);
	struct iov_dev *up = fk_bridge(h, "02:00.0", IOV_PCIE_UPSTREAM, false, 0, 0);
	struct iov_dev *dn = fk_bridge(h, "03:00.0", IOV_PCIE_DOWNSTREAM, false, 0, 0);
	struct iov_dev *pf = fk_dev(h, "04:00.0", "igb");
	struct iov_dev *vf0 = fk_dev(h, "04:10.0", "igbvf");
	struct iov_dev *vf1 = fk_dev(h, "04:10.2", "vfio-pci");
	struct iov_group *g = fk_group(h, 9, "DMA");
	struct iov_verdict v;

	fk_parent(up, rp);
	fk_parent(dn, up);
	fk_parent(pf, dn);
	fk_vf(pf, vf0);
	fk_vf(pf, vf1);
	fk_join(fk_group(h, 1, "DMA"), rp);
	fk_join(fk_group(h, 8, "DMA"), up);
	fk_join(g, dn);
	fk_join(g, pf);
	fk_join(g, vf0);
	fk_join(g, vf1);

	iov_verify(h, u, vf1, &v);
	assert_false(v.isolated);
	assert_int_equal(st(&v, IOV_CHECK_ACS), IOV_CHECK_FAIL);
	assert_reason(&v, IOV_CHECK_ACS, "switch downstream port 0000:03:00.0");
	assert_reason(&v, IOV_CHECK_ACS, "no ACS capability");
	assert_int_equal(st(&v, IOV_CHECK_GROUP_VIABLE), IOV_CHECK_FAIL);
	assert_reason(&v, IOV_CHECK_GROUP_VIABLE, "0000:04:00.0 (igb, PF with VFs)");
	assert_reason(&v, IOV_CHECK_GROUP_VIABLE, "0000:04:10.0 (igbvf)");
	assert_non_null(strstr(v.checks[IOV_CHECK_GROUP_VIABLE].fix, "PF 0000:04:00.0"));
	assert_int_equal(st(&v, IOV_CHECK_IOMMU), IOV_CHECK_OK);
	assert_int_equal(st(&v, IOV_CHECK_INTREMAP), IOV_CHECK_OK);
	assert_int_equal(st(&v, IOV_CHECK_HOST_CRITICAL), IOV_CHECK_OK);

	/* Everyone else on VFIO or driverless (bridges are fine): the group is viable, the
	 * hardware still is not isolating. */
	free(pf->driver);
	pf->driver = NULL;
	free(vf0->driver);
	vf0->driver = strdup("vfio-pci");
	iov_verify(h, u, vf1, &v);
	assert_int_equal(st(&v, IOV_CHECK_GROUP_VIABLE), IOV_CHECK_OK);
	assert_int_equal(st(&v, IOV_CHECK_ACS), IOV_CHECK_FAIL);
	iov_usage_free(u);
	fk_host_free(h);
}

static void test_no_iommu(void **state)
{
	struct lay l;
	struct iov_usage *u = quiet_usage();
	struct iov_verdict v;

	lay_default(&l);
	for (size_t i = 0; i < l.h->n_devs; i++)
		l.h->devs[i]->group = NULL;
	l.h->iommu.enabled = false;
	l.h->iommu.n_units = 0;
	l.h->iommu.intremap = 0;
	iov_verify(l.h, u, l.vf0, &v);
	assert_false(v.isolated);
	assert_int_equal(st(&v, IOV_CHECK_IOMMU), IOV_CHECK_FAIL);
	assert_reason(&v, IOV_CHECK_IOMMU, "no IOMMU");
	assert_non_null(strstr(v.checks[IOV_CHECK_IOMMU].fix, "intel_iommu=on"));
	assert_int_equal(st(&v, IOV_CHECK_GROUP_VIABLE), IOV_CHECK_FAIL);
	assert_int_equal(st(&v, IOV_CHECK_INTREMAP), IOV_CHECK_FAIL);
	/* ACS is on in hardware: without groups that is all there is to say. */
	assert_int_equal(st(&v, IOV_CHECK_ACS), IOV_CHECK_OK);
	/* What a real kernel without an IOMMU shows: ACS present but never turned on. */
	l.rp->acs_ctrl = 0;
	iov_verify(l.h, u, l.vf0, &v);
	assert_int_equal(st(&v, IOV_CHECK_ACS), IOV_CHECK_FAIL);
	assert_non_null(strstr(v.checks[IOV_CHECK_ACS].fix, "only when the IOMMU is on"));
	l.h->iommu.n_units = 1;	/* the unit is there, translation is off */
	iov_verify(l.h, u, l.vf0, &v);
	assert_reason(&v, IOV_CHECK_IOMMU, "dmar0");
	iov_usage_free(u);
	fk_host_free(l.h);
}

static void test_no_intremap(void **state)
{
	struct lay l;
	struct iov_usage *u = quiet_usage();
	struct iov_verdict v;

	lay_default(&l);
	l.h->iommu.intremap = 0;
	l.h->iommu.intremap_why = "ecap bit 3 clear";
	iov_verify(l.h, u, l.vf0, &v);
	assert_false(v.isolated);
	assert_int_equal(st(&v, IOV_CHECK_INTREMAP), IOV_CHECK_FAIL);
	assert_reason(&v, IOV_CHECK_INTREMAP, "ecap bit 3 clear");
	assert_non_null(strstr(v.checks[IOV_CHECK_INTREMAP].fix, "--allow-unsafe-interrupts"));
	for (int i = 0; i < IOV_CHECK_COUNT; i++)
		if (i != IOV_CHECK_INTREMAP)
			assert_int_equal(v.checks[i].status, IOV_CHECK_OK);

	l.h->iommu.unsafe_interrupts = 1;
	iov_verify(l.h, u, l.vf0, &v);
	assert_int_equal(st(&v, IOV_CHECK_INTREMAP), IOV_CHECK_FAIL);
	assert_reason(&v, IOV_CHECK_INTREMAP, "allow_unsafe_interrupts=1 is set");

	/* Unknown counts against the verdict. */
	l.h->iommu.intremap = IOV_UNKNOWN;
	iov_verify(l.h, u, l.vf0, &v);
	assert_int_equal(st(&v, IOV_CHECK_INTREMAP), IOV_CHECK_UNKNOWN);
	assert_false(v.isolated);
	iov_usage_free(u);
	fk_host_free(l.h);
}

static void test_identity_domain(void **state)
{
	struct lay l;
	struct iov_usage *u = quiet_usage();
	struct iov_verdict v;

	lay_default(&l);
	free(l.vf0->group->type);
	l.vf0->group->type = strdup("identity");
	iov_verify(l.h, u, l.vf0, &v);
	/* iommu=pt: the default domain is identity, VFIO attaches its own translated domain
	 * when a VM opens the group, so this is not a failure; the reason says so. */
	assert_int_equal(st(&v, IOV_CHECK_IOMMU), IOV_CHECK_OK);
	assert_reason(&v, IOV_CHECK_IOMMU, "identity");
	assert_true(v.isolated);

	/* The IOMMU is on but does not cover the device. */
	l.vf0->group = NULL;
	iov_verify(l.h, u, l.vf0, &v);
	assert_int_equal(st(&v, IOV_CHECK_IOMMU), IOV_CHECK_FAIL);
	l.vf0->bad |= IOV_BAD_GROUP;
	iov_verify(l.h, u, l.vf0, &v);
	assert_int_equal(st(&v, IOV_CHECK_IOMMU), IOV_CHECK_UNKNOWN);
	iov_usage_free(u);
	fk_host_free(l.h);
}

static void test_host_critical(void **state)
{
	struct lay l;
	struct iov_usage *u = quiet_usage();
	struct iov_verdict v;
	struct iov_group *g;

	lay_default(&l);
	/* VF 0 and the PF share a group; the PF's eth0 holds the default route. */
	g = l.pf->group;
	fk_leave(l.vf0);
	fk_join(g, l.vf0);
	assert_int_equal(iov_usage_add_net(u, "eth0", IOV_NET_DEFROUTE4), 0);
	iov_verify(l.h, u, l.vf0, &v);
	assert_false(v.isolated);
	assert_int_equal(st(&v, IOV_CHECK_HOST_CRITICAL), IOV_CHECK_FAIL);
	assert_reason(&v, IOV_CHECK_HOST_CRITICAL, "0000:01:00.0: eth0 holds the IPv4 default route");
	/* The other VF is in its own group and free. */
	iov_verify(l.h, u, l.vf1, &v);
	assert_int_equal(st(&v, IOV_CHECK_HOST_CRITICAL), IOV_CHECK_OK);
	iov_usage_free(u);

	/* A PF takes its VFs with it: a VF's use makes the PF critical. */
	u = quiet_usage();
	assert_int_equal(iov_usage_add_net(u, "eth1", IOV_NET_ADDR4), 0);	/* vf0's */
	fk_leave(l.vf0);
	iov_verify(l.h, u, l.pf, &v);
	assert_int_equal(st(&v, IOV_CHECK_HOST_CRITICAL), IOV_CHECK_FAIL);
	assert_reason(&v, IOV_CHECK_HOST_CRITICAL, "its VF 0000:01:10.0 goes with it: 0000:01:10.0: eth1 has an IPv4 address");
	/* ... and a PF with VFs enabled is not movable at all. */
	assert_int_equal(st(&v, IOV_CHECK_GROUP_VIABLE), IOV_CHECK_FAIL);
	assert_reason(&v, IOV_CHECK_GROUP_VIABLE, "PF with 2 VFs enabled");
	iov_usage_free(u);
	fk_host_free(l.h);
}

static void test_guard_sources(void **state)
{
	struct iov_host *h = fk_host_new();
	struct iov_dev *nvme = fk_dev(h, "02:00.0", "nvme");
	struct iov_dev *nic = fk_dev(h, "03:00.0", "igb");
	struct iov_dev *vf = fk_dev(h, "03:10.0", "igbvf");
	struct iov_usage *u = quiet_usage();
	char why[512];

	nvme->class_code = 0x010802;
	fk_netdev(nic, "eno1");
	fk_netdev(vf, "eno1v0");
	assert_int_equal(iov_guard_dev(u, nvme, why, sizeof(why)), IOV_GUARD_FREE);
	assert_int_equal(iov_usage_add_blk(u, "0000:02:00.0", "/ is mounted from /dev/nvme0n1p2"), 0);
	assert_int_equal(iov_guard_dev(u, nvme, why, sizeof(why)), IOV_GUARD_CRITICAL);
	assert_non_null(strstr(why, "/ is mounted"));

	/* eno1 is a port of br0, which holds an address. */
	assert_int_equal(iov_guard_dev(u, nic, why, sizeof(why)), IOV_GUARD_FREE);
	assert_int_equal(iov_usage_add_link(u, "br0", "eno1"), 0);
	assert_int_equal(iov_usage_add_net(u, "br0", IOV_NET_ADDR6), 0);
	assert_int_equal(iov_guard_dev(u, nic, why, sizeof(why)), IOV_GUARD_CRITICAL);
	assert_non_null(strstr(why, "eno1 is under br0: br0 has a global IPv6 address"));
	assert_int_equal(iov_guard_dev(u, vf, why, sizeof(why)), IOV_GUARD_FREE);

	/* Unknown sources make the answer unknown, only where they matter. */
	u->net_known = false;
	assert_int_equal(iov_guard_dev(u, vf, why, sizeof(why)), IOV_GUARD_UNKNOWN);
	u->mounts_known = false;
	fk_host_free(h);
	h = fk_host_new();
	nvme = fk_dev(h, "02:00.0", "nvme");
	nvme->class_code = 0x010802;
	assert_int_equal(iov_guard_dev(u, nvme, why, sizeof(why)), IOV_GUARD_CRITICAL);
	nic = fk_dev(h, "05:00.0", NULL);
	assert_int_equal(iov_guard_dev(u, nic, why, sizeof(why)), IOV_GUARD_FREE);
	nic->class_code = 0x010601;	/* AHCI */
	assert_int_equal(iov_guard_dev(u, nic, why, sizeof(why)), IOV_GUARD_UNKNOWN);

	/* No usage at all: host_critical is unknown and the verdict is no. */
	struct iov_verdict v;

	iov_verify(h, NULL, nvme, &v);
	assert_int_equal(st(&v, IOV_CHECK_HOST_CRITICAL), IOV_CHECK_UNKNOWN);
	assert_false(v.isolated);
	iov_usage_free(u);
	fk_host_free(h);
}

/* I350-like: four functions without ACS, each in its own group (the kernel's quirk). */
static void test_multifunction_quirk(void **state)
{
	struct iov_host *h = fk_host_new();
	struct iov_usage *u = quiet_usage();
	struct iov_dev *rp = fk_bridge(h, "00:01.1", IOV_PCIE_ROOT_PORT, true, 0x1f, ACS_ALL);
	struct iov_dev *f[4];
	struct iov_verdict v;
	char bdf[16];

	fk_join(fk_group(h, 11, "DMA"), rp);
	for (int i = 0; i < 4; i++) {
		snprintf(bdf, sizeof(bdf), "04:00.%d", i);
		f[i] = fk_dev(h, bdf, "igb");
		fk_parent(f[i], rp);
		fk_join(fk_group(h, 35 + i, "DMA"), f[i]);
	}
	iov_verify(h, u, f[1], &v);
	assert_int_equal(st(&v, IOV_CHECK_ACS), IOV_CHECK_OK);
	assert_reason(&v, IOV_CHECK_ACS, "kernel quirk");
	assert_true(v.isolated);

	/* The same split made by pcie_acs_override is not believed. */
	u->cmdline = strdup("BOOT_IMAGE=/vmlinuz pcie_acs_override=downstream,multifunction");
	iov_verify(h, u, f[1], &v);
	assert_int_equal(st(&v, IOV_CHECK_ACS), IOV_CHECK_FAIL);
	assert_reason(&v, IOV_CHECK_ACS, "pcie_acs_override");
	free(u->cmdline);
	u->cmdline = NULL;

	/* BCM5719-like: no quirk, all functions in one group. */
	struct iov_group *g = fk_group(h, 40, "DMA");

	for (int i = 0; i < 4; i++) {
		fk_leave(f[i]);
		fk_join(g, f[i]);
	}
	iov_verify(h, u, f[1], &v);
	assert_int_equal(st(&v, IOV_CHECK_ACS), IOV_CHECK_FAIL);
	assert_reason(&v, IOV_CHECK_ACS, "multifunction");
	assert_int_equal(st(&v, IOV_CHECK_GROUP_VIABLE), IOV_CHECK_FAIL);

	/* ACS implemented and enabled between functions: fine. */
	for (int i = 0; i < 4; i++) {
		f[i]->acs_present = true;
		f[i]->acs_cap = IOV_ACS_SV | IOV_ACS_RR | IOV_ACS_CR;	/* UF not implemented */
		f[i]->acs_ctrl = IOV_ACS_SV | IOV_ACS_RR | IOV_ACS_CR;
	}
	iov_verify(h, u, f[1], &v);
	assert_int_equal(st(&v, IOV_CHECK_ACS), IOV_CHECK_OK);
	iov_usage_free(u);
	fk_host_free(h);
}

/* Every port on the path that breaks isolation is named with what it lacks, and each gets
 * the fix that fits it: a switch port without the capability, a root port with the
 * capability present but disabled, a root port without ACS (quirk territory). */
static void test_acs_whole_path(void **state)
{
	struct iov_host *h = fk_host_new();
	struct iov_usage *u = quiet_usage();
	struct iov_dev *rp = fk_bridge(h, "00:02.0", IOV_PCIE_ROOT_PORT, true, 0x1f,
				       IOV_ACS_SV | IOV_ACS_UF);
	struct iov_dev *up = fk_bridge(h, "02:00.0", IOV_PCIE_UPSTREAM, false, 0, 0);
	struct iov_dev *dn = fk_bridge(h, "03:00.0", IOV_PCIE_DOWNSTREAM, false, 0, 0);
	struct iov_dev *ep = fk_dev(h, "04:00.0", "e1000e");
	struct iov_group *g = fk_group(h, 6, "DMA");
	struct iov_verdict v;
	const char *fx;

	fk_parent(up, rp);
	fk_parent(dn, up);
	fk_parent(ep, dn);
	fk_join(g, rp);
	fk_join(g, up);
	fk_join(g, dn);
	fk_join(g, ep);
	iov_verify(h, u, ep, &v);
	assert_int_equal(st(&v, IOV_CHECK_ACS), IOV_CHECK_FAIL);
	assert_reason(&v, IOV_CHECK_ACS, "2 places on the path");
	assert_reason(&v, IOV_CHECK_ACS, "switch downstream port 0000:03:00.0: no ACS capability");
	assert_reason(&v, IOV_CHECK_ACS, "root port 0000:00:02.0: ACS RR CR not enabled");
	fx = v.checks[IOV_CHECK_ACS].fix;
	assert_non_null(strstr(fx, "0000:03:00.0: a switch port without ACS"));
	assert_non_null(strstr(fx, "0000:00:02.0: its ACS capability is there but off"));
	assert_non_null(strstr(fx, "give the whole group 6 to one VM"));

	/* A root port without the capability: the fix speaks of quirks and names its IDs. */
	rp->acs_present = false;
	rp->vendor = 0x8086;
	rp->device = 0xa110;
	iov_verify(h, u, ep, &v);
	assert_reason(&v, IOV_CHECK_ACS, "root port 0000:00:02.0: no ACS capability");
	assert_non_null(strstr(v.checks[IOV_CHECK_ACS].fix, "no quirk for 8086:a110"));
	iov_usage_free(u);
	fk_host_free(h);
}

static void test_acs_bits(void **state)
{
	struct lay l;
	struct iov_usage *u = quiet_usage();
	struct iov_verdict v;

	lay_default(&l);
	/* RR implemented but not enabled, the root port shares the device's group. */
	l.rp->acs_ctrl = IOV_ACS_SV | IOV_ACS_CR | IOV_ACS_UF;
	fk_leave(l.vf0);
	fk_join(l.rp->group, l.vf0);
	iov_verify(l.h, u, l.vf0, &v);
	assert_int_equal(st(&v, IOV_CHECK_ACS), IOV_CHECK_FAIL);
	assert_reason(&v, IOV_CHECK_ACS, "root port 0000:00:01.0: ACS RR not enabled");
	assert_reason(&v, IOV_CHECK_ACS, "one group (0)");
	/* A bit the port does not implement counts as enabled (the kernel's reading). */
	l.rp->acs_cap = IOV_ACS_SV | IOV_ACS_CR | IOV_ACS_UF;
	iov_verify(l.h, u, l.vf0, &v);
	assert_int_equal(st(&v, IOV_CHECK_ACS), IOV_CHECK_OK);
	/* Extended config space unreadable (not root), port in the device's group: the
	 * group says enough. */
	l.rp->cfg_len = 64;
	iov_verify(l.h, u, l.vf0, &v);
	assert_int_equal(st(&v, IOV_CHECK_ACS), IOV_CHECK_FAIL);
	assert_reason(&v, IOV_CHECK_ACS, "run as root");
	/* ... in a group of its own: the kernel isolates the device. */
	fk_leave(l.vf0);
	fk_join(fk_group(l.h, 12, "DMA"), l.vf0);
	iov_verify(l.h, u, l.vf0, &v);
	assert_int_equal(st(&v, IOV_CHECK_ACS), IOV_CHECK_OK);
	assert_reason(&v, IOV_CHECK_ACS, "ACS unreadable");
	/* ... and no IOMMU, no groups: nothing to go by. */
	l.vf0->group = NULL;
	iov_verify(l.h, u, l.vf0, &v);
	assert_int_equal(st(&v, IOV_CHECK_ACS), IOV_CHECK_UNKNOWN);
	iov_usage_free(u);
	fk_host_free(l.h);
}

static void test_reset_numa(void **state)
{
	struct lay l;
	struct iov_usage *u = quiet_usage();
	struct iov_verdict v;

	lay_default(&l);
	fk_reset(l.vf0, NULL, 0);
	iov_verify(l.h, u, l.vf0, &v);
	assert_int_equal(st(&v, IOV_CHECK_RESET), IOV_CHECK_FAIL);
	assert_false(v.isolated);
	l.vf0->reset_methods_known = false;
	iov_verify(l.h, u, l.vf0, &v);
	assert_int_equal(st(&v, IOV_CHECK_RESET), IOV_CHECK_OK);	/* DevCap FLR */
	/* No file on a kernel that has the attribute (other devices show it): no method. */
	l.vf0->flr = 0;
	iov_verify(l.h, u, l.vf0, &v);
	assert_int_equal(st(&v, IOV_CHECK_RESET), IOV_CHECK_FAIL);
	/* An old kernel (no device has the file): cannot tell. */
	for (size_t i = 0; i < l.h->n_devs; i++)
		l.h->devs[i]->reset_methods_known = false;
	l.vf0->flr = IOV_UNKNOWN;
	iov_verify(l.h, u, l.vf0, &v);
	assert_int_equal(st(&v, IOV_CHECK_RESET), IOV_CHECK_UNKNOWN);
	l.vf0->flr = 1;

	/* NUMA never decides the verdict. */
	l.vf0->numa_node = IOV_UNKNOWN;
	iov_verify(l.h, u, l.vf0, &v);
	assert_int_equal(st(&v, IOV_CHECK_NUMA), IOV_CHECK_UNKNOWN);
	assert_true(v.isolated);
	l.vf0->numa_node = 1;
	iov_verify(l.h, u, l.vf0, &v);
	assert_reason(&v, IOV_CHECK_NUMA, "NUMA node 1");
	iov_usage_free(u);
	fk_host_free(l.h);
}

static void test_group_unknown_member(void **state)
{
	struct lay l;
	struct iov_usage *u = quiet_usage();
	struct iov_verdict v;

	lay_default(&l);
	fk_join_foreign(l.vf0->group, "0000:7f:00.0");
	iov_verify(l.h, u, l.vf0, &v);
	assert_int_equal(st(&v, IOV_CHECK_GROUP_VIABLE), IOV_CHECK_UNKNOWN);
	assert_false(v.isolated);
	assert_true(iov_driver_vfio_safe("mlx5_vfio_pci"));
	assert_true(iov_driver_vfio_safe(NULL));
	assert_false(iov_driver_vfio_safe("vfio_pci"));
	assert_false(iov_driver_vfio_safe("igbvf"));
	iov_usage_free(u);
	fk_host_free(l.h);
}

/* The loader on a tree: routes, addresses, stacking, mounts through dm, swap. */
static void test_usage_load(void **state)
{
	char *root = fk_tmpdir();
	struct iov_usage *u;
	const char *pcidev = "devices/pci0000:00/0000:00:01.0/0000:01:00.0";

	fk_mkdir(root, "sys/bus/pci/devices");
	fk_write(root, "proc/net/route",
		 "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
		 "br0\t00000000\t0102A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
		 "eth5\t0002A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
		 "eth6\t0003A8C0\t00000000\t0000\t0\t0\t0\t00FFFFFF\t0\t0\t0\n");
	fk_write(root, "proc/net/ipv6_route",
		 "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
		 "fe800000000000000000000000000001 00000400 00000001 00000000 00450003     eth7\n"
		 "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
		 "00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\n");
	fk_write(root, "proc/net/if_inet6",
		 "fe800000000000000000000000000001 03 40 20 80     eth8\n"
		 "20010db8000000000000000000000001 04 40 00 80     eth9\n"
		 "00000000000000000000000000000001 01 80 10 80       lo\n");
	fk_write(root, "proc/net/iovd_ipv4_addrs", "eth10 192.0.2.1/32\n");
	fk_symlink(root, "sys/class/net/br0/lower_eno1", "../eno1");
	fk_mkdir(root, "sys/class/net/eno1");
	fk_write(root, "proc/self/mountinfo",
		 "22 1 253:0 / / rw,relatime shared:1 - ext4 /dev/mapper/vg-root rw\n"
		 "23 22 0:21 / /proc rw - proc proc rw\n"
		 "24 22 0:30 / /home rw - btrfs /dev/sdb1 rw\n");
	fk_write(root, "proc/swaps",
		 "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
		 "/dev/sdc2                               partition\t1000\t0\t-2\n");
	/* 253:0 is dm-0 on nvme0n1p3 on 0000:01:00.0. */
	fk_symlink(root, "sys/dev/block/253:0", "../../devices/virtual/block/dm-0");
	fk_mkdir(root, "sys/devices/virtual/block/dm-0/slaves/nvme0n1p3");
	char p[512];

	snprintf(p, sizeof(p), "sys/%s/nvme/nvme0/nvme0n1/nvme0n1p3", pcidev);
	fk_mkdir(root, p);
	snprintf(p, sizeof(p), "../../%s/nvme/nvme0/nvme0n1/nvme0n1p3", pcidev);
	fk_symlink(root, "sys/class/block/nvme0n1p3", p);
	fk_mkdir(root, "sys/devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sdb/sdb1");
	fk_symlink(root, "sys/class/block/sdb1",
		   "../../devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sdb/sdb1");
	/* btrfs's 0:30 is taken by the number of the node its source names. */
	if (!fk_mknod(root, "dev/sdb1", true, 8, 17)) {
		fk_rmtree(root);
		free(root);
		skip();
	}
	fk_symlink(root, "sys/dev/block/8:17",
		   "../../devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sdb/sdb1");
	fk_mkdir(root, "sys/devices/pci0000:00/0000:00:1f.2/ata2/block/sdc/sdc2");
	fk_symlink(root, "sys/class/block/sdc2", "../../devices/pci0000:00/0000:00:1f.2/ata2/block/sdc/sdc2");

	assert_int_equal(iov_sysroot_set(root), 0);
	assert_int_equal(iov_usage_load(&u), 0);
	assert_true(u->net_known);
	assert_true(u->mounts_known);
	assert_true(u->ipv4_addrs_known);

	struct { const char *ifname; unsigned why; } want[] = {
		{ "br0", IOV_NET_DEFROUTE4 }, { "eth5", IOV_NET_ROUTE4 }, { "eth7", IOV_NET_DEFROUTE6 },
		{ "eth9", IOV_NET_ADDR6 }, { "eth10", IOV_NET_ADDR4 },
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		bool found = false;

		for (size_t j = 0; j < u->n_nets; j++)
			if (!strcmp(u->nets[j].ifname, want[i].ifname)) {
				assert_int_equal(u->nets[j].why, want[i].why);
				found = true;
			}
		if (!found)
			fail_msg("%s not in the usage snapshot", want[i].ifname);
	}
	for (size_t j = 0; j < u->n_nets; j++)
		if (!strcmp(u->nets[j].ifname, "eth6") || !strcmp(u->nets[j].ifname, "eth8") ||
		    !strcmp(u->nets[j].ifname, "lo"))
			fail_msg("%s should not count as in use", u->nets[j].ifname);
	assert_int_equal(u->n_links, 1);
	assert_string_equal(u->links[0].upper, "br0");
	assert_string_equal(u->links[0].lower, "eno1");

	assert_int_equal(u->n_blks, 3);
	assert_string_equal(u->blks[0].pci, "0000:01:00.0");
	assert_non_null(strstr(u->blks[0].what, "/ is mounted from /dev/mapper/vg-root"));
	assert_string_equal(u->blks[1].pci, "0000:00:17.0");
	assert_string_equal(u->blks[2].pci, "0000:00:1f.2");
	assert_non_null(strstr(u->blks[2].what, "swap"));
	assert_null(u->cmdline);

	iov_usage_free(u);
	iov_sysroot_set(NULL);
	fk_rmtree(root);
	free(root);
}

/* Holders of a group are recognised by device number (issue 10): a group's /dev/vfio/N and
 * an iommufd device file count, a file merely named /dev/vfio/N does not; a FUSE mount
 * claiming a disk as its source does not make the disk busy, a btrfs mount of a real block
 * node does. */
static void test_usage_by_devno(void **state)
{
	char *root = fk_tmpdir();
	struct iov_usage *u;
	char node[512];

	if (!fk_mknod(root, "dev/vfio/12", false, 240, 12)) {
		fk_rmtree(root);
		free(root);
		skip();
	}
	fk_mkdir(root, "sys/bus/pci/devices");
	fk_write(root, "sys/class/vfio/12/dev", "240:12\n");
	fk_write(root, "sys/class/vfio/noiommu-13/dev", "240:13\n");
	assert_true(fk_mknod(root, "dev/vfio/noiommu-13", false, 240, 13));
	/* iommufd: /dev/vfio/devices/vfio0 belongs to a function in group 14. */
	fk_write(root, "sys/class/vfio-dev/vfio0/dev", "511:0\n");
	fk_symlink(root, "sys/class/vfio-dev/vfio0/device/iommu_group", "../../../../kernel/iommu_groups/14");
	assert_true(fk_mknod(root, "dev/vfio/devices/vfio0", false, 511, 0));
	/* The forgeries: a regular file and a FIFO with vfio names, a link to a path. */
	fk_write(root, "fake/dev/vfio/15", "");
	fk_symlink(root, "proc/50/fd/3", "/dev/vfio/15");
	snprintf(node, sizeof(node), "%s/fake/dev/vfio/15", root);
	fk_symlink(root, "proc/50/fd/4", node);
	fk_write(root, "proc/50/comm", "mallory\n");
	snprintf(node, sizeof(node), "%s/dev/vfio/12", root);
	fk_symlink(root, "proc/60/fd/7", node);
	fk_write(root, "proc/60/comm", "qemu\n");
	snprintf(node, sizeof(node), "%s/dev/vfio/noiommu-13", root);
	fk_symlink(root, "proc/61/fd/7", node);
	snprintf(node, sizeof(node), "%s/dev/vfio/devices/vfio0", root);
	fk_symlink(root, "proc/62/fd/5", node);
	fk_write(root, "proc/62/comm", "iovm\n");
	/* Mounts: FUSE with a disk's name as fsname; btrfs (0:N) on a real block node. */
	assert_true(fk_mknod(root, "dev/sdb1", true, 8, 17));
	fk_mkdir(root, "sys/devices/pci0000:00/0000:00:17.0/ata1/block/sdb/sdb1");
	fk_symlink(root, "sys/dev/block/8:17", "../../devices/pci0000:00/0000:00:17.0/ata1/block/sdb/sdb1");
	fk_mkdir(root, "sys/devices/pci0000:00/0000:00:1f.2/ata2/block/sdc/sdc1");
	fk_symlink(root, "sys/class/block/sdc1", "../../devices/pci0000:00/0000:00:1f.2/ata2/block/sdc/sdc1");
	fk_write(root, "proc/self/mountinfo",
		 "30 1 0:51 / /home/m/x rw - fuse.sshfs /dev/sdc1 rw\n"
		 "31 1 0:52 / /data rw - btrfs /dev/sdb1 rw\n");

	assert_int_equal(iov_sysroot_set(root), 0);
	assert_int_equal(iov_usage_load(&u), 0);
	assert_int_equal(iov_usage_scan_vfio(u), 0);
	assert_int_equal(u->n_vfio, 3);
	assert_null(iov_usage_group_user(u, 15));
	assert_non_null(iov_usage_group_user(u, 12));
	assert_string_equal(iov_usage_group_user(u, 12)->comm, "qemu");
	assert_int_equal(iov_usage_group_user(u, 13)->pid, 61);
	assert_int_equal(iov_usage_group_user(u, 14)->pid, 62);
	assert_int_equal(u->n_blks, 1);
	assert_string_equal(u->blks[0].pci, "0000:00:17.0");
	iov_usage_free(u);
	iov_sysroot_set(NULL);
	fk_rmtree(root);
	free(root);
}

/* Damaged or hostile proc files: nothing crashes, nothing is made up. */
static void test_usage_garbage(void **state)
{
	char *root = fk_tmpdir();
	struct iov_usage *u;
	char big[6000];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	fk_mkdir(root, "sys/bus/pci/devices");
	fk_write(root, "proc/net/route", "Iface\n\n eth0\nzz 0000000G 0 1 0 0 0 0\n"
		 "verylonginterfacenamepastIFNAMSIZ 00000000 0 1 0 0 0 00000000\n");
	fk_write(root, "proc/net/ipv6_route", "00 00\n::: zz\n");
	fk_write(root, "proc/net/if_inet6", "2001 4 40 00\n");
	char *mi = malloc(sizeof(big) + 200);

	assert_non_null(mi);
	snprintf(mi, sizeof(big) + 200, "1 2 8:1 / /%s rw - ext4 /dev/sda1 rw\n"
		 "garbage\n3 4 259:7\n5 6 0:9 / /x rw - btrfs /dev/../../etc/passwd rw\n", big);
	fk_write(root, "proc/self/mountinfo", mi);
	free(mi);
	fk_write(root, "proc/swaps", "Filename Type\n/dev/ partition\nnoslash partition\n/swapfile file 1 0 -2\n");
	fk_symlink(root, "proc/12/fd/3", "/dev/vfio/notanumber");
	fk_symlink(root, "proc/12/fd/4", "/dev/vfio/vfio");

	assert_int_equal(iov_sysroot_set(root), 0);
	assert_int_equal(iov_usage_load(&u), 0);
	assert_int_equal(iov_usage_scan_vfio(u), 0);
	assert_true(u->vfio_known);
	assert_true(u->net_known);
	assert_true(u->mounts_known);
	assert_int_equal(u->n_blks, 0);
	assert_int_equal(u->n_vfio, 0);
	/* The over-long name is cut by the scanner, never overflows; only up routes count. */
	for (size_t i = 0; i < u->n_nets; i++)
		assert_true(strlen(u->nets[i].ifname) <= 16);
	iov_usage_free(u);
	iov_sysroot_set(NULL);
	fk_rmtree(root);
	free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_viable_single),
		cmocka_unit_test(test_usage_by_devno),
		cmocka_unit_test(test_shared_group),
		cmocka_unit_test(test_no_iommu),
		cmocka_unit_test(test_no_intremap),
		cmocka_unit_test(test_identity_domain),
		cmocka_unit_test(test_host_critical),
		cmocka_unit_test(test_guard_sources),
		cmocka_unit_test(test_multifunction_quirk),
		cmocka_unit_test(test_acs_bits),
		cmocka_unit_test(test_acs_whole_path),
		cmocka_unit_test(test_reset_numa),
		cmocka_unit_test(test_group_unknown_member),
		cmocka_unit_test(test_usage_load),
		cmocka_unit_test(test_usage_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
