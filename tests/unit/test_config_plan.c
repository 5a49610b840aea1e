/* The config planner (config/plan.h): the actions and their order, idempotence (the host
 * as a plan leaves it plans to nothing), the in-use refusal naming the holder, --force, and
 * the impact list. Hosts are built by hand (tests/unit/fakesys.h); the config is filled in
 * directly, the way the loader (config/config.h) hands it over. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/plan.h"
#include "lib/err.h"
#include "lib/host.h"
#include "lib/sysfs.h"
#include "sriov/nvme.h"
#include "sriov/vfinfo.h"
#include "tests/unit/fakesys.h"
#include "vfio/guard.h"

/* ---- a host: PF 0000:01:00.0 (igb, netdev enp1s0), VFs at 01:10.0, 01:10.2, ... ---- */

struct world {
	struct iov_host *h;
	struct iov_dev *pf;
	struct iov_usage *u;
	struct iov_config cfg;
	struct iov_cfg_pf cpf;
	struct iov_cfg_vfs ranges[4];
	struct iov_cfg_resolved rc;
	struct iov_dev *pfdev[1];
	struct iov_vfinfo info[8];
	struct iov_plan_vfs pv[1];
	char *files[1];
};

static void add_vfs(struct world *w, int n, const char *driver)
{
	for (int i = 0; i < n; i++) {
		char bdf[16];
		struct iov_dev *vf;
		struct iov_group *g;

		snprintf(bdf, sizeof(bdf), "0000:01:%02x.%x", (0x80 + 2 * i) >> 3, (2 * i) & 7);
		vf = fk_dev(w->h, bdf, driver);
		fk_vf(w->pf, vf);
		g = fk_group(w->h, 20 + i, "DMA");
		fk_join(g, vf);
		w->info[i] = (struct iov_vfinfo){ .vf = i, .vlan = 0, .qos = 0,
			.vlan_proto = IOV_ETH_P_8021Q, .spoofchk = 1, .trust = 0,
			.link_state = IOV_VF_LINK_AUTO, .min_rate = 0, .max_rate = 0 };
	}
	w->pv[0].n = (size_t)n;
}

static struct world *world_new(int nvfs)
{
	struct world *w = calloc(1, sizeof(*w));
	struct iov_group *g;

	w->h = fk_host_new();
	w->pf = fk_dev(w->h, "0000:01:00.0", "igb");
	fk_netdev(w->pf, "enp1s0");
	g = fk_group(w->h, 10, "DMA");
	fk_join(g, w->pf);
	w->pf->sriov = calloc(1, sizeof(*w->pf->sriov));
	w->pf->sriov->total_vfs = 7;
	w->pf->sriov->offset = 128;
	w->pf->sriov->stride = 2;
	w->pf->sriov->drivers_autoprobe = 1;
	w->pf->role = IOV_ROLE_PF;
	add_vfs(w, nvfs, "igbvf");
	w->u = calloc(1, sizeof(*w->u));
	w->u->net_known = w->u->ipv4_addrs_known = w->u->mounts_known = w->u->vfio_known = true;

	w->files[0] = "/etc/iovd/iovd.json";
	w->cpf.name = "uplink";
	w->cpf.num_vfs = 4;
	w->cpf.match.kind = IOV_MATCH_NETDEV;
	w->cpf.match.netdev = "enp1s0";
	w->cpf.where.file = w->files[0];
	snprintf(w->cpf.where.path, sizeof(w->cpf.where.path), "$.pfs[0]");
	w->cpf.vfs = w->ranges;
	w->cfg.pfs = &w->cpf;
	w->cfg.n_pfs = 1;
	w->cfg.files = w->files;
	w->cfg.n_files = 1;
	w->cfg.policy.allow_unsafe_interrupts = -1;
	w->pfdev[0] = w->pf;
	w->rc.cfg = &w->cfg;
	w->rc.pf_dev = w->pfdev;
	w->pv[0].vfs = w->info;
	w->pv[0].known = true;
	return w;
}

static void world_free(struct world *w)
{
	iov_usage_free(w->u);
	fk_host_free(w->h);
	free(w);
}

/* vf N: vlan V, driver D. */
static void cfg_range(struct world *w, unsigned first, unsigned last, int vlan,
		      enum iov_cfg_driver drv)
{
	struct iov_cfg_vfs *r = &w->ranges[w->cpf.n_vfs++];

