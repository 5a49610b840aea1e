#include "sriov/vfinfo.h"
#include "lib/sysfs.h"
#include "sriov/quirks.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "lib/err.h"
#include "lib/host.h"
#include "lib/log.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

int iov_nlerr_to_errno(int e)
{
	switch (e < 0 ? -e : e) {
	case NLE_SUCCESS: return 0;
	case NLE_INTR: return -EINTR;
	case NLE_BAD_SOCK: return -EBADF;
	case NLE_AGAIN: return -EAGAIN;
	case NLE_NOMEM: return -ENOMEM;
	case NLE_EXIST: return -EEXIST;
	case NLE_INVAL: return -EINVAL;
	case NLE_RANGE: return -ERANGE;
	case NLE_MSGSIZE: return -EMSGSIZE;
	case NLE_OPNOTSUPP: return -EOPNOTSUPP;
	case NLE_AF_NOSUPPORT: return -EAFNOSUPPORT;
	case NLE_OBJ_NOTFOUND: return -ENOENT;
	case NLE_NOATTR: return -ENOENT;
	case NLE_MISSING_ATTR: return -EINVAL;
	case NLE_AF_MISMATCH: return -EAFNOSUPPORT;
	case NLE_SEQ_MISMATCH: return -EPROTO;
	case NLE_MSG_OVERFLOW: return -EOVERFLOW;
	case NLE_MSG_TRUNC: return -EMSGSIZE;
	case NLE_NOADDR: return -EADDRNOTAVAIL;
	case NLE_SRCRT_NOSUPPORT: return -EOPNOTSUPP;
	case NLE_MSG_TOOSHORT: return -EPROTO;
	case NLE_MSGTYPE_NOSUPPORT: return -EOPNOTSUPP;
	case NLE_OBJ_MISMATCH: return -EINVAL;
	case NLE_NOCACHE: return -ENOENT;
	case NLE_BUSY: return -EBUSY;
	case NLE_PROTO_MISMATCH: return -EPROTONOSUPPORT;
	case NLE_NOACCESS: return -EACCES;
	case NLE_PERM: return -EPERM;
	case NLE_PKTLOC_FILE: return -ENOENT;
	case NLE_PARSE_ERR: return -EPROTO;
	case NLE_NODEV: return -ENODEV;
	case NLE_IMMUTABLE: return -EPERM;
	case NLE_DUMP_INTR: return -EINTR;
	case NLE_ATTRSIZE: return -EMSGSIZE;
	}
	return -EIO;
}

struct nl_sock *iov_rtnl_open(int *err)
{
	struct nl_sock *sk;
	int one = 1, r;

	if (*iov_sysroot()) {	/* the tree's netdevs are not this kernel's */
		*err = -IOV_E_SYSROOT;
		return NULL;
	}
	if (!(sk = nl_socket_alloc())) {
		*err = -ENOMEM;
		return NULL;
	}
	if ((r = nl_connect(sk, NETLINK_ROUTE)) < 0) {
		nl_socket_free(sk);
		*err = iov_nlerr_to_errno(r);
		return NULL;
	}
	/* Dumps with VF info for many links exceed a page: let libnl size its buffer. */
	nl_socket_enable_msg_peek(sk);
	/* Ask for the kernel's extended ack (a message for people) with errors, without the
	 * echoed request. Old kernels refuse the options; then there is just no message. */
	setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	return sk;
}

/* ---- reading ---- */

struct vflist {
	struct iov_vfinfo *v;
	size_t n, cap;
	int err;
};

static bool attr_ok(const struct nlattr *a, size_t len)
{
	return a && (size_t)nla_len(a) >= len;
}

