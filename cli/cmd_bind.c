/* iovctl bind DEVICE [--driver NAME] [--force] | iovctl release DEVICE
 * Thin clients of io.iovd.Bind / io.iovd.Release (vfio/bind.h does the work in iovd):
 * the device's whole IOMMU group moves, and release restores the drivers it had. */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/output.h"
#include "cli/srvstr.h"

#include <stdio.h>
#include <string.h>

int cmd_bind(int argc, char **argv, struct cli_ctx *ctx)
{
	const char *dev = NULL, *driver = NULL;
	bool force = false;
	json_t *p, *r = NULL;
	int ret;

	for (int i = 1; i < argc; i++) {
		if (cli_is_opt(argv[i]) && strcmp(argv[i], "--force") == 0)
			force = true;
		else if (cli_is_opt(argv[i]) && strcmp(argv[i], "--driver") == 0 && i + 1 < argc)
			driver = argv[++i];
		else if (!dev)
			dev = argv[i];
		else
			return cli_usage("bind", "one device at a time ('%s')", argv[i]);
	}
	if (!dev)
		return cli_usage("bind", "name a device (PCI address, netdev or PF/vfN)");
	p = json_pack("{s:s, s:b}", "device", dev, "force", force);
	if (driver)
		json_object_set_new(p, "driver", json_string(driver));
	ret = cli_call(ctx, "io.iovd.Bind", p, &r);
	json_decref(p);
	if (ret)
		return ret;
	if (ctx->json)
		ret = cli_print_doc("bind", json_incref(r));
	else
		printf("%s: bound to %s (with the rest of its IOMMU group)\n",
		       cli_str(r, "device", NULL), driver ? driver : "vfio-pci");
	json_decref(r);
	return ret;
}

int cmd_release(int argc, char **argv, struct cli_ctx *ctx)
{
	json_t *p, *r = NULL;
	int ret;

	if (argc != 2)
		return cli_usage("release", "name one device (PCI address, netdev or PF/vfN)");
	p = json_pack("{s:s}", "device", argv[1]);
	ret = cli_call(ctx, "io.iovd.Release", p, &r);
	json_decref(p);
	if (ret)
		return ret;
	if (ctx->json)
		ret = cli_print_doc("release", json_incref(r));
	else if (json_integer_value(json_object_get(r, "released")) == 0)
		printf("%s: nothing to release: iovd has not bound it (or its group) to vfio-pci\n",
		       cli_str(r, "device", NULL));
	else
		printf("%s: released (its group is back on its previous drivers)\n",
		       cli_str(r, "device", NULL));
	json_decref(r);
	return ret;
}
