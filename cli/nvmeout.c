/* NVMe SR-IOV state (sriov/nvme.h) in `iovctl show` and `iovctl list`: the primary
 * controller's flexible resources and each VF's secondary controller. */
#include "cli/nvmeout.h"
#include "cli/srvstr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "lib/host.h"
#include "sriov/nvme.h"

/* The NVMe PF of d (d itself, or a VF's PF), or NULL. */
static const struct iov_dev *nvme_pf(const struct iov_dev *d)
{
	const struct iov_dev *pf = d->role == IOV_ROLE_VF ? d->pf : d;

	if (!pf || pf->role != IOV_ROLE_PF || !iov_nvme_is_nvme_pf(pf->name, pf->driver))
		return NULL;
	return pf;
}

static void res_line(const char *what, const struct iov_nvme_res *r)
{
	printf("%s %u flexible: %u assigned, %u to the primary, %u free (at most %u per VF)",
	       what, r->total, r->assigned, r->primary, iov_nvme_res_free(r), r->max_per_sec);
}

static void sec_line(const struct iov_nvme_state *s, const struct iov_nvme_sec *c)
{
	char ns[64];

	iov_nvme_ns_of_ctrl(s, c->scid, ns, sizeof(ns));
	printf("controller %u %s, VQ %u, VI %u, namespaces %s\n", c->scid,
	       c->online ? "online" : "offline", c->nvq, c->nvi,
	       !s->ns_known ? "unknown" : ns[0] ? ns : "none");
}

void cli_nvme_show(const struct iov_dev *d)
{
	const struct iov_dev *pf = nvme_pf(d);
	struct iov_nvme_state *s = NULL;
	struct iov_err e = { 0 };

	if (!pf)
		return;
	if (iov_nvme_read(pf->name, &s, &e) < 0) {
		printf("  %-16s%s%s%s\n", "NVMe SR-IOV", e.msg, e.fix[0] ? "; " : "", e.fix);
		return;
	}
	if (d->role == IOV_ROLE_VF) {
		const struct iov_nvme_sec *c = d->vf_index >= 0 ?
					       iov_nvme_sec_of_vf(s, (unsigned)d->vf_index) : NULL;

		printf("  %-16s", "NVMe");
		if (c)
			sec_line(s, c);
		else
			printf("no secondary controller for this VF in %s's list\n", pf->name);
		iov_nvme_state_free(s);
		return;
	}
	printf("  %-16s%s%scontroller %u\n", "NVMe SR-IOV", s->ctrl, s->ctrl[0] ? ", primary " :
	       "primary ", s->pri.cntlid);
	printf("  %-16s", "");
	res_line("VQ", &s->pri.vq);
	printf("\n  %-16s", "");
	res_line("VI", &s->pri.vi);
	putchar('\n');
	for (size_t i = 0; i < s->n_sec; i++) {
		char k[16];

		if (s->sec[i].vfn)
			snprintf(k, sizeof(k), "nvme vf%u", s->sec[i].vfn - 1);
		else
			snprintf(k, sizeof(k), "(no VF)");
		printf("  %-16s", k);
		sec_line(s, &s->sec[i]);
	}
	if (s->ns_known) {
		printf("  %-16s", "namespaces");
		if (!s->n_ns)
			printf("none");
		for (size_t i = 0; i < s->n_ns; i++) {
			printf("%s%u (controllers", i ? ", " : "", s->ns[i].nsid);
			for (size_t k = 0; k < s->ns[i].n_ctrls; k++)
				printf(" %u", s->ns[i].ctrls[k]);
			printf("%s)", s->ns[i].n_ctrls ? "" : " none");
		}
		putchar('\n');
	}
	iov_nvme_state_free(s);
}

json_t *cli_nvme_json(const struct iov_dev *d)
{
	const struct iov_dev *pf = nvme_pf(d);
	struct iov_nvme_state *s = NULL;
	struct iov_err e = { 0 };
	json_t *j;

	if (!pf)
		return NULL;
	if (iov_nvme_read(pf->name, &s, &e) < 0)
		return json_pack("{s:s}", "error", e.msg);
	j = iov_nvme_state_json(s);
	if (j && d->role == IOV_ROLE_VF) {
		json_t *sec = json_object_get(j, "secondary"), *x, *one = json_null();
		size_t i;

		json_array_foreach(sec, i, x)
			if (json_integer_value(json_object_get(x, "vf")) == d->vf_index &&
			    json_is_integer(json_object_get(x, "vf")))
				one = json_incref(x);
		json_decref(j);
		j = one;
	}
	iov_nvme_state_free(s);
	return j;
}

