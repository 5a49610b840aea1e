/* The config loader: files -> jansson -> a typed, validated struct iov_config.
 *
 * Each file is a whole document of the same shape; the files are merged by appending their
 * PFs, pools and guests and by taking each policy field from the one file that sets it.
 * Everything that needs no host is checked here, after the merge (cross references between
 * files work): names, ranges, overlaps, pools and NICs against the PFs, MACs used twice.
 * The first error wins; it names the file, the JSON path, what is wrong and the fix. */
#include "config/config.h"
#include "config/guestspec.h"
#include "config/ldjson.h"
#include "lib/atomicfile.h"
#include "lib/err.h"
#include "lib/sysfs.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define CONFIG_MAX_BYTES (4u << 20)	/* a config file larger than this is a mistake */
#define MAX_NUM_VFS 65535		/* PCIe TotalVFs is 16 bits */
/* Far above any host (PFs, pools, guests in all files; entries of one PF or pool): they
 * bound the pairwise checks, so no file can keep iovd busy for long. */
#define MAX_ITEMS 1024
#define MAX_ENTRIES 4096

enum { POL_UNSAFE, POL_GROUP, POL_NEVER, POL_DRIFT, POL_PREFIX, POL_STOP };
static const char *const pol_keys[] = { "allow_unsafe_interrupts", "admin_group", "never_move",
					"on_drift", "mac_prefix", "stop_timeout" };
_Static_assert(sizeof(pol_keys) / sizeof(*pol_keys) ==
	       sizeof(((struct ld *)0)->pol_file) / sizeof(((struct ld *)0)->pol_file[0]),
	       "struct ld (config/ldjson.h) has a slot per policy key");

/* A netdev name as the kernel allows it (dev_valid_name): 1..15 bytes, not . or .., no
 * '/', ':' or whitespace. */
bool iov_cfg_ifname_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 15 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || *s == ' ' || (unsigned char)*s <= 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* "00-11-22-ff-fe-33-44-55", the form lspci prints: the 64-bit serial, most significant
 * byte first. */
int iov_cfg_parse_dsn(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (strlen(s) != 23)
		return -EINVAL;
	for (int i = 0; i < 8; i++) {
		int hi = iov_hexdigit(s[3 * i]), lo = iov_hexdigit(s[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < 7 && s[3 * i + 2] != '-'))
			return -EINVAL;
		v = v << 8 | (uint64_t)(hi << 4 | lo);
	}
	*out = v;
	return 0;
}

void iov_cfg_fmt_dsn(uint64_t dsn, char buf[24])
{
	snprintf(buf, 24, "%02x-%02x-%02x-%02x-%02x-%02x-%02x-%02x", (unsigned)(dsn >> 56) & 0xff,
		 (unsigned)(dsn >> 48) & 0xff, (unsigned)(dsn >> 40) & 0xff,
		 (unsigned)(dsn >> 32) & 0xff, (unsigned)(dsn >> 24) & 0xff,
		 (unsigned)(dsn >> 16) & 0xff, (unsigned)(dsn >> 8) & 0xff, (unsigned)dsn & 0xff);
}

/* ---- policy ---- */

static int policy_mark(struct ld *L, int field, const char *path)
{
	if (L->pol_file[field]) {
		char fix[256];

		snprintf(fix, sizeof(fix), "set policy.%s in one file only: remove it from %s or "
			 "from %s", pol_keys[field], L->pol_file[field], L->file);
		return ld_fail(L, path, -EEXIST, fix, "policy.%s is already set in %s (%s)",
			       pol_keys[field], L->pol_file[field], L->pol_path[field]);
	}
	L->pol_file[field] = L->file;
	snprintf(L->pol_path[field], sizeof(L->pol_path[field]), "%s", path);
	return 0;
}

