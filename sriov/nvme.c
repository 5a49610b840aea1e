#include "sriov/nvme.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libnvme.h>

#include "lib/atomicfile.h"
#include "lib/err.h"
#include "lib/sysfs.h"

/* ---- parsing: byte offsets from libnvme's structure definitions, little endian ---- */

static unsigned le16(const unsigned char *p) { return (unsigned)p[0] | (unsigned)p[1] << 8; }
static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

#define PRI(f) offsetof(struct nvme_primary_ctrl_cap, f)
#define SEC(f) offsetof(struct nvme_secondary_ctrl, f)

/* One resource type's fields from its total (xQFRT / xIFRT) on: total 4 bytes, assigned
 * 4, to the primary 2, private 2, most per secondary 2, granularity 2. */
static void res_at(const unsigned char *f, struct iov_nvme_res *r)
{
	_Static_assert(PRI(vqgran) - PRI(vqfrt) == PRI(vigran) - PRI(vifrt),
		       "VQ and VI fields laid out alike");
	r->total = le32(f);
	r->assigned = le32(f + PRI(vqrfa) - PRI(vqfrt));
	r->primary = (uint16_t)le16(f + PRI(vqrfap) - PRI(vqfrt));
	r->private_ = (uint16_t)le16(f + PRI(vqprt) - PRI(vqfrt));
	r->max_per_sec = (uint16_t)le16(f + PRI(vqfrsm) - PRI(vqfrt));
	r->gran = (uint16_t)le16(f + PRI(vqgran) - PRI(vqfrt));
}

uint32_t iov_nvme_res_free(const struct iov_nvme_res *r)
{
	uint64_t used = (uint64_t)r->assigned + r->primary;

	return used >= r->total ? 0 : (uint32_t)(r->total - used);
}

static int bad_len(size_t len, const char *what, struct iov_err *err)
{
	return iov_err_set(err, -EINVAL, "capture the whole 4096-byte Identify data structure",
			   "%s: %zu bytes, an Identify data structure is %d", what, len,
			   IOV_NVME_IDENTIFY_LEN);
}

int iov_nvme_parse_primary(const void *buf, size_t len, struct iov_nvme_primary *out,
			   struct iov_err *err)
{
	const unsigned char *b = buf;
	struct iov_nvme_primary p = { 0 };

	if (len != IOV_NVME_IDENTIFY_LEN)
		return bad_len(len, "Primary Controller Capabilities (CNS 14h)", err);
	p.cntlid = le16(b + PRI(cntlid));
	p.vq_supported = b[PRI(crt)] & 1;
	p.vi_supported = b[PRI(crt)] & 2;
	/* The VI fields sit at the same places after VIFRT as the VQ ones after VQFRT. */
	res_at(b + PRI(vqfrt), &p.vq);
	res_at(b + PRI(vifrt), &p.vi);
	if ((uint64_t)p.vq.assigned + p.vq.primary > p.vq.total ||
	    (uint64_t)p.vi.assigned + p.vi.primary > p.vi.total)
		return iov_err_set(err, -EINVAL, NULL, "Primary Controller Capabilities (CNS 14h): "
				   "more resources in use than the drive has (VQ %u+%u of %u, VI "
				   "%u+%u of %u)", p.vq.assigned, p.vq.primary, p.vq.total,
				   p.vi.assigned, p.vi.primary, p.vi.total);
	*out = p;
	return 0;
}