	memset(r, 0, sizeof(*r));
	r->first = first;
	r->last = last;
	r->driver = drv;
	if (vlan >= 0) {
		r->props.set = IOV_VFC_VLAN;
		r->props.vlan = (uint16_t)vlan;
		r->props.vlan_proto = IOV_ETH_P_8021Q;
	}
}

static int plan(struct world *w, bool force, struct iov_cfg_plan **p, struct iov_err *e)
{
	struct iov_plan_input in = { .h = w->h, .u = w->u, .rc = &w->rc, .vfinfo = w->pv,
				     .force = force };

	memset(e, 0, sizeof(*e));
	return iov_cfg_plan(&in, p, e);
}

static void expect_lines(const struct iov_cfg_plan *p, const char *const *want, size_t n)
{
	for (size_t i = 0; i < p->n && i < n; i++)
		if (strcmp(p->acts[i].line, want[i]))
			fail_msg("action %zu: got '%s', want '%s'", i, p->acts[i].line, want[i]);
	if (p->n != n) {
		for (size_t i = 0; i < p->n; i++)
			fprintf(stderr, "  got: %s\n", p->acts[i].line);
		fail_msg("%zu actions, want %zu", p->n, n);
	}
}

static size_t count_imp(const struct iov_cfg_plan *p, enum iov_impact_kind k)
{
	size_t n = 0;

	for (size_t i = 0; i < p->n_imp; i++)
		n += p->imp[i].kind == k;
	return n;
}

/* From nothing: create, then VF by VF props before the driver; autoprobe stays on while
 * some VF wants its host driver (the kernel would not probe them otherwise). */
static void test_from_nothing(void **state)
{
	struct world *w = world_new(0);
	struct iov_cfg_plan *p;
	struct iov_err e;
	static const char *const want[] = {
		"+ create 4 VFs on uplink",
		"+ uplink/vf0 vlan 100",
		"+ uplink/vf0 driver vfio-pci",
		"+ uplink/vf2 vlan 200",
		"+ uplink/vf3 vlan 200",
	};
	static const char *const want_all[] = {
		"~ uplink autoprobe 1 -> 0",
		"+ create 4 VFs on uplink",
		"+ uplink/vf0 driver vfio-pci",
		"+ uplink/vf1 driver vfio-pci",
		"+ uplink/vf2 driver vfio-pci",
	};

	cfg_range(w, 0, 0, 100, IOV_CFG_DRV_VFIO);
	cfg_range(w, 2, 3, 200, IOV_CFG_DRV_UNSET);
	assert_int_equal(plan(w, false, &p, &e), 0);
	expect_lines(p, want, sizeof(want) / sizeof(want[0]));
	assert_int_equal(p->acts[0].kind, IOV_ACT_NUMVFS);
	assert_int_equal(p->acts[0].old_val, 0);
	assert_int_equal(p->acts[0].new_val, 4);
	/* Predicted addresses: routing ID + offset 128 + 2 * index. */
	assert_string_equal(p->acts[2].dev, "0000:01:10.0");
	assert_string_equal(p->acts[4].dev, "0000:01:10.6");
	assert_int_equal(count_imp(p, IOV_IMPACT_VF_CREATED), 4);
	assert_int_equal(count_imp(p, IOV_IMPACT_VF_REMOVED), 0);
	iov_cfg_plan_free(p);

	/* Every VF for vfio-pci or none: autoprobe goes off first, so no host driver grabs
	 * them; the one for no driver needs no action then. */
	w->cpf.n_vfs = 0;
	cfg_range(w, 0, 2, -1, IOV_CFG_DRV_VFIO);
	cfg_range(w, 3, 3, -1, IOV_CFG_DRV_NONE);
	assert_int_equal(plan(w, false, &p, &e), 0);
	expect_lines(p, want_all, sizeof(want_all) / sizeof(want_all[0]));
	iov_cfg_plan_free(p);
	world_free(w);
}

/* The host as the plan above leaves it plans to nothing: no autoprobe write, no count, no
 * property, no driver. */
