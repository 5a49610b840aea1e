/* Test helpers: host models built by hand in memory (for the pure verify/guard/plan code)
 * and small files trees under a temporary directory (for loaders and the bind executor).
 * Everything aborts on allocation failure: these are tests. */
#ifndef IOV_TESTS_FAKESYS_H
#define IOV_TESTS_FAKESYS_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/host.h"

/* A host with the IOMMU on (intel, dmar0), interrupt remapping on, no devices. */
struct iov_host *fk_host_new(void);
void fk_host_free(struct iov_host *h);

/* An endpoint: PCIe endpoint, 4 KiB config, FLR, reset_method "flr", NUMA -1, no ACS.
 * driver may be NULL. Kept sorted in h->devs. */
struct iov_dev *fk_dev(struct iov_host *h, const char *bdf, const char *driver);
/* A bridge (class 0x0604, header type 1, driver pcieport) of PCIe type `type`
 * (IOV_PCIE_ROOT_PORT, ...); acs: ACS capability present with cap/ctrl. */
struct iov_dev *fk_bridge(struct iov_host *h, const char *bdf, int type, bool acs,
			  uint16_t cap, uint16_t ctrl);
void fk_parent(struct iov_dev *child, struct iov_dev *parent);
struct iov_group *fk_group(struct iov_host *h, int id, const char *type);
void fk_join(struct iov_group *g, struct iov_dev *d);	/* leave the old group first */
void fk_leave(struct iov_dev *d);
/* A name in the group's devices/ that is not a PCI device in the model. */
void fk_join_foreign(struct iov_group *g, const char *name);
void fk_netdev(struct iov_dev *d, const char *name);
/* Makes pf a PF (sriov, num_vfs counted) and vf its VF. */
void fk_vf(struct iov_dev *pf, struct iov_dev *vf);
void fk_reset(struct iov_dev *d, const char *const *methods, int n);

/* Files: a fresh temp dir, then paths relative to it. */
char *fk_tmpdir(void);
void fk_rmtree(const char *dir);
void fk_write(const char *root, const char *rel, const char *content);
void fk_mkdir(const char *root, const char *rel);
void fk_symlink(const char *root, const char *rel, const char *target);
/* A device node (block or character); false when this process may not make one (no root). */
bool fk_mknod(const char *root, const char *rel, bool blk, unsigned maj, unsigned min);
/* Reads a file under root into a static buffer ("" if missing). */
const char *fk_read(const char *root, const char *rel);

#endif
