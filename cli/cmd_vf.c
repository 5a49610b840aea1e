/* iovctl vf set PF/vfN [mac X] [vlan N [qos Q] [proto 802.1Q|802.1ad]] [spoofchk on|off]
 *                      [trust on|off] [state auto|enable|disable] [min_rate M] [max_rate M]
 * The arguments are checked here (exit 2 naming the bad one, nothing sent); iovd checks them
 * again, checks the MAC is unused on the host, and applies them (io.iovd.SetVf). */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/output.h"
#include "cli/srvstr.h"
#include "sriov/vfconf.h"

#include <stdio.h>
#include <string.h>

static const char *tri(json_t *v)
{
	return json_is_null(v) || !v ? "-" : json_is_true(v) ? "on" : "off";
}

static void print_info(const char *pf, json_t *i)
{
	const char *proto = cli_str(i, "proto", NULL);
	const char *state = cli_str(i, "state", NULL);
	json_t *mn = json_object_get(i, "min_rate"), *mx = json_object_get(i, "max_rate");

	printf("%s/vf%lld: mac %s vlan %lld qos %lld proto %s spoofchk %s trust %s state %s",
	       pf, (long long)json_integer_value(json_object_get(i, "vf")),
	       cli_str(i, "mac", NULL),
	       (long long)json_integer_value(json_object_get(i, "vlan")),
	       (long long)json_integer_value(json_object_get(i, "qos")), proto ? proto : "-",
	       tri(json_object_get(i, "spoofchk")), tri(json_object_get(i, "trust")),
	       state ? state : "-");
	if (json_is_integer(mn) && json_is_integer(mx))
		printf(" min_rate %lld max_rate %lld", (long long)json_integer_value(mn),
		       (long long)json_integer_value(mx));
	printf("\n");
}

int cmd_vf(int argc, char **argv, struct cli_ctx *ctx)
{
	struct iov_vfconf c;
	char pf[256], err[512];
	unsigned vf;
	json_t *p, *r = NULL;
	int ret;

	if (argc == 3 && strcmp(argv[1], "unquarantine") == 0) {
		p = json_pack("{s:s}", "device", argv[2]);
		ret = cli_call(ctx, "io.iovd.VfUnquarantine", p, &r);
		json_decref(p);
		if (ret)
			return ret;
		if (ctx->json)
			ret = cli_print_doc("vf-unquarantine", json_incref(r));
		else
			printf("%s: out of quarantine\n", cli_str(r, "device", NULL));
		json_decref(r);
		return ret;
	}
	if (argc < 2 || strcmp(argv[1], "set") != 0)
		return cli_usage("vf", "say set: vf set PF/vfN PROPERTY VALUE... (or vf unquarantine DEVICE)");
	if (argc < 3)
		return cli_usage("vf", "name the VF: PF/vfN (e.g. 0000:01:00.0/vf0 or eth0/vf0)");
	if (iov_parse_vf_spec(argv[2], pf, sizeof(pf), &vf, err, sizeof(err)) < 0)
		return cli_usage("vf", "%s", err);
	if (argc < 4)
		return cli_usage("vf", "nothing to set; give PROPERTY VALUE pairs (mac, vlan, qos, "
				 "proto, spoofchk, trust, state, min_rate, max_rate)");
	if (iov_vfconf_parse_args(argc - 3, argv + 3, &c, err, sizeof(err)) < 0)
		return cli_usage("vf", "%s", err);

	p = json_pack("{s:s, s:i, s:o}", "pf", pf, "vf", (int)vf, "config", iov_vfconf_to_json(&c));
	ret = cli_call(ctx, "io.iovd.SetVf", p, &r);
	json_decref(p);
	if (ret)
		return ret;
	if (ctx->json)
		ret = cli_print_doc("vf-set", json_incref(r));
	else
		print_info(cli_str(r, "pf", NULL), json_object_get(r, "info"));
	json_decref(r);
	return ret;
}