void cli_nvme_list(const struct iov_host *h)
{
	for (size_t i = 0; i < h->n_devs; i++) {
		const struct iov_dev *d = h->devs[i];
		struct iov_nvme_state *s = NULL;
		struct iov_err e = { 0 };

		if (d->role != IOV_ROLE_PF || !nvme_pf(d))
			continue;
		if (iov_nvme_read(d->name, &s, &e) < 0) {
			printf("\nNVMe SR-IOV %s: %s\n", d->name, e.msg);
			continue;
		}
		printf("\nNVMe SR-IOV %s%s%s%s: VQ %u free of %u, VI %u free of %u\n", d->name,
		       s->ctrl[0] ? " (" : "", s->ctrl, s->ctrl[0] ? ")" : "",
		       iov_nvme_res_free(&s->pri.vq), s->pri.vq.total,
		       iov_nvme_res_free(&s->pri.vi), s->pri.vi.total);
		for (size_t k = 0; k < s->n_sec; k++) {
			if (!s->sec[k].vfn)
				continue;
			printf("  vf%-3u ", s->sec[k].vfn - 1);
			sec_line(s, &s->sec[k]);
		}
		iov_nvme_state_free(s);
	}
}

json_t *cli_nvme_list_json(const struct iov_host *h)
{
	json_t *a = NULL;

	for (size_t i = 0; i < h->n_devs; i++) {
		const struct iov_dev *d = h->devs[i];
		json_t *j;

		if (d->role != IOV_ROLE_PF || !(j = cli_nvme_json(d)))
			continue;
		if (!a)
			a = json_array();
		json_object_set_new(j, "device", json_string(d->name));
		json_array_append_new(a, j);
	}
	return a;
}

/* ---- verify: the storage checks of an NVMe VF ---- */

static json_t *check_json(const char *id, bool ok, const char *reason, const char *fix)
{
	return json_pack("{s:s, s:s, s:s, s:o}", "id", id, "status", ok ? "ok" : "fail", "reason",
			 reason, "fix", !ok && fix ? json_string(fix) : json_null());
}

json_t *cli_nvme_verify(const struct iov_dev *d, bool *usable)
{
	const struct iov_dev *pf = d->role == IOV_ROLE_VF ? nvme_pf(d) : NULL;
	const struct iov_nvme_sec *c;
	struct iov_nvme_state *s = NULL;
	struct iov_err e = { 0 };
	char why[256], ns[64];
	bool online, attached;
	json_t *a;

	if (!pf)
		return NULL;
	*usable = false;
	a = json_array();
	if (iov_nvme_read(pf->name, &s, &e) < 0) {
		snprintf(why, sizeof(why), "the drive's secondary controllers cannot be read: %s",
			 e.msg);
		json_array_append_new(a, check_json("nvme_online", false, why, e.fix[0] ? e.fix :
						    "run as root"));
		return a;
	}
	c = d->vf_index >= 0 ? iov_nvme_sec_of_vf(s, (unsigned)d->vf_index) : NULL;
	online = c && c->online && c->nvq >= 2 && c->nvi >= 1;
	if (!c)
		snprintf(why, sizeof(why), "%s lists no secondary controller for this VF", pf->name);
	else
		snprintf(why, sizeof(why), "secondary controller %u is %s with %u VQ and %u VI "
			 "resources%s", c->scid, c->online ? "online" : "offline", c->nvq, c->nvi,
			 online ? "" : " (it needs to be online with at least 2 VQ and 1 VI)");
	json_array_append_new(a, check_json("nvme_online", online, why, "give the VF queues and "
					    "interrupts in the host config (iovd.conf(5)) and apply "
					    "it (iovctl apply)"));
	iov_nvme_ns_of_ctrl(s, c ? c->scid : 0xffff, ns, sizeof(ns));
	attached = c && s->ns_known && ns[0];
	if (!c || !s->ns_known)
		snprintf(why, sizeof(why), "the namespaces attached to this VF's controller are not "
			 "known");
	else if (ns[0])
		snprintf(why, sizeof(why), "namespace%s %s attached to controller %u",
			 strchr(ns, ',') ? "s" : "", ns, c->scid);
	else
		snprintf(why, sizeof(why), "no namespace is attached to controller %u: the VF has no "
			 "storage", c->scid);
	json_array_append_new(a, check_json("nvme_namespace", attached, why, "give the VF a "
					    "\"namespace\" in the host config and apply it"));
	*usable = online && attached;
	iov_nvme_state_free(s);
	return a;
}

bool cli_nvme_verify_print(const struct iov_dev *d)
{
	bool usable = true;
	json_t *a = cli_nvme_verify(d, &usable), *c;
	char fails[64] = "";
	size_t i;

	if (!a)
		return true;
	json_array_foreach(a, i, c) {
		const char *id = cli_str(c, "id", "?");
		const char *st = cli_str(c, "status", "?");

		printf("  %-20s %-8s %s\n", id, st, cli_str(c, "reason", ""));
		if (json_is_string(json_object_get(c, "fix")))
			printf("  %-20s %-8s fix: %s\n", "", "", cli_str(c, "fix", ""));
		if (strcmp(st, "ok"))
			snprintf(fails + strlen(fails), sizeof(fails) - strlen(fails), "%s%s",
				 fails[0] ? ", " : "", id);
	}
	if (usable)
		printf("storage: %s is usable (controller online, namespace attached)\n", d->name);
	else
		printf("storage: %s is NOT usable (fail: %s)\n", d->name, fails);
	json_decref(a);
	return usable;
}