static int parse_vf(struct nlattr *vfi, struct iov_vfinfo *out)
{
	struct nlattr *tb[IFLA_VF_MAX + 1];
	struct iov_vfinfo v = {
		.vf = -1, .vlan_proto = IOV_ETH_P_8021Q, .spoofchk = IOV_UNKNOWN,
		.trust = IOV_UNKNOWN, .link_state = IOV_UNKNOWN, .min_rate = IOV_UNKNOWN,
		.max_rate = IOV_UNKNOWN,
	};

	if (nla_parse_nested(tb, IFLA_VF_MAX, vfi, NULL) < 0)
		return -EPROTO;
	if (!attr_ok(tb[IFLA_VF_MAC], sizeof(struct ifla_vf_mac)))
		return -EPROTO;	/* the kernel always sends it; it carries the index */
	{
		struct ifla_vf_mac *m = nla_data(tb[IFLA_VF_MAC]);
		v.vf = (int)m->vf;
		memcpy(v.mac, m->mac, 6);
	}
	if (attr_ok(tb[IFLA_VF_VLAN], sizeof(struct ifla_vf_vlan))) {
		struct ifla_vf_vlan *vl = nla_data(tb[IFLA_VF_VLAN]);
		v.vlan = (int)vl->vlan;
		v.qos = (int)vl->qos;
	}
	if (tb[IFLA_VF_VLAN_LIST]) {
		struct nlattr *i;
		int rem;

		nla_for_each_nested(i, tb[IFLA_VF_VLAN_LIST], rem) {
			if (nla_type(i) == IFLA_VF_VLAN_INFO &&
			    attr_ok(i, sizeof(struct ifla_vf_vlan_info))) {
				struct ifla_vf_vlan_info *vi = nla_data(i);
				v.vlan = (int)vi->vlan;
				v.qos = (int)vi->qos;
				v.vlan_proto = ntohs(vi->vlan_proto);
				break;
			}
		}
	}
	if (attr_ok(tb[IFLA_VF_RATE], sizeof(struct ifla_vf_rate))) {
		struct ifla_vf_rate *r = nla_data(tb[IFLA_VF_RATE]);
		v.min_rate = r->min_tx_rate;
		v.max_rate = r->max_tx_rate;
	} else if (attr_ok(tb[IFLA_VF_TX_RATE], sizeof(struct ifla_vf_tx_rate))) {
		struct ifla_vf_tx_rate *r = nla_data(tb[IFLA_VF_TX_RATE]);
		v.max_rate = r->rate;
	}
	/* The kernel pre-fills spoofchk/trust with -1 ("driver did not say"). */
	if (attr_ok(tb[IFLA_VF_SPOOFCHK], sizeof(struct ifla_vf_spoofchk))) {
		struct ifla_vf_spoofchk *s = nla_data(tb[IFLA_VF_SPOOFCHK]);
		if (s->setting <= 1)
			v.spoofchk = (int)s->setting;
	}
	if (attr_ok(tb[IFLA_VF_TRUST], sizeof(struct ifla_vf_trust))) {
		struct ifla_vf_trust *t = nla_data(tb[IFLA_VF_TRUST]);
		if (t->setting <= 1)
			v.trust = (int)t->setting;
	}
	if (attr_ok(tb[IFLA_VF_LINK_STATE], sizeof(struct ifla_vf_link_state))) {
		struct ifla_vf_link_state *l = nla_data(tb[IFLA_VF_LINK_STATE]);
		if (l->link_state <= IFLA_VF_LINK_STATE_DISABLE)
			v.link_state = (int)l->link_state;
	}
	*out = v;
	return 0;
}

static int cmp_vf(const void *a, const void *b)
{
	return ((const struct iov_vfinfo *)a)->vf - ((const struct iov_vfinfo *)b)->vf;
}

/* Parses the VF list of one RTM_NEWLINK message into l. */
static int parse_vflist(struct nlattr *list, struct vflist *l)
{
	struct nlattr *vfi;
	int rem;

	nla_for_each_nested(vfi, list, rem) {
		struct iov_vfinfo v;

		if (nla_type(vfi) != IFLA_VF_INFO)
			continue;
		if (parse_vf(vfi, &v) < 0)
			return -EPROTO;
		if (l->n == l->cap) {
			size_t cap = l->cap ? l->cap * 2 : 8;
			struct iov_vfinfo *p = realloc(l->v, cap * sizeof(*p));
			if (!p)
				return -ENOMEM;
			l->v = p;
			l->cap = cap;
		}
		l->v[l->n++] = v;
	}
	return 0;
}

