#include "irq/place.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/atomicfile.h"
#include "lib/sysfs.h"

size_t iov_irq_parse_vfio(const char *text, const char *dev, struct iov_irq_line *out,
			  size_t max)
{
	char want[64];
	size_t n = 0, wl;
	const char *line = text;

	snprintf(want, sizeof(want), "(%s)", dev);
	wl = strlen(want);
	while (line && *line) {
		const char *eol = strchr(line, '\n'), *end = eol ? eol : line + strlen(line);
		const char *p = line, *name;
		char *num_end;
		long irq;

		while (p < end && *p == ' ')
			p++;
		irq = strtol(p, &num_end, 10);
		/* "  24:  ...counts... IR-PCI-MSIX-0000:01:10.0  0-edge  vfio-msix[0](0000:01:10.0)":
		 * the action name is the last field. */
		if (num_end != p && *num_end == ':') {
			name = end;
			while (name > num_end && name[-1] == ' ')
				name--;
			end = name;
			while (name > num_end && name[-1] != ' ')
				name--;
			if ((size_t)(end - name) > wl && strncmp(name, "vfio-", 5) == 0 &&
			    strncmp(end - wl, want, wl) == 0 && (size_t)(end - name) < sizeof(out->name)) {
				if (n < max) {
					out[n].irq = (int)irq;
					memcpy(out[n].name, name, (size_t)(end - name));
					out[n].name[end - name] = '\0';
				}
				n++;
			}
		}
		line = eol ? eol + 1 : NULL;
	}
	return n;
}

int iov_irq_vfio_lines(const char *dev, struct iov_irq_line *out, size_t max)
{
	char path[4096], *text = NULL;
	size_t n, len;
	int r;

	/* One line per IRQ and CPU column: well beyond 64 KiB on big hosts. */
	iov_path(path, sizeof(path), "/proc/interrupts");
	if ((r = iov_read_file(path, 16 << 20, &text, &len)) < 0)
		return r;
	n = iov_irq_parse_vfio(text, dev, out, max);
	free(text);
	return (int)n;
}

int iov_irq_affinity_get(int irq, char *buf, size_t len)
{
	char path[4096], *s = NULL;
	int r;

	iov_path(path, sizeof(path), "/proc/irq/%d/smp_affinity_list", irq);
	if ((r = iov_read_str(path, &s)) < 0)
		return r;
	s[strcspn(s, "\n")] = '\0';
	snprintf(buf, len, "%s", s);
	free(s);
	return 0;
}

int iov_irq_affinity_set(int irq, const char *cpus)
{
	char path[4096];

	iov_path(path, sizeof(path), "/proc/irq/%d/smp_affinity_list", irq);
	return iov_write_str(path, cpus);
}

int iov_cpulist_parse(const char *s, cpu_set_t *set)
{
	const char *p = s;
	int any = 0;

	CPU_ZERO(set);
	while (*p && *p != '\n') {
		char *end;
		long a = strtol(p, &end, 10), b;

		if (end == p || a < 0 || a >= CPU_SETSIZE)
			return -EINVAL;
		b = a;
		p = end;
		if (*p == '-') {
			b = strtol(p + 1, &end, 10);
			if (end == p + 1 || b < a || b >= CPU_SETSIZE)
				return -EINVAL;
			p = end;
		}
		for (long c = a; c <= b; c++)
			CPU_SET((int)c, set);
		any = 1;
		if (*p == ',')
			p++;
		else if (*p && *p != '\n')
			return -EINVAL;
	}
	return any ? 0 : -EINVAL;
}

int iov_numa_nodes(void)
{
	char path[4096], *s = NULL;
	cpu_set_t set;	/* the node list has the CPU list's format */
	int r;

	iov_path(path, sizeof(path), "/sys/devices/system/node/online");
	if ((r = iov_read_str(path, &s)) < 0)
		return r == -ENOENT ? 1 : r;
	r = iov_cpulist_parse(s, &set);
	free(s);
	return r < 0 ? r : CPU_COUNT(&set);
}

int iov_numa_node_cpus(int node, cpu_set_t *set)
{
	char path[4096], *s = NULL;
	int r;

	iov_path(path, sizeof(path), "/sys/devices/system/node/node%d/cpulist", node);
	if ((r = iov_read_str(path, &s)) < 0)
		return r;
	r = iov_cpulist_parse(s, set);
	free(s);
	return r;
}
