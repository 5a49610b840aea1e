#include "config/alloc.h"
#include "config/guestspec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "lib/err.h"
#include "lib/host.h"
#include "sriov/vfconf.h"
#include "vfio/verify.h"

const char *iov_alloc_holder(const struct iov_alloc_in *in, const char *dev)
{
	for (size_t i = 0; i < in->n_taken; i++)
		if (strcmp(in->taken[i].dev, dev) == 0)
			return in->taken[i].by ? in->taken[i].by : "another guest";
	return NULL;
}

/* The first counting check that is not ok, or -1. */
static int first_failing(const struct iov_verdict *v)
{
	for (int i = 0; i < IOV_CHECK_COUNT; i++)
		if (iov_check_counts((enum iov_check_id)i) && v->checks[i].status != IOV_CHECK_OK)
			return i;
	return -1;
}

static int refuse_verdict(const struct iov_verdict *v, struct iov_err *err)
{
	int i = first_failing(v);
	const struct iov_check *c = &v->checks[i < 0 ? 0 : i];

	return iov_err_set(err, -EPERM, c->fix[0] ? c->fix : "see `iovctl verify`",
			   "%s is not isolated: %s %s: %s", v->dev->name, iov_check_name(c->id),
			   iov_check_status_name(c->status), c->reason);
}

static int alloc_explicit(const struct iov_alloc_in *in, const char *spec, struct iov_dev **out,
			  struct iov_err *err)
{
	struct iov_dev *d;
	struct iov_verdict v;
	const char *by;
	char msg[512];
	int r = iov_host_resolve(in->h, spec, &d, msg, sizeof(msg));

	if (r < 0)
		return iov_err_set(err, r, "see `iovctl list vfs`", "%s", msg);
	if (d->role != IOV_ROLE_VF || !d->pf)
		return iov_err_set(err, -EINVAL, "name a VF (PF/vfN or its address); see "
				   "`iovctl list vfs`", "%s (%s) is not a virtual function", spec,
				   d->name);
	if ((by = iov_alloc_holder(in, d->name)))
		return iov_err_set(err, -EBUSY, strcmp(by, "quarantine") == 0 ?
				   "`iovctl vf unquarantine` once the VF is known good" :
				   "stop that guest first, or pick another VF",
				   "%s is %s%s", d->name, strcmp(by, "quarantine") == 0 ?
				   "in quarantine" : "held by guest ", strcmp(by, "quarantine") == 0 ?
				   "" : by);
	iov_verify(in->h, in->u, d, &v);
	if (!v.isolated)
		return refuse_verdict(&v, err);
	*out = d;
	return 0;
}

static int alloc_pool(const struct iov_alloc_in *in, const char *name, bool disk,
		      struct iov_dev **out, struct iov_err *err)
{
	const struct iov_cfg_pool *pool;
	struct iov_dev *best = NULL;
	struct iov_verdict first_bad = { 0 };
	size_t members = 0, taken = 0, refused = 0;
	size_t pi;

	/* By name here, not iov_config_find_pool: the allocator links without the loader. */
	for (pi = 0; in->cfg && pi < in->cfg->n_pools; pi++)
		if (strcmp(in->cfg->pools[pi].name, name) == 0)
			break;
	if (!in->cfg || pi == in->cfg->n_pools)
		return iov_err_set(err, -ENOENT, "see the pools in the config (`iovctl config check` lists them)",
				   "no pool named '%s'", name);
	pool = &in->cfg->pools[pi];
	if (pool->storage != disk)
		return iov_err_set(err, -EINVAL, disk ? "take a disk from a pool of NVMe VFs "
				   "(VFs of a PF with \"namespace\" entries)" : "take it as a disk "
				   "(--disk nvme:POOL, \"disks\": [ { \"pool\": ... } ])",
				   "pool '%s' holds %s VFs, not %s", name, pool->storage ? "NVMe" :
				   "network", disk ? "NVMe VFs for a disk" : "NICs");
	for (size_t m = 0; m < pool->n_members; m++) {
		const struct iov_cfg_pool_member *pm = &pool->members[m];
		const struct iov_dev *pf = in->res && pm->pf < in->cfg->n_pfs ?
			in->res->pf_dev[pm->pf] : NULL;

		for (unsigned idx = pm->first; idx <= pm->last; idx++) {
			struct iov_dev *vf;
			struct iov_verdict v;

			members++;
			if (!pf || !pf->sriov || idx >= pf->sriov->n_vfs || !(vf = pf->sriov->vfs[idx]))
				continue;	/* not created (yet): not free either */
			if (iov_alloc_holder(in, vf->name)) {
				taken++;
				continue;
			}
			iov_verify(in->h, in->u, vf, &v);
			if (!v.isolated) {
				if (!refused++)
					first_bad = v;
				continue;
			}
			if (in->numa_node < 0 || vf->numa_node == in->numa_node) {
				*out = vf;
				return 0;
			}
			if (!best)
				best = vf;	/* isolated, another node: if nothing local is free */
		}
	}
	if (best) {
		*out = best;
		return 0;
	}
	if (refused) {
		int i = first_failing(&first_bad);
		const struct iov_check *c = &first_bad.checks[i < 0 ? 0 : i];

		return iov_err_set(err, -EBUSY, c->fix[0] ? c->fix : "see `iovctl verify`",
				   "pool '%s' has no free isolated VF (%zu members, %zu taken, %zu "
				   "not isolated; %s: %s %s: %s)", name, members, taken, refused,
				   first_bad.dev->name, iov_check_name(c->id),
				   iov_check_status_name(c->status), c->reason);
	}
	return iov_err_set(err, -EBUSY, "stop a guest using the pool, or add VFs to it",
			   "pool '%s' has no free VF (%zu members, %zu taken, %zu not created)",
			   name, members, taken, members - taken);
}