static int load_policy(struct ld *L, const json_t *o, const char *path)
{
	static const char *const keys[] = { "allow_unsafe_interrupts", "admin_group", "never_move",
					    "on_drift", "mac_prefix", "stop_timeout", NULL };
	struct iov_cfg_policy *pol = &L->c->policy;
	char p[256];
	json_t *v;
	int r;

	if ((r = ld_want_type(L, o, path, JSON_OBJECT, "an object",
			   "write \"policy\": { \"allow_unsafe_interrupts\": false, ... }")) < 0 ||
	    (r = ld_check_keys(L, o, path, keys, "\"policy\"")) < 0)
		return r;
	if ((v = json_object_get(o, "allow_unsafe_interrupts"))) {
		bool b = false;

		ld_path_key(p, sizeof(p), path, "allow_unsafe_interrupts");
		if ((r = policy_mark(L, POL_UNSAFE, p)) < 0 || (r = ld_get_bool(L, v, p, &b)) < 0)
			return r;
		pol->allow_unsafe_interrupts = b;
	}
	if ((v = json_object_get(o, "admin_group"))) {
		const char *s;
		const char *fix = "name a group from /etc/group (letters, digits, _ and -, at most "
				  "32, not starting with a digit or -)";

		ld_path_key(p, sizeof(p), path, "admin_group");
		if ((r = policy_mark(L, POL_GROUP, p)) < 0 || (r = ld_get_str(L, v, p, fix, &s)) < 0)
			return r;
		bool ok = strlen(s) <= 32 && !(s[0] >= '0' && s[0] <= '9') && s[0] != '-';
		for (const char *q = s; *q && ok; q++)
			ok = (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
			     (*q >= '0' && *q <= '9') || *q == '_' || *q == '-' || *q == '.';
		if (!ok)
			return ld_fail(L, p, -EINVAL, fix, "\"%.40s\" is not a group name", s);
		if (!(pol->admin_group = ld_xstrdup(L, s)))
			return -ENOMEM;
	}
	if ((v = json_object_get(o, "never_move"))) {
		const char *fix = "list PCI addresses (\"0000:00:1f.6\") or netdev names (\"eno1\")";
		size_t i;
		json_t *e;

		ld_path_key(p, sizeof(p), path, "never_move");
		if ((r = policy_mark(L, POL_NEVER, p)) < 0 ||
		    (r = ld_want_type(L, v, p, JSON_ARRAY, "an array", fix)) < 0)
			return r;
		pol->never_move = calloc(json_array_size(v) + 1, sizeof(char *));
		if (!pol->never_move)
			return iov_err_set(L->err, -ENOMEM, NULL, "out of memory");
		json_array_foreach(v, i, e) {
			char pe[256];
			const char *s;
			struct iov_pci_addr a;

			ld_path_idx(pe, sizeof(pe), p, i);
			if ((r = ld_get_str(L, e, pe, fix, &s)) < 0)
				return r;
			if (strchr(s, ':') ? iov_pci_addr_parse(s, &a) < 0 : !iov_cfg_ifname_ok(s))
				return ld_fail(L, pe, -EINVAL, fix, "\"%.40s\" is neither a PCI address "
					       "nor a netdev name", s);
			for (size_t k = 0; k < pol->n_never_move; k++)
				if (strcmp(pol->never_move[k], s) == 0)
					return ld_fail(L, pe, -EEXIST, "list each device once",
						       "\"%s\" is listed twice", s);
			if (!(pol->never_move[pol->n_never_move] = ld_xstrdup(L, s)))
				return -ENOMEM;
			pol->n_never_move++;
		}
	}
	if ((v = json_object_get(o, "on_drift"))) {
		const char *s;
		const char *fix = "on_drift is \"report\" (log and show the difference) or "
				  "\"reapply\" (put the host back to the config)";

		ld_path_key(p, sizeof(p), path, "on_drift");
		if ((r = policy_mark(L, POL_DRIFT, p)) < 0 || (r = ld_get_str(L, v, p, fix, &s)) < 0)
			return r;
		if (strcmp(s, "report") == 0)
			pol->on_drift = IOV_DRIFT_REPORT;
		else if (strcmp(s, "reapply") == 0)
			pol->on_drift = IOV_DRIFT_REAPPLY;
		else
			return ld_fail(L, p, -EINVAL, fix, "\"%.40s\" is not a drift policy", s);
	}
	if ((v = json_object_get(o, "mac_prefix"))) {
		const char *s;
		const char *fix = "give three bytes of a locally administered unicast prefix, "
				  "like \"02:1e:00\" (first byte: bit 1 set, bit 0 clear)";
		uint8_t m[6];
		char full[18];

		ld_path_key(p, sizeof(p), path, "mac_prefix");
		if ((r = policy_mark(L, POL_PREFIX, p)) < 0 || (r = ld_get_str(L, v, p, fix, &s)) < 0)
			return r;
		snprintf(full, sizeof(full), "%.8s:00:00:00", s);
		if (strlen(s) != 8 || iov_parse_mac(full, m, NULL, 0) < 0)
			return ld_fail(L, p, -EINVAL, fix, "\"%.40s\" is not a MAC prefix", s);
		if ((m[0] & 3) != 2)
			return ld_fail(L, p, -EINVAL, fix, "\"%s\" is %s", s,
				       (m[0] & 1) ? "a multicast prefix" :
				       "not locally administered (it belongs to a vendor's OUI)");
		memcpy(pol->mac_prefix, m, 3);
		pol->has_mac_prefix = true;
	}
	if ((v = json_object_get(o, "stop_timeout"))) {
		json_int_t t;

		ld_path_key(p, sizeof(p), path, "stop_timeout");
		if ((r = policy_mark(L, POL_STOP, p)) < 0 ||
		    (r = ld_get_int(L, v, p, 0, 100, "seconds a guest has to shut down on `iovctl vm "
				    "stop` before iovm is killed: 0..100 (default 30)", &t)) < 0)
			return r;
		pol->stop_timeout = (int)t;
	}
	return 0;
}

/* ---- VF properties ---- */

static const char *const vf_keys[] = { "mac", "vlan", "qos", "proto", "spoofchk", "trust",
				       "state", "min_rate", "max_rate", "driver", "queues",
				       "interrupts", "namespace", NULL };

int iov_cfg_parse_driver(const char *s, enum iov_cfg_driver *out)
{
	if (strcmp(s, "vfio-pci") == 0)
		*out = IOV_CFG_DRV_VFIO;
	else if (strcmp(s, "host") == 0)
		*out = IOV_CFG_DRV_HOST;
	else if (strcmp(s, "none") == 0)
		*out = IOV_CFG_DRV_NONE;
	else
		return -EINVAL;
	return 0;
}

const char *iov_cfg_release_name(enum iov_cfg_release r)
{
	return r == IOV_RELEASE_FORMAT ? "format" : "keep";
}

const char *iov_cfg_driver_name(enum iov_cfg_driver d)
{
	switch (d) {
	case IOV_CFG_DRV_UNSET: return "unset";
	case IOV_CFG_DRV_VFIO: return "vfio-pci";
	case IOV_CFG_DRV_HOST: return "host";
	case IOV_CFG_DRV_NONE: return "none";
	}
	return "?";
}

/* An integer VF property through the sriov/vfconf.c parser, which names the rule. */
static int vf_int(struct ld *L, const json_t *v, const char *path, const char *key,
		  unsigned long long max, const char *fix, char *num, size_t numlen)
{
	char what[48];
	int r;

	snprintf(what, sizeof(what), "an integer 0..%llu", max);
	if ((r = ld_want_type(L, v, path, JSON_INTEGER, what, fix)) < 0)
		return r;
	if (json_integer_value(v) < 0)
		return ld_fail(L, path, -ERANGE, fix, "%s %" JSON_INTEGER_FORMAT ": negative; "
			       "the range is 0..%llu", key, json_integer_value(v), max);
	snprintf(num, numlen, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	return 0;
}

/* One VF settings object (defaults or a range entry). defaults: "mac" is refused (every
 * VF would get the same one). */
static int load_vfprops(struct ld *L, const json_t *o, const char *path, bool defaults,
			struct iov_vfconf *out, enum iov_cfg_driver *drv, struct iov_cfg_nvmevf *nv)
{
	struct iov_cfg_nvmevf n = { -1, -1, -1 };
	struct iov_vfconf c = { .vlan_proto = IOV_ETH_P_8021Q };
	enum iov_cfg_driver d = IOV_CFG_DRV_UNSET;
	char p[256], msg[384], num[32];
	bool have_qp = false;
	const char *k;
	json_t *v;
	int r;

	if ((r = ld_want_type(L, o, path, JSON_OBJECT, "an object",
			   "write VF settings as an object: { \"vlan\": 100, \"spoofchk\": true }")) < 0 ||
	    (r = ld_check_keys(L, o, path, vf_keys, "VF settings")) < 0)
		return r;
	json_object_foreach((json_t *)o, k, v) {
		const char *s;

		ld_path_key(p, sizeof(p), path, k);
		msg[0] = '\0';
		if (strcmp(k, "mac") == 0) {
			const char *fix = "give a unicast MAC like \"02:00:00:00:00:01\" (locally "
					  "administered: second hex digit 2, 6, a or e)";

			if (defaults)
				return ld_fail(L, p, -EINVAL, "give each VF its own MAC in \"vfs\" "
					       "(one entry per VF: \"0\": { \"mac\": ... })",
					       "a MAC in \"defaults\" would give every VF the same address");
			if ((r = ld_get_str(L, v, p, fix, &s)) < 0)
				return r;
			if ((r = iov_parse_mac(s, c.mac, msg, sizeof(msg))) < 0 ||
			    (r = iov_check_vf_mac(c.mac, msg, sizeof(msg))) < 0)
				return ld_fail_parser(L, p, r, msg, fix);
			c.set |= IOV_VFC_MAC;
		} else if (strcmp(k, "vlan") == 0) {
			const char *fix = "give a VLAN ID 0..4095 (0 = untagged)";

			if ((r = vf_int(L, v, p, k, 4095, fix, num, sizeof(num))) < 0)
				return r;
			if ((r = iov_parse_vlan(num, &c.vlan, msg, sizeof(msg))) < 0)
				return ld_fail_parser(L, p, r, msg, fix);
			c.set |= IOV_VFC_VLAN;
		} else if (strcmp(k, "qos") == 0) {
			const char *fix = "give an 802.1p priority 0..7";

			if ((r = vf_int(L, v, p, k, 7, fix, num, sizeof(num))) < 0)
				return r;
			if ((r = iov_parse_qos(num, &c.qos, msg, sizeof(msg))) < 0)
				return ld_fail_parser(L, p, r, msg, fix);
			have_qp = true;
		} else if (strcmp(k, "proto") == 0) {
			const char *fix = "write \"802.1Q\" or \"802.1ad\"";

			if ((r = ld_get_str(L, v, p, fix, &s)) < 0)
				return r;
			if ((r = iov_parse_vlan_proto(s, &c.vlan_proto, msg, sizeof(msg))) < 0)
				return ld_fail_parser(L, p, r, msg, fix);
			have_qp = true;
		} else if (strcmp(k, "spoofchk") == 0) {
			if ((r = ld_get_bool(L, v, p, &c.spoofchk)) < 0)
				return r;
			c.set |= IOV_VFC_SPOOFCHK;
		} else if (strcmp(k, "trust") == 0) {
			if ((r = ld_get_bool(L, v, p, &c.trust)) < 0)
				return r;
			c.set |= IOV_VFC_TRUST;
		} else if (strcmp(k, "state") == 0) {
			const char *fix = "write \"auto\", \"enable\" or \"disable\"";

			if ((r = ld_get_str(L, v, p, fix, &s)) < 0)
				return r;
			if ((r = iov_parse_link_state(s, &c.state, msg, sizeof(msg))) < 0)
				return ld_fail_parser(L, p, r, msg, fix);
			c.set |= IOV_VFC_STATE;
		} else if (strcmp(k, "min_rate") == 0 || strcmp(k, "max_rate") == 0) {
			const char *fix = "give a rate in Mbit/s as a whole number (0 = no limit)";
			uint32_t *dst = k[1] == 'i' ? &c.min_rate : &c.max_rate;

			if ((r = vf_int(L, v, p, k, UINT32_MAX, fix, num, sizeof(num))) < 0)
				return r;
			if ((r = iov_parse_rate(k, num, dst, msg, sizeof(msg))) < 0)
				return ld_fail_parser(L, p, r, msg, fix);
			c.set |= k[1] == 'i' ? IOV_VFC_MIN_RATE : IOV_VFC_MAX_RATE;
		} else if (strcmp(k, "queues") == 0) {
			json_int_t q;

			if ((r = ld_get_int(L, v, p, 2, 65535, "give the VF's NVMe queue resources (VQ) "
					 "as a number 2..65535: the admin queue takes one, so 2 gives "
					 "one I/O queue", &q)) < 0)
				return r;
			n.queues = (int)q;
		} else if (strcmp(k, "interrupts") == 0) {
			json_int_t q;

			if ((r = ld_get_int(L, v, p, 1, 65535, "give the VF's NVMe interrupt resources "
					 "(VI) as a number 1..65535", &q)) < 0)
				return r;
			n.interrupts = (int)q;
		} else if (strcmp(k, "namespace") == 0) {
			const char *fix = "give the NSID of an existing namespace (nvme list-ns "
					  "/dev/nvmeN --all), a number 1..4294967294";
			json_int_t q;

			if (defaults)
				return ld_fail(L, p, -EINVAL, "give each VF its own namespace in \"vfs\" "
					       "(\"0\": { \"namespace\": 1 })", "a namespace in "
					       "\"defaults\" would attach one namespace to every VF");
			if ((r = ld_get_int(L, v, p, 1, 0xfffffffeLL, fix, &q)) < 0)
				return r;
			n.ns = q;
		} else {	/* driver */
			const char *fix = "write \"vfio-pci\" (for guests), \"host\" (the kernel's VF "
					  "driver) or \"none\"";

			if ((r = ld_get_str(L, v, p, fix, &s)) < 0)
				return r;
			if (iov_cfg_parse_driver(s, &d) < 0)
				return ld_fail(L, p, -EINVAL, fix, "\"%.40s\" is not a driver choice", s);
		}
	}
	if (have_qp && !(c.set & IOV_VFC_VLAN)) {
		ld_path_key(p, sizeof(p), path, json_object_get(o, "qos") ? "qos" : "proto");
		return ld_fail(L, p, -EINVAL, "add \"vlan\": N to the same object (use 0 for "
			       "priority tagging without a VLAN)", "qos and proto need a vlan");
	}
	if ((c.set & IOV_VFC_MIN_RATE) && (c.set & IOV_VFC_MAX_RATE) && c.max_rate &&
	    c.min_rate > c.max_rate) {
		ld_path_key(p, sizeof(p), path, "min_rate");
		return ld_fail(L, p, -EINVAL, "lower min_rate or raise max_rate (0 = no limit)",
			       "min_rate %u is above max_rate %u", c.min_rate, c.max_rate);
	}
	if (!defaults && !c.set && d == IOV_CFG_DRV_UNSET && n.queues < 0 && n.interrupts < 0 &&
	    n.ns < 0)
		return ld_fail(L, path, -EINVAL, "give at least one of mac, vlan, qos, proto, "
			       "spoofchk, trust, state, min_rate, max_rate, driver, queues, "
			       "interrupts, namespace; or remove the entry", "empty VF entry");
	if ((n.queues >= 0 || n.interrupts >= 0 || n.ns >= 0) && c.set) {
		ld_path_key(p, sizeof(p), path, n.queues >= 0 ? "queues" : n.interrupts >= 0 ?
			 "interrupts" : "namespace");
		return ld_fail(L, p, -EINVAL, "keep NVMe keys (queues, interrupts, namespace) and "
			       "network keys (mac, vlan, ...) on PFs of their own kind",
			       "NVMe and network VF settings in one object: an NVMe VF has no "
			       "netdev settings, a NIC VF no queues or namespace");
	}
	*out = c;
	*drv = d;
	*nv = n;
	return 0;
}

/* "3" or "0-3": decimal, no sign, no spaces, first <= last <= max. */
int iov_cfg_parse_range(const char *s, unsigned max, unsigned *first, unsigned *last)
{
	unsigned long v[2] = { 0, 0 };
	int n = 0;
	const char *p = s;

	for (;;) {
		const char *start = p;

		while (*p >= '0' && *p <= '9') {
			v[n] = v[n] * 10 + (unsigned long)(*p - '0');
			if (v[n] > max)
				return -ERANGE;
			p++;
		}
		if (p == start || (p - start > 1 && *start == '0'))
			return -EINVAL;
		n++;
		if (*p == '\0')
			break;
		if (*p != '-' || n == 2)
			return -EINVAL;
		p++;
	}
	if (n == 1)
		v[1] = v[0];
	if (v[0] > v[1])
		return -EDOM;
	*first = (unsigned)v[0];
	*last = (unsigned)v[1];
	return 0;
}

static int range_fail(struct ld *L, const char *path, int r, const char *s, const char *fix)
{
	if (r == -ERANGE)
		return ld_fail(L, path, -ERANGE, fix, "\"%.40s\": VF index above %u", s, MAX_NUM_VFS - 1);
	if (r == -EDOM)
		return ld_fail(L, path, -EINVAL, fix, "\"%.40s\": the range goes backwards", s);
	return ld_fail(L, path, -EINVAL, fix, "\"%.40s\" is not a VF index or range", s);
}

static int load_vfs(struct ld *L, struct iov_cfg_pf *pf, const json_t *o, const char *path)
{
	const char *fix = "key each entry by a VF index \"2\" or an inclusive range \"0-3\"";
	const char *k;
	json_t *v;
	int r;

	if ((r = ld_want_type(L, o, path, JSON_OBJECT, "an object",
			   "write \"vfs\": { \"0\": { ... }, \"1-3\": { ... } }")) < 0)
		return r;
	if (json_object_size(o) > MAX_ENTRIES)
		return ld_fail(L, path, -E2BIG, "use ranges (\"0-63\") instead of one entry per VF",
			       "%zu entries; at most %d", json_object_size(o), MAX_ENTRIES);
	pf->vfs = calloc(json_object_size(o) + 1, sizeof(*pf->vfs));
	if (!pf->vfs)
		return iov_err_set(L->err, -ENOMEM, NULL, "out of memory");
	json_object_foreach((json_t *)o, k, v) {
		struct iov_cfg_vfs *e = &pf->vfs[pf->n_vfs];
		char p[256];

		ld_path_key(p, sizeof(p), path, k);
		if ((r = iov_cfg_parse_range(k, MAX_NUM_VFS - 1, &e->first, &e->last)) < 0)
			return range_fail(L, p, r, k, fix);
		if ((r = load_vfprops(L, v, p, false, &e->props, &e->driver, &e->nvme)) < 0)
			return r;
		if (e->nvme.ns >= 0 && e->first != e->last)
			return ld_fail(L, p, -EINVAL, "give each VF its own entry with its own "
				       "namespace (\"0\": { \"namespace\": 1 }, \"1\": { "
				       "\"namespace\": 2 })", "one namespace for %u VFs: iovd attaches "
				       "a namespace to one VF's controller", e->last - e->first + 1);
		if (e->nvme.queues >= 0 || e->nvme.interrupts >= 0 || e->nvme.ns >= 0)
			pf->nvme = true;
		ld_where_set(&e->where, L->file, p);
		for (size_t i = 0; i < pf->n_vfs; i++) {
			const struct iov_cfg_vfs *o2 = &pf->vfs[i];

			if (e->first <= o2->last && o2->first <= e->last) {
				char f[256];

				snprintf(f, sizeof(f), "give each VF one entry: split the ranges so "
					 "they do not share VF %u", e->first > o2->first ? e->first : o2->first);
				return ld_fail(L, p, -EINVAL, f, "overlaps %s", o2->where.path);
			}
		}
		if ((e->props.set & IOV_VFC_MAC) && e->first != e->last)
			return ld_fail(L, p, -EINVAL, "give each VF its own entry with its own MAC "
				       "(\"2\": { \"mac\": ... }, \"3\": { \"mac\": ... })",
				       "one MAC for %u VFs: a MAC belongs to one VF",
				       e->last - e->first + 1);
		pf->n_vfs++;
	}
	return 0;
}

/* ---- PFs ---- */

static int load_match(struct ld *L, struct iov_cfg_match *m, const json_t *o, const char *path)
{
	static const char *const keys[] = { "address", "netdev", "perm_mac", "dsn",
					    "vendor_device", "index", NULL };
	const char *fix1 = "match by exactly one of \"address\", \"netdev\", \"perm_mac\", \"dsn\" "
			   "or \"vendor_device\" (+ \"index\")";
	const char *kinds[2] = { NULL, NULL };
	char p[256];
	int n = 0, r;
	const char *k;
	json_t *v;

	if ((r = ld_want_type(L, o, path, JSON_OBJECT, "an object",
			   "write \"match\": { \"netdev\": \"enp1s0\" } (or address, perm_mac, dsn, "
			   "vendor_device)")) < 0 ||
	    (r = ld_check_keys(L, o, path, keys, "\"match\"")) < 0)
		return r;
	json_object_foreach((json_t *)o, k, v)
		if (strcmp(k, "index") != 0 && n++ < 2)
			kinds[n - 1] = k;
	if (n == 0)
		return ld_fail(L, path, -EINVAL, fix1, "nothing to match on");
	if (n > 1)
		return ld_fail(L, path, -EINVAL, fix1, "\"%s\" and \"%s\" both given; one identity "
			       "only, so a PF never matches by one and not the other", kinds[0], kinds[1]);
	k = kinds[0];
	v = json_object_get(o, k);
	ld_path_key(p, sizeof(p), path, k);
	m->index = 0;
	if (json_object_get(o, "index") && strcmp(k, "vendor_device") != 0 && strcmp(k, "dsn") != 0) {
		ld_path_key(p, sizeof(p), path, "index");
		return ld_fail(L, p, -EINVAL, "remove \"index\"; it picks one of several devices "
			       "that share a \"vendor_device\" or a \"dsn\"",
			       "\"index\" does not go with \"%s\"", k);
	}
	if ((v = json_object_get(o, "index"))) {
		json_int_t idx;
		char pi[256];

		ld_path_key(pi, sizeof(pi), path, "index");
		if ((r = ld_get_int(L, v, pi, 0, 255, "give which of the matching devices, counted "
				 "from 0 in PCI address order", &idx)) < 0)
			return r;
		m->index = (int)idx;
		m->has_index = true;
	}
	v = json_object_get(o, k);
	if (strcmp(k, "address") == 0) {
		const char *s, *fix = "give a PCI address like \"0000:01:00.0\" (or \"01:00.0\")";

		if ((r = ld_get_str(L, v, p, fix, &s)) < 0)
			return r;
		if (iov_pci_addr_parse(s, &m->addr) < 0)
			return ld_fail(L, p, -EINVAL, fix, "\"%.40s\" is not a PCI address", s);
		m->kind = IOV_MATCH_ADDRESS;
	} else if (strcmp(k, "netdev") == 0) {
		const char *s, *fix = "give the PF's netdev name as `ip link` shows it, like \"enp1s0\"";

		if ((r = ld_get_str(L, v, p, fix, &s)) < 0)
			return r;
		if (!iov_cfg_ifname_ok(s))
			return ld_fail(L, p, -EINVAL, fix, "\"%.40s\" is not a valid netdev name "
				       "(1..15 characters, no '/', ':' or spaces)", s);
		if (!(m->netdev = ld_xstrdup(L, s)))
			return -ENOMEM;
		m->kind = IOV_MATCH_NETDEV;
	} else if (strcmp(k, "perm_mac") == 0) {
		const char *s, *fix = "give the PF's permanent MAC (`ip link` shows it as "
				      "\"permaddr\" or \"link/ether\"), like \"00:1b:21:aa:bb:cc\"";
		char msg[256];

		if ((r = ld_get_str(L, v, p, fix, &s)) < 0)
			return r;
		if (iov_parse_mac(s, m->mac, msg, sizeof(msg)) < 0)
			return ld_fail_parser(L, p, -EINVAL, msg, fix);
		m->kind = IOV_MATCH_PERM_MAC;
	} else if (strcmp(k, "dsn") == 0) {
		const char *s, *fix = "give the Device Serial Number as `lspci -vv` prints it, "
				      "like \"00-1b-21-ff-ff-aa-bb-cc\"";

		if ((r = ld_get_str(L, v, p, fix, &s)) < 0)
			return r;
		if (iov_cfg_parse_dsn(s, &m->dsn) < 0)
			return ld_fail(L, p, -EINVAL, fix, "\"%.40s\" is not a serial number "
				       "(8 hex pairs joined by -)", s);
		m->kind = IOV_MATCH_DSN;
	} else {
		const char *s, *fix = "give \"vendor:device\" in hex as `lspci -n` prints it, like "
				      "\"8086:10c9\"";
		int vd[2] = { 0, 0 };

		if ((r = ld_get_str(L, v, p, fix, &s)) < 0)
			return r;
		if (strlen(s) != 9 || s[4] != ':')
			return ld_fail(L, p, -EINVAL, fix, "\"%.40s\" is not vendor:device", s);
		for (int i = 0; i < 9; i++) {
			int h = iov_hexdigit(s[i]);

			if (i == 4)
				continue;
			if (h < 0)
				return ld_fail(L, p, -EINVAL, fix, "\"%.40s\" is not vendor:device", s);
			vd[i > 4] = vd[i > 4] << 4 | h;
		}
		m->vendor = vd[0];
		m->device = vd[1];
		m->kind = IOV_MATCH_VENDOR_DEVICE;
	}
	return 0;
}

static int find_pf(const struct iov_config *c, const char *name)
{
	for (size_t i = 0; i < c->n_pfs; i++)
		if (strcmp(c->pfs[i].name, name) == 0)
			return (int)i;
	return -ENOENT;
}

static int load_pf(struct ld *L, const json_t *o, const char *path)
{
	static const char *const keys[] = { "name", "match", "num_vfs", "defaults", "vfs", NULL };
	struct iov_cfg_pf *pf = &L->c->pfs[L->c->n_pfs];
	char p[256];
	json_t *v;
	int r, dup;

	pf->num_vfs = -1;
	pf->nvme_defaults = (struct iov_cfg_nvmevf){ -1, -1, -1 };
	ld_where_set(&pf->where, L->file, path);
	L->c->n_pfs++;		/* owned by c from here on, so freed on failure */
	if ((r = ld_want_type(L, o, path, JSON_OBJECT, "an object",
			   "write each PF as { \"name\": \"uplink\", \"match\": { ... }, "
			   "\"num_vfs\": 4 }")) < 0 ||
	    (r = ld_check_keys(L, o, path, keys, "a PF")) < 0 ||
	    (r = ld_get_name(L, o, path, "PF", &pf->name)) < 0)
		return r;
	if ((dup = find_pf(L->c, pf->name)) >= 0 && (size_t)dup != L->c->n_pfs - 1) {
		const struct iov_cfg_pf *o2 = &L->c->pfs[dup];
		char fix[256];

		ld_path_key(p, sizeof(p), path, "name");
		snprintf(fix, sizeof(fix), "give each PF its own name (rename one of them, or "
			 "remove one)");
		return ld_fail(L, p, -EEXIST, fix, "PF \"%s\" is already defined in %s (%s)",
			       pf->name, o2->where.file, o2->where.path);
	}
	if (!(v = json_object_get(o, "match")))
		return ld_fail(L, path, -EINVAL, "add \"match\": { \"netdev\": \"...\" } (or address, "
			       "perm_mac, dsn, vendor_device) saying which device this is",
			       "PF \"%s\" has no \"match\"", pf->name);
	ld_path_key(p, sizeof(p), path, "match");
	if ((r = load_match(L, &pf->match, v, p)) < 0)
		return r;
	if ((v = json_object_get(o, "num_vfs"))) {
		json_int_t n;

		ld_path_key(p, sizeof(p), path, "num_vfs");
		if ((r = ld_get_int(L, v, p, 0, MAX_NUM_VFS, "give how many VFs this PF should have "
				 "(0 removes them; leave the key out to not manage the count)", &n)) < 0)
			return r;
		pf->num_vfs = (int)n;
	}
	if ((v = json_object_get(o, "defaults"))) {
		ld_path_key(p, sizeof(p), path, "defaults");
		if ((r = load_vfprops(L, v, p, true, &pf->defaults, &pf->default_driver,
				       &pf->nvme_defaults)) < 0)
			return r;
		if (pf->nvme_defaults.queues >= 0 || pf->nvme_defaults.interrupts >= 0)
			pf->nvme = true;
	}
	if ((v = json_object_get(o, "vfs"))) {
		ld_path_key(p, sizeof(p), path, "vfs");
		if ((r = load_vfs(L, pf, v, p)) < 0)
			return r;
	}
	return 0;
}

/* ---- pools ---- */

/* "uplink/vf0-3" or "uplink/vf2": VFs spelled as iovctl spells them (PF/vfN); the older
 * "uplink#0-3" is the same. */
static int load_member(struct ld *L, struct iov_cfg_pool_member *m, const json_t *v,
		       const char *path)
{
	const char *fix = "name VFs as PF/vfN or PF/vfN-M, where PF is a name from \"pfs\" "
			  "(\"uplink/vf0-3\")";
	const char *s, *sep, *range;
	char pfname[40], f[512];
	int r, i;

	if ((r = ld_get_str(L, v, path, fix, &s)) < 0)
		return r;
	sep = strstr(s, "/vf");
	range = sep ? sep + 3 : NULL;
	if (!sep && (sep = strchr(s, '#')))
		range = sep + 1;
	if (!sep || sep == s || (size_t)(sep - s) >= sizeof(pfname))
		return ld_fail(L, path, -EINVAL, fix, "\"%.40s\" is not PF/vfN or PF/vfN-M", s);
	memcpy(pfname, s, (size_t)(sep - s));
	pfname[sep - s] = '\0';
	if ((r = iov_cfg_parse_range(range, MAX_NUM_VFS - 1, &m->first, &m->last)) < 0)
		return range_fail(L, path, r, s, fix);
	if ((i = find_pf(L->c, pfname)) < 0) {
		size_t n = (size_t)snprintf(f, sizeof(f), "define a PF named \"%s\" in \"pfs\", or "
					    "use one of the PFs defined:", pfname);
		for (size_t k = 0; k < L->c->n_pfs && n < sizeof(f); k++)
			n += (size_t)snprintf(f + n, sizeof(f) - n, " %s", L->c->pfs[k].name);
		if (!L->c->n_pfs)
			snprintf(f + n, n < sizeof(f) ? sizeof(f) - n : 0, " (none)");
		return ld_fail(L, path, -ENOENT, f, "\"%.40s\": no PF named \"%s\"", s, pfname);
	}
	m->pf = (size_t)i;
	return 0;
}

static int load_pool(struct ld *L, const json_t *o, const char *path)
{
	static const char *const keys[] = { "name", "vfs", "on_release", NULL };
	struct iov_cfg_pool *pl = &L->c->pools[L->c->n_pools];
	const char *fix = "list the pool's VFs: \"vfs\": [\"uplink/vf0-3\"]";
	char p[256];
	json_t *v, *e;
	size_t i;
	int r;

	ld_where_set(&pl->where, L->file, path);
	L->c->n_pools++;
	if ((r = ld_want_type(L, o, path, JSON_OBJECT, "an object",
			   "write each pool as { \"name\": \"tenants\", \"vfs\": [\"uplink/vf0-3\"] }")) < 0 ||
	    (r = ld_check_keys(L, o, path, keys, "a pool")) < 0 ||
	    (r = ld_get_name(L, o, path, "pool", &pl->name)) < 0)
		return r;
	for (size_t k = 0; k + 1 < L->c->n_pools; k++)
		if (strcmp(L->c->pools[k].name, pl->name) == 0) {
			ld_path_key(p, sizeof(p), path, "name");
			return ld_fail(L, p, -EEXIST, "give each pool its own name",
				       "pool \"%s\" is already defined in %s (%s)", pl->name,
				       L->c->pools[k].where.file, L->c->pools[k].where.path);
		}
	if ((v = json_object_get(o, "on_release"))) {
		const char *s, *f2 = "write \"keep\" (the namespace's data stays for the pool's "
				     "next guest) or \"format\" (Format NVM with User Data Erase "
				     "before the VF goes back to the pool)";

		ld_path_key(p, sizeof(p), path, "on_release");
		if ((r = ld_get_str(L, v, p, f2, &s)) < 0)
			return r;
		if (strcmp(s, "keep") && strcmp(s, "format"))
			return ld_fail(L, p, -EINVAL, f2, "\"%.40s\" is not a release action", s);
		pl->on_release = strcmp(s, "format") == 0 ? IOV_RELEASE_FORMAT : IOV_RELEASE_KEEP;
		pl->has_on_release = true;
	}
	if (!(v = json_object_get(o, "vfs")))
		return ld_fail(L, path, -EINVAL, fix, "pool \"%s\" has no \"vfs\"", pl->name);
	ld_path_key(p, sizeof(p), path, "vfs");
	if ((r = ld_want_type(L, v, p, JSON_ARRAY, "an array", fix)) < 0)
		return r;
	if (!json_array_size(v))
		return ld_fail(L, p, -EINVAL, fix, "pool \"%s\" has no VFs", pl->name);
	if (json_array_size(v) > MAX_ENTRIES)
		return ld_fail(L, p, -E2BIG, "use ranges (\"uplink/vf0-63\") instead of one member per VF",
			       "%zu members; at most %d", json_array_size(v), MAX_ENTRIES);
	if (!(pl->members = calloc(json_array_size(v), sizeof(*pl->members))))
		return iov_err_set(L->err, -ENOMEM, NULL, "out of memory");
	json_array_foreach(v, i, e) {
		char pe[256];

		ld_path_idx(pe, sizeof(pe), p, i);
		/* PF names are checked once all files are read (a pool may name a PF of a later
		 * drop-in): here only the syntax. */
		if ((r = load_member(L, &pl->members[pl->n_members], e, pe)) < 0)
			return r;
		pl->n_members++;
	}
	return 0;
}

/* ---- guests ---- */

static int load_guest(struct ld *L, const json_t *o, const char *path)
{
	struct iov_gspec_in in = { .file = L->file, .path = path };
	struct iov_cfg_guest *g = &L->c->guests[L->c->n_guests];
	char p[256];
	int r;

	ld_where_set(&g->where, L->file, path);
	if ((r = iov_gspec_from_json(o, &in, g, NULL, 0, L->err)) < 0)
		return r;
	L->c->n_guests++;
	for (size_t k = 0; k + 1 < L->c->n_guests; k++)
		if (strcmp(L->c->guests[k].name, g->name) == 0) {
			ld_path_key(p, sizeof(p), path, "name");
			return ld_fail(L, p, -EEXIST, "give each guest its own name",
				       "guest \"%s\" is already defined in %s (%s)", g->name,
				       L->c->guests[k].where.file, L->c->guests[k].where.path);
		}
	return 0;
}

/* ---- a document ---- */

static int grow(struct ld *L, void **arr, size_t n, size_t add, size_t size)
{
	void *p;

	if (!add)
		return 0;
	p = realloc(*arr, (n + add) * size);
	if (!p)
		return iov_err_set(L->err, -ENOMEM, NULL, "out of memory");
	memset((char *)p + n * size, 0, add * size);
	*arr = p;
	return 0;
}

static int load_array(struct ld *L, const json_t *top, const char *key, const char *example,
		      int (*one)(struct ld *, const json_t *, const char *))
{
	json_t *a = json_object_get(top, key), *e;
	char p[64], fix[160];
	size_t i;
	int r;

	if (!a)
		return 0;
	snprintf(p, sizeof(p), "$.%s", key);
	snprintf(fix, sizeof(fix), "write \"%s\": [ %s, ... ]", key, example);
	if ((r = ld_want_type(L, a, p, JSON_ARRAY, "an array", fix)) < 0)
		return r;
	if (json_array_size(a) + (strcmp(key, "pfs") == 0 ? L->c->n_pfs : strcmp(key, "pools") == 0 ?
				  L->c->n_pools : L->c->n_guests) > MAX_ITEMS)
		return ld_fail(L, p, -E2BIG, "describe fewer; no host has this many",
			       "more than %d %s in all files", MAX_ITEMS, key);
	json_array_foreach(a, i, e) {
		char pe[96];

		ld_path_idx(pe, sizeof(pe), p, i);
		if ((r = one(L, e, pe)) < 0)
			return r;
	}
	return 0;
}

static int load_doc(struct ld *L, const json_t *top)
{
	static const char *const keys[] = { "policy", "pfs", "pools", "guests", NULL };
	struct iov_config *c = L->c;
	json_t *v;
	int r;

	if ((r = ld_want_type(L, top, "$", JSON_OBJECT, "an object",
			   "the file holds one object: { \"policy\": {...}, \"pfs\": [...], "
			   "\"pools\": [...], \"guests\": [...] }")) < 0 ||
	    (r = ld_check_keys(L, top, "$", keys, "the top level")) < 0)
		return r;
	if ((v = json_object_get(top, "policy")) && (r = load_policy(L, v, "$.policy")) < 0)
		return r;
	/* Room first, so each loader can take its slot and count it before filling it (then
	 * iov_config_free frees what a failure left half-built). */
	if ((v = json_object_get(top, "pfs")) && json_is_array(v) &&
	    (r = grow(L, (void **)&c->pfs, c->n_pfs, json_array_size(v), sizeof(*c->pfs))) < 0)
		return r;
	if ((r = load_array(L, top, "pfs", "{ \"name\": \"uplink\", \"match\": {...} }", load_pf)) < 0)
		return r;
	if ((v = json_object_get(top, "pools")) && json_is_array(v) &&
	    (r = grow(L, (void **)&c->pools, c->n_pools, json_array_size(v), sizeof(*c->pools))) < 0)
		return r;
	/* Pools name PFs: read after all PFs of all files (see load_pools_late). */
	if ((v = json_object_get(top, "guests")) && json_is_array(v) &&
	    (r = grow(L, (void **)&c->guests, c->n_guests, json_array_size(v), sizeof(*c->guests))) < 0)
		return r;
	return load_array(L, top, "guests", "{ \"name\": \"vm1\", \"kernel\": \"...\" }", load_guest);
}

/* ---- checks across the whole config ---- */

static int check_pf_ranges(struct ld *L)
{
	for (size_t i = 0; i < L->c->n_pfs; i++) {
		const struct iov_cfg_pf *pf = &L->c->pfs[i];

		for (size_t k = 0; k < pf->n_vfs; k++) {
			const struct iov_cfg_vfs *e = &pf->vfs[k];
			struct iov_vfconf m;
			enum iov_cfg_driver d;
			char fix[256];

			L->file = e->where.file;
			if (pf->num_vfs >= 0 && e->last >= (unsigned)pf->num_vfs) {
				snprintf(fix, sizeof(fix), "raise num_vfs to %u, or keep the entries "
					 "within VFs 0..%d", e->last + 1, pf->num_vfs - 1);
				if (pf->num_vfs == 0)
					snprintf(fix, sizeof(fix), "raise num_vfs to %u, or remove the "
						 "entry", e->last + 1);
				return ld_fail(L, e->where.path, -ERANGE, fix, "VF %u is beyond "
					       "num_vfs %d of PF \"%s\"", e->last, pf->num_vfs, pf->name);
			}
			/* defaults + entry must still make sense (min_rate vs max_rate) */
			iov_config_vf(L->c, i, e->first, &m, &d);
			if ((m.set & IOV_VFC_MIN_RATE) && (m.set & IOV_VFC_MAX_RATE) && m.max_rate &&
			    m.min_rate > m.max_rate)
				return ld_fail(L, e->where.path, -EINVAL, "lower min_rate or raise "
					       "max_rate, here or in the PF's defaults",
					       "with the PF's defaults, min_rate %u is above max_rate %u",
					       m.min_rate, m.max_rate);
		}
	}
	return 0;
}

static int load_pools_late(struct ld *L, const json_t *top)
{
	return load_array(L, top, "pools", "{ \"name\": \"tenants\", \"vfs\": [\"uplink/vf0-3\"] }",
			  load_pool);
}

static int check_pools(struct ld *L)
{
	struct iov_config *c = L->c;

	for (size_t i = 0; i < c->n_pools; i++) {
		struct iov_cfg_pool *pl = &c->pools[i];

		/* A storage pool: its VFs are NVMe VFs (their PFs have NVMe keys). One kind per
		 * pool: a guest asks for a NIC or a disk by the pool's name. */
		pl->storage = pl->n_members && c->pfs[pl->members[0].pf].nvme;
		L->file = pl->where.file;
		if (pl->has_on_release && !pl->storage) {
			char p[192];

			snprintf(p, sizeof(p), "%s.on_release", pl->where.path);
			return ld_fail(L, p, -EINVAL, "drop \"on_release\": it is for pools of NVMe "
				       "VFs (a PF with \"queues\", \"interrupts\" or \"namespace\")",
				       "pool \"%s\" is not a pool of NVMe VFs", pl->name);
		}
		for (size_t k = 0; k < pl->n_members; k++) {
			const struct iov_cfg_pool_member *m = &pl->members[k];
			const struct iov_cfg_pf *pf = &c->pfs[m->pf];
			char p[192], fix[256];

			L->file = pl->where.file;
			snprintf(p, sizeof(p), "%s.vfs[%zu]", pl->where.path, k);
			if (pf->nvme != pl->storage) {
				snprintf(fix, sizeof(fix), "put NVMe VFs and network VFs in pools of "
					 "their own (a guest takes a NIC or a disk from a pool)");
				return ld_fail(L, p, -EINVAL, fix, "pool \"%s\" mixes NVMe VFs (%s) "
					       "and network VFs (%s)", pl->name,
					       pf->nvme ? pf->name : c->pfs[pl->members[0].pf].name,
					       pf->nvme ? c->pfs[pl->members[0].pf].name : pf->name);
			}
			if (pf->num_vfs >= 0 && m->last >= (unsigned)pf->num_vfs) {
				snprintf(fix, sizeof(fix), "raise num_vfs of \"%s\" (%s) to %u, or "
					 "name VFs below %d", pf->name, pf->where.path, m->last + 1,
					 pf->num_vfs);
				return ld_fail(L, p, -ERANGE, fix, "VF %u is beyond num_vfs %d of PF "
					       "\"%s\"", m->last, pf->num_vfs, pf->name);
			}
			for (unsigned vf = m->first; vf <= m->last; vf++) {
				enum iov_cfg_driver d;
				struct iov_vfconf props;

				iov_config_vf(c, m->pf, vf, &props, &d);
				if (pl->storage) {
					struct iov_cfg_nvmevf nv;

					if (iov_config_vf_nvme(c, m->pf, vf, &nv) == 0 && nv.ns < 0) {
						snprintf(fix, sizeof(fix), "give VF %u of \"%s\" a "
							 "\"namespace\" in its entry of \"vfs\"", vf,
							 pf->name);
						return ld_fail(L, p, -EINVAL, fix, "%s/vf%u has no "
							       "namespace: a guest would get a disk "
							       "controller without a disk", pf->name, vf);
					}
				}
				if (d != IOV_CFG_DRV_VFIO) {
					snprintf(fix, sizeof(fix), "add \"driver\": \"vfio-pci\" to the "
						 "defaults of \"%s\" or to its entry for VF %u", pf->name, vf);
					return ld_fail(L, p, -EINVAL, fix, "%s/vf%u is on driver \"%s\"; "
						       "pooled VFs go to guests and must be on vfio-pci",
						       pf->name, vf, iov_cfg_driver_name(d));
				}
			}
			/* A VF in two pools (or twice in one) */
			for (size_t j = 0; j <= i; j++) {
				const struct iov_cfg_pool *o2 = &c->pools[j];

				for (size_t l = 0; l < (j == i ? k : o2->n_members); l++) {
					const struct iov_cfg_pool_member *m2 = &o2->members[l];

					if (m2->pf != m->pf || m->first > m2->last || m2->first > m->last)
						continue;
					snprintf(fix, sizeof(fix), "put each VF in one pool only");
					return ld_fail(L, p, -EEXIST, fix, "%s/vf%u is already in pool "
						       "\"%s\" (%s: %s.vfs[%zu])", pf->name,
						       m->first > m2->first ? m->first : m2->first,
						       o2->name, o2->where.file, o2->where.path, l);
				}
			}
		}
	}
	return 0;
}

/* A NIC's "device": PF/vfN with PF a config name is checked here; an address or a netdev is
 * left to resolve (it needs the host). Also: a device used twice, a pooled VF named directly. */
static int check_nics(struct ld *L)
{
	struct iov_config *c = L->c;

	for (size_t i = 0; i < c->n_guests; i++) {
		const struct iov_cfg_guest *g = &c->guests[i];

		for (size_t k = 0; k < g->n_nics; k++) {
			const struct iov_cfg_nic *n = &g->nics[k];
			char p[192], fix[512], pfname[64], msg[256];
			unsigned vf;
			int pf;

			L->file = g->where.file;
			snprintf(p, sizeof(p), "%s.nics[%zu].%s", g->where.path, k, n->pool ? "pool" : "device");
			if (n->pool) {
				if (iov_config_find_pool(c, n->pool) < 0) {
					size_t len = (size_t)snprintf(fix, sizeof(fix), "define a pool "
								      "named \"%s\" in \"pools\", or use one of:",
								      n->pool);
					for (size_t q = 0; q < c->n_pools && len < sizeof(fix); q++)
						len += (size_t)snprintf(fix + len, sizeof(fix) - len, " %s",
									c->pools[q].name);
					if (!c->n_pools)
						snprintf(fix + len, len < sizeof(fix) ? sizeof(fix) - len : 0,
							 " (none defined)");
					return ld_fail(L, p, -ENOENT, fix, "no pool named \"%.40s\"", n->pool);
				}
				if (c->pools[iov_config_find_pool(c, n->pool)].storage)
					return ld_fail(L, p, -EINVAL, "take it as a disk: \"disks\": [ { "
						       "\"pool\": \"...\" } ], or name a pool of network VFs",
						       "pool \"%.40s\" holds NVMe VFs, not NICs", n->pool);
				continue;
			}
			/* A device named twice, by the same spelling */
			for (size_t j = 0; j <= i; j++)
				for (size_t l = 0; l < (j == i ? k : c->guests[j].n_nics); l++) {
					const struct iov_cfg_nic *n2 = &c->guests[j].nics[l];

					if (n2->device && strcmp(n2->device, n->device) == 0)
						return ld_fail(L, p, -EEXIST, "give each device to one NIC "
							       "of one guest; use a pool to share a set of VFs",
							       "\"%s\" is already the NIC of guest \"%s\" "
							       "(%s: %s.nics[%zu])", n->device,
							       c->guests[j].name, c->guests[j].where.file,
							       c->guests[j].where.path, l);
				}
			if (!strchr(n->device, '/')) {
				struct iov_pci_addr a;

				if (iov_pci_addr_parse(n->device, &a) < 0)
					return ld_fail(L, p, -EINVAL, "name the device as PF/vfN (PF: a "
						       "name from \"pfs\", a PCI address or a netdev) or as a "
						       "PCI address", "\"%.40s\" is neither PF/vfN nor a PCI "
						       "address", n->device);
				continue;
			}
			if (iov_parse_vf_spec(n->device, pfname, sizeof(pfname), &vf, msg, sizeof(msg)) < 0)
				return ld_fail_parser(L, p, -EINVAL, msg, "name a VF as PF/vfN, like "
						      "\"uplink/vf2\"");
			if ((pf = find_pf(c, pfname)) < 0)
				continue;	/* an address or netdev: resolve checks it */
			if (c->pfs[pf].num_vfs >= 0 && vf >= (unsigned)c->pfs[pf].num_vfs) {
				snprintf(fix, sizeof(fix), "name a VF below %d, or raise num_vfs of "
					 "\"%s\"", c->pfs[pf].num_vfs, pfname);
				return ld_fail(L, p, -ERANGE, fix, "VF %u is beyond num_vfs %d of PF "
					       "\"%s\"", vf, c->pfs[pf].num_vfs, pfname);
			}
			for (size_t q = 0; q < c->n_pools; q++)
				for (size_t l = 0; l < c->pools[q].n_members; l++) {
					const struct iov_cfg_pool_member *m = &c->pools[q].members[l];

					if (m->pf == (size_t)pf && vf >= m->first && vf <= m->last) {
						snprintf(fix, sizeof(fix), "draw it from the pool "
							 "(\"pool\": \"%s\") or take it out of the pool",
							 c->pools[q].name);
						return ld_fail(L, p, -EEXIST, fix, "%s is in pool \"%s\" "
							       "(%s: %s)", n->device, c->pools[q].name,
							       c->pools[q].where.file, c->pools[q].where.path);
					}
				}
		}
	}
	return 0;
}

/* A disk's pool: defined, and a pool of NVMe VFs. */
static int check_disks(struct ld *L)
{
	struct iov_config *c = L->c;

	for (size_t i = 0; i < c->n_guests; i++) {
		const struct iov_cfg_guest *g = &c->guests[i];

		for (size_t k = 0; k < g->n_disks; k++) {
			const char *pool = g->disks[k].pool;
			char p[192], fix[512];
			size_t len;
			int q;

			if (!pool)
				continue;
			L->file = g->where.file;
			snprintf(p, sizeof(p), "%s.disks[%zu].pool", g->where.path, k);
			if ((q = iov_config_find_pool(c, pool)) >= 0 && c->pools[q].storage)
				continue;
			len = (size_t)snprintf(fix, sizeof(fix), "name a pool of NVMe VFs:");
			for (size_t j = 0; j < c->n_pools && len < sizeof(fix); j++)
				if (c->pools[j].storage)
					len += (size_t)snprintf(fix + len, sizeof(fix) - len, " %s",
								c->pools[j].name);
			if (len == strlen("name a pool of NVMe VFs:"))
				snprintf(fix, sizeof(fix), "define a pool of NVMe VFs (VFs of a PF with "
					 "\"namespace\" entries) in \"pools\"");
			return ld_fail(L, p, q < 0 ? -ENOENT : -EINVAL, fix, q < 0 ?
				       "no pool named \"%.40s\"" : "pool \"%.40s\" holds network "
				       "VFs, not NVMe VFs", pool);
		}
	}
	return 0;
}

/* Every MAC the config gives (VF entries, guest NICs) is given once. */
struct macuse {
	uint8_t mac[6];
	const char *file;
	char path[192];
};

static int check_macs(struct ld *L)
{
	struct iov_config *c = L->c;
	struct macuse *u = NULL;
	size_t n = 0, cap = 0;
	int r = 0;

	for (size_t i = 0; i < c->n_pfs; i++)
		cap += c->pfs[i].n_vfs;
	for (size_t i = 0; i < c->n_guests; i++)
		cap += c->guests[i].n_nics;
	if (!cap)
		return 0;
	if (!(u = calloc(cap, sizeof(*u))))
		return iov_err_set(L->err, -ENOMEM, NULL, "out of memory");
	for (size_t i = 0; i < c->n_pfs; i++)
		for (size_t k = 0; k < c->pfs[i].n_vfs; k++) {
			const struct iov_cfg_vfs *e = &c->pfs[i].vfs[k];

			if (!(e->props.set & IOV_VFC_MAC))
				continue;
			memcpy(u[n].mac, e->props.mac, 6);
			u[n].file = e->where.file;
			snprintf(u[n].path, sizeof(u[n].path), "%s.mac", e->where.path);
			n++;
		}
	for (size_t i = 0; i < c->n_guests; i++)
		for (size_t k = 0; k < c->guests[i].n_nics; k++) {
			if (!c->guests[i].nics[k].has_mac)
				continue;
			memcpy(u[n].mac, c->guests[i].nics[k].mac, 6);
			u[n].file = c->guests[i].where.file;
			snprintf(u[n].path, sizeof(u[n].path), "%s.nics[%zu].mac",
				 c->guests[i].where.path, k);
			n++;
		}
	for (size_t i = 0; i < n && !r; i++)
		for (size_t k = 0; k < i && !r; k++)
			if (memcmp(u[i].mac, u[k].mac, 6) == 0) {
				char m[18];

				iov_fmt_mac(u[i].mac, m);
				L->file = u[i].file;
				r = ld_fail(L, u[i].path, -EEXIST, "give every VF and NIC its own MAC",
					    "MAC %s is also given at %s: %s", m, u[k].file, u[k].path);
			}
	free(u);
	return r;
}

/* ---- files ---- */

static int add_file(struct ld *L, const char *path)
{
	char **f = realloc(L->c->files, (L->c->n_files + 2) * sizeof(char *));

	if (!f)
		return iov_err_set(L->err, -ENOMEM, NULL, "out of memory");
	L->c->files = f;
	if (!(f[L->c->n_files] = strdup(path)))
		return iov_err_set(L->err, -ENOMEM, NULL, "out of memory");
	f[++L->c->n_files] = NULL;
	L->file = f[L->c->n_files - 1];
	return 0;
}

static int parse_one(struct ld *L, const char *buf, size_t len, json_t **out)
{
	json_error_t je;
	json_t *j;

	/* Duplicate keys inside one object are an error, like keys defined twice across files. */
	j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		const char *fix = "fix the JSON syntax there (a missing comma, quote or bracket "
				  "is the usual cause; `python3 -m json.tool FILE` shows it too)";

		if (json_error_code(&je) == json_error_duplicate_key)
			fix = "give each key once per object; for several PFs use the \"pfs\" array";
		else if (json_error_code(&je) == json_error_numeric_overflow)
			fix = "write a number in range";
		else if (json_error_code(&je) == json_error_null_character ||
			 json_error_code(&je) == json_error_invalid_utf8)
			fix = "write the file as UTF-8 text without NUL bytes";
		return iov_err_set(L->err, -EINVAL, fix, "%s:%d:%d: %s", L->file, je.line,
				   je.column, je.text);
	}
	*out = j;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Drop-ins: DIR/ *.json, lexical order (bytewise), dot files ignored. */
static int list_dropins(struct ld *L, const char *dir, char ***out, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **v = NULL;
	size_t cnt = 0;

	*out = NULL;
	*n = 0;
	if (!d) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return iov_err_set(L->err, -errno, "make the directory readable by iovd, or point "
				   "iovd elsewhere", "%s: cannot read the drop-in directory: %s", dir,
				   strerror(errno));
	}
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		char **nv;

		if (de->d_name[0] == '.' || l < 6 || strcmp(de->d_name + l - 5, ".json") != 0)
			continue;
		if (!(nv = realloc(v, (cnt + 1) * sizeof(char *))) ||
		    (v = nv, asprintf(&v[cnt], "%s/%s", dir, de->d_name) < 0)) {
			for (size_t i = 0; i < cnt; i++)
				free(v[i]);
			free(v);
			closedir(d);
			return iov_err_set(L->err, -ENOMEM, NULL, "out of memory");
		}
		cnt++;
	}
	closedir(d);
	if (cnt)
		qsort(v, cnt, sizeof(char *), cmp_str);
	*out = v;
	*n = cnt;
	return 0;
}

