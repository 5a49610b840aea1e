/*
 * vfiocheck: ask the kernel whether VFIO will let a VMM use an IOMMU group, the way a VMM
 * does: open /dev/vfio/vfio and /dev/vfio/GROUP, check the group is viable, put it in the
 * container, VFIO_SET_IOMMU(TYPE1v2 or TYPE1). Built static for the test host.
 *
 *   vfiocheck GROUP
 *
 * Exit: 0 the IOMMU was set (a VMM could map DMA), 1 the kernel refused (printed with errno:
 * not viable, or VFIO_SET_IOMMU failed, e.g. EPERM without interrupt remapping), 2 could not
 * even try (no /dev/vfio/vfio or group node, bad API version, bad usage).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: vfiocheck GROUP\n");
		return 2;
	}
	char path[64];
	snprintf(path, sizeof(path), "/dev/vfio/%s", argv[1]);

	int c = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (c < 0) {
		fprintf(stderr, "vfiocheck: /dev/vfio/vfio: %s\n", strerror(errno));
		return 2;
	}
	int api = ioctl(c, VFIO_GET_API_VERSION);
	if (api != VFIO_API_VERSION) {
		fprintf(stderr, "vfiocheck: VFIO API version %d, want %d\n", api, VFIO_API_VERSION);
		return 2;
	}
	int type = VFIO_TYPE1v2_IOMMU;
	if (ioctl(c, VFIO_CHECK_EXTENSION, type) <= 0) {
		type = VFIO_TYPE1_IOMMU;
		if (ioctl(c, VFIO_CHECK_EXTENSION, type) <= 0) {
			fprintf(stderr, "vfiocheck: the container offers no type1 IOMMU\n");
			return 2;
		}
	}
	int g = open(path, O_RDWR | O_CLOEXEC);
	if (g < 0) {
		fprintf(stderr, "vfiocheck: %s: %s\n", path, strerror(errno));
		return errno == EBUSY ? 1 : 2;
	}
	struct vfio_group_status st = { .argsz = sizeof(st) };
	if (ioctl(g, VFIO_GROUP_GET_STATUS, &st) < 0) {
		fprintf(stderr, "vfiocheck: VFIO_GROUP_GET_STATUS: %s\n", strerror(errno));
		return 2;
	}
	if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		printf("vfiocheck: group %s is not viable (a member is bound to a host driver)\n", argv[1]);
		return 1;
	}
	if (ioctl(g, VFIO_GROUP_SET_CONTAINER, &c) < 0) {
		printf("vfiocheck: VFIO_GROUP_SET_CONTAINER refused: %s\n", strerror(errno));
		return 1;
	}
	if (ioctl(c, VFIO_SET_IOMMU, type) < 0) {
		int e = errno;
		printf("vfiocheck: VFIO_SET_IOMMU(%s) refused: %s (errno %d)\n",
		       type == VFIO_TYPE1v2_IOMMU ? "TYPE1v2" : "TYPE1", strerror(e), e);
		return 1;
	}
	printf("vfiocheck: group %s: VFIO_SET_IOMMU(%s) ok\n", argv[1],
	       type == VFIO_TYPE1v2_IOMMU ? "TYPE1v2" : "TYPE1");
	return 0;
}
