/* NVMe SR-IOV state (sriov/nvme.h) of an NVMe PF or VF, else nothing / NULL (cli/nvmeout.c):
 * `show` lines, `show --json`'s "nvme", `list`'s section and `list --json`'s "nvme" (an
 * array of the NVMe PFs' state, each with "device"). A state that cannot be read is said
 * where it would be shown ({"error": ...} in JSON). */
#ifndef IOV_CLI_NVMEOUT_H
#define IOV_CLI_NVMEOUT_H

#include <jansson.h>

struct iov_dev;
struct iov_host;

void cli_nvme_show(const struct iov_dev *d);
json_t *cli_nvme_json(const struct iov_dev *d);
void cli_nvme_list(const struct iov_host *h);
json_t *cli_nvme_list_json(const struct iov_host *h);

#endif