static void test_idempotent(void **state)
{
	struct world *w = world_new(4);
	struct iov_cfg_plan *p;
	struct iov_err e;

	cfg_range(w, 0, 0, 100, IOV_CFG_DRV_VFIO);
	cfg_range(w, 2, 3, 200, IOV_CFG_DRV_UNSET);
	free(w->pf->sriov->vfs[0]->driver);
	w->pf->sriov->vfs[0]->driver = strdup("vfio-pci");
	w->pf->sriov->vfs[0]->driver_override = strdup("vfio-pci");
	w->info[0].vlan = 100;
	w->info[2].vlan = 200;
	w->info[3].vlan = 200;
	assert_int_equal(plan(w, false, &p, &e), 0);
	expect_lines(p, NULL, 0);
	assert_int_equal(p->n_imp, 0);
	iov_cfg_plan_free(p);

	/* One VLAN differs: exactly one action, diff-like with the old value. */
	w->info[2].vlan = 100;
	assert_int_equal(plan(w, false, &p, &e), 0);
	{
		static const char *const want[] = { "~ uplink/vf2 vlan 100 -> 200" };

		expect_lines(p, want, 1);
	}
	assert_true(p->acts[0].old_known);
	assert_int_equal(p->acts[0].old_props.vlan, 100);
	iov_cfg_plan_free(p);
	world_free(w);
}

/* A count change between non-zero counts goes through 0; the removed VFs and the created
 * ones are in the impact list; an existing VF on the host driver that should move is a
 * group move. */
static void test_ordering_and_impact(void **state)
{
	struct world *w = world_new(2);
	struct iov_cfg_plan *p;
	struct iov_err e;
	static const char *const want[] = {
		"- remove 2 VFs of uplink",
		"+ create 4 VFs on uplink",
		"+ uplink/vf1 vlan 7",
	};

	cfg_range(w, 1, 1, 7, IOV_CFG_DRV_UNSET);
	assert_int_equal(plan(w, false, &p, &e), 0);
	expect_lines(p, want, 3);
	assert_int_equal(p->acts[0].old_val, 2);
	assert_int_equal(p->acts[0].new_val, 0);
	assert_int_equal(count_imp(p, IOV_IMPACT_VF_REMOVED), 2);
	assert_int_equal(count_imp(p, IOV_IMPACT_VF_CREATED), 4);
	assert_int_equal(p->imp[0].group, 20);
	assert_string_equal(p->imp[0].dev, "0000:01:10.0");
	iov_cfg_plan_free(p);

	/* Same count, vf1 to vfio-pci: its group moves. */
	w->cpf.num_vfs = 2;
	w->cpf.n_vfs = 0;
	cfg_range(w, 1, 1, -1, IOV_CFG_DRV_VFIO);
	assert_int_equal(plan(w, false, &p, &e), 0);
	{
		static const char *const w2[] = { "~ uplink/vf1 driver igbvf -> vfio-pci" };

		expect_lines(p, w2, 1);
	}
	assert_int_equal(count_imp(p, IOV_IMPACT_GROUP_MOVED), 1);
	assert_int_equal(p->imp[0].group, 21);
	assert_non_null(strstr(p->imp[0].what, "0000:01:10.2"));
	iov_cfg_plan_free(p);

	/* And back to the host driver from vfio-pci; none unbinds. */
	free(w->pf->sriov->vfs[1]->driver);
	w->pf->sriov->vfs[1]->driver = strdup("vfio-pci");
	w->cpf.n_vfs = 0;
	cfg_range(w, 0, 0, -1, IOV_CFG_DRV_NONE);
	assert_int_equal(plan(w, false, &p, &e), 0);
	{
		static const char *const w3[] = { "~ uplink/vf0 driver igbvf -> none",
						  "~ uplink/vf1 driver vfio-pci -> host" };

		expect_lines(p, w3, 2);
	}
	iov_cfg_plan_free(p);
	world_free(w);
}

/* A VF a VM holds (open /dev/vfio/N) cannot be removed: refused naming the process, even
 * with --force. A VF the host uses (a netdev with the default route) is refused without
 * --force, and listed as in use with it. Nothing is planned on a refusal. */
