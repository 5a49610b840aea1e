#include "sriov/vfconf.h"
#include "lib/pciaddr.h"
#include "lib/suggest.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int fail(int code, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(int code, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

int iov_parse_mac(const char *s, uint8_t out[6], char *err, size_t errlen)
{
	uint8_t m[6];

	if (!s || strlen(s) != 17)
		goto bad;
	for (int i = 0; i < 6; i++) {
		const char *p = s + 3 * i;
		int hi = iov_hexdigit(p[0]), lo = iov_hexdigit(p[1]);

		if (hi < 0 || lo < 0 || (i < 5 && p[2] != ':'))
			goto bad;
		m[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(out, m, sizeof(m));
	return 0;
bad:
	return fail(-EINVAL, err, errlen,
		    "mac '%s': not a MAC address; write six hex pairs like 02:00:00:00:00:01",
		    s ? s : "");
}

int iov_check_vf_mac(const uint8_t mac[6], char *err, size_t errlen)
{
	static const uint8_t zero[6];
	char buf[18];

	iov_fmt_mac(mac, buf);
	if (memcmp(mac, zero, 6) == 0)
		return fail(-EINVAL, err, errlen,
			    "mac %s: the all-zero address is not a usable VF address "
			    "(a locally administered one looks like 02:xx:xx:xx:xx:xx)", buf);
	if (mac[0] & 1)
		return fail(-EINVAL, err, errlen,
			    "mac %s: a multicast/broadcast address (lowest bit of the first byte "
			    "set) cannot be a VF address", buf);
	return 0;
}

void iov_fmt_mac(const uint8_t mac[6], char buf[18])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
		 mac[4], mac[5]);
}

