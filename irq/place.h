/* Host interrupt placement for passed-through devices: the vfio-pci interrupt lines of a
 * device ("vfio-msix[0](0000:01:10.0)", "vfio-msi[0](...)", "vfio-intx(...)" in
 * /proc/interrupts) and their CPU affinity (/proc/irq/N/smp_affinity_list). iovd pins the
 * lines of a guest's VFs to the CPUs its iovm runs on, so the host half of each interrupt
 * (the eventfd signal that KVM injects) is taken where the guest's vCPUs run.
 * Paths go through lib/sysfs.h (--sysroot). */
#ifndef IOV_IRQ_PLACE_H
#define IOV_IRQ_PLACE_H

#include <sched.h>
#include <stddef.h>

struct iov_irq_line {
	int irq;
	char name[64];		/* "vfio-msix[0](0000:01:10.0)" */
};

/* The vfio lines of dev in the text of /proc/interrupts (pure). Returns how many were found
 * (at most max are stored). */
size_t iov_irq_parse_vfio(const char *interrupts, const char *dev, struct iov_irq_line *out,
			  size_t max);
/* Reads /proc/interrupts and parses it: count or -errno. */
int iov_irq_vfio_lines(const char *dev, struct iov_irq_line *out, size_t max);

/* /proc/irq/N/smp_affinity_list: read (without the newline) or write ("0-1,3"). */
int iov_irq_affinity_get(int irq, char *buf, size_t len);
int iov_irq_affinity_set(int irq, const char *cpus);

/* NUMA placement of a guest (iovd puts iovm, hence guest RAM, on the node of its VFs).
 * iov_cpulist_parse: "0-3,8,10-11" (the kernel's list format) into set; -EINVAL on anything
 * else (pure). iov_numa_nodes: how many nodes /sys/devices/system/node/online lists (1 when
 * the file is missing: a kernel without NUMA). iov_numa_node_cpus: node N's CPUs. */
int iov_cpulist_parse(const char *s, cpu_set_t *set);
int iov_numa_nodes(void);
int iov_numa_node_cpus(int node, cpu_set_t *set);

#endif
