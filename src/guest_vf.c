/* VF lending (src/guest_vf.h). */
#include "src/guest_vf.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/host.h"
#include "lib/log.h"
#include "lib/sysfs.h"
#include "sriov/nvme.h"
#include "sriov/vfconf.h"
#include "sriov/vfinfo.h"
#include "src/events.h"
#include "vfio/bind.h"

struct qent {
	char vf[IOV_PCI_ADDR_STRLEN];
	char *reason, *guest;
};

static struct {
	struct qent *q;
	size_t n_q;
} Q;

/* ---- VF admin settings and reset ---- */

int gvf_save_and_set(struct gnic *n, struct iov_err *err)
{
	struct iov_vfinfo *cur = NULL;
	struct iov_vfconf c = { .set = IOV_VFC_MAC | IOV_VFC_SPOOFCHK, .spoofchk = true };
	size_t cnt = 0;
	int r = iov_vfinfo_query(n->pfnet, &cur, &cnt);

	if (r < 0)
		return iov_err_set(err, r, NULL, "%s: reading VF settings: %s", n->pfnet, iov_strerror(r));
	for (size_t i = 0; i < cnt; i++)
		if (cur[i].vf == n->vf_index) {
			n->saved_known = true;
			memcpy(n->saved_mac, cur[i].mac, 6);
			n->saved_vlan = cur[i].vlan == IOV_UNKNOWN ? 0 : cur[i].vlan;
			n->saved_qos = cur[i].qos == IOV_UNKNOWN ? 0 : cur[i].qos;
			n->saved_spoofchk = cur[i].spoofchk;
			n->saved_trust = cur[i].trust;
		}
	free(cur);
	memcpy(c.mac, n->mac, 6);
	if (n->vlan >= 0 || (n->saved_known && n->saved_vlan)) {
		c.set |= IOV_VFC_VLAN;
		c.vlan = (uint16_t)(n->vlan >= 0 ? n->vlan : 0);
		c.vlan_proto = IOV_ETH_P_8021Q;
	}
	/* Trust off: a guest may not change its MAC or go promiscuous. Drivers that do not
	 * support trust (reported unknown) are not asked. */
	if (!n->saved_known || n->saved_trust != IOV_UNKNOWN) {
		c.set |= IOV_VFC_TRUST;
		c.trust = false;
	}
	return iov_vf_set(n->pfnet, (unsigned)n->vf_index, &c, err);
}

void gvf_restore(const struct gnic *n)
{
	struct iov_vfconf c = { .set = IOV_VFC_MAC | IOV_VFC_VLAN, .vlan_proto = IOV_ETH_P_8021Q };
	struct iov_err e = { 0 };

	if (!n->saved_known)
		return;
	memcpy(c.mac, n->saved_mac, 6);
	c.vlan = (uint16_t)n->saved_vlan;
	c.qos = (uint8_t)n->saved_qos;
	if (n->saved_spoofchk != IOV_UNKNOWN) {
		c.set |= IOV_VFC_SPOOFCHK;
		c.spoofchk = n->saved_spoofchk;
	}
	if (n->saved_trust != IOV_UNKNOWN) {
		c.set |= IOV_VFC_TRUST;
		c.trust = n->saved_trust;
	}
	if (iov_vf_set(n->pfnet, (unsigned)n->vf_index, &c, &e) < 0)
		log_warn("%s (%s vf %d): restoring admin settings: %s", n->vf, n->pfnet,
			 n->vf_index, e.msg);
}

/* Function-level reset through sysfs, then the check: the function answers config reads
 * again with its own class code. (Not the IDs: a VF's vendor and device ID registers read
 * all ones by the SR-IOV spec; the kernel's vendor/device files come from the PF.) */
int gvf_reset(const char *dev, char *why, size_t len)
{
	char path[PATH_MAX];
	uint8_t cfg[12];
	long cls = -1;
	int r;

	iov_path(path, sizeof(path), "/sys/bus/pci/devices/%s/reset", dev);
	for (int tries = 0; (r = iov_write_str(path, "1")) == -EBUSY && tries < 20; tries++)
		usleep(100 * 1000);	/* the group's last fd may still be closing */
	if (r < 0) {
		snprintf(why, len, "reset (%s) failed: %s", path, strerror(-r));
		return r;
	}
	iov_path(path, sizeof(path), "/sys/bus/pci/devices/%s/class", dev);
	iov_read_long(path, 16, &cls);
	iov_path(path, sizeof(path), "/sys/bus/pci/devices/%s/config", dev);
	if (iov_read_bin(path, cfg, sizeof(cfg)) != (ssize_t)sizeof(cfg)) {
		snprintf(why, len, "after reset its config space is unreadable");
		return -EIO;
	}
	if ((cfg[9] | cfg[10] << 8 | cfg[11] << 16) != cls) {
		snprintf(why, len, "after reset its config space reads class %02x%02x%02x, not "
			 "%06lx: the function did not come back", cfg[11], cfg[10], cfg[9], cls);
		return -EIO;
	}
	return 0;
}

