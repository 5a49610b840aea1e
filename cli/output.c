#include "cli/output.h"
#include "cli/nvmeout.h"
#include "lib/host.h"
#include "lib/hostjson.h"
#include "lib/par.h"
#include "lib/sysfs.h"
#include "vfio/guard.h"
#include "vfio/verify.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

struct outbuf {
	char buf[1 << 16];
	size_t len;
	bool failed;
};

static void outbuf_flush(struct outbuf *o)
{
	if (o->len && fwrite(o->buf, 1, o->len, stdout) != o->len)
		o->failed = true;
	o->len = 0;
}

/* jansson emits a JSON document token by token; collecting tokens in a buffer costs one
 * fwrite per 64 KiB instead of one (locked) fwrite per token, without building the whole
 * document as one string (which would double peak memory on big hosts). */
static int outbuf_add(const char *s, size_t n, void *data)
{
	struct outbuf *o = data;

	if (n > sizeof(o->buf) - o->len)
		outbuf_flush(o);
	if (n > sizeof(o->buf)) {
		if (fwrite(s, 1, n, stdout) != n)
			o->failed = true;
		return o->failed ? -1 : 0;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	return o->failed ? -1 : 0;
}

/* outbuf_add that indents every line after the first by `indent` spaces, so that a value
 * dumped on its own lands at its nesting depth inside a larger document. */
struct indented {
	struct outbuf *o;
	int indent;
};

static int outbuf_add_indented(const char *s, size_t n, void *data)
{
	struct indented *in = data;
	static const char spaces[] = "                ";

	for (size_t start = 0; start < n;) {
		const char *nl = memchr(s + start, '\n', n - start);
		size_t end = nl ? (size_t)(nl - s) + 1 : n;

		if (outbuf_add(s + start, end - start, in->o) < 0)
			return -1;
		if (nl && outbuf_add(spaces, (size_t)in->indent, in->o) < 0)
			return -1;
		start = end;
	}
	return 0;
}

/* Dumps j (consumed) at nesting depth indent. */
static int dump_at(json_t *j, struct outbuf *o, int indent)
{
	struct indented in = { o, indent };
	int ret;

	if (!j)
		return -1;
	ret = json_dump_callback(j, outbuf_add_indented, &in,
				 JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
	json_decref(j);
	return ret;
}

static void outs(const char *str, struct outbuf *o)
{
	outbuf_add(str, strlen(str), o);
}

/* A growable string for one device's JSON, formatted on a worker thread. */
struct strbuf {
	char *p;
	size_t len, cap;
	bool failed;
};

static int strbuf_add(const char *s, size_t n, void *data)
{
	struct strbuf *b = data;

	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		char *np;

		while (cap < b->len + n)
			cap *= 2;
		if (!(np = realloc(b->p, cap))) {
			b->failed = true;
			return -1;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	return 0;
}

/* Like outbuf_add_indented, into a strbuf. */
static int strbuf_add_indented(const char *s, size_t n, void *data)
{
	static const char spaces[] = "    ";

	for (size_t start = 0; start < n;) {
		const char *nl = memchr(s + start, '\n', n - start);
		size_t end = nl ? (size_t)(nl - s) + 1 : n;

		if (strbuf_add(s + start, end - start, data) < 0)
			return -1;
		if (nl && strbuf_add(spaces, 4, data) < 0)
			return -1;
		start = end;
	}
	return 0;
}

/* Devices (or groups) formatted in batches on the loader threads (lib/par.h), written in
 * order: a big host's thousands of VFs format in parallel, and at most one batch of text
 * is held at a time. */
#define BATCH 512

struct fmt_job {
	const struct iov_host *h;
	const char *cmdline;
	const struct iov_dev **devs;	/* NULL: groups */
	size_t base;
	struct strbuf out[BATCH];
};

static void fmt_one(void *ctx, size_t i)
{
	struct fmt_job *j = ctx;
	struct strbuf *b = &j->out[i];
	json_t *v = j->devs ? iov_json_dev(j->devs[j->base + i])
			    : iov_json_group(j->h->groups[j->base + i]);

	if (j->devs && v)
		cli_acs_verdict(v, j->h, j->devs[j->base + i], j->cmdline);
	b->len = 0;
	if (!v || json_dump_callback(v, strbuf_add_indented, b,
				     JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY) < 0)
		b->failed = true;
	json_decref(v);
}

/* Writes n items (devices from devs, else groups) as array elements at depth 4. */
static int print_items(struct fmt_job *j, const struct iov_dev **devs, size_t n, struct outbuf *o)
{
	int ret = 0;

	j->devs = devs;
	for (size_t base = 0; ret == 0 && base < n; base += BATCH) {
		size_t m = n - base < BATCH ? n - base : BATCH;

		j->base = base;
		iov_par_for(m, fmt_one, j);
		for (size_t i = 0; i < m; i++) {
			outs(base + i ? ",\n    " : "\n    ", o);
			if (j->out[i].failed)
				ret = -1;
			else
				outbuf_add(j->out[i].p, j->out[i].len, o);
		}
	}
	return ret;
}

int cli_print_host_json(const struct iov_host *h, enum iov_json_sel sel, const struct iov_dev *pf)
{
	static struct outbuf o;
	const struct iov_dev **devs;
	struct fmt_job *j;
	char *cmdline = cli_read_cmdline();
	size_t n = 0;
	int ret;

	/* The same document as json_dumps(iov_json_host(h, sel), JSON_INDENT(2)), built and
	 * written a batch of devices at a time: peak memory stays flat however many VFs the
	 * host has. */
	devs = calloc(h->n_devs ? h->n_devs : 1, sizeof(*devs));
	j = calloc(1, sizeof(*j));
	if (!devs || !j) {
		free(devs);
		free(j);
		free(cmdline);
		fprintf(stderr, "iovctl: out of memory building JSON\n");
		return 1;
	}
	j->h = h;
	j->cmdline = cmdline;
	for (size_t i = 0; i < h->n_devs && sel != IOV_SEL_GROUPS; i++) {
		const struct iov_dev *d = h->devs[i];

		if ((sel == IOV_SEL_PFS && d->role != IOV_ROLE_PF) ||
		    (sel == IOV_SEL_VFS && d->role != IOV_ROLE_VF) ||
		    (pf && d != pf && d->pf != pf))
			continue;
		devs[n++] = d;
	}
	o.len = 0;
	o.failed = false;
	outs("{\n  \"schema\": \"iovd.host/1\",\n  \"iommu\": ", &o);
	ret = dump_at(iov_json_iommu(h), &o, 2);
	outs(",\n  \"devices\": [", &o);
	if (ret == 0)
		ret = print_items(j, devs, n, &o);
	outs(n ? "\n  ],\n  \"groups\": [" : "],\n  \"groups\": [", &o);
	if (ret == 0)
		ret = print_items(j, NULL, h->n_groups, &o);
	outs(h->n_groups ? "\n  ]" : "]", &o);
	if (ret == 0 && sel != IOV_SEL_GROUPS) {
		json_t *nv = cli_nvme_list_json(h);	/* NVMe PFs only: absent without one */

		if (nv) {
			outs(",\n  \"nvme\": ", &o);
			ret = dump_at(nv, &o, 2);
		}
	}
	outs("\n}\n", &o);
	outbuf_flush(&o);
	for (size_t i = 0; i < BATCH; i++)
		free(j->out[i].p);
	free(j);
	free(devs);
	free(cmdline);
	return ret < 0 || o.failed || fflush(stdout) == EOF ? 1 : 0;
}

char *cli_read_cmdline(void)
{
	char path[PATH_MAX], *s = NULL;

	if (iov_path(path, sizeof(path), "/proc/cmdline") == 0 && iov_exists(path))
		iov_read_str(path, &s);
	return s;
}

void cli_acs_verdict(json_t *o, const struct iov_host *h, const struct iov_dev *d,
		     const char *cmdline)
{
	struct iov_usage u = { .cmdline = (char *)cmdline };
	json_t *acs = json_object_get(o, "acs");
	struct iov_check c = { 0 };

	if (!json_is_object(acs))
		return;
	if (iov_dev_is_bridge(d)) {
		json_object_set_new(acs, "verdict", json_null());
		json_object_set_new(acs, "reason", json_string("a bridge is not assigned"));
		return;
	}
	json_object_set_new(acs, "verdict",
			    json_string(iov_check_status_name(iov_verify_acs(h, &u, d, &c))));
	json_object_set_new(acs, "reason", json_string(c.reason));
}

int cli_print_doc(const char *name, json_t *j)
{
	char schema[64];
	json_t *doc;

	if (!j)
		return cli_print_json(NULL);
	snprintf(schema, sizeof(schema), "iovd.%s/%d", name, CLI_SCHEMA_VERSION);
	doc = json_pack("{s:s}", "schema", schema);
	if (!doc || json_object_update(doc, j) < 0) {
		json_decref(doc);
		json_decref(j);
		return cli_print_json(NULL);
	}
	json_decref(j);
	return cli_print_json(doc);
}

int cli_print_json(json_t *j)
{
	static struct outbuf o;
	int ret;

	if (!j) {
		fprintf(stderr, "iovctl: out of memory building JSON\n");
		return 1;
	}
	o.len = 0;
	o.failed = false;
	ret = json_dump_callback(j, outbuf_add, &o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(j);
	outbuf_add("\n", 1, &o);
	outbuf_flush(&o);
	return ret < 0 || o.failed || fflush(stdout) == EOF ? 1 : 0;
}

const char *cli_ids(const struct iov_dev *d, char *buf, size_t len)
{
	char v[8] = "????", dv[8] = "????";

	if (d->vendor != IOV_UNKNOWN)
		snprintf(v, sizeof(v), "%04x", d->vendor);
	if (d->device != IOV_UNKNOWN)
		snprintf(dv, sizeof(dv), "%04x", d->device);
	snprintf(buf, len, "%s:%s", v, dv);
	return buf;
}

void cli_print_iommu_summary(const struct iov_host *h, FILE *f)
{
	const struct iov_iommu *io = &h->iommu;

	if (!io->enabled && io->n_units == 0) {
		fprintf(f, "IOMMU: none (no IOMMU groups: enable VT-d/AMD-Vi in firmware and boot with "
			   "intel_iommu=on or amd_iommu=on)\n");
	} else {
		fprintf(f, "IOMMU: %s", iov_iommu_vendor_name(io->vendor) ?: "unknown");
		for (size_t i = 0; i < io->n_units; i++)
			fprintf(f, "%s%s", i ? "," : " (", io->units[i].name);
		size_t identity = 0;
		for (size_t i = 0; i < h->n_groups; i++)
			identity += h->groups[i]->type && strcmp(h->groups[i]->type, "identity") == 0;
		fprintf(f, "%s, %s, %zu group%s\n", io->n_units ? ")" : "",
			!io->enabled ? "present but no IOMMU groups" :
			identity == h->n_groups ? "host DMA not translated (identity domains: iommu=pt)" :
			"translating", h->n_groups, h->n_groups == 1 ? "" : "s");
	}
	fprintf(f, "Interrupt remapping: %s (%s)",
		io->intremap == 1 ? "on" : io->intremap == 0 ? "OFF" : "unknown", io->intremap_why);
	if (io->unsafe_interrupts == 1 && io->intremap == 1)
		fprintf(f, "; vfio allow_unsafe_interrupts=Y (not needed here: remove it)");
	else if (io->unsafe_interrupts == 1)
		fprintf(f, "; vfio allow_unsafe_interrupts=Y: devices are assigned WITHOUT interrupt isolation");
	else if (io->unsafe_interrupts == 0 && io->intremap == 0)
		fprintf(f, "; vfio allow_unsafe_interrupts=N: VFIO will refuse to assign devices");
	fputc('\n', f);
}