static int getlink_cb(struct nl_msg *msg, void *arg)
{
	struct vflist *l = arg;
	struct nlattr *tb[IFLA_MAX + 1];
	int r;

	if (nlmsg_hdr(msg)->nlmsg_type != RTM_NEWLINK)
		return NL_SKIP;
	if ((r = nlmsg_parse(nlmsg_hdr(msg), sizeof(struct ifinfomsg), tb, IFLA_MAX, NULL)) < 0) {
		l->err = -EPROTO;
		return NL_STOP;
	}
	if (tb[IFLA_VFINFO_LIST] && (r = parse_vflist(tb[IFLA_VFINFO_LIST], l)) < 0) {
		l->err = r;
		return NL_STOP;
	}
	return NL_OK;
}

/* Sends an RTM_GETLINK for ifindex (0 = dump all) asking for VF info, and runs cb on
 * every reply. */
static int getlink(struct nl_sock *sk, int ifindex, nl_recvmsg_msg_cb_t cb, void *arg)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex };
	struct nl_msg *msg = nlmsg_alloc_simple(RTM_GETLINK, ifindex ? 0 : NLM_F_DUMP);
	int r;

	if (!msg)
		return -ENOMEM;
	if (nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    /* Per-VF counters would make a 128-VF dump several times larger; older kernels
	     * ignore the flag they do not know. */
	    nla_put_u32(msg, IFLA_EXT_MASK, RTEXT_FILTER_VF | RTEXT_FILTER_SKIP_STATS) < 0) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	r = nl_send_auto(sk, msg);
	nlmsg_free(msg);
	if (r < 0)
		return iov_nlerr_to_errno(r);
	if ((r = nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, cb, arg)) < 0)
		return iov_nlerr_to_errno(r);
	r = nl_recvmsgs_default(sk);
	/* One reply for a single link, NLMSG_DONE after a dump: libnl stops at either. */
	return r < 0 ? iov_nlerr_to_errno(r) : 0;
}

int iov_vfinfo_query(const char *pf_ifname, struct iov_vfinfo **out, size_t *n)
{
	struct vflist l = { 0 };
	struct nl_sock *sk;
	unsigned idx;
	int r;

	if (*iov_sysroot())
		return -IOV_E_SYSROOT;
	if (!(idx = if_nametoindex(pf_ifname)))
		return -ENODEV;
	if (!(sk = iov_rtnl_open(&r)))
		return r;
	r = getlink(sk, (int)idx, getlink_cb, &l);
	nl_socket_free(sk);
	if (r == 0)
		r = l.err;
	if (r < 0) {
		free(l.v);
		return r;
	}
	if (l.n)
		qsort(l.v, l.n, sizeof(*l.v), cmp_vf);
	*out = l.v;
	*n = l.n;
	return 0;
}

static json_t *int_or_null(int64_t v)
{
	return v == IOV_UNKNOWN ? json_null() : json_integer(v);
}

static json_t *bool_or_null(int v)
{
	return v == IOV_UNKNOWN ? json_null() : json_boolean(v);
}

json_t *iov_vfinfo_json(const struct iov_vfinfo *v)
{
	char mac[18];
	const char *proto = iov_vlan_proto_name(v->vlan_proto);
	const char *state = v->link_state == IOV_UNKNOWN ? NULL : iov_link_state_name(v->link_state);

	iov_fmt_mac(v->mac, mac);
	return json_pack("{s:i, s:s, s:i, s:i, s:o, s:o, s:o, s:o, s:o, s:o}",
			 "vf", v->vf, "mac", mac, "vlan", v->vlan, "qos", v->qos,
			 "proto", proto ? json_string(proto) : json_null(),
			 "spoofchk", bool_or_null(v->spoofchk), "trust", bool_or_null(v->trust),
			 "state", state ? json_string(state) : json_null(),
			 "min_rate", int_or_null(v->min_rate), "max_rate", int_or_null(v->max_rate));
}

