/* Files a call passes to iovd as fds: iovctl opens them as the calling user (so iovd, root,
 * never opens a path a client names) and sends them with the call (SCM_RIGHTS). */
#ifndef IOV_CLI_FDPASS_H
#define IOV_CLI_FDPASS_H

#include <jansson.h>

struct cli_ctx;

/* For each key of keys (NULL-terminated) that params holds as a path: opens the file
 * read-only as the caller (O_NOCTTY, O_NONBLOCK; a regular file), replaces the path with
 * its absolute name (what iovd shows) and adds KEY_fd = its index among the fds passed;
 * then calls method with those fds (cli_call_fds). Returns the exit code as cli_call
 * does; a file that cannot be opened is 2 with the reason on stderr. */
int cli_call_files(const struct cli_ctx *ctx, const char *method, json_t *params,
		   const char *const *keys, json_t **reply);
/* --disk PATH[,ro]: appends {"path": PATH, "readonly": ...} to disks (--disk nvme:POOL: {"pool":
 * POOL}, an NVMe VF, no file); cli_call_files opens
 * each disk of params' "disks" as the caller (read-only for ,ro, else read-write; a regular
 * file or a block device) and sets its "fd". -EINVAL with err set for a bad argument. */
int cli_disk_arg(json_t *disks, const char *arg, char *err, size_t errlen);

#endif
