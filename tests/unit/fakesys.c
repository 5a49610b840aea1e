#include "tests/unit/fakesys.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz);

	if (!p)
		abort();
	return p;
}

static void *xrealloc(void *p, size_t sz)
{
	p = realloc(p, sz);
	if (!p)
		abort();
	return p;
}

static char *xstrdup(const char *s)
{
	char *p = s ? strdup(s) : NULL;

	if (s && !p)
		abort();
	return p;
}

struct iov_host *fk_host_new(void)
{
	struct iov_host *h = xcalloc(1, sizeof(*h));

	h->iommu.enabled = true;
	h->iommu.vendor = IOV_IOMMU_INTEL;
	h->iommu.units = xcalloc(1, sizeof(*h->iommu.units));
	h->iommu.units[0].name = xstrdup("dmar0");
	h->iommu.units[0].vendor = IOV_IOMMU_INTEL;
	h->iommu.n_units = 1;
	h->iommu.intremap = 1;
	h->iommu.intremap_why = "test: IR on";
	h->iommu.unsafe_interrupts = 0;
	return h;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Fakes are allocated the way the loader allocates (fields it leaves unset are NULL), so
 * the model's own destructor frees them. */
void fk_host_free(struct iov_host *h)
{
	iov_host_free(h);
}

static struct iov_dev *new_dev(struct iov_host *h, const char *bdf)
{
	struct iov_dev *d = xcalloc(1, sizeof(*d));
	unsigned dom = 0, bus, dev, fn;
	size_t i;

	if (sscanf(bdf, "%x:%x:%x.%x", &dom, &bus, &dev, &fn) != 4) {
		dom = 0;
		if (sscanf(bdf, "%x:%x.%x", &bus, &dev, &fn) != 3)
			abort();
	}
	d->addr = (struct iov_pci_addr){ .domain = dom, .bus = (uint8_t)bus,
					 .dev = (uint8_t)dev, .fn = (uint8_t)fn };
	snprintf(d->name, sizeof(d->name), "%04x:%02x:%02x.%x", dom, bus, dev, fn);
	d->vendor = 0x8086;
	d->device = 0x10ca;
	d->subsys_vendor = d->subsys_device = d->revision = 0;
	d->numa_node = -1;
	d->cfg_len = 4096;
	d->vf_index = IOV_UNKNOWN;
	d->role = IOV_ROLE_OTHER;

	h->devs = xrealloc(h->devs, (h->n_devs + 1) * sizeof(*h->devs));
	for (i = h->n_devs; i > 0 && iov_pci_addr_cmp(&h->devs[i - 1]->addr, &d->addr) > 0; i--)
		h->devs[i] = h->devs[i - 1];
	h->devs[i] = d;
	h->n_devs++;
	return d;
}

void fk_reset(struct iov_dev *d, const char *const *methods, int n)
{
	strv_free(d->reset_methods, d->n_reset_methods);
	d->reset_methods = xcalloc((size_t)n, sizeof(char *));
	for (int i = 0; i < n; i++)
		d->reset_methods[i] = xstrdup(methods[i]);
	d->n_reset_methods = (size_t)n;
	d->reset_methods_known = true;
}

struct iov_dev *fk_dev(struct iov_host *h, const char *bdf, const char *driver)
{
	static const char *const flr[] = { "flr" };
	struct iov_dev *d = new_dev(h, bdf);

	d->class_code = 0x020000;
	d->header_type = 0;
	d->pcie_type = IOV_PCIE_ENDPOINT;
	d->flr = 1;
	d->driver = xstrdup(driver);
	fk_reset(d, flr, 1);
	return d;
}

struct iov_dev *fk_bridge(struct iov_host *h, const char *bdf, int type, bool acs,
			  uint16_t cap, uint16_t ctrl)
{
	struct iov_dev *d = new_dev(h, bdf);

	d->class_code = 0x060400;
	d->header_type = 1;
	d->pcie_type = type;
	d->flr = 0;
	d->driver = xstrdup("pcieport");
	d->acs_present = acs;
	d->acs_cap = cap;
	d->acs_ctrl = ctrl;
	d->reset_methods_known = true;
	return d;
}

void fk_parent(struct iov_dev *child, struct iov_dev *parent)
{
	child->parent = parent;
}

struct iov_group *fk_group(struct iov_host *h, int id, const char *type)
{
	struct iov_group *g = xcalloc(1, sizeof(*g));