json_t *iov_vfinfo_query_json(const char *pf_ifname)
{
	struct iov_vfinfo *v;
	size_t n;
	json_t *a;
	int r = iov_vfinfo_query(pf_ifname, &v, &n);

	if (r < 0) {
		errno = -r;
		return NULL;
	}
	a = json_array();
	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, iov_vfinfo_json(&v[i]));
	free(v);
	if (!a)
		errno = ENOMEM;
	return a;
}

/* ---- MAC uniqueness ---- */

struct macscan {
	const uint8_t *mac;
	int pf_index, vf;
	const char *const *skip;
	char *who;
	size_t wholen;
	int found;
	int err;
};

static int macscan_cb(struct nl_msg *msg, void *arg)
{
	struct macscan *m = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct nlattr *tb[IFLA_MAX + 1];
	struct ifinfomsg *ifi;
	const char *name;

	if (h->nlmsg_type != RTM_NEWLINK || m->found)
		return NL_SKIP;
	if (nlmsg_parse(h, sizeof(*ifi), tb, IFLA_MAX, NULL) < 0) {
		m->err = -EPROTO;
		return NL_STOP;
	}
	ifi = nlmsg_data(h);
	name = tb[IFLA_IFNAME] ? nla_get_string(tb[IFLA_IFNAME]) : "?";
	for (const char *const *s = m->skip; s && *s; s++)
		if (strcmp(*s, name) == 0)
			goto vfs;
	if (tb[IFLA_ADDRESS] && nla_len(tb[IFLA_ADDRESS]) == 6 &&
	    memcmp(nla_data(tb[IFLA_ADDRESS]), m->mac, 6) == 0) {
		snprintf(m->who, m->wholen, "netdev %s", name);
		m->found = 1;
		return NL_OK;
	}
vfs:
	if (tb[IFLA_VFINFO_LIST]) {
		struct vflist l = { 0 };

		if (parse_vflist(tb[IFLA_VFINFO_LIST], &l) < 0) {
			free(l.v);
			m->err = -EPROTO;
			return NL_STOP;
		}
		for (size_t i = 0; i < l.n; i++) {
			if (ifi->ifi_index == m->pf_index && l.v[i].vf == m->vf)
				continue;
			if (memcmp(l.v[i].mac, m->mac, 6) == 0) {
				snprintf(m->who, m->wholen, "%s/vf%d", name, l.v[i].vf);
				m->found = 1;
				break;
			}
		}
		free(l.v);
	}
	return NL_OK;
}

int iov_mac_in_use(const uint8_t mac[6], const char *pf_ifname, int vf,
		   const char *const *skip, char *who, size_t wholen)
{
	/* Under a sysroot no netdev is this machine's: nothing is known to use it. */
	if (*iov_sysroot())
		return 0;

	struct macscan m = {
		.mac = mac, .vf = vf, .skip = skip, .who = who, .wholen = wholen,
		.pf_index = pf_ifname ? (int)if_nametoindex(pf_ifname) : 0,
	};
	struct nl_sock *sk;
	int r;

	if (!(sk = iov_rtnl_open(&r)))
		return r;
	r = getlink(sk, 0, macscan_cb, &m);
	nl_socket_free(sk);
	if (r < 0)
		return r;
	if (m.err < 0)
		return m.err;
	return m.found;
}

/* ---- writing ---- */

struct ackctx {
	int err;		/* kernel's -errno */
	bool done;
	char msg[256];		/* extack message */
};

static int ack_err_cb(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct ackctx *a = arg;
	/* libnl hands us the payload of the NLMSG_ERROR message; its header is just before. */
	struct nlmsghdr *h = (struct nlmsghdr *)((char *)e - NLMSG_HDRLEN);
	size_t off, total;

	a->err = e->error;
	a->done = true;
	if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
		return NL_STOP;
	/* TLVs follow the echoed request, or only its header when the ack is capped. */
	off = sizeof(*e);
	if (!(h->nlmsg_flags & NLM_F_CAPPED))
		off += NLMSG_ALIGN(e->msg.nlmsg_len) - NLMSG_HDRLEN;
	total = h->nlmsg_len - NLMSG_HDRLEN;
	if (off < total) {
		struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];

		if (nla_parse(tb, NLMSGERR_ATTR_MAX, (struct nlattr *)((char *)e + off),
			      (int)(total - off), NULL) == 0 && tb[NLMSGERR_ATTR_MSG]) {
			const char *s = nla_data(tb[NLMSGERR_ATTR_MSG]);
			int len = nla_len(tb[NLMSGERR_ATTR_MSG]);

			snprintf(a->msg, sizeof(a->msg), "%.*s", len, s);
		}
	}
	return NL_STOP;
}

