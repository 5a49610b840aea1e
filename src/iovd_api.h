/* The io.iovd varlink interface: the methods iovd serves (src/iovd.c runs the loop).
 * Each method loads the host model afresh (the kernel's state is the truth; the one cache is
 * GetHost's snapshot for unprivileged callers, see iovd_api.c),
 * validates every parameter (a client is never trusted), and answers with a typed error
 * naming the parameter or the cause. Methods that change the host are marked `mutates`:
 * the varlink layer refuses them to unprivileged peers. The interface text (IDL) is in
 * iovd_api.c and docs/iovd.md. */
#ifndef IOV_IOVD_API_H
#define IOV_IOVD_API_H

#include "lib/iovd_proto.h"
#include "lib/varlink.h"

extern const struct vl_interface iovd_interface;

/* The host changed outside iovd's own calls (udev saw it): the GetHost snapshot that
 * unprivileged callers share is taken afresh on their next call. */
void iovd_api_host_changed(void);
extern const struct vl_service_info iovd_service_info;

#endif
