/* iovd keeps one CDI spec per pool of the config in a directory container runtimes read
 * (default /var/run/cdi, file iovd.io-<pool>.json; config/export.h says what is in it).
 * A spec is rewritten atomically only when its content changes, and removed when its pool
 * leaves the config; files of other vendors are never touched. A config that does not load
 * or resolve leaves the specs as they were (and is logged). */
#ifndef IOV_SRC_CDI_H
#define IOV_SRC_CDI_H

struct vl_server;

/* dir NULL: the default; "" turns the specs off. config_path NULL: the default config
 * with its drop-ins; else that one file only. Watches the event bus (device and driver
 * changes, applies) and syncs shortly after a burst of events. 0 or -errno. */
int iovd_cdi_init(struct vl_server *srv, const char *dir, const char *config_path);

/* Syncs the specs with the config and the host now. 0, or -errno (logged). */
int iovd_cdi_sync(void);

#endif