static int ack_ok_cb(struct nl_msg *msg, void *arg)
{
	struct ackctx *a = arg;

	a->err = 0;
	a->done = true;
	return NL_STOP;
}

int iov_rtnl_transact(struct nl_sock *sk, struct nl_msg *msg, char *kmsg, size_t kmsglen)
{
	struct ackctx a = { .err = 0 };
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	int r;

	if (!cb)
		return -ENOMEM;
	/* Our own error callback: libnl's default one (and rtnl_link_change) drops the
	 * kernel's extended-ack message. */
	nl_cb_err(cb, NL_CB_CUSTOM, ack_err_cb, &a);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, ack_ok_cb, &a);
	r = nl_send_auto(sk, msg);
	while (r >= 0 && !a.done)
		r = nl_recvmsgs(sk, cb);
	nl_cb_put(cb);
	/* When the kernel answered, its errno is the truth: libnl returns it squeezed through
	 * nl_syserr2nlerr (EPROTONOSUPPORT and others become NLE_FAILURE). */
	if (!a.done)
		return iov_nlerr_to_errno(r < 0 ? r : -NLE_FAILURE);
	if (kmsg && kmsglen)
		snprintf(kmsg, kmsglen, "%s", a.msg);
	return a.err;
}

/* One attribute inside IFLA_VFINFO_LIST / IFLA_VF_INFO. */
struct vfattr {
	int type;
	const void *data;
	size_t len;
	/* IFLA_VF_VLAN_LIST is itself a nest holding one IFLA_VF_VLAN_INFO */
	bool vlan_list;
};

static int setlink_vf(struct nl_sock *sk, int ifindex, const struct vfattr *va, char *msgbuf,
		      size_t msglen)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex };
	struct nl_msg *msg = nlmsg_alloc_simple(RTM_SETLINK, NLM_F_ACK);
	struct nlattr *list, *info, *vl;
	int r;

	if (!msg)
		return -ENOMEM;
	r = -EMSGSIZE;
	if (nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    !(list = nla_nest_start(msg, IFLA_VFINFO_LIST)) ||
	    !(info = nla_nest_start(msg, IFLA_VF_INFO)))
		goto out;
	if (va->vlan_list) {
		if (!(vl = nla_nest_start(msg, IFLA_VF_VLAN_LIST)) ||
		    nla_put(msg, IFLA_VF_VLAN_INFO, (int)va->len, va->data) < 0)
			goto out;
		nla_nest_end(msg, vl);
	} else if (nla_put(msg, va->type, (int)va->len, va->data) < 0) {
		goto out;
	}
	nla_nest_end(msg, info);
	nla_nest_end(msg, list);
	r = iov_rtnl_transact(sk, msg, msgbuf, msglen);
out:
	nlmsg_free(msg);
	return r;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Sends one property; retries while the VF is in reset, for as long as the PF's driver
 * needs (sriov/quirks.c: EAGAIN for any driver, EBUSY too for ice). */
static int setlink_retry(struct nl_sock *sk, int ifindex, const struct vfattr *va, char *msgbuf,
			 size_t msglen, const char *driver)
{
	long waited = 0;
	int r;

	for (;;) {
		r = setlink_vf(sk, ifindex, va, msgbuf, msglen);
		if (r >= 0 || waited >= (long)iov_quirk_retry_ms(driver, r))
			return r;
		sleep_ms(100);
		waited += 100;
	}
}