int iov_alloc_vf(const struct iov_alloc_in *in, const struct iov_cfg_nic *nic,
		 struct iov_dev **out, struct iov_err *err)
{
	if (nic->pool)
		return alloc_pool(in, nic->pool, false, out, err);
	if (nic->device)
		return alloc_explicit(in, nic->device, out, err);
	return iov_err_set(err, -EINVAL, "give a pool name or a VF", "the NIC names no pool "
			   "and no device");
}

int iov_alloc_disk_vf(const struct iov_alloc_in *in, const char *pool, struct iov_dev **out,
		      struct iov_err *err)
{
	return alloc_pool(in, pool, true, out, err);
}

/* ---- MAC registry ---- */

struct iov_macreg *iov_macreg_new(void)
{
	return calloc(1, sizeof(struct iov_macreg));
}

void iov_macreg_free(struct iov_macreg *reg)
{
	if (!reg)
		return;
	for (size_t i = 0; i < reg->n; i++)
		free(reg->ents[i].guest);
	free(reg->ents);
	free(reg);
}

const struct iov_mac_ent *iov_macreg_find(const struct iov_macreg *reg, const char *guest,
					  unsigned nic)
{
	for (size_t i = 0; i < reg->n; i++)
		if (reg->ents[i].nic == nic && strcmp(reg->ents[i].guest, guest) == 0)
			return &reg->ents[i];
	return NULL;
}

const struct iov_mac_ent *iov_macreg_owner(const struct iov_macreg *reg, const uint8_t mac[6])
{
	for (size_t i = 0; i < reg->n; i++)
		if (memcmp(reg->ents[i].mac, mac, 6) == 0)
			return &reg->ents[i];
	return NULL;
}

void iov_macreg_forget(struct iov_macreg *reg, const char *guest)
{
	size_t j = 0;

	for (size_t i = 0; i < reg->n; i++) {
		if (strcmp(reg->ents[i].guest, guest) == 0)
			free(reg->ents[i].guest);
		else
			reg->ents[j++] = reg->ents[i];
	}
	reg->n = j;
}

static int reg_add(struct iov_macreg *reg, const char *guest, unsigned nic, const uint8_t mac[6])
{
	struct iov_mac_ent *e = realloc(reg->ents, (reg->n + 1) * sizeof(*e));

	if (!e)
		return -ENOMEM;
	reg->ents = e;
	e = &reg->ents[reg->n];
	if (!(e->guest = strdup(guest)))
		return -ENOMEM;
	e->nic = nic;
	memcpy(e->mac, mac, 6);
	reg->n++;
	return 0;
}

/* FNV-1a over "guest/nicN": spreads names over the 24 bits after the prefix. */
static uint32_t mac_hash(const char *guest, unsigned nic)
{
	char key[96];
	uint32_t h = 2166136261u;

	snprintf(key, sizeof(key), "%s/nic%u", guest, nic);
	for (const char *p = key; *p; p++) {
		h ^= (unsigned char)*p;
		h *= 16777619u;
	}
	return (h ^ (h >> 24)) & 0xffffff;
}

static bool is_other(const struct iov_mac_ent *e, const char *guest, unsigned nic)
{
	return e && (e->nic != nic || strcmp(e->guest, guest) != 0);
}