static int finish(struct ld *L, json_t **docs, size_t n)
{
	int r;

	/* Pools last: they name PFs of any file. */
	for (size_t i = 0; i < n; i++) {
		L->file = L->c->files[i];
		if ((r = load_pools_late(L, docs[i])) < 0)
			return r;
	}
	if ((r = check_pf_ranges(L)) < 0 || (r = check_pools(L)) < 0 ||
	    (r = check_nics(L)) < 0 || (r = check_disks(L)) < 0 || (r = check_macs(L)) < 0)
		return r;
	return 0;
}

static int load_docs(struct ld *L, json_t **docs, size_t n)
{
	int r;

	for (size_t i = 0; i < n; i++) {
		L->file = L->c->files[i];
		if ((r = load_doc(L, docs[i])) < 0)
			return r;
	}
	return finish(L, docs, n);
}

static struct iov_config *config_new(void)
{
	struct iov_config *c = calloc(1, sizeof(*c));

	if (c) {
		c->policy.allow_unsafe_interrupts = -1;
		c->policy.stop_timeout = -1;
	}
	return c;
}

int iov_config_load_buf(const char *name, const char *buf, size_t len, struct iov_config **out,
			struct iov_err *err)
{
	struct ld L = { .err = err };
	json_t *doc = NULL;
	int r;

