/* VF properties a user asks for ("mac X vlan N qos Q ..."), their parsers and their JSON
 * form on the iovd API. Pure: nothing here touches the host.
 *
 * Every parser takes the text of one argument and, on failure, returns -EINVAL (or
 * -ERANGE) and writes a message for people into err naming the argument and the rule it
 * broke. Out-parameters are written only on success. */
#ifndef IOV_SRIOV_VFCONF_H
#define IOV_SRIOV_VFCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define IOV_ETH_P_8021Q  0x8100
#define IOV_ETH_P_8021AD 0x88a8

/* IFLA_VF_LINK_STATE values. */
enum iov_vf_link_state { IOV_VF_LINK_AUTO = 0, IOV_VF_LINK_ENABLE = 1, IOV_VF_LINK_DISABLE = 2 };

/* Which fields of struct iov_vfconf are set. VLAN 0 and rate 0 are real values ("no VLAN",
 * "no limit"), so presence is a flag, never a magic value. */
#define IOV_VFC_MAC      (1u << 0)
#define IOV_VFC_VLAN     (1u << 1)	/* vlan, qos, proto travel together */
#define IOV_VFC_SPOOFCHK (1u << 2)
#define IOV_VFC_TRUST    (1u << 3)
#define IOV_VFC_STATE    (1u << 4)
#define IOV_VFC_MIN_RATE (1u << 5)
#define IOV_VFC_MAX_RATE (1u << 6)
#define IOV_VFC_ALL      0x7fu

struct iov_vfconf {
	unsigned set;			/* IOV_VFC_* */
	uint8_t mac[6];
	uint16_t vlan;			/* 0..4095; 0 = untagged */
	uint8_t qos;			/* 0..7 */
	uint16_t vlan_proto;		/* IOV_ETH_P_8021Q (default) or IOV_ETH_P_8021AD */
	bool spoofchk, trust;
	enum iov_vf_link_state state;
	uint32_t min_rate, max_rate;	/* Mbit/s; 0 = no limit */
};

/* "aa:bb:cc:dd:ee:ff" (hex, either case). Syntax only. */
int iov_parse_mac(const char *s, uint8_t out[6], char *err, size_t errlen);
/* Rules for a MAC given to a VF: not all-zero, not multicast/broadcast. */
int iov_check_vf_mac(const uint8_t mac[6], char *err, size_t errlen);
void iov_fmt_mac(const uint8_t mac[6], char buf[18]);

int iov_parse_vlan(const char *s, uint16_t *out, char *err, size_t errlen);	/* 0..4095 */
int iov_parse_qos(const char *s, uint8_t *out, char *err, size_t errlen);	/* 0..7 */
/* "802.1Q" / "802.1ad" (any case) -> ethertype. */
int iov_parse_vlan_proto(const char *s, uint16_t *out, char *err, size_t errlen);
const char *iov_vlan_proto_name(uint16_t proto);	/* NULL if neither */
/* Mbit/s, a decimal integer 0..UINT32_MAX. */
int iov_parse_rate(const char *what, const char *s, uint32_t *out, char *err, size_t errlen);
/* on/off, yes/no, true/false, 1/0. */
int iov_parse_onoff(const char *what, const char *s, bool *out, char *err, size_t errlen);
int iov_parse_link_state(const char *s, enum iov_vf_link_state *out, char *err, size_t errlen);
const char *iov_link_state_name(int state);	/* "auto", "enable", "disable"; NULL otherwise */

/* "PF/vfN": PF is whatever names a PF (address or netdev; not checked here), N a decimal
 * VF index. Copies PF into pf (pflen bytes). */
int iov_parse_vf_spec(const char *s, char *pf, size_t pflen, unsigned *vf, char *err,
		      size_t errlen);

/* Keyword/value pairs: mac X vlan N qos Q proto P spoofchk on trust off state auto
 * min_rate M max_rate M (or min-rate, max-rate). qos and proto need vlan. Each keyword at most once; at least one. */
int iov_vfconf_parse_args(int argc, char **argv, struct iov_vfconf *out, char *err,
			  size_t errlen);
/* Full check of a request (the daemon runs it on what a client sent). */
int iov_vfconf_check(const struct iov_vfconf *c, char *err, size_t errlen);

/* API form: {"mac": "..", "vlan": N, "qos": Q, "proto": "802.1Q", "spoofchk": bool,
 * "trust": bool, "state": "auto", "min_rate": M, "max_rate": M}, only the fields set. */
json_t *iov_vfconf_to_json(const struct iov_vfconf *c);
/* Strict: unknown keys, wrong types and bad values fail, naming the key in err. */
int iov_vfconf_from_json(const json_t *j, struct iov_vfconf *out, char *err, size_t errlen);

#endif