enum { P_MAC, P_VLAN, P_RATE, P_SPOOFCHK, P_TRUST, P_STATE, P_N };

static const char *const prop_name[P_N] = {
	"mac", "vlan", "min_rate/max_rate", "spoofchk", "trust", "state",
};

/* Everything needed to send one property, for a value and for the old one. */
union vfpayload {
	struct ifla_vf_mac mac;
	struct ifla_vf_vlan_info vlan;
	struct ifla_vf_rate rate;
	struct ifla_vf_spoofchk spoofchk;
	struct ifla_vf_trust trust;
	struct ifla_vf_link_state state;
};

static struct vfattr make_attr(int prop, unsigned vf, const struct iov_vfconf *c,
			       union vfpayload *p)
{
	struct vfattr a = { 0 };

	memset(p, 0, sizeof(*p));
	switch (prop) {
	case P_MAC:
		p->mac.vf = vf;
		memcpy(p->mac.mac, c->mac, 6);
		a = (struct vfattr){ IFLA_VF_MAC, &p->mac, sizeof(p->mac), false };
		break;
	case P_VLAN:
		/* IFLA_VF_VLAN_LIST carries the protocol (802.1ad); plain 802.1Q could use
		 * IFLA_VF_VLAN, but the list works for both on every kernel since 4.9. */
		p->vlan.vf = vf;
		p->vlan.vlan = c->vlan;
		p->vlan.qos = c->qos;
		p->vlan.vlan_proto = htons(c->vlan_proto);
		a = (struct vfattr){ IFLA_VF_VLAN_LIST, &p->vlan, sizeof(p->vlan), true };
		break;
	case P_RATE:
		p->rate.vf = vf;
		p->rate.min_tx_rate = c->min_rate;
		p->rate.max_tx_rate = c->max_rate;
		a = (struct vfattr){ IFLA_VF_RATE, &p->rate, sizeof(p->rate), false };
		break;
	case P_SPOOFCHK:
		p->spoofchk.vf = vf;
		p->spoofchk.setting = c->spoofchk;
		a = (struct vfattr){ IFLA_VF_SPOOFCHK, &p->spoofchk, sizeof(p->spoofchk), false };
		break;
	case P_TRUST:
		p->trust.vf = vf;
		p->trust.setting = c->trust;
		a = (struct vfattr){ IFLA_VF_TRUST, &p->trust, sizeof(p->trust), false };
		break;
	case P_STATE:
		p->state.vf = vf;
		p->state.link_state = (uint32_t)c->state;
		a = (struct vfattr){ IFLA_VF_LINK_STATE, &p->state, sizeof(p->state), false };
		break;
	}
	return a;
}

static bool prop_requested(int prop, const struct iov_vfconf *c)
{
	static const unsigned bits[P_N] = {
		IOV_VFC_MAC, IOV_VFC_VLAN, IOV_VFC_MIN_RATE | IOV_VFC_MAX_RATE,
		IOV_VFC_SPOOFCHK, IOV_VFC_TRUST, IOV_VFC_STATE,
	};
	return c->set & bits[prop];
}

/* The current values as a vfconf, with `set` naming the ones known (for putting back). */
void iov_vfinfo_conf(const struct iov_vfinfo *v, struct iov_vfconf *c)
{
	memset(c, 0, sizeof(*c));
	memcpy(c->mac, v->mac, 6);
	c->set = IOV_VFC_MAC;
	if (v->vlan != IOV_UNKNOWN && v->qos != IOV_UNKNOWN) {
		c->vlan = (uint16_t)v->vlan;
		c->qos = (uint8_t)v->qos;
		c->vlan_proto = v->vlan_proto;
		c->set |= IOV_VFC_VLAN;
	}
	if (v->spoofchk != IOV_UNKNOWN) {
		c->spoofchk = v->spoofchk;
		c->set |= IOV_VFC_SPOOFCHK;
	}
	if (v->trust != IOV_UNKNOWN) {
		c->trust = v->trust;
		c->set |= IOV_VFC_TRUST;
	}
	if (v->link_state != IOV_UNKNOWN) {
		c->state = (enum iov_vf_link_state)v->link_state;
		c->set |= IOV_VFC_STATE;
	}
	if (v->min_rate != IOV_UNKNOWN) {
		c->min_rate = (uint32_t)v->min_rate;
		c->set |= IOV_VFC_MIN_RATE;
	}
	if (v->max_rate != IOV_UNKNOWN) {
		c->max_rate = (uint32_t)v->max_rate;
		c->set |= IOV_VFC_MAX_RATE;
	}
}