	if (!(L.c = config_new()))
		return iov_err_set(err, -ENOMEM, NULL, "out of memory");
	if ((r = add_file(&L, name ? name : "config")) < 0 || (r = parse_one(&L, buf, len, &doc)) < 0 ||
	    (r = load_docs(&L, &doc, 1)) < 0) {
		json_decref(doc);
		iov_config_free(L.c);
		return r;
	}
	json_decref(doc);
	*out = L.c;
	return 0;
}

int iov_config_dropin_dir(const char *path, char *buf, size_t len)
{
	size_t n = strlen(path);

	if (n > 5 && strcmp(path + n - 5, ".json") == 0)
		n -= 5;
	if ((size_t)snprintf(buf, len, "%.*s.d", (int)n, path) >= len)
		return -ENAMETOOLONG;
	return 0;
}

int iov_config_load(const char *path, const char *dropin_dir, struct iov_config **out,
		    struct iov_err *err)
{
	return iov_config_load_with(path, dropin_dir, NULL, NULL, 0, out, err);
}

int iov_config_load_with(const char *path, const char *dropin_dir, const char *extra_name,
			 const char *extra, size_t extra_len, struct iov_config **out,
			 struct iov_err *err)
{
	struct ld L = { .err = err };
	char dbuf[4096], pbuf[4096], **drop = NULL;
	size_t n_drop = 0, n_docs = 0, extra_at = (size_t)-1;
	json_t **docs = NULL;
	char *buf = NULL;
	size_t len;
	int r;