static void test_in_use(void **state)
{
	struct world *w = world_new(2);
	struct iov_cfg_plan *p = NULL;
	struct iov_err e;

	cfg_range(w, 0, 0, 5, IOV_CFG_DRV_UNSET);
	iov_usage_add_vfio(w->u, 21, 812, "qemu-system-x86");
	assert_int_equal(plan(w, false, &p, &e), -EBUSY);
	assert_null(p);
	assert_non_null(strstr(e.msg, "pid 812 (qemu-system-x86)"));
	assert_non_null(strstr(e.msg, "uplink (0000:01:00.0, /etc/iovd/iovd.json: $.pfs[0])"));
	assert_int_equal(plan(w, true, &p, &e), -EBUSY);
	assert_null(p);

	/* Properties of a held VF may change (no removal): planned, with the holder listed. */
	w->cpf.num_vfs = 2;
	w->cpf.n_vfs = 0;
	cfg_range(w, 1, 1, 9, IOV_CFG_DRV_UNSET);
	assert_int_equal(plan(w, false, &p, &e), 0);
	assert_int_equal(p->n, 1);
	assert_int_equal(count_imp(p, IOV_IMPACT_IN_USE), 1);
	assert_non_null(strstr(p->imp[0].holder, "pid 812"));
	iov_cfg_plan_free(p);
	iov_usage_free(w->u);
	w->u = calloc(1, sizeof(*w->u));
	w->u->net_known = w->u->ipv4_addrs_known = w->u->mounts_known = w->u->vfio_known = true;

	/* The host's own use. */
	fk_netdev(w->pf->sriov->vfs[0], "enp1s0v0");
	iov_usage_add_net(w->u, "enp1s0v0", IOV_NET_DEFROUTE4);
	w->cpf.num_vfs = 4;
	p = NULL;
	assert_int_equal(plan(w, false, &p, &e), -EBUSY);
	assert_null(p);
	assert_non_null(strstr(e.msg, "uplink/vf0 (0000:01:10.0), which is in use: the host"));
	assert_non_null(strstr(e.msg, "enp1s0v0"));
	assert_non_null(strstr(e.fix, "--force"));
	assert_int_equal(plan(w, true, &p, &e), 0);
	assert_int_equal(count_imp(p, IOV_IMPACT_IN_USE), 1);
	assert_int_equal(p->imp[1].kind, IOV_IMPACT_IN_USE);
	assert_non_null(strstr(p->imp[1].holder, "IPv4 default route"));
	iov_cfg_plan_free(p);

	/* The bind planner's refusal (host-critical group) comes through with the PF named. */
	w->cpf.num_vfs = 2;
	w->cpf.n_vfs = 0;
	cfg_range(w, 0, 0, -1, IOV_CFG_DRV_VFIO);
	assert_int_equal(plan(w, true, &p, &e), -EPERM);
	assert_non_null(strstr(e.msg, "uplink (0000:01:00.0"));
	world_free(w);
}

/* Count above sriov_totalvfs: the VF-count planner's refusal, naming the PF. Properties
 * without a PF netdev: refused with the fix. */
static void test_refusals(void **state)
{
	struct world *w = world_new(0);
	struct iov_cfg_plan *p = NULL;
	struct iov_err e;

	w->cpf.num_vfs = 9;
	assert_int_equal(plan(w, false, &p, &e), -ERANGE);
	assert_non_null(strstr(e.msg, "at most 7"));
	assert_non_null(strstr(e.msg, "uplink"));
	w->cpf.num_vfs = 2;
	cfg_range(w, 0, 0, 3, IOV_CFG_DRV_UNSET);
	free(w->pf->netdevs[0]);
	free(w->pf->netdevs);
	w->pf->netdevs = NULL;
	w->pf->n_netdevs = 0;
	assert_int_equal(plan(w, false, &p, &e), -ENODEV);
	assert_non_null(strstr(e.msg, "netdev"));
	world_free(w);

	/* New VFs for vfio-pci: no IOMMU, no interrupt remapping, VFs landing in the PF's group. */
	w = world_new(0);
	cfg_range(w, 0, 0, -1, IOV_CFG_DRV_VFIO);
	w->h->iommu.enabled = false;
	assert_int_equal(plan(w, false, &p, &e), -EOPNOTSUPP);
	assert_non_null(strstr(e.msg, "no IOMMU"));
	w->h->iommu.enabled = true;
	w->h->iommu.intremap = 0;
	assert_int_equal(plan(w, false, &p, &e), -EPERM);
	assert_non_null(strstr(e.msg, "interrupt remapping"));
	world_free(w);
	w = world_new(1);
	cfg_range(w, 1, 1, -1, IOV_CFG_DRV_VFIO);
	fk_leave(w->pf->sriov->vfs[0]);
	fk_join(w->pf->group, w->pf->sriov->vfs[0]);
	assert_int_equal(plan(w, false, &p, &e), -EBUSY);
	assert_non_null(strstr(e.msg, "share IOMMU group 10 with the PF"));
	world_free(w);
}

