/* Work that would hold iovd's loop for long (reading a 2,000-device host: ~0.2 s) runs on one
 * worker thread, one job at a time in order, and its result comes back to the loop: the loop
 * keeps serving meanwhile (the caller's reply is deferred, lib/varlink.h).
 * work(ud) runs on the worker: it may only read the host (sysfs, /proc) and touch what the job
 * owns, never iovd's state. done(ud) runs later on the loop, from a watch of srv. Without a
 * thread or a pipe (out of resources) both run at once, on the caller. Returns 0. */
#ifndef IOV_SRC_OFFLOAD_H
#define IOV_SRC_OFFLOAD_H

#include "lib/varlink.h"

typedef void (*iovd_job_fn)(void *userdata);
int iovd_offload(struct vl_server *srv, iovd_job_fn work, iovd_job_fn done, void *userdata);
/* Blocks until every job queued so far has done its work (at exit: a state file being
 * written is written). Their done() runs from the loop, if it turns again. */
void iovd_offload_wait(void);

#endif