	if (!path) {
		/* Under --sysroot DIR: DIR/etc/iovd, never this machine's (as iovd does). */
		if (iov_path(pbuf, sizeof(pbuf), "%s", IOV_CONFIG_DEFAULT_PATH) < 0)
			return iov_err_set(err, -ENAMETOOLONG, "use a shorter --sysroot",
					   "%s%s: path too long", iov_sysroot(), IOV_CONFIG_DEFAULT_PATH);
		path = pbuf;
	}
	if (!dropin_dir) {
		if (iov_config_dropin_dir(path, dbuf, sizeof(dbuf)) < 0)
			return iov_err_set(err, -ENAMETOOLONG, "use a shorter path", "%s: path too long",
					   path);
		dropin_dir = dbuf;
	}
	if (!(L.c = config_new()))
		return iov_err_set(err, -ENOMEM, NULL, "out of memory");
	if (*dropin_dir && (r = list_dropins(&L, dropin_dir, &drop, &n_drop)) < 0)
		goto out;
	if (extra_name) {
		/* The prospective drop-in takes its place in lexical order, replacing a file of
		 * that name. */
		char **nd = realloc(drop, (n_drop + 1) * sizeof(*drop)), *dup;
		size_t at = 0;

		if (!nd || !(dup = strdup(extra_name))) {
			if (nd)
				drop = nd;
			r = iov_err_set(err, -ENOMEM, NULL, "out of memory");
			goto out;
		}
		drop = nd;
		while (at < n_drop && strcmp(drop[at], extra_name) < 0)
			at++;
		if (at < n_drop && strcmp(drop[at], extra_name) == 0) {
			free(drop[at]);
			drop[at] = dup;
		} else {
			memmove(drop + at + 1, drop + at, (n_drop - at) * sizeof(*drop));
			drop[at] = dup;
			n_drop++;
		}
		extra_at = at;
	}
	if (!(docs = calloc(n_drop + 1, sizeof(*docs)))) {
		r = iov_err_set(err, -ENOMEM, NULL, "out of memory");
		goto out;
	}
	for (size_t i = 0; i <= n_drop; i++) {
		const char *f = i == 0 ? path : drop[i - 1];

		if (i > 0 && i - 1 == extra_at) {
			len = extra_len;
			r = (buf = malloc(len + 1)) ? 0 : -ENOMEM;
			if (buf)
				memcpy(buf, extra, len);
		} else {
			r = iov_read_file(f, CONFIG_MAX_BYTES, &buf, &len);
		}
		if (r == -ENOENT && i == 0) {
			if (n_drop)
				continue;	/* drop-ins alone are a config */
			if (*dropin_dir)
				r = iov_err_set(err, -ENOENT, "write one (see iovd.conf(5) and "
						"docs/examples/iovd.json), or give another path",
						"%s: no config file (and no drop-ins in %s)", path,
						dropin_dir);
			else
				r = iov_err_set(err, -ENOENT, "write one (see iovd.conf(5) and "
						"docs/examples/iovd.json), or give another path",
						"%s: no config file", path);
			goto out;
		}
		if (r == -EFBIG) {
			r = iov_err_set(err, -EFBIG, "a host config is a few KiB; check the file",
					"%s: larger than %u MiB", f, CONFIG_MAX_BYTES >> 20);
			goto out;
		}
		if (r < 0) {
			r = iov_err_set(err, r, r == -EACCES ? "run as root, or make it readable" :
					"check the path", "%s: cannot read it: %s", f, strerror(-r));
			goto out;
		}
		if ((r = add_file(&L, f)) < 0)
			goto out;
		r = parse_one(&L, buf, len, &docs[n_docs]);
		free(buf);
		buf = NULL;
		if (r < 0)
			goto out;
		n_docs++;
	}
	r = load_docs(&L, docs, n_docs);
out:
	free(buf);
	for (size_t i = 0; i < n_docs; i++)
		json_decref(docs[i]);
	free(docs);
	for (size_t i = 0; i < n_drop; i++)
		free(drop[i]);
	free(drop);
	if (r < 0) {
		iov_config_free(L.c);
		return r;
	}
	*out = L.c;
	return 0;
}

