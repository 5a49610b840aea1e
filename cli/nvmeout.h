/* NVMe SR-IOV state (sriov/nvme.h) of an NVMe PF or VF, else nothing / NULL (cli/nvmeout.c):
 * `show` lines, `show --json`'s "nvme", `list`'s section and `list --json`'s "nvme" (an
 * array of the NVMe PFs' state, each with "device"). A state that cannot be read is said
 * where it would be shown ({"error": ...} in JSON). */
#ifndef IOV_CLI_NVMEOUT_H
#define IOV_CLI_NVMEOUT_H

#include <stdbool.h>

#include <jansson.h>

struct iov_dev;
struct iov_host;

void cli_nvme_show(const struct iov_dev *d);
json_t *cli_nvme_json(const struct iov_dev *d);
void cli_nvme_list(const struct iov_host *h);
json_t *cli_nvme_list_json(const struct iov_host *h);
/* `iovctl verify` of a VF of an NVMe PF: the storage checks "nvme_online" (its secondary
 * controller online with at least 2 VQ and 1 VI) and "nvme_namespace" (a namespace
 * attached to it), as an array of {"id", "status", "reason", "fix"}; *usable: both ok.
 * NULL for other devices. _print: the same as rows under verify's table and a "storage:"
 * verdict line; returns usable (true for other devices). */
json_t *cli_nvme_verify(const struct iov_dev *d, bool *usable);
bool cli_nvme_verify_print(const struct iov_dev *d);

#endif