int iov_nvme_parse_secondary(const void *buf, size_t len, struct iov_nvme_sec **out,
			     size_t *n, struct iov_err *err)
{
	const unsigned char *b = buf;
	const size_t head = offsetof(struct nvme_secondary_ctrl_list, sc_entry);
	const size_t esz = sizeof(struct nvme_secondary_ctrl);
	struct iov_nvme_sec *s;
	unsigned num;

	if (len != IOV_NVME_IDENTIFY_LEN)
		return bad_len(len, "Secondary Controller List (CNS 15h)", err);
	num = b[0];
	if (num > NVME_ID_SECONDARY_CTRL_MAX)
		return iov_err_set(err, -EINVAL, NULL, "Secondary Controller List (CNS 15h): %u "
				   "entries, at most %d fit", num, NVME_ID_SECONDARY_CTRL_MAX);
	s = calloc(num ? num : 1, sizeof(*s));
	if (!s)
		return iov_err_set(err, -ENOMEM, NULL, "out of memory");
	for (unsigned i = 0; i < num; i++) {
		const unsigned char *e = b + head + i * esz;

		s[i].scid = le16(e + SEC(scid));
		s[i].pcid = le16(e + SEC(pcid));
		s[i].online = e[SEC(scs)] & 1;
		s[i].vfn = le16(e + SEC(vfn));
		s[i].nvq = le16(e + SEC(nvq));
		s[i].nvi = le16(e + SEC(nvi));
		for (unsigned k = 0; k < i; k++) {
			if (s[k].scid >= s[i].scid || (s[i].vfn && s[k].vfn == s[i].vfn)) {
				int r = iov_err_set(err, -EINVAL, NULL, "Secondary Controller List "
						    "(CNS 15h): entry %u (controller %u, VF %u) "
						    "repeats or is out of order after entry %u "
						    "(controller %u, VF %u)", i, s[i].scid, s[i].vfn,
						    k, s[k].scid, s[k].vfn);

				free(s);
				return r;
			}
		}
	}
	*out = s;
	*n = num;
	return 0;
}

int iov_nvme_parse_ns_list(const void *buf, size_t len, uint32_t **out, size_t *n,
			   struct iov_err *err)
{
	const unsigned char *b = buf;
	uint32_t *v;
	size_t k = 0;

	if (len != IOV_NVME_IDENTIFY_LEN)
		return bad_len(len, "Namespace ID list (CNS 10h)", err);
	if (!(v = calloc(NVME_ID_NS_LIST_MAX, sizeof(*v))))
		return iov_err_set(err, -ENOMEM, NULL, "out of memory");
	for (; k < NVME_ID_NS_LIST_MAX; k++) {
		uint32_t id = le32(b + 4 * k);

		if (!id)
			break;
		if (id == 0xffffffffu || (k && id <= v[k - 1])) {
			free(v);
			return iov_err_set(err, -EINVAL, NULL, "Namespace ID list (CNS 10h): entry "
					   "%zu (%u) is not above the one before it", k, id);
		}
		v[k] = id;
	}
	*out = v;
	*n = k;
	return 0;
}

int iov_nvme_parse_ctrl_list(const void *buf, size_t len, uint16_t **out, size_t *n,
			     struct iov_err *err)
{
	const unsigned char *b = buf;
	unsigned num;
	uint16_t *v;

	if (len != IOV_NVME_IDENTIFY_LEN)
		return bad_len(len, "Controller list (CNS 12h)", err);
	num = le16(b);
	if (num > NVME_ID_CTRL_LIST_MAX)
		return iov_err_set(err, -EINVAL, NULL, "Controller list (CNS 12h): %u entries, at "
				   "most %d fit", num, NVME_ID_CTRL_LIST_MAX);
	if (!(v = calloc(num ? num : 1, sizeof(*v))))
		return iov_err_set(err, -ENOMEM, NULL, "out of memory");
	for (unsigned i = 0; i < num; i++)
		v[i] = (uint16_t)le16(b + 2 + 2 * i);
	*out = v;
	*n = num;
	return 0;
}

/* ---- the PF's controller ---- */

int iov_nvme_ctrl_of(const char *pf, char *buf, size_t len)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int r = -ENOENT;

	if ((r = iov_path(path, sizeof(path), "/sys/bus/pci/devices/%s/nvme", pf)) < 0)
		return r;
	if (!(d = opendir(path)))
		return -ENOENT;
	r = -ENOENT;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "nvme", 4) && e->d_name[4] >= '0' && e->d_name[4] <= '9') {
			snprintf(buf, len, "%s", e->d_name);
			r = 0;
			break;
		}
	closedir(d);
	return r;
}