/* policy.never_move: an address and a netdev name make those devices host-critical in every
 * usage snapshot, so the planner (through the bind and VF-count planners) refuses them. */
static void test_never_move(void **state)
{
	char *root = fk_tmpdir();
	char *names[] = { "0000:01:10.2", "enp1s0v0" };
	struct world *w = world_new(2);
	struct iov_cfg_plan *p = NULL;
	struct iov_err e;
	char why[256];

	fk_mkdir(root, "sys/bus/pci/devices");
	fk_mkdir(root, "sys/devices/pci0000:00/0000:01:10.0");
	fk_mkdir(root, "sys/class/net");
	fk_symlink(root, "sys/class/net/enp1s0v0/device", "../../../devices/pci0000:00/0000:01:10.0");
	assert_int_equal(iov_sysroot_set(root), 0);
	assert_int_equal(iov_guard_set_never_move(names, 2), 0);
	iov_usage_free(w->u);
	assert_int_equal(iov_usage_load(&w->u), 0);
	w->u->net_known = w->u->ipv4_addrs_known = w->u->mounts_known = w->u->vfio_known = true;
	assert_int_equal(iov_guard_dev(w->u, w->pf->sriov->vfs[1], why, sizeof(why)),
			 IOV_GUARD_CRITICAL);
	assert_non_null(strstr(why, "policy.never_move"));
	assert_int_equal(iov_guard_dev(w->u, w->pf->sriov->vfs[0], why, sizeof(why)),
			 IOV_GUARD_CRITICAL);
	assert_non_null(strstr(why, "enp1s0v0"));
	cfg_range(w, 1, 1, -1, IOV_CFG_DRV_VFIO);
	w->cpf.num_vfs = 2;
	assert_int_equal(plan(w, true, &p, &e), -EPERM);
	assert_non_null(strstr(e.msg, "policy.never_move"));
	w->cpf.num_vfs = 3;
	assert_int_equal(plan(w, false, &p, &e), -EBUSY);
	assert_non_null(strstr(e.msg, "never_move"));
	assert_int_equal(iov_guard_set_never_move(NULL, 0), 0);
	iov_sysroot_set(NULL);
	world_free(w);
	fk_rmtree(root);
	free(root);
}

/* The JSON form and the diff lines agree. */
static void test_json(void **state)
{
	struct world *w = world_new(4);
	struct iov_cfg_plan *p;
	struct iov_err e;
	json_t *j, *a;

	cfg_range(w, 2, 2, 200, IOV_CFG_DRV_UNSET);
	w->info[2].vlan = 100;
	assert_int_equal(plan(w, false, &p, &e), 0);
	j = iov_cfg_plan_json(p);
	a = json_array_get(json_object_get(j, "actions"), 0);
	assert_string_equal(json_string_value(json_object_get(a, "action")), "vf_prop");
	assert_string_equal(json_string_value(json_object_get(a, "field")), "vlan");
	assert_string_equal(json_string_value(json_object_get(a, "from")), "100");
	assert_string_equal(json_string_value(json_object_get(a, "to")), "200");
	assert_int_equal(json_integer_value(json_object_get(a, "vf")), 2);
	assert_string_equal(json_string_value(json_object_get(a, "device")), "0000:01:10.4");
	json_decref(j);
	iov_cfg_plan_free(p);
	world_free(w);
}

/* ---- NVMe: the drive of the test host's nvme preset (8 VQ, 4 VI flexible, at most 2 and 1
 * per secondary controller, 4 of them, namespaces 1 and 2 detached) ---- */

static struct iov_nvme_sec nv_sec[4];
static uint16_t nv_ctrls[2][1];
static struct iov_nvme_ns nv_ns[2];
static struct iov_nvme_state nv = { .pri = { .vq = { .total = 8, .max_per_sec = 2 },
					    .vi = { .total = 4, .max_per_sec = 1 } },
				    .sec = nv_sec, .n_sec = 4, .ns = nv_ns, .n_ns = 2,
				    .ns_known = true };

