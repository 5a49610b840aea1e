/* libFuzzer harness for the config loader: any bytes as a config document, then (when it
 * loads) resolve against a small hand-built host with a permanent-MAC table, and every
 * query a caller makes (the effective settings of each VF, the name lookups).
 * make config-fuzz [FUZZ_SECS=60] (needs clang); seeds: tests/config/fuzz-corpus/ plus
 * every tests/config/{good,bad} file. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "lib/err.h"
#include "lib/host.h"
#include "sriov/permaddr.h"
#include "tests/unit/fakesys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The live lookup is never used here (resolve gets the table below); not linking
 * sriov/permaddr.c keeps netlink out of the harness. */
int iov_netdev_perm_addr(const char *ifname, uint8_t mac[6])
{
	(void)ifname; (void)mac;
	abort();
}

static struct iov_host *host;

static int perm_mac(void *ud, const char *ifname, uint8_t mac[6])
{
	(void)ud;
	if (strcmp(ifname, "eth0") && strcmp(ifname, "eth1"))
		return -ENOENT;
	memcpy(mac, (const uint8_t[]){ 0x00, 0x1b, 0x21, 0, 0, (uint8_t)ifname[3] }, 6);
	return 0;
}

/* eth0 (01:00.0) and eth1 (02:00.0), 82576-like PFs with two VFs each; eno1 without SR-IOV. */
static struct iov_host *make_host(void)
{
	struct iov_host *h = fk_host_new();
	struct iov_dev *pf0 = fk_dev(h, "0000:01:00.0", "igb"), *pf1 = fk_dev(h, "0000:02:00.0", "igb");
	struct iov_dev *nic = fk_dev(h, "0000:00:19.0", "e1000e");

	fk_netdev(pf0, "eth0");
	fk_netdev(pf1, "eth1");
	fk_netdev(nic, "eno1");
	fk_vf(pf0, fk_dev(h, "0000:01:10.0", "igbvf"));
	fk_vf(pf0, fk_dev(h, "0000:01:10.2", "vfio-pci"));
	fk_vf(pf1, fk_dev(h, "0000:02:10.0", "igbvf"));
	fk_vf(pf1, fk_dev(h, "0000:02:10.2", "igbvf"));
	pf1->dsn_known = true;
	pf1->dsn = 0x001b21ffff000002ull;
	return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct iov_cfg_lookup lk = { perm_mac, NULL };
	struct iov_config *c = NULL;
	struct iov_cfg_resolved *r = NULL;
	struct iov_err e;

	if (!host)
		host = make_host();
	if (iov_config_load_buf("fuzz.json", (const char *)data, size, &c, &e) < 0) {
		/* Every refusal says where and what to do. */
		if (e.code >= 0 || !e.msg[0] || (e.code != -ENOMEM && !e.fix[0]))
			abort();
		return 0;
	}
	for (size_t i = 0; i < c->n_pfs; i++) {
		unsigned n = c->pfs[i].num_vfs >= 0 ? (unsigned)c->pfs[i].num_vfs : 8;

		for (unsigned vf = 0; vf < n && vf < 64; vf++) {
			struct iov_vfconf p;
			enum iov_cfg_driver d;

			if (iov_config_vf(c, i, vf, &p, &d) < 0 || d == IOV_CFG_DRV_UNSET)
				abort();
		}
		if (iov_config_find_pf(c, c->pfs[i].name) != (int)i)
			abort();
	}
	for (size_t i = 0; i < c->n_pools; i++)
		if (iov_config_find_pool(c, c->pools[i].name) != (int)i)
			abort();
	for (size_t i = 0; i < c->n_guests; i++)
		if (iov_config_find_guest(c, c->guests[i].name) != (int)i)
			abort();
	if (iov_config_resolve_with(c, host, &lk, &r, &e) == 0) {
		for (size_t i = 0; i < c->n_pfs; i++)
			if (!r->pf_dev[i] || r->pf_dev[i]->role != IOV_ROLE_PF)
				abort();
	} else if (e.code >= 0 || !e.msg[0]) {
		abort();
	}
	iov_cfg_resolved_free(r);
	iov_config_free(c);
	return 0;
}