bool iov_nvme_is_nvme_pf(const char *pf, const char *driver)
{
	char path[PATH_MAX];

	if (!iov_sysroot()[0])
		return driver && !strcmp(driver, "nvme");
	return iov_path(path, sizeof(path), IOV_NVME_FIXTURE_DIR "/%s/cns14.bin", pf) == 0 &&
	       iov_exists(path);
}

/* One Identify data structure: from the fixture file NAME under a sysroot, else from the
 * drive (cns, nsid). */
struct src {
	const char *pf;
	int fd;			/* live: the controller's fd; -1 under a sysroot */
	char dev[40];
};

static int identify(struct src *s, const char *name, const char *what, int cns, uint32_t nsid,
		    unsigned char buf[IOV_NVME_IDENTIFY_LEN], struct iov_err *err)
{
	char path[PATH_MAX], *data = NULL;
	size_t len = 0;
	int r;

	if (s->fd < 0) {
		if ((r = iov_path(path, sizeof(path), IOV_NVME_FIXTURE_DIR "/%s/%s", s->pf,
				  name)) < 0)
			return iov_err_set(err, r, NULL, "%s: fixture path too long", s->pf);
		if ((r = iov_read_file(path, IOV_NVME_IDENTIFY_LEN + 1, &data, &len)) < 0)
			return iov_err_set(err, r, "capture it from the device (tests/rig "
					   "scenario nvme_identify)", "%s: no %s in the fixture "
					   "(%s): %s", s->pf, what, path, strerror(-r));
		if (len != IOV_NVME_IDENTIFY_LEN) {
			free(data);
			return bad_len(len, path, err);
		}
		memcpy(buf, data, IOV_NVME_IDENTIFY_LEN);
		free(data);
		return 0;
	}
	{
		struct nvme_identify_args a = {
			.args_size = sizeof(a), .fd = s->fd, .timeout = NVME_DEFAULT_IOCTL_TIMEOUT,
			.data = buf, .cns = (enum nvme_identify_cns)cns, .csi = NVME_CSI_NVM,
			.nsid = nsid, .cntid = 0, .cns_specific_id = NVME_CNSSPECID_NONE,
			.uuidx = NVME_UUID_NONE,
		};

		memset(buf, 0, IOV_NVME_IDENTIFY_LEN);
		r = nvme_identify(&a);
	}
	if (r < 0)
		return iov_err_set(err, -errno, NULL, "%s: Identify %s (CNS %02xh) on %s: %s", s->pf,
				   what, cns, s->dev, strerror(errno));
	if (r > 0)
		return iov_err_set(err, -EIO, "the drive may not support SR-IOV virtualization "
				   "management (NVMe 1.4+)", "%s: Identify %s (CNS %02xh) on %s: "
				   "status 0x%x: %s", s->pf, what, cns, s->dev, r,
				   nvme_status_to_string(r, false));
	return 0;
}

void iov_nvme_state_free(struct iov_nvme_state *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_ns; i++)
		free(s->ns[i].ctrls);
	free(s->ns);
	free(s->sec);
	free(s);
}

static int open_ctrl(const char *pf, int flags, struct src *s, struct iov_err *err)
{
	char name[32];
	int r;

	s->pf = pf;
	s->fd = -1;
	s->dev[0] = 0;
	if (iov_sysroot()[0])
		return 0;
	if ((r = iov_nvme_ctrl_of(pf, name, sizeof(name))) < 0)
		return iov_err_set(err, r, "bind the PF to the nvme driver", "%s: no NVMe "
				   "controller (no /sys/bus/pci/devices/%s/nvme/nvmeN)", pf, pf);
	snprintf(s->dev, sizeof(s->dev), "/dev/%s", name);
	if ((s->fd = open(s->dev, flags | O_CLOEXEC)) < 0)
		return iov_err_set(err, -errno, errno == EACCES ? "run as root (or ask iovd)" : NULL,
				   "%s: opening %s: %s", pf, s->dev, strerror(errno));
	return 0;
}

