/* The host model as JSON (jansson), the schema `iovctl list --json` and `show --json` print
 * and iovd returns. Unknown values are null. See docs/json.md. */
#ifndef IOV_HOSTJSON_H
#define IOV_HOSTJSON_H

#include <jansson.h>

struct iov_host;
struct iov_dev;
struct iov_group;

enum iov_json_sel { IOV_SEL_ALL, IOV_SEL_PFS, IOV_SEL_VFS, IOV_SEL_GROUPS };

json_t *iov_json_host(const struct iov_host *h, enum iov_json_sel sel);
json_t *iov_json_iommu(const struct iov_host *h);
json_t *iov_json_dev(const struct iov_dev *d);
json_t *iov_json_group(const struct iov_group *g);

#endif
