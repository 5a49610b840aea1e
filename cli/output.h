/* Shared output helpers for iovctl commands. */
#ifndef IOV_CLI_OUTPUT_H
#define IOV_CLI_OUTPUT_H

#include <jansson.h>

#include "lib/hostjson.h"
#include <stdio.h>

struct iov_dev;
struct iov_host;

/* Prints JSON to stdout, indented, with a newline. Returns 0 or 1 on failure. */
int cli_print_json(json_t *j);
/* An iovctl --json document: object j (consumed) with "schema": "iovd.NAME/1" put first
 * (docs/json.md; docs/schema/NAME.json describes it). Returns 0 or 1 on failure. */
int cli_print_doc(const char *name, json_t *j);
/* The version of every iovctl JSON document; bumped when a field changes meaning or type. */
#define CLI_SCHEMA_VERSION 1
/* `list --json`: the document iov_json_host() describes, streamed device by device, with
 * each device's acs verdict (cli_acs_verdict); pf non-NULL: only that PF and its VFs. */
int cli_print_host_json(const struct iov_host *h, enum iov_json_sel sel, const struct iov_dev *pf);
/* Adds "verdict" ("ok", "fail", "unknown"; null for a bridge) and "reason" to the "acs"
 * object of device JSON o: the acs check of `iovctl verify` (the ACS column of list).
 * cmdline: the kernel command line (pcie_acs_override=), or NULL. */
void cli_acs_verdict(json_t *o, const struct iov_host *h, const struct iov_dev *d,
		     const char *cmdline);
/* The kernel command line under the sysroot (malloc'd), or NULL. */
char *cli_read_cmdline(void);
/* "8086:10ca" or "????:????" */
const char *cli_ids(const struct iov_dev *d, char *buf, size_t len);
/* A one-line summary of the IOMMU and interrupt remapping state. */
void cli_print_iommu_summary(const struct iov_host *h, FILE *f);

#endif
