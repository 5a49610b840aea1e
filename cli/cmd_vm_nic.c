/* iovctl vm attach NAME --nic POOL|PF/vfN|ADDRESS[,mac=M][,vlan=V] [--save]
 *        vm detach NAME NIC [--timeout S] [--save]
 * Clients of io.iovd.VmAttach / VmDetach (src/guest_hp.c does the work in iovd): a VF into
 * a running guest's hot-plug slot, or out of it (NIC: its index, MAC, VF address or
 * PF/vfN). Arguments are checked here (exit 2 naming the bad one, nothing sent). */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/cmd_vm.h"
#include "cli/output.h"
#include "cli/srvstr.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vm_nic_cmd(int argc, char **argv, struct cli_ctx *ctx)
{
	bool attach = strcmp(argv[1], "attach") == 0, save = false;
	const char *name = NULL, *nic_arg = NULL;
	json_t *p, *r = NULL, *nic = NULL;
	long timeout = -1;
	char err[256];
	int ret;

	for (int i = 2; i < argc; i++) {
		if (cli_is_opt(argv[i]) && strcmp(argv[i], "--save") == 0) {
			save = true;
		} else if (cli_is_opt(argv[i]) && strcmp(argv[i], "--nic") == 0) {
			if (i + 1 >= argc)
				return cli_usage("vm", "--nic NIC: POOL|PF/vfN|ADDRESS[,mac=M][,vlan=V]");
			if (nic)
				return cli_usage("vm", "vm attach: one --nic at a time");
			if (!(nic = vm_parse_nic(argv[++i], err, sizeof(err))))
				return cli_usage("vm", "%s", err);
		} else if (cli_is_opt(argv[i]) && strcmp(argv[i], "--timeout") == 0) {
			char *end;

			if (i + 1 >= argc || (timeout = strtol(argv[++i], &end, 10)) < 0 || *end ||
			    timeout > 100) {
				json_decref(nic);
				return cli_usage("vm", "--timeout S: seconds the guest has to release the "
						 "NIC before it is removed by surprise, 0..100 (default 20)");
			}
		} else if (!name) {
			name = argv[i];
		} else if (!attach && !nic_arg) {
			nic_arg = argv[i];
		} else {
			json_decref(nic);
			return cli_usage("vm", "vm %s: unexpected '%s'", argv[1], argv[i]);
		}
	}
	if (!name || (attach && !nic) || (!attach && !nic_arg)) {
		json_decref(nic);
		return cli_usage("vm", attach ? "vm attach NAME --nic POOL|PF/vfN[,mac=M][,vlan=V]: "
				 "name the guest and the NIC" : "vm detach NAME NIC: name the guest "
				 "and the NIC (its index, MAC, VF address or PF/vfN)");
	}
	p = json_pack("{s:s}", "name", name);
	if (attach)
		json_object_set_new(p, "nic", nic);
	else
		json_object_set_new(p, "nic", json_string(nic_arg));
	if (timeout >= 0)
		json_object_set_new(p, "timeout", json_integer(timeout));
	if (save)
		json_object_set_new(p, "save", json_true());
	ret = cli_call(ctx, attach ? "io.iovd.VmAttach" : "io.iovd.VmDetach", p, &r);
	json_decref(p);
	if (ret)
		return ret;
	if (ctx->json) {
		ret = cli_print_doc(attach ? "vm-attach" : "vm-detach", json_incref(r));
	} else {
		const char *vf = cli_str(r, "vf", "-");

		if (attach)
			printf("%s attached to guest %s in hot-plug slot %lld\n", vf, name,
			       (long long)json_integer_value(json_object_get(r, "slot")));
		else if (json_is_true(json_object_get(r, "released")))
			printf("%s detached from guest %s (released by the guest), reset and back in "
			       "its pool\n", vf, name);
		else
			printf("%s detached from guest %s: the guest did not release it in time, so "
			       "it was removed by surprise (the guest keeps running); reset and back "
			       "in its pool\n", vf, name);
		vm_print_guest(json_object_get(r, "guest"));
		if (json_is_string(json_object_get(r, "saved")))
			printf("  saved to %s\n", cli_str(r, "saved", "-"));
	}
	json_decref(r);
	return ret;
}