int iov_nvme_read(const char *pf, struct iov_nvme_state **out, struct iov_err *err)
{
	unsigned char buf[IOV_NVME_IDENTIFY_LEN];
	struct iov_nvme_state *st = calloc(1, sizeof(*st));
	struct src s;
	uint32_t *ids = NULL;
	size_t n_ids = 0;
	int r;

	if (!st)
		return iov_err_set(err, -ENOMEM, NULL, "out of memory");
	if ((r = open_ctrl(pf, O_RDONLY, &s, err)) < 0)
		goto fail;
	if (s.fd >= 0)
		snprintf(st->ctrl, sizeof(st->ctrl), "%s", s.dev + 5);
	if ((r = identify(&s, "cns14.bin", "Primary Controller Capabilities", 0x14, 0, buf, err)) < 0 ||
	    (r = iov_nvme_parse_primary(buf, sizeof(buf), &st->pri, err)) < 0 ||
	    (r = identify(&s, "cns15.bin", "Secondary Controller List", 0x15, 0, buf, err)) < 0 ||
	    (r = iov_nvme_parse_secondary(buf, sizeof(buf), &st->sec, &st->n_sec, err)) < 0)
		goto fail;
	/* Namespaces: optional (a drive without namespace management answers Invalid Field). */
	if (identify(&s, "cns10.bin", "Allocated Namespace ID list", 0x10, 0, buf, NULL) == 0 &&
	    iov_nvme_parse_ns_list(buf, sizeof(buf), &ids, &n_ids, NULL) == 0) {
		st->ns = calloc(n_ids ? n_ids : 1, sizeof(*st->ns));
		st->ns_known = st->ns != NULL;
		for (size_t i = 0; st->ns && i < n_ids; i++) {
			char name[32];

			st->ns[i].nsid = ids[i];
			st->n_ns++;
			snprintf(name, sizeof(name), "cns12-ns%u.bin", ids[i]);
			if (identify(&s, name, "Controller list of a namespace", 0x12, ids[i], buf,
				     NULL) < 0 ||
			    iov_nvme_parse_ctrl_list(buf, sizeof(buf), &st->ns[i].ctrls,
						     &st->ns[i].n_ctrls, NULL) < 0)
				st->ns_known = false;
		}
		free(ids);
	}
	if (s.fd >= 0)
		close(s.fd);
	*out = st;
	return 0;
fail:
	if (s.fd >= 0)
		close(s.fd);
	iov_nvme_state_free(st);
	return r;
}

const struct iov_nvme_sec *iov_nvme_sec_of_vf(const struct iov_nvme_state *s, unsigned vf)
{
	for (size_t i = 0; s && i < s->n_sec; i++)
		if (s->sec[i].vfn == vf + 1)
			return &s->sec[i];
	return NULL;
}

const struct iov_nvme_ns *iov_nvme_ns_get(const struct iov_nvme_state *s, uint32_t nsid)
{
	for (size_t i = 0; s && i < s->n_ns; i++)
		if (s->ns[i].nsid == nsid)
			return &s->ns[i];
	return NULL;
}

bool iov_nvme_ns_attached(const struct iov_nvme_state *s, uint32_t nsid, unsigned cntlid)
{
	const struct iov_nvme_ns *ns = iov_nvme_ns_get(s, nsid);

	for (size_t k = 0; ns && k < ns->n_ctrls; k++)
		if (ns->ctrls[k] == cntlid)
			return true;
	return false;
}

void iov_nvme_ns_of_ctrl(const struct iov_nvme_state *s, unsigned cntlid, char *buf, size_t len)
{
	size_t at = 0;

	buf[0] = 0;
	for (size_t i = 0; s && i < s->n_ns; i++)
		if (iov_nvme_ns_attached(s, s->ns[i].nsid, cntlid) && at < len)
			at += (size_t)snprintf(buf + at, len - at, "%s%u", at ? "," : "",
					       s->ns[i].nsid);
}

static json_t *res_json(const struct iov_nvme_res *r)
{
	return json_pack("{s:I, s:I, s:i, s:I, s:i, s:i, s:i}", "total", (json_int_t)r->total,
			 "assigned", (json_int_t)r->assigned, "primary", r->primary, "free",
			 (json_int_t)iov_nvme_res_free(r), "max_per_secondary", r->max_per_sec,
			 "granularity", r->gran, "private", r->private_);
}