static void nv_reset(void)
{
	for (unsigned i = 0; i < 4; i++)
		nv_sec[i] = (struct iov_nvme_sec){ .scid = i + 1, .vfn = i + 1 };
	for (unsigned i = 0; i < 2; i++)
		nv_ns[i] = (struct iov_nvme_ns){ .nsid = i + 1, .ctrls = nv_ctrls[i] };
	nv.pri.vq.assigned = nv.pri.vq.primary = nv.pri.vi.assigned = 0;
}

/* The drive as the apply of nv_world leaves it: controllers 1.. n online, 2 VQ, 1 VI,
 * namespace i+1 on controller i+1. */
static void nv_applied(unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		nv_sec[i].online = true;
		nv_sec[i].nvq = 2;
		nv_sec[i].nvi = 1;
		nv_ctrls[i][0] = (uint16_t)(i + 1);
		nv_ns[i].n_ctrls = 1;
	}
}

/* An NVMe PF: num_vfs n, defaults 2 queues 1 interrupt on the host driver, VF i namespace
 * i+1. */
static struct world *nv_world(int n, int cur)
{
	struct world *w = world_new(cur);

	w->cpf.num_vfs = n;
	w->cpf.nvme = true;
	w->cpf.nvme_defaults = (struct iov_cfg_nvmevf){ 2, 1, -1 };
	w->cpf.default_driver = IOV_CFG_DRV_HOST;
	for (int i = 0; i < n; i++) {
		cfg_range(w, (unsigned)i, (unsigned)i, -1, IOV_CFG_DRV_UNSET);
		w->ranges[i].nvme = (struct iov_cfg_nvmevf){ -1, -1, i + 1 };
	}
	return w;
}

static int nv_plan(struct world *w, struct iov_cfg_plan **p, struct iov_err *e)
{
	const struct iov_nvme_state *states[1] = { &nv };
	struct iov_plan_input in = { .h = w->h, .u = w->u, .rc = &w->rc, .vfinfo = w->pv,
				     .nvme = states };

	memset(e, 0, sizeof(*e));
	return iov_cfg_plan(&in, p, e);
}

/* From nothing, in the specification's order; the applied drive plans to nothing; a reload
 * with 1 VF empties the second controller first. */
