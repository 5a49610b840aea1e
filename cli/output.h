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
/* `list --json`: the document iov_json_host() describes, streamed device by device. */
int cli_print_host_json(const struct iov_host *h, enum iov_json_sel sel);
/* "8086:10ca" or "????:????" */
const char *cli_ids(const struct iov_dev *d, char *buf, size_t len);
/* A one-line summary of the IOMMU and interrupt remapping state. */
void cli_print_iommu_summary(const struct iov_host *h, FILE *f);

#endif