json_t *iov_nvme_state_json(const struct iov_nvme_state *s)
{
	json_t *sec = json_array(), *nss = json_array();

	for (size_t i = 0; i < s->n_sec; i++) {
		const struct iov_nvme_sec *c = &s->sec[i];
		json_t *ns = json_array();

		for (size_t k = 0; k < s->n_ns; k++)
			if (iov_nvme_ns_attached(s, s->ns[k].nsid, c->scid))
				json_array_append_new(ns, json_integer(s->ns[k].nsid));
		json_array_append_new(sec, json_pack("{s:o, s:i, s:s, s:i, s:i, s:o}", "vf", c->vfn ?
						     json_integer(c->vfn - 1) : json_null(), "scid",
						     c->scid, "state", c->online ? "online" : "offline",
						     "vq", c->nvq, "vi", c->nvi, "namespaces",
						     s->ns_known ? ns : (json_decref(ns), json_null())));
	}
	for (size_t k = 0; k < s->n_ns; k++) {
		json_t *c = json_array();

		for (size_t m = 0; m < s->ns[k].n_ctrls; m++)
			json_array_append_new(c, json_integer(s->ns[k].ctrls[m]));
		json_array_append_new(nss, json_pack("{s:I, s:o}", "nsid", (json_int_t)s->ns[k].nsid,
						     "controllers", c));
	}
	return json_pack("{s:o, s:{s:i, s:o, s:o}, s:o, s:o}", "controller", s->ctrl[0] ?
			 json_string(s->ctrl) : json_null(), "primary", "cntlid", s->pri.cntlid,
			 "vq", res_json(&s->pri.vq), "vi", res_json(&s->pri.vi), "secondary", sec,
			 "namespaces", s->ns_known ? nss : (json_decref(nss), json_null()));
}

/* ---- what drives differ in ---- */

static const struct iov_nvme_quirk quirks[] = {
	/* QEMU's emulated NVMe controller (the test host's drive, tests/rig preset nvme).
	 * hw/nvme/ctrl.c, nvme_virt_set_state(): Offline calls nvme_update_virt_res(..., 0)
	 * for VI and VQ (the resources go back); Online answers Invalid Secondary Controller
	 * State unless the VF exists (pcie_sriov_get_vf_at_index) and NVQ >= 2, NVI >= 1.
	 * Disabling VFs: the PF's SR-IOV control write takes their secondary controllers
	 * offline (hw/nvme/ctrl.c, nvme_sriov_pre_write_ctrl). Seen on the test host with QEMU
	 * 10.0.2: nvme-cli detach-ns of NSID 1 from controller 1, attached nowhere, aborted QEMU
	 * (nvme_detach_ns: Assertion `ns->attached > 0' failed). */
	{ 0x1b36, 0x0010, IOV_NVME_Q_OFFLINE_FREES | IOV_NVME_Q_ONLINE_NEEDS_VF |
	  IOV_NVME_Q_VF_DISABLE_OFFLINES | IOV_NVME_Q_DETACH_UNATTACHED_FATAL,
	  "QEMU NVM Express Controller",
	  "QEMU hw/nvme/ctrl.c (nvme_virt_set_state, nvme_sriov_pre_write_ctrl); test host" },
};

const struct iov_nvme_quirk *iov_nvme_quirk_table(size_t *n)
{
	*n = sizeof(quirks) / sizeof(quirks[0]);
	return quirks;
}

const struct iov_nvme_quirk *iov_nvme_quirk_get(unsigned vendor, unsigned device)
{
	for (size_t i = 0; i < sizeof(quirks) / sizeof(quirks[0]); i++)
		if (quirks[i].vendor == vendor && quirks[i].device == device)
			return &quirks[i];
	return NULL;
}

/* ---- writes ---- */

const char *iov_nvme_rt_name(enum iov_nvme_rt rt)
{
	return rt == IOV_NVME_RT_VI ? "VI" : "VQ";
}

static const char *act_name(enum iov_nvme_virt_act act)
{
	switch (act) {
	case IOV_NVME_OFFLINE: return "Secondary Controller Offline";
	case IOV_NVME_ASSIGN: return "Secondary Controller Assign";
	case IOV_NVME_ONLINE: return "Secondary Controller Online";
	}
	return "?";
}