static void test_nvme_order(void **state)
{
	struct world *w = nv_world(2, 0);
	struct iov_cfg_plan *p;
	struct iov_err e;
	static const char *const want[] = {
		"~ uplink autoprobe 1 -> 0",
		"+ create 2 VFs on uplink",
		"~ uplink/vf0 controller 1 VQ 0 -> 2",
		"~ uplink/vf0 controller 1 VI 0 -> 1",
		"+ uplink/vf0 attach namespace 1 to controller 1",
		"+ uplink/vf0 controller 1 online",
		"+ uplink/vf0 driver host",
		"~ uplink/vf1 controller 2 VQ 0 -> 2",
		"~ uplink/vf1 controller 2 VI 0 -> 1",
		"+ uplink/vf1 attach namespace 2 to controller 2",
		"+ uplink/vf1 controller 2 online",
		"+ uplink/vf1 driver host",
	};
	static const char *const shrink[] = {
		"- remove 2 VFs of uplink",
		"+ create 1 VFs on uplink",
		"- uplink/vf1 detach namespace 2 from controller 2",
		"- uplink/vf1 controller 2 offline",
		"~ uplink/vf1 controller 2 VQ 2 -> 0",
		"~ uplink/vf1 controller 2 VI 1 -> 0",
		"- uplink/vf0 controller 1 offline",
		"~ uplink/vf0 controller 1 VQ ? -> 2",
		"~ uplink/vf0 controller 1 VI ? -> 1",
		"+ uplink/vf0 attach namespace 1 to controller 1",
		"+ uplink/vf0 controller 1 online",
		"+ uplink/vf0 driver host",
	};

	nv_reset();
	assert_int_equal(nv_plan(w, &p, &e), 0);
	expect_lines(p, want, sizeof(want) / sizeof(want[0]));
	assert_int_equal(p->acts[2].kind, IOV_ACT_NVME_ASSIGN);
	assert_int_equal(p->acts[2].scid, 1);
	assert_int_equal(p->acts[2].rt, IOV_NVME_RT_VQ);
	assert_int_equal(p->acts[4].nsid, 1);
	iov_cfg_plan_free(p);
	world_free(w);

	/* Applied: nothing to do. */
	w = nv_world(2, 2);
	w->pf->sriov->num_vfs = 2;
	w->pf->sriov->drivers_autoprobe = 0;
	for (int i = 0; i < 2; i++) {
		free(w->pf->sriov->vfs[i]->driver);
		w->pf->sriov->vfs[i]->driver = strdup("nvme");
	}
	nv_applied(2);
	assert_int_equal(nv_plan(w, &p, &e), 0);
	expect_lines(p, NULL, 0);
	iov_cfg_plan_free(p);

	/* One VF: the count goes through 0 (as for NICs), then the second controller is
	 * emptied and the first (its VF re-created) offline and set up again: its state after
	 * the count step is not known for this drive. */
	w->cpf.num_vfs = 1;
	w->cpf.n_vfs = 1;
	assert_int_equal(nv_plan(w, &p, &e), 0);
	expect_lines(p, shrink, sizeof(shrink) / sizeof(shrink[0]));
	iov_cfg_plan_free(p);
	/* QEMU's drive (quirk: removed VFs' controllers go offline and empty) is predicted. */
	w->pf->vendor = 0x1b36;
	w->pf->device = 0x0010;
	assert_int_equal(nv_plan(w, &p, &e), 0);
	assert_string_equal(p->acts[6].line, "~ uplink/vf0 controller 1 VQ 0 -> 2");
	assert_int_equal(p->acts[6].old_val, 0);
	iov_cfg_plan_free(p);
	world_free(w);
}

/* What the drive cannot give is refused before any step, with the numbers. */
static void test_nvme_refusals(void **state)
{
	struct world *w = nv_world(2, 0);
	struct iov_cfg_plan *p = NULL;
	struct iov_err e;

	nv_reset();
	nv.pri.vq.primary = 5;
	assert_int_equal(nv_plan(w, &p, &e), -ENOSPC);
	assert_non_null(strstr(e.msg, "the VFs ask for 4 VQ resources (vf0 2, vf1 2); the drive "
			       "has 8 flexible, 5 of them kept by the primary controller: 3 for "
			       "the VFs"));
	nv.pri.vq.primary = 0;
	w->cpf.nvme_defaults.queues = 3;
	assert_int_equal(nv_plan(w, &p, &e), -ERANGE);
	assert_non_null(strstr(e.msg, "asks for 3 VQ resources; the drive gives one secondary "
			       "controller at most 2 (VQFRSM)"));
	w->cpf.nvme_defaults.queues = 2;
	w->ranges[1].nvme.ns = 7;
	assert_int_equal(nv_plan(w, &p, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "no namespace 7"));
	w->ranges[1].nvme.ns = 2;
	nv_ctrls[1][0] = 0;	/* namespace 2 on the PF's own controller */
	nv_ns[1].n_ctrls = 1;
	assert_int_equal(nv_plan(w, &p, &e), -EBUSY);
	assert_non_null(strstr(e.msg, "attached to controller 0 (the PF's own"));
	nv_ns[1].n_ctrls = 0;
	w->ranges[1].nvme.ns = 1;
	assert_int_equal(nv_plan(w, &p, &e), -EEXIST);
	w->ranges[1].nvme.ns = 2;
	w->cpf.nvme_defaults.interrupts = -1;
	assert_int_equal(nv_plan(w, &p, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "has queues but no interrupts"));
	w->cpf.nvme_defaults.interrupts = 1;
	w->cpf.num_vfs = 5;
	assert_int_equal(nv_plan(w, &p, &e), -ENODEV);
	assert_non_null(strstr(e.msg, "no secondary controller for VF 4"));
	assert_null(p);
	world_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_from_nothing),
		cmocka_unit_test(test_idempotent),
		cmocka_unit_test(test_ordering_and_impact),
		cmocka_unit_test(test_in_use),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_never_move),
		cmocka_unit_test(test_nvme_order),
		cmocka_unit_test(test_nvme_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