int iov_mac_assign(struct iov_macreg *reg, const char *guest, unsigned nic,
		   const uint8_t *want, const uint8_t *prefix, iov_mac_used_fn used, void *ud,
		   uint8_t mac[6], bool *changed, struct iov_err *err)
{
	static const uint8_t def_prefix[3] = IOV_ALLOC_MAC_PREFIX;
	struct iov_mac_ent *mine = (struct iov_mac_ent *)iov_macreg_find(reg, guest, nic);
	const struct iov_mac_ent *o;
	uint8_t cand[6];
	char s[18], why[128];
	int r;

	if (want) {
		iov_fmt_mac(want, s);
		if (iov_check_vf_mac(want, why, sizeof(why)) < 0)
			return iov_err_set(err, -EINVAL, "pick a unicast address such as "
					   "02:xx:xx:xx:xx:xx", "guest %s nic %u: %s", guest, nic, why);
		if (is_other(o = iov_macreg_owner(reg, want), guest, nic))
			return iov_err_set(err, -EEXIST, "pick another MAC, or leave it out and iovd "
					   "derives one", "guest %s nic %u: MAC %s is already given to "
					   "guest %s nic %u", guest, nic, s, o->guest, o->nic);
		if (!(mine && memcmp(mine->mac, want, 6) == 0) && used &&
		    (r = used(want, ud)) != 0)
			return r < 0 ? iov_err_set(err, r, NULL, "checking whether %s is in use: %s",
						   s, strerror(-r))
				     : iov_err_set(err, -EEXIST, "pick another MAC", "guest %s nic "
						   "%u: MAC %s is in use on this host", guest, nic, s);
		*changed = !mine || memcmp(mine->mac, want, 6) != 0;
		if (mine)
			memcpy(mine->mac, want, 6);
		else if ((r = reg_add(reg, guest, nic, want)) < 0)
			return iov_err_set(err, r, NULL, "out of memory");
		memcpy(mac, want, 6);
		return 0;
	}
	if (mine) {
		/* Recorded: the guest keeps its MAC across restarts of the guest and of iovd. */
		memcpy(mac, mine->mac, 6);
		*changed = false;
		return 0;
	}
	if (!prefix)
		prefix = def_prefix;
	for (uint32_t i = 0, h = mac_hash(guest, nic); i < 4096; i++, h = (h + 1) & 0xffffff) {
		memcpy(cand, prefix, 3);
		cand[0] = (uint8_t)((cand[0] | 0x02) & ~0x01);
		cand[3] = (uint8_t)(h >> 16);
		cand[4] = (uint8_t)(h >> 8);
		cand[5] = (uint8_t)h;
		if (iov_macreg_owner(reg, cand) || iov_check_vf_mac(cand, why, sizeof(why)) < 0)
			continue;
		if (used && (r = used(cand, ud)) != 0) {
			if (r < 0) {
				iov_fmt_mac(cand, s);
				return iov_err_set(err, r, NULL, "checking whether %s is in use: %s",
						   s, strerror(-r));
			}
			continue;
		}
		if ((r = reg_add(reg, guest, nic, cand)) < 0)
			return iov_err_set(err, r, NULL, "out of memory");
		memcpy(mac, cand, 6);
		*changed = true;
		return 0;
	}
	return iov_err_set(err, -EADDRNOTAVAIL, "set policy.mac_prefix to another prefix, or give "
			   "the NIC a mac", "guest %s nic %u: no free MAC under the prefix after "
			   "4096 tries", guest, nic);
}

json_t *iov_macreg_to_json(const struct iov_macreg *reg)
{
	json_t *a = json_array();
	char s[18];

	for (size_t i = 0; i < reg->n; i++) {
		iov_fmt_mac(reg->ents[i].mac, s);
		json_array_append_new(a, json_pack("{s:s, s:i, s:s}", "guest", reg->ents[i].guest,
						   "nic", (int)reg->ents[i].nic, "mac", s));
	}
	return json_pack("{s:i, s:o}", "version", 1, "macs", a);
}

int iov_macreg_from_json(const json_t *j, struct iov_macreg **out, struct iov_err *err)
{
	struct iov_macreg *reg;
	const json_t *a, *e;
	size_t i;
	int skipped = 0;
	char why[128];

	if (!json_is_object(j) || json_integer_value(json_object_get(j, "version")) != 1 ||
	    !json_is_array(a = json_object_get(j, "macs")) || json_object_size(j) != 2)
		return iov_err_set(err, -EINVAL, "move the file away; iovd writes a new one",
				   "$: expected {\"version\": 1, \"macs\": [...]}");
	if (!(reg = iov_macreg_new()))
		return -ENOMEM;
	json_array_foreach(a, i, e) {
		const json_t *g = json_object_get(e, "guest"), *n = json_object_get(e, "nic");
		const json_t *m = json_object_get(e, "mac");
		uint8_t mac[6];
		int r;

		if (!json_is_object(e) || json_object_size(e) != 3 || !json_is_string(g) ||
		    !iov_gspec_name_ok(json_string_value(g)) || !json_is_integer(n) ||
		    json_integer_value(n) < 0 || json_integer_value(n) >= IOV_GUEST_MAX_NICS ||
		    !json_is_string(m) || iov_parse_mac(json_string_value(m), mac, why, sizeof(why)) < 0 ||
		    iov_check_vf_mac(mac, why, sizeof(why)) < 0) {
			if (!skipped++)
				iov_err_set(err, -EINVAL, "nothing to do: iovd writes it anew",
					    "$.macs[%zu]: expected {\"guest\": NAME, \"nic\": 0..%d, "
					    "\"mac\": a unicast MAC}; skipped", i, IOV_GUEST_MAX_NICS - 1);
			continue;
		}
		if (iov_macreg_owner(reg, mac) ||
		    iov_macreg_find(reg, json_string_value(g), (unsigned)json_integer_value(n))) {
			if (!skipped++)
				iov_err_set(err, -EINVAL, "nothing to do: iovd writes it anew",
					    "$.macs[%zu]: MAC or guest NIC listed twice; skipped", i);
			continue;
		}
		if ((r = reg_add(reg, json_string_value(g), (unsigned)json_integer_value(n), mac)) < 0) {
			iov_macreg_free(reg);
			return r;
		}
	}
	*out = reg;
	return skipped;
}