/* A status from the drive: -errno (libnvme's mapping; EIO when it has none) and a message
 * naming the status code and its meaning. */
static int status_err(int r, const char *pf, const char *dev, const char *what,
		      struct iov_err *err)
{
	int e;

	if (r < 0)
		return iov_err_set(err, -errno, NULL, "%s: %s on %s: %s", pf, what, dev,
				   strerror(errno));
	e = nvme_status_to_errno(r, false);
	return iov_err_set(err, -(e ? e : EIO), NULL, "%s: %s on %s: the drive answered status "
			   "0x%x (SCT %u, SC 0x%02x%s): %s", pf, what, dev, r,
			   (unsigned)(r >> 8) & 7, (unsigned)r & 0xff, r & NVME_SC_DNR ?
			   ", do not retry" : "", nvme_status_to_string(r, false));
}

/* The PF's controller opened for an admin command that changes the drive; none under a
 * sysroot (a fixture tree is never written to). */
static int open_for_cmd(const char *pf, struct src *s, struct iov_err *err)
{
	if (iov_sysroot()[0])
		return iov_err_set(err, -EOPNOTSUPP, NULL, "%s: no NVMe commands under --sysroot",
				   pf);
	return open_ctrl(pf, O_RDWR, s, err);
}

int iov_nvme_virt(const char *pf, enum iov_nvme_virt_act act, unsigned scid,
		  enum iov_nvme_rt rt, unsigned nr, struct iov_err *err)
{
	struct src s;
	char what[128];
	int r;

	if (scid > 0xffff || nr > 0xffff)
		return iov_err_set(err, -ERANGE, NULL, "%s: controller %u / %u resources out of "
				   "range", pf, scid, nr);
	if ((r = open_for_cmd(pf, &s, err)) < 0)
		return r;
	if (act == IOV_NVME_ASSIGN)
		snprintf(what, sizeof(what), "Virtualization Management (%s: %u %s to controller %u)",
			 act_name(act), nr, iov_nvme_rt_name(rt), scid);
	else
		snprintf(what, sizeof(what), "Virtualization Management (%s: controller %u)",
			 act_name(act), scid);
	{
		struct nvme_virtual_mgmt_args a = {
			.args_size = sizeof(a), .fd = s.fd, .timeout = NVME_DEFAULT_IOCTL_TIMEOUT,
			.act = (enum nvme_virt_mgmt_act)act, .rt = (enum nvme_virt_mgmt_rt)rt,
			.cntlid = (__u16)scid, .nr = (__u16)(act == IOV_NVME_ASSIGN ? nr : 0),
		};

		r = nvme_virtual_mgmt(&a);
	}
	if (r != 0)
		r = status_err(r, pf, s.dev, what, err);
	close(s.fd);
	return r;
}

int iov_nvme_attach(const char *pf, uint32_t nsid, unsigned cntlid, bool attach,
		    struct iov_err *err)
{
	struct nvme_ctrl_list list;
	__u16 id = (__u16)cntlid;
	struct src s;
	char what[128];
	int r;

	if ((r = open_for_cmd(pf, &s, err)) < 0)
		return r;
	snprintf(what, sizeof(what), "Namespace Attachment (%s namespace %u %s controller %u)",
		 attach ? "attach" : "detach", nsid, attach ? "to" : "from", cntlid);
	nvme_init_ctrl_list(&list, 1, &id);
	r = attach ? nvme_ns_attach_ctrls(s.fd, nsid, &list) : nvme_ns_detach_ctrls(s.fd, nsid, &list);
	if (r != 0)
		r = status_err(r, pf, s.dev, what, err);
	close(s.fd);
	return r;
}

/* Format NVM on namespace nsid, sent to the PF's (primary) controller. A controller formats
 * only a namespace attached to it (QEMU 10's nvme answers Invalid Field otherwise, as the
 * specification's "namespace not attached" cases read), and a pool's namespace is attached
 * to its VF's secondary controller alone: so Namespace Attachment to the primary first,
 * Format NVM with the namespace's current LBA format and protection settings (Identify
 * Namespace, CNS 00h: FLBAS, DPS) and Secure Erase Settings 1h (User Data Erase: "all user
 * data shall be erased"), then detach from the primary again. While it is attached the
 * host's nvme driver on the PF may see it (a block device comes and goes). */