/* The settings to put back when a later property of the same request fails: VLAN always
 * (unknown reads as untagged), the rates only as the pair IFLA_VF_RATE sets. */
static struct iov_vfconf current_conf(const struct iov_vfinfo *v)
{
	struct iov_vfconf o;

	iov_vfinfo_conf(v, &o);
	if (!(o.set & IOV_VFC_VLAN)) {
		o.vlan = 0;
		o.qos = 0;
		o.vlan_proto = v->vlan_proto;
		o.set |= IOV_VFC_VLAN;
	}
	if ((o.set & (IOV_VFC_MIN_RATE | IOV_VFC_MAX_RATE)) != (IOV_VFC_MIN_RATE | IOV_VFC_MAX_RATE))
		o.set &= ~(IOV_VFC_MIN_RATE | IOV_VFC_MAX_RATE);
	return o;
}

static const char *errno_hint(int prop, int r, const char *driver)
{
	const struct iov_quirk *q = iov_quirk_get(driver);

	if (q && (q->flags & IOV_QUIRK_RETRY_IN_RESET) && iov_quirk_retry_ms(driver, r))
		return q->fix;
	switch (r) {
	case -EOPNOTSUPP:
		return "the PF driver does not support this VF property";
	case -EPROTONOSUPPORT:
		return "the PF driver supports only 802.1Q VLANs on VFs";
	case -EAGAIN:
		return "the VF stayed in reset; is the VF's driver loaded in the guest?";
	case -EPERM:
		return "run it through iovd as root (CAP_NET_ADMIN)";
	case -EINVAL:
		return prop == P_RATE ? "check the rates against the link speed; some drivers "
					"(igb) support only max_rate, with the link up"
				      : "the driver refused the value (see dmesg)";
	}
	return "see dmesg for the driver's reason";
}

int iov_vf_set(const char *pf_ifname, unsigned vf, const struct iov_vfconf *c,
	       struct iov_err *err)
{
	struct iov_vfinfo *cur = NULL, *mine = NULL;
	struct iov_vfconf want = *c, old;
	struct nl_sock *sk;
	size_t n;
	int r, done[P_N], ndone = 0, ifindex;
	char driver[64] = "";