	g->id = id;
	g->type = xstrdup(type);
	h->groups = xrealloc(h->groups, (h->n_groups + 1) * sizeof(*h->groups));
	h->groups[h->n_groups++] = g;
	return g;
}

void fk_join_foreign(struct iov_group *g, const char *name)
{
	g->members = xrealloc(g->members, (g->n_members + 1) * sizeof(char *));
	g->members[g->n_members++] = xstrdup(name);
}

void fk_join(struct iov_group *g, struct iov_dev *d)
{
	size_t i;

	g->devs = xrealloc(g->devs, (g->n_devs + 1) * sizeof(*g->devs));
	for (i = g->n_devs; i > 0 && iov_pci_addr_cmp(&g->devs[i - 1]->addr, &d->addr) > 0; i--)
		g->devs[i] = g->devs[i - 1];
	g->devs[i] = d;
	g->n_devs++;
	fk_join_foreign(g, d->name);
	d->group = g;
}

void fk_leave(struct iov_dev *d)
{
	struct iov_group *g = d->group;
	size_t i, j;

	if (!g)
		return;
	for (i = j = 0; i < g->n_devs; i++)
		if (g->devs[i] != d)
			g->devs[j++] = g->devs[i];
	g->n_devs = j;
	for (i = j = 0; i < g->n_members; i++) {
		if (strcmp(g->members[i], d->name) == 0)
			free(g->members[i]);
		else
			g->members[j++] = g->members[i];
	}
	g->n_members = j;
	d->group = NULL;
}

void fk_netdev(struct iov_dev *d, const char *name)
{
	d->netdevs = xrealloc(d->netdevs, (d->n_netdevs + 1) * sizeof(char *));
	d->netdevs[d->n_netdevs++] = xstrdup(name);
}

void fk_vf(struct iov_dev *pf, struct iov_dev *vf)
{
	if (!pf->sriov) {
		pf->sriov = xcalloc(1, sizeof(*pf->sriov));
		pf->sriov->total_vfs = 7;
		pf->sriov->offset = 128;
		pf->sriov->stride = 2;
		pf->sriov->vf_device = 0x10ca;
		pf->sriov->drivers_autoprobe = 1;
		pf->role = IOV_ROLE_PF;
		pf->device = 0x10c9;
	}
	pf->sriov->vfs = xrealloc(pf->sriov->vfs, (pf->sriov->n_vfs + 1) * sizeof(*pf->sriov->vfs));
	pf->sriov->vfs[pf->sriov->n_vfs] = vf;
	vf->vf_index = (int)pf->sriov->n_vfs++;
	pf->sriov->num_vfs = (int)pf->sriov->n_vfs;
	vf->role = IOV_ROLE_VF;
	vf->pf = pf;
	vf->parent = pf->parent;
}

/* ---- files ---- */

char *fk_tmpdir(void)
{
	char tmpl[] = "/tmp/iovd-test-XXXXXX";
	char *d = mkdtemp(tmpl);

	if (!d)
		abort();
	return xstrdup(d);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

void fk_rmtree(const char *dir)
{
	if (dir && strncmp(dir, "/tmp/iovd-test-", 15) == 0)
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void mkparents(const char *path)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *s = buf + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			abort();
		*s = '/';
	}
}

void fk_mkdir(const char *root, const char *rel)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s/", root, rel);
	mkparents(p);
}

void fk_write(const char *root, const char *rel, const char *content)
{
	char p[PATH_MAX];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	mkparents(p);
	f = fopen(p, "w");
	if (!f)
		abort();
	fputs(content, f);
	fclose(f);
}

void fk_symlink(const char *root, const char *rel, const char *target)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	mkparents(p);
	unlink(p);
	if (symlink(target, p) < 0)
		abort();
}

bool fk_mknod(const char *root, const char *rel, bool blk, unsigned maj, unsigned min)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	mkparents(p);
	unlink(p);
	if (mknod(p, (blk ? S_IFBLK : S_IFCHR) | 0600, makedev(maj, min)) == 0)
		return true;
	if (errno != EPERM)
		abort();
	return false;
}

const char *fk_read(const char *root, const char *rel)
{
	static char buf[8192];
	char p[PATH_MAX];
	FILE *f;
	size_t n;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	buf[0] = '\0';
	f = fopen(p, "r");
	if (!f)
		return buf;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}
