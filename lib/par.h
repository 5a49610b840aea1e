/* A parallel for over independent items: fn(ctx, i) for every i in 0..n-1, on one thread per
 * online CPU (at most IOV_PAR_THREADS_MAX, the caller being one of them), handed out in
 * chunks. Below IOV_PAR_MIN items everything runs on the caller. fn must touch only what item
 * i owns; whatever depends on order is the caller's to do afterwards. Used where a command
 * waits on thousands of small sysfs reads (lib/host.c) or formats thousands of devices
 * (cli/output.c). */
#ifndef IOV_LIB_PAR_H
#define IOV_LIB_PAR_H

#include <stddef.h>

#define IOV_PAR_THREADS_MAX 8
#define IOV_PAR_MIN 64

/* How many threads iov_par_for would use for n items. */
int iov_par_threads(size_t n);
void iov_par_for(size_t n, void (*fn)(void *ctx, size_t i), void *ctx);

#endif