void iov_config_free(struct iov_config *c)
{
	if (!c)
		return;
	free(c->policy.admin_group);
	for (size_t i = 0; c->policy.never_move && c->policy.never_move[i]; i++)
		free(c->policy.never_move[i]);
	free(c->policy.never_move);
	for (size_t i = 0; i < c->n_pfs; i++) {
		free(c->pfs[i].name);
		free(c->pfs[i].match.netdev);
		free(c->pfs[i].vfs);
	}
	free(c->pfs);
	for (size_t i = 0; i < c->n_pools; i++) {
		free(c->pools[i].name);
		free(c->pools[i].members);
	}
	free(c->pools);
	for (size_t i = 0; i < c->n_guests; i++)
		iov_gspec_free(&c->guests[i]);
	free(c->guests);
	for (size_t i = 0; i < c->n_files; i++)
		free(c->files[i]);
	free(c->files);
	free(c);
}

/* ---- queries ---- */

int iov_config_vf(const struct iov_config *c, size_t pf, unsigned idx, struct iov_vfconf *props,
		  enum iov_cfg_driver *driver)
{
	const struct iov_cfg_pf *p;
	struct iov_vfconf m;
	enum iov_cfg_driver d;

	if (pf >= c->n_pfs)
		return -ENOENT;
	p = &c->pfs[pf];
	if (p->num_vfs >= 0 && idx >= (unsigned)p->num_vfs)
		return -ENOENT;
	m = p->defaults;
	d = p->default_driver;
	if (!(m.set & IOV_VFC_VLAN))
		m.vlan_proto = IOV_ETH_P_8021Q;
	for (size_t i = 0; i < p->n_vfs; i++) {
		const struct iov_cfg_vfs *e = &p->vfs[i];
		const struct iov_vfconf *o = &e->props;

		if (idx < e->first || idx > e->last)
			continue;
		if (o->set & IOV_VFC_MAC)
			memcpy(m.mac, o->mac, 6);
		if (o->set & IOV_VFC_VLAN) {
			m.vlan = o->vlan;
			m.qos = o->qos;
			m.vlan_proto = o->vlan_proto;
		}
		if (o->set & IOV_VFC_SPOOFCHK)
			m.spoofchk = o->spoofchk;
		if (o->set & IOV_VFC_TRUST)
			m.trust = o->trust;
		if (o->set & IOV_VFC_STATE)
			m.state = o->state;
		if (o->set & IOV_VFC_MIN_RATE)
			m.min_rate = o->min_rate;
		if (o->set & IOV_VFC_MAX_RATE)
			m.max_rate = o->max_rate;
		m.set |= o->set;
		if (e->driver != IOV_CFG_DRV_UNSET)
			d = e->driver;
		break;		/* entries do not overlap */
	}
	if (d == IOV_CFG_DRV_UNSET)
		d = IOV_CFG_DRV_HOST;
	*props = m;
	*driver = d;
	return 0;
}

