/* iovd keeps one CDI spec per pool of the config in force (src/follow.h) in a directory
 * container runtimes read (default /var/run/cdi, under --sysroot DIR/run/cdi; file
 * iovd.io-<pool>.json; config/export.h says what is in it). A spec is rewritten atomically
 * only when its content changes, and removed when its pool leaves the config (no config in
 * force: no pools); files of other vendors are never touched. A config that does not
 * resolve against the host leaves the specs as they were (and is logged). */
#ifndef IOV_SRC_CDI_H
#define IOV_SRC_CDI_H

struct vl_server;

/* dir NULL: the default; "" turns the specs off. Watches the event bus (device and driver
 * changes, applies) and syncs 200 ms after the last of a burst. 0 or -errno. */
int iovd_cdi_init(struct vl_server *srv, const char *dir);

/* Syncs the specs with the config in force and the host now. 0, or -errno (logged). */
int iovd_cdi_sync(void);
/* Syncs soon, from the event loop (after a config is adopted: its apply runs first). */
void iovd_cdi_schedule(void);

#endif
