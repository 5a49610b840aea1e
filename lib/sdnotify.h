/* The service manager's readiness protocol (sd_notify(3)) without libsystemd: one datagram
 * of "KEY=VALUE\n" lines to the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or
 * "@name" for the abstract namespace). systemd's Type=notify waits for READY=1. */
#ifndef IOV_LIB_SDNOTIFY_H
#define IOV_LIB_SDNOTIFY_H

/* Sends state ("READY=1", "STOPPING=1", "STATUS=...") when $NOTIFY_SOCKET is set.
 * Returns 1 when sent, 0 when there is no service manager to tell (unset or empty),
 * -EINVAL for a malformed $NOTIFY_SOCKET, else -errno from the send. Never blocks. */
int iov_sd_notify(const char *state);

#endif