int iov_config_vf_nvme(const struct iov_config *c, size_t pf, unsigned idx,
		       struct iov_cfg_nvmevf *out)
{
	const struct iov_cfg_pf *p;
	struct iov_cfg_nvmevf m;

	if (pf >= c->n_pfs)
		return -ENOENT;
	p = &c->pfs[pf];
	if (p->num_vfs >= 0 && idx >= (unsigned)p->num_vfs)
		return -ENOENT;
	m = p->nvme_defaults;
	for (size_t i = 0; i < p->n_vfs; i++) {
		const struct iov_cfg_vfs *e = &p->vfs[i];

		if (idx < e->first || idx > e->last)
			continue;
		if (e->nvme.queues >= 0)
			m.queues = e->nvme.queues;
		if (e->nvme.interrupts >= 0)
			m.interrupts = e->nvme.interrupts;
		if (e->nvme.ns >= 0)
			m.ns = e->nvme.ns;
		break;		/* entries do not overlap */
	}
	*out = m;
	return 0;
}

int iov_config_find_pf(const struct iov_config *c, const char *name)
{
	return find_pf(c, name);
}

int iov_config_find_pool(const struct iov_config *c, const char *name)
{
	for (size_t i = 0; i < c->n_pools; i++)
		if (strcmp(c->pools[i].name, name) == 0)
			return (int)i;
	return -ENOENT;
}

int iov_config_find_guest(const struct iov_config *c, const char *name)
{
	for (size_t i = 0; i < c->n_guests; i++)
		if (strcmp(c->guests[i].name, name) == 0)
			return (int)i;
	return -ENOENT;
}
