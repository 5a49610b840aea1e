#include "vmm/vfio.h"
#include "src/log.h"

#include <errno.h>

int iovm_vfio_open(int container_fd, const struct iovm_vfio_spec *spec, int n)
{
	return log_err_errno(-ENOTSUP, "VFIO passthrough");
}
int iovm_vfio_reserved(struct iovm_range *out, int max) { return 0; }
int iovm_vfio_attach(struct iovm_vm *vm) { return -ENOTSUP; }
void iovm_vfio_close(void) { }