/* A VF iovd bound to vfio-pci for a guest goes back to its host driver. */
static void unbind(const struct gnic *n)
{
	struct iov_host *h = NULL;
	struct iov_pci_addr a;
	struct iov_err e = { 0 };
	const struct iov_dev *d;

	if (!n->bound_by_us)
		return;
	if (iov_host_load(&h) == 0 && iov_pci_addr_parse(n->vf, &a) == 0 &&
	    (d = iov_host_find(h, &a)) && iov_release(h, d, &e) < 0)
		log_warn("%s: giving it back to its host driver: %s", n->vf, e.msg);
	iov_host_free(h);
}

void gvf_return(const char *guest, struct gnic *n)
{
	char why[512];

	if (gvf_reset(n->vf, why, sizeof(why)) < 0) {
		gvf_restore(n);
		gvf_quarantine(n->vf, guest, why);
		return;
	}
	if (n->disk >= 0 && n->wipe) {
		struct iov_err e = { 0 };

		if (iov_nvme_format(n->pf, n->nsid, &e) < 0) {
			snprintf(why, sizeof(why), "namespace %u not formatted on release (pool %s "
				 "says \"format\"): %s", n->nsid, n->pool ? n->pool : "-", e.msg);
			gvf_quarantine(n->vf, guest, why);
			return;
		}
		log_info("%s: namespace %u formatted (User Data Erase) through %s", n->vf, n->nsid,
			 n->pf);
	}
	gvf_restore(n);
	unbind(n);
	log_info("%s reset and returned%s%s (guest %s)", n->vf, n->pool ? " to pool " : "",
		 n->pool ? n->pool : "", guest);
	iovd_event("vf.returned", n->disk >= 0 ?
		   json_pack("{s:s, s:s?, s:s, s:I, s:b}", "device", n->vf, "pool", n->pool,
			     "guest", guest, "namespace", (json_int_t)n->nsid, "formatted", n->wipe) :
		   json_pack("{s:s, s:s?, s:s}", "device", n->vf, "pool", n->pool, "guest", guest));
}

void gvf_undo(struct gnic *nics, size_t n, bool settings)
{
	for (size_t i = 0; i < n; i++) {
		if (settings)
			gvf_restore(&nics[i]);
		unbind(&nics[i]);
	}
}

/* ---- quarantine ---- */

const char *gvf_quarantined(const char *dev)
{
	for (size_t i = 0; i < Q.n_q; i++)
		if (strcmp(Q.q[i].vf, dev) == 0)
			return Q.q[i].reason;
	return NULL;
}

void gvf_quarantine(const char *vf, const char *guest, const char *reason)
{
	struct qent *q;

	if (gvf_quarantined(vf) || !(q = realloc(Q.q, (Q.n_q + 1) * sizeof(*q))))
		return;
	Q.q = q;
	q = &Q.q[Q.n_q++];
	snprintf(q->vf, sizeof(q->vf), "%s", vf);
	q->reason = strdup(reason);
	q->guest = guest ? strdup(guest) : NULL;
	log_warn("%s quarantined (guest %s): %s", vf, guest ? guest : "-", reason);
	iovd_event("vf.quarantined", json_pack("{s:s, s:s?, s:s}", "device", vf, "guest", guest,
					       "reason", reason));
}

int gvf_unquarantine(const char *dev, struct iov_err *err)
{
	for (size_t i = 0; i < Q.n_q; i++) {
		if (strcmp(Q.q[i].vf, dev) != 0)
			continue;
		free(Q.q[i].reason);
		free(Q.q[i].guest);
		Q.q[i] = Q.q[--Q.n_q];
		log_info("%s taken out of quarantine", dev);
		iovd_event("vf.returned", json_pack("{s:s, s:s}", "device", dev, "from", "quarantine"));
		return 0;
	}
	return iov_err_set(err, -ENOENT, "see `iovctl list` for quarantined VFs",
			   "%s is not in quarantine", dev);
}

size_t gvf_quarantine_count(void)
{
	return Q.n_q;
}

const char *gvf_quarantine_vf(size_t i)
{
	return i < Q.n_q ? Q.q[i].vf : NULL;
}

json_t *gvf_quarantine_json(bool state)
{
	json_t *a = json_array();

	for (size_t i = 0; i < Q.n_q; i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:s?}", state ? "vf" : "device",
						   Q.q[i].vf, "reason", Q.q[i].reason, "guest",
						   Q.q[i].guest));
	return a;
}