int iov_nvme_format(const char *pf, uint32_t nsid, struct iov_err *err)
{
	unsigned char buf[IOV_NVME_IDENTIFY_LEN];
	struct iov_nvme_primary pri;
	struct nvme_ctrl_list list;
	struct nvme_id_ns ns;
	uint16_t *ctrls = NULL;
	size_t n_ctrls = 0;
	bool attached = false, ours = false;
	struct src s;
	char what[160];
	__u16 id;
	int r;

	if (nsid == 0 || nsid >= 0xffffffffu)
		return iov_err_set(err, -ERANGE, NULL, "%s: namespace %u out of range", pf, nsid);
	if ((r = open_for_cmd(pf, &s, err)) < 0)
		return r;
	if ((r = identify(&s, "cns14.bin", "Primary Controller Capabilities", 0x14, 0, buf, err)) < 0 ||
	    (r = iov_nvme_parse_primary(buf, sizeof(buf), &pri, err)) < 0 ||
	    (r = identify(&s, "", "Controller list of a namespace", 0x12, nsid, buf, err)) < 0 ||
	    (r = iov_nvme_parse_ctrl_list(buf, sizeof(buf), &ctrls, &n_ctrls, err)) < 0)
		goto out;
	for (size_t i = 0; i < n_ctrls; i++)
		attached |= ctrls[i] == pri.cntlid;
	id = (__u16)pri.cntlid;
	nvme_init_ctrl_list(&list, 1, &id);
	if (!attached) {
		snprintf(what, sizeof(what), "Namespace Attachment (attach namespace %u to the "
			 "primary controller %u, to format it)", nsid, pri.cntlid);
		if ((r = nvme_ns_attach_ctrls(s.fd, nsid, &list)) != 0) {
			r = status_err(r, pf, s.dev, what, err);
			goto out;
		}
		ours = true;
	}
	snprintf(what, sizeof(what), "Identify Namespace (CNS 00h, namespace %u)", nsid);
	if ((r = nvme_identify_ns(s.fd, nsid, &ns)) != 0) {
		r = status_err(r, pf, s.dev, what, err);
		goto out;
	}
	{
		__u32 result = 0;
		struct nvme_format_nvm_args a = {
			.result = &result, .args_size = sizeof(a), .fd = s.fd,
			.timeout = IOV_NVME_FORMAT_TIMEOUT_MS, .nsid = nsid,
			.mset = (enum nvme_cmd_format_mset)((ns.flbas >> 4) & 1),
			.pi = (enum nvme_cmd_format_pi)(ns.dps & 7),
			.pil = (enum nvme_cmd_format_pil)((ns.dps >> 3) & 1),
			.ses = NVME_FORMAT_SES_USER_DATA_ERASE,
			.lbaf = (__u8)(ns.flbas & 0xf), .lbafu = (__u8)((ns.flbas >> 5) & 3),
		};

		snprintf(what, sizeof(what), "Format NVM (namespace %u, LBA format %u, User Data "
			 "Erase)", nsid, (unsigned)(ns.flbas & 0xf) | ((ns.flbas >> 5) & 3u) << 4);
		if ((r = nvme_format_nvm(&a)) != 0)
			r = status_err(r, pf, s.dev, what, err);
	}
out:
	if (ours) {
		struct iov_err e2 = { 0 };
		int d = nvme_ns_detach_ctrls(s.fd, nsid, &list);

		snprintf(what, sizeof(what), "Namespace Attachment (detach namespace %u from the "
			 "primary controller %u)", nsid, pri.cntlid);
		if (d != 0 && r >= 0)
			r = status_err(d, pf, s.dev, what, err);
		else if (d != 0)
			status_err(d, pf, s.dev, what, &e2);
	}
	free(ctrls);
	close(s.fd);
	return r < 0 ? r : 0;
}