	/* What the PF's driver cannot do is refused before anything is sent. */
	if (iov_quirk_netdev_driver(pf_ifname, driver, sizeof(driver)) < 0)
		driver[0] = '\0';
	if ((c->set & IOV_VFC_STATE) && iov_quirk_has(driver, IOV_QUIRK_NO_LINK_STATE)) {
		const struct iov_quirk *q = iov_quirk_get(driver);
		char fix[384];

		iov_quirk_fix(q, pf_ifname, fix, sizeof(fix));
		return iov_err_set(err, -EOPNOTSUPP, fix, "%s/vf%u: cannot set state: %s",
				   pf_ifname, vf, q->why);
	}
	/* The driver's limits come from the tree; the netdev is this machine's or nothing. */
	if (*iov_sysroot())
		return iov_err_set(err, -IOV_E_SYSROOT, "VF properties are set through this "
				   "machine's rtnetlink: not under --sysroot",
				   "%s/vf%u: cannot set VF properties under a sysroot", pf_ifname, vf);
	ifindex = (int)if_nametoindex(pf_ifname);
	if (!ifindex)
		return iov_err_set(err, -ENODEV, "check `ip link`", "PF netdev %s not found",
				   pf_ifname);
	r = iov_vfinfo_query(pf_ifname, &cur, &n);
	if (r < 0)
		return iov_err_set(err, r, NULL, "%s: reading VF settings: %s", pf_ifname,
				   iov_strerror(r));
	for (size_t i = 0; i < n; i++)
		if (cur[i].vf == (int)vf)
			mine = &cur[i];
	if (!mine) {
		r = iov_err_set(err, -ENODEV, "create VFs first (iovctl vfs create)",
				"%s has no VF %u (the kernel lists %zu)", pf_ifname, vf, n);
		free(cur);
		return r;
	}
	old = current_conf(mine);
	/* IFLA_VF_RATE sets both limits: keep the one not given (as iproute2 does). */
	if (!(want.set & IOV_VFC_MIN_RATE) != !(want.set & IOV_VFC_MAX_RATE)) {
		if (!(want.set & IOV_VFC_MIN_RATE))
			want.min_rate = mine->min_rate == IOV_UNKNOWN ? 0 : (uint32_t)mine->min_rate;
		if (!(want.set & IOV_VFC_MAX_RATE))
			want.max_rate = mine->max_rate == IOV_UNKNOWN ? 0 : (uint32_t)mine->max_rate;
		want.set |= IOV_VFC_MIN_RATE | IOV_VFC_MAX_RATE;
	}
	free(cur);
	if (want.max_rate && want.min_rate > want.max_rate)
		return iov_err_set(err, -EINVAL, "give both min_rate and max_rate",
				   "min_rate %u would be above max_rate %u", want.min_rate,
				   want.max_rate);
	if ((want.set & (IOV_VFC_MIN_RATE | IOV_VFC_MAX_RATE)) && (want.min_rate || want.max_rate) &&
	    iov_quirk_has(driver, IOV_QUIRK_RATE_NEEDS_LINK) && iov_netdev_is_up(pf_ifname) == 1 &&
	    iov_netdev_wait_carrier(pf_ifname, IOV_QUIRK_LINK_WAIT_MS) == 0)
		log_info("%s/vf%u: no carrier after %u ms; setting the rate anyway", pf_ifname, vf,
			 IOV_QUIRK_LINK_WAIT_MS);
	if (!(sk = iov_rtnl_open(&r)))
		return iov_err_set(err, r, NULL, "rtnetlink: %s", strerror(-r));

	for (int p = 0; p < P_N; p++) {
		union vfpayload pl;
		struct vfattr a;
		char kmsg[256] = "";

		if (!prop_requested(p, &want))
			continue;
		a = make_attr(p, vf, &want, &pl);
		r = setlink_retry(sk, ifindex, &a, kmsg, sizeof(kmsg), driver);
		if (r < 0) {
			iov_err_set(err, r, errno_hint(p, r, driver), "%s/vf%u: setting %s: %s%s%s",
				    pf_ifname, vf, prop_name[p], strerror(-r),
				    kmsg[0] ? " (kernel: " : "", kmsg[0] ? kmsg : "");
			if (kmsg[0] && err)
				strncat(err->msg, ")", sizeof(err->msg) - strlen(err->msg) - 1);
			break;
		}
		done[ndone++] = p;
	}
	if (r < 0 && ndone > 0 && err) {
		size_t l = strlen(err->fix);
		char names[96] = "";

		for (int i = 0; i < ndone; i++)
			snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
				 i ? ", " : "", prop_name[done[i]]);
		snprintf(err->fix + l, sizeof(err->fix) - l, "%s%s of this command put back",
			 l ? "; " : "", names);
	}
	if (r < 0) {
		/* Put back what already changed, newest first. */
		while (ndone > 0) {
			int p = done[--ndone];
			union vfpayload pl;
			struct vfattr a;

			if (!prop_requested(p, &old)) {
				log_warn("%s/vf%u: cannot restore %s (its old value was not reported)",
					 pf_ifname, vf, prop_name[p]);
				continue;
			}
			a = make_attr(p, vf, &old, &pl);
			if (setlink_retry(sk, ifindex, &a, NULL, 0, driver) < 0)
				log_warn("%s/vf%u: could not restore %s", pf_ifname, vf,
					 prop_name[p]);
		}
	}
	nl_socket_free(sk);
	return r < 0 ? r : 0;
}