/* Decimal 0..max, digits only (no sign, no spaces, no hex). */
static int parse_dec(const char *s, unsigned long long max, unsigned long long *out)
{
	unsigned long long v = 0;

	if (!s || !*s || strlen(s) > 20)
		return -EINVAL;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		unsigned d = (unsigned)(*p - '0');

		if (d > max || v > (max - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int iov_parse_vlan(const char *s, uint16_t *out, char *err, size_t errlen)
{
	unsigned long long v;
	int r = parse_dec(s, 4095, &v);

	if (r == -ERANGE)
		return fail(-ERANGE, err, errlen, "vlan '%s': VLAN IDs go from 0 to 4095 "
			    "(0 = untagged)", s);
	if (r < 0)
		return fail(-EINVAL, err, errlen, "vlan '%s': not a number; give a VLAN ID "
			    "0..4095", s ? s : "");
	*out = (uint16_t)v;
	return 0;
}

int iov_parse_qos(const char *s, uint8_t *out, char *err, size_t errlen)
{
	unsigned long long v;
	int r = parse_dec(s, 7, &v);

	if (r == -ERANGE)
		return fail(-ERANGE, err, errlen, "qos '%s': the 802.1p priority goes from 0 "
			    "to 7", s);
	if (r < 0)
		return fail(-EINVAL, err, errlen, "qos '%s': not a number; give a priority "
			    "0..7", s ? s : "");
	*out = (uint8_t)v;
	return 0;
}

int iov_parse_vlan_proto(const char *s, uint16_t *out, char *err, size_t errlen)
{
	if (s && strcasecmp(s, "802.1Q") == 0) {
		*out = IOV_ETH_P_8021Q;
		return 0;
	}
	if (s && strcasecmp(s, "802.1ad") == 0) {
		*out = IOV_ETH_P_8021AD;
		return 0;
	}
	return fail(-EINVAL, err, errlen, "proto '%s': the VLAN protocol is 802.1Q or 802.1ad",
		    s ? s : "");
}

const char *iov_vlan_proto_name(uint16_t proto)
{
	switch (proto) {
	case IOV_ETH_P_8021Q: return "802.1Q";
	case IOV_ETH_P_8021AD: return "802.1ad";
	}
	return NULL;
}

int iov_parse_rate(const char *what, const char *s, uint32_t *out, char *err, size_t errlen)
{
	unsigned long long v;
	int r = parse_dec(s, UINT32_MAX, &v);

	if (r == -ERANGE)
		return fail(-ERANGE, err, errlen, "%s '%s': too large (at most %u Mbit/s)",
			    what, s, UINT32_MAX);
	if (r < 0)
		return fail(-EINVAL, err, errlen, "%s '%s': give a rate in Mbit/s as a whole "
			    "number (0 = no limit)", what, s ? s : "");
	*out = (uint32_t)v;
	return 0;
}

int iov_parse_onoff(const char *what, const char *s, bool *out, char *err, size_t errlen)
{
	static const char *const on[] = { "on", "yes", "true", "1" };
	static const char *const off[] = { "off", "no", "false", "0" };

	for (size_t i = 0; s && i < 4; i++) {
		if (strcasecmp(s, on[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, off[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return fail(-EINVAL, err, errlen, "%s '%s': say on or off", what, s ? s : "");
}

int iov_parse_link_state(const char *s, enum iov_vf_link_state *out, char *err, size_t errlen)
{
	for (int i = IOV_VF_LINK_AUTO; i <= IOV_VF_LINK_DISABLE; i++) {
		if (s && strcasecmp(s, iov_link_state_name(i)) == 0) {
			*out = (enum iov_vf_link_state)i;
			return 0;
		}
	}
	return fail(-EINVAL, err, errlen, "state '%s': the VF link state is auto, enable or "
		    "disable", s ? s : "");
}

const char *iov_link_state_name(int state)
{
	switch (state) {
	case IOV_VF_LINK_AUTO: return "auto";
	case IOV_VF_LINK_ENABLE: return "enable";
	case IOV_VF_LINK_DISABLE: return "disable";
	}
	return NULL;
}

int iov_parse_vf_spec(const char *s, char *pf, size_t pflen, unsigned *vf, char *err,
		      size_t errlen)
{
	const char *slash = s ? strrchr(s, '/') : NULL;
	unsigned long long n;

	if (!slash || slash == s || strncmp(slash + 1, "vf", 2) != 0)
		return fail(-EINVAL, err, errlen, "'%s': name a VF as PF/vfN, e.g. "
			    "0000:01:00.0/vf0 or eth0/vf2", s ? s : "");
	if (parse_dec(slash + 3, 65535, &n) < 0)
		return fail(-EINVAL, err, errlen, "'%s': '%s' is not a VF index; write vf "
			    "followed by a number, e.g. vf0", s, slash + 1);
	if ((size_t)(slash - s) >= pflen)
		return fail(-ENAMETOOLONG, err, errlen, "'%s': the PF name is too long", s);
	memcpy(pf, s, (size_t)(slash - s));
	pf[slash - s] = '\0';
	*vf = (unsigned)n;
	return 0;
}

int iov_vfconf_check(const struct iov_vfconf *c, char *err, size_t errlen)
{
	int r;

	if (!(c->set & IOV_VFC_ALL))
		return fail(-EINVAL, err, errlen, "nothing to set; give at least one of mac, "
			    "vlan, spoofchk, trust, state, min_rate, max_rate");
	if (c->set & ~IOV_VFC_ALL)
		return fail(-EINVAL, err, errlen, "unknown property flags");
	if ((c->set & IOV_VFC_MAC) && (r = iov_check_vf_mac(c->mac, err, errlen)) < 0)
		return r;
	if (c->set & IOV_VFC_VLAN) {
		if (c->vlan > 4095)
			return fail(-ERANGE, err, errlen, "vlan %u: VLAN IDs go from 0 to 4095",
				    c->vlan);
		if (c->qos > 7)
			return fail(-ERANGE, err, errlen, "qos %u: the priority goes from 0 to 7",
				    c->qos);
		if (!iov_vlan_proto_name(c->vlan_proto))
			return fail(-EINVAL, err, errlen, "proto 0x%04x: the VLAN protocol is "
				    "802.1Q or 802.1ad", c->vlan_proto);
	}
	if ((c->set & IOV_VFC_STATE) && !iov_link_state_name((int)c->state))
		return fail(-EINVAL, err, errlen, "state %d: auto, enable or disable", c->state);
	if ((c->set & IOV_VFC_MIN_RATE) && (c->set & IOV_VFC_MAX_RATE) && c->max_rate &&
	    c->min_rate > c->max_rate)
		return fail(-EINVAL, err, errlen, "min_rate %u is above max_rate %u",
			    c->min_rate, c->max_rate);
	return 0;
}

int iov_vfconf_parse_args(int argc, char **argv, struct iov_vfconf *out, char *err,
			  size_t errlen)
{
	struct iov_vfconf c = { .vlan_proto = IOV_ETH_P_8021Q };
	bool have_qos = false, have_proto = false;
	int r;

	for (int i = 0; i < argc; i += 2) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		unsigned bit;

		if (strcmp(k, "mac") == 0)
			bit = IOV_VFC_MAC;
		else if (strcmp(k, "vlan") == 0)
			bit = IOV_VFC_VLAN;
		else if (strcmp(k, "qos") == 0 || strcmp(k, "proto") == 0)
			bit = 0;
		else if (strcmp(k, "spoofchk") == 0)
			bit = IOV_VFC_SPOOFCHK;
		else if (strcmp(k, "trust") == 0)
			bit = IOV_VFC_TRUST;
		else if (strcmp(k, "state") == 0)
			bit = IOV_VFC_STATE;
		else if (strcmp(k, "min-rate") == 0 || strcmp(k, "min_rate") == 0)
			bit = IOV_VFC_MIN_RATE;
		else if (strcmp(k, "max-rate") == 0 || strcmp(k, "max_rate") == 0)
			bit = IOV_VFC_MAX_RATE;
		else {
			static const char *const props[] = { "mac", "vlan", "qos", "proto", "spoofchk",
							     "trust", "state", "min_rate", "max_rate" };
			const char *near = iov_suggest(k, props, sizeof(props) / sizeof(props[0]));

			return fail(-EINVAL, err, errlen, "'%s': unknown property%s%s%s; the "
				    "properties are mac, vlan, qos, proto, spoofchk, trust, state, "
				    "min_rate, max_rate (min-rate, max-rate: the same)", k,
				    near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
		}
		if (!v)
			return fail(-EINVAL, err, errlen, "%s: missing value", k);
		if ((bit && (c.set & bit)) || (k[0] == 'q' && have_qos) ||
		    (k[0] == 'p' && have_proto))
			return fail(-EINVAL, err, errlen, "%s: given twice", k);
		c.set |= bit;
		switch (bit) {
		case IOV_VFC_MAC:
			if ((r = iov_parse_mac(v, c.mac, err, errlen)) < 0 ||
			    (r = iov_check_vf_mac(c.mac, err, errlen)) < 0)
				return r;
			break;
		case IOV_VFC_VLAN:
			r = iov_parse_vlan(v, &c.vlan, err, errlen);
			break;
		case IOV_VFC_SPOOFCHK:
			r = iov_parse_onoff("spoofchk", v, &c.spoofchk, err, errlen);
			break;
		case IOV_VFC_TRUST:
			r = iov_parse_onoff("trust", v, &c.trust, err, errlen);
			break;
		case IOV_VFC_STATE:
			r = iov_parse_link_state(v, &c.state, err, errlen);
			break;
		case IOV_VFC_MIN_RATE:
			r = iov_parse_rate("min_rate", v, &c.min_rate, err, errlen);
			break;
		case IOV_VFC_MAX_RATE:
			r = iov_parse_rate("max_rate", v, &c.max_rate, err, errlen);
			break;
		default:
			if (k[0] == 'q') {
				have_qos = true;
				r = iov_parse_qos(v, &c.qos, err, errlen);
			} else {
				have_proto = true;
				r = iov_parse_vlan_proto(v, &c.vlan_proto, err, errlen);
			}
		}
		if (r < 0)
			return r;
	}
	if ((have_qos || have_proto) && !(c.set & IOV_VFC_VLAN))
		return fail(-EINVAL, err, errlen, "%s needs vlan: give vlan N %s ...",
			    have_qos ? "qos" : "proto", have_qos ? "qos" : "proto");
	if ((r = iov_vfconf_check(&c, err, errlen)) < 0)
		return r;
	*out = c;
	return 0;
}

json_t *iov_vfconf_to_json(const struct iov_vfconf *c)
{
	json_t *o = json_object();
	char mac[18];

	if (!o)
		return NULL;
	if (c->set & IOV_VFC_MAC) {
		iov_fmt_mac(c->mac, mac);
		json_object_set_new(o, "mac", json_string(mac));
	}
	if (c->set & IOV_VFC_VLAN) {
		json_object_set_new(o, "vlan", json_integer(c->vlan));
		json_object_set_new(o, "qos", json_integer(c->qos));
		json_object_set_new(o, "proto", json_string(iov_vlan_proto_name(c->vlan_proto) ?: "?"));
	}
	if (c->set & IOV_VFC_SPOOFCHK)
		json_object_set_new(o, "spoofchk", json_boolean(c->spoofchk));
	if (c->set & IOV_VFC_TRUST)
		json_object_set_new(o, "trust", json_boolean(c->trust));
	if (c->set & IOV_VFC_STATE)
		json_object_set_new(o, "state", json_string(iov_link_state_name((int)c->state) ?: "?"));
	if (c->set & IOV_VFC_MIN_RATE)
		json_object_set_new(o, "min_rate", json_integer(c->min_rate));
	if (c->set & IOV_VFC_MAX_RATE)
		json_object_set_new(o, "max_rate", json_integer(c->max_rate));
	return o;
}

static int json_uint(const char *key, const json_t *v, json_int_t max, json_int_t *out,
		     char *err, size_t errlen)
{
	if (!json_is_integer(v))
		return fail(-EINVAL, err, errlen, "%s: expected an integer", key);
	if (json_integer_value(v) < 0 || json_integer_value(v) > max)
		return fail(-ERANGE, err, errlen, "%s %" JSON_INTEGER_FORMAT ": out of range "
			    "0..%" JSON_INTEGER_FORMAT, key, json_integer_value(v), max);
	*out = json_integer_value(v);
	return 0;
}

int iov_vfconf_from_json(const json_t *j, struct iov_vfconf *out, char *err, size_t errlen)
{
	struct iov_vfconf c = { .vlan_proto = IOV_ETH_P_8021Q };
	bool have_qp = false;
	const char *key;
	json_t *v;
	json_int_t n;
	int r = 0;

	if (!json_is_object(j))
		return fail(-EINVAL, err, errlen, "config: expected an object");
	json_object_foreach((json_t *)j, key, v) {
		if (strcmp(key, "mac") == 0) {
			if (!json_is_string(v))
				return fail(-EINVAL, err, errlen, "mac: expected a string");
			c.set |= IOV_VFC_MAC;
			r = iov_parse_mac(json_string_value(v), c.mac, err, errlen);
		} else if (strcmp(key, "vlan") == 0) {
			c.set |= IOV_VFC_VLAN;
			if ((r = json_uint(key, v, 4095, &n, err, errlen)) == 0)
				c.vlan = (uint16_t)n;
		} else if (strcmp(key, "qos") == 0) {
			have_qp = true;
			if ((r = json_uint(key, v, 7, &n, err, errlen)) == 0)
				c.qos = (uint8_t)n;
		} else if (strcmp(key, "proto") == 0) {
			have_qp = true;
			if (!json_is_string(v))
				return fail(-EINVAL, err, errlen, "proto: expected a string");
			r = iov_parse_vlan_proto(json_string_value(v), &c.vlan_proto, err, errlen);
		} else if (strcmp(key, "spoofchk") == 0 || strcmp(key, "trust") == 0) {
			if (!json_is_boolean(v))
				return fail(-EINVAL, err, errlen, "%s: expected true or false", key);
			if (key[0] == 's') {
				c.set |= IOV_VFC_SPOOFCHK;
				c.spoofchk = json_is_true(v);
			} else {
				c.set |= IOV_VFC_TRUST;
				c.trust = json_is_true(v);
			}
		} else if (strcmp(key, "state") == 0) {
			if (!json_is_string(v))
				return fail(-EINVAL, err, errlen, "state: expected a string");
			c.set |= IOV_VFC_STATE;
			r = iov_parse_link_state(json_string_value(v), &c.state, err, errlen);
		} else if (strcmp(key, "min_rate") == 0) {
			c.set |= IOV_VFC_MIN_RATE;
			if ((r = json_uint(key, v, UINT32_MAX, &n, err, errlen)) == 0)
				c.min_rate = (uint32_t)n;
		} else if (strcmp(key, "max_rate") == 0) {
			c.set |= IOV_VFC_MAX_RATE;
			if ((r = json_uint(key, v, UINT32_MAX, &n, err, errlen)) == 0)
				c.max_rate = (uint32_t)n;
		} else {
			return fail(-EINVAL, err, errlen, "config.%s: unknown property", key);
		}
		if (r < 0)
			return r;
	}
	if (have_qp && !(c.set & IOV_VFC_VLAN))
		return fail(-EINVAL, err, errlen, "qos/proto need vlan");
	if ((r = iov_vfconf_check(&c, err, errlen)) < 0)
		return r;
	*out = c;
	return 0;
}
