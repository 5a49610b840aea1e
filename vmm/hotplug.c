#include "vmm/hotplug.h"
#include "vmm/bus.h"
#include "vmm/hpslot.h"
#include "vmm/pci.h"
#include "vmm/vfio.h"
#include "lib/log.h"
#include "lib/pciaddr.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MSG_MAX 256

struct port {
	struct iovm_hpslot s;
	int pcidev;			/* device number on bus 0 */
	void *dev;			/* the plugged device (vmm/vfio.h), or NULL */
	const struct iovm_pci_ops *ops;
	char name[IOV_PCI_ADDR_STRLEN];
	bool released;			/* the guest powered it off: tear down (main thread) */
	bool detaching;			/* a detach waits for the guest */
	struct timespec deadline;
};

static struct {
	struct iovm_vm *vm;
	struct port port[IOVM_HOTPLUG_MAX];
	int n;
	int lfd, cfd, efd;		/* listening socket, connection, "released" wake-up */
} H = { .lfd = -1, .cfd = -1, .efd = -1 };

/* ---- the ports, guest side (vCPU threads, bus lock held) ---- */

static void port_irq(struct port *p, unsigned ev)
{
	uint64_t addr;
	uint32_t data;

	if ((ev & IOVM_HPSLOT_EV_IRQ) && iovm_hpslot_msi(&p->s, &addr, &data))
		iovm_vm_signal_msi(H.vm, addr, data);
}

static uint32_t port_read(void *opaque, unsigned off, unsigned len)
{
	return iovm_hpslot_read(&((struct port *)opaque)->s, off, len);
}

static void port_write(void *opaque, unsigned off, uint32_t val, unsigned len)
{
	struct port *p = opaque;
	unsigned ev = iovm_hpslot_write(&p->s, off, len, val);

	/* pciehp powers a slot off once it has unbound the driver and removed the device
	 * (after the attention button, or `echo 0 > .../power`): the guest let it go. The
	 * device is torn down in the main thread (a reset takes 100 ms and more). */
	if ((ev & IOVM_HPSLOT_EV_POWER_OFF) && p->dev && !p->released) {
		uint64_t one = 1;

		p->released = true;
		if (write(H.efd, &one, sizeof(one)) < 0)
			log_warn_errno(-errno, "hot-plug: waking the main thread");
	}
	port_irq(p, ev);
}

static const struct iovm_pci_ops port_ops = { .cfg_read = port_read, .cfg_write = port_write };

/* Bus n > 0: device 0 behind the port whose secondary bus it is, while the link is up. */
static const struct iovm_pci_ops *sub_bus(unsigned bus, unsigned dev, void **opaque)
{
	for (int i = 0; i < H.n; i++) {
		struct port *p = &H.port[i];

		if (iovm_hpslot_secondary(&p->s) != bus)
			continue;
		if (dev != 0 || !p->dev || p->released || !iovm_hpslot_link_up(&p->s))
			return NULL;
		*opaque = p->dev;
		return p->ops;
	}
	return NULL;
}

int iovm_hotplug_init(struct iovm_vm *vm, int nports, int control_fd)
{
	H.vm = vm;
	H.lfd = control_fd;
	if (nports <= 0)
		return 0;
	H.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (H.efd < 0)
		return log_err_errno(-errno, "hot-plug: eventfd");
	for (int i = 0; i < nports && i < IOVM_HOTPLUG_MAX; i++) {
		struct port *p = &H.port[i];
		uint64_t win;
		int ret;

		if ((ret = iovm_pci_alloc_mmio(IOVM_HOTPLUG_WINDOW, &win)) < 0)
			return log_err_errno(ret, "hot-plug: no room for root port %d's window", i);
		iovm_hpslot_init(&p->s, (unsigned)i + 1, (uint8_t)(i + 1), (uint32_t)win,
				 (uint32_t)(win + IOVM_HOTPLUG_WINDOW - 1));
		if ((ret = iovm_pci_add("pcie-root-port", &port_ops, p)) < 0)
			return log_err_errno(ret, "hot-plug: PCI bus 0 is full");
		p->pcidev = ret;
		H.n = i + 1;
		log_info("hot-plug slot %d: root port 00:%02x.0, bus %d, window %#" PRIx64 "-%#" PRIx64,
			 i + 1, p->pcidev, i + 1, win, win + IOVM_HOTPLUG_WINDOW - 1);
	}
	iovm_pci_set_sub(sub_bus);
	return 0;
}

int iovm_hotplug_ports(void)
{
	return H.n;
}

/* ---- the control socket (main thread) ---- */

static void reply(const char *fmt, ...)
{
	char buf[MSG_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n >= (int)sizeof(buf))
		n = (int)sizeof(buf) - 1;
	log_info("hot-plug: %s", buf);
	if (H.cfd >= 0 && write(H.cfd, buf, (size_t)n) < 0)
		log_warn_errno(-errno, "hot-plug: replying on the control connection");
}

static struct port *port_of(const char *addr)
{
	for (int i = 0; i < H.n; i++)
		if (H.port[i].dev && strcmp(H.port[i].name, addr) == 0)
			return &H.port[i];
	return NULL;
}

static void ms_from_now(struct timespec *t, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, t);
	t->tv_sec += ms / 1000;
	t->tv_nsec += (ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

static long ms_until(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(t->tv_sec - now.tv_sec) * 1000 + (t->tv_nsec - now.tv_nsec) / 1000000;
}

/* The device leaves the guest: presence and link gone (a surprise removal to pciehp when
 * the slot is still on; ignored when the guest powered it off: it waits 1 s for such
 * changes after a power-off), then interrupts off, BARs out, reset, fds closed. */
static void unplug(struct port *p)
{
	unsigned ev;

	iovm_bus_lock();
	ev = iovm_hpslot_remove(&p->s);
	iovm_vfio_hot_remove(p->dev);
	p->dev = NULL;
	p->ops = NULL;
	p->released = p->detaching = false;
	port_irq(p, ev);
	iovm_bus_unlock();
}

static void do_attach(const char *addr, const char *group, int fd)
{
	struct iov_pci_addr a;
	struct port *p = NULL;
	char name[IOV_PCI_ADDR_STRLEN];
	long gid;
	char *end;
	unsigned ev;
	int ret;

	if (fd < 0) {
		reply("error attach %s: no group fd came with the message", addr);
		return;
	}
	errno = 0;
	gid = strtol(group, &end, 10);
	if (iov_pci_addr_parse(addr, &a) < 0 || errno || *end || end == group || gid < 0) {
		reply("error attach %s: expected 'attach ADDRESS GROUP'", addr);
		close(fd);
		return;
	}
	iov_pci_addr_fmt(&a, name);
	for (int i = 0; i < H.n && !p; i++)
		if (!H.port[i].dev && !H.port[i].s.present)
			p = &H.port[i];
	if (!p) {
		reply("error attach %s: all %d hot-plug slots are in use (iovm --hotplug N)", name,
		      H.n);
		close(fd);
		return;
	}
	iovm_bus_lock();
	ret = iovm_vfio_hot_add(H.vm, fd, (int)gid, &a, &p->dev, &p->ops);
	if (ret < 0) {
		iovm_bus_unlock();
		p->dev = NULL;
		reply("error attach %s: %s (iovm's log says more)", name, strerror(-ret));
		return;
	}
	snprintf(p->name, sizeof(p->name), "%s", name);
	ev = iovm_hpslot_insert(&p->s);
	port_irq(p, ev);
	iovm_bus_unlock();
	reply("ok attach %s slot %d", name, (int)(p - H.port) + 1);
}

static void do_detach(const char *addr, const char *ms_s)
{
	struct iov_pci_addr a;
	char name[IOV_PCI_ADDR_STRLEN], *end;
	struct port *p;
	long ms;

	errno = 0;
	ms = strtol(ms_s, &end, 10);
	if (iov_pci_addr_parse(addr, &a) < 0 || errno || *end || end == ms_s || ms < 0 ||
	    ms > 3600000) {
		reply("error detach %s: expected 'detach ADDRESS MS'", addr);
		return;
	}
	iov_pci_addr_fmt(&a, name);
	if (!(p = port_of(name))) {
		reply("error detach %s: not a hot-plugged device of this guest", name);
		return;
	}
	ms_from_now(&p->deadline, ms);
	if (p->detaching)
		return;		/* the button was pressed; a new deadline */
	p->detaching = true;
	if (ms == 0 || !iovm_hpslot_powered(&p->s)) {
		/* Not to be asked, or the guest never turned it on: nothing to release. */
		unplug(p);
		reply("ok detach %s %s", name, ms == 0 ? "surprise" : "released");
		return;
	}
	iovm_bus_lock();
	port_irq(p, iovm_hpslot_button(&p->s));
	iovm_bus_unlock();
	log_info("hot-plug: %s: attention button pressed, %ld ms for the guest", name, ms);
}

static void do_list(void)
{
	char buf[MSG_MAX];
	size_t n = (size_t)snprintf(buf, sizeof(buf), "ok list");

	for (int i = 0; i < H.n && n < sizeof(buf); i++) {
		struct port *p = &H.port[i];

		if (p->dev)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, " %s:%d:%s", p->name, i + 1,
					      p->detaching ? "detaching" :
					      iovm_hpslot_powered(&p->s) ? "on" : "off");
	}
	reply("%s", buf);
}

static void on_message(void)
{
	char buf[MSG_MAX + 1], cbuf[CMSG_SPACE(4 * sizeof(int))];
	struct iovec iov = { buf, MSG_MAX };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf) };
	char *w[4] = { 0 }, *save = NULL;
	int fds[4], nfds = 0, nw = 0;
	ssize_t r;

	r = recvmsg(H.cfd, &m, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		close(H.cfd);
		H.cfd = -1;
		return;
	}
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t k = 0; k < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); k++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + k * sizeof(int), sizeof(int));
			if (nfds < 4)
				fds[nfds++] = fd;
			else
				close(fd);
		}
	}
	buf[r] = '\0';
	for (char *t = strtok_r(buf, " \n", &save); t && nw < 4; t = strtok_r(NULL, " \n", &save))
		w[nw++] = t;
	if (nw == 3 && strcmp(w[0], "attach") == 0 && nfds == 1) {
		do_attach(w[1], w[2], fds[0]);
		nfds = 0;
	} else if (nw == 3 && strcmp(w[0], "detach") == 0) {
		do_detach(w[1], w[2]);
	} else if (nw == 1 && strcmp(w[0], "list") == 0) {
		do_list();
	} else {
		reply("error %s: unknown command or wrong arguments", nw ? w[0] : "-");
	}
	for (int k = 0; k < nfds; k++)
		close(fds[k]);
}

int iovm_hotplug_pollfds(struct pollfd *p)
{
	int n = 0;

	if (H.efd >= 0)
		p[n++] = (struct pollfd){ .fd = H.efd, .events = POLLIN };
	if (H.lfd >= 0)
		p[n++] = (struct pollfd){ .fd = H.lfd, .events = POLLIN };
	if (H.cfd >= 0)
		p[n++] = (struct pollfd){ .fd = H.cfd, .events = POLLIN };
	return n;
}

int iovm_hotplug_timeout_ms(void)
{
	long best = -1;

	for (int i = 0; i < H.n; i++) {
		long ms;

		if (!H.port[i].detaching)
			continue;
		ms = ms_until(&H.port[i].deadline);
		if (ms < 0)
			ms = 0;
		if (best < 0 || ms < best)
			best = ms;
	}
	return best > INT32_MAX ? INT32_MAX : (int)best;
}

void iovm_hotplug_handle(const struct pollfd *pf, int n)
{
	for (int k = 0; k < n; k++) {
		if (!pf[k].revents)
			continue;
		if (pf[k].fd == H.efd) {
			uint64_t v;

			if (read(H.efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				log_warn_errno(-errno, "hot-plug: eventfd");
		} else if (pf[k].fd == H.lfd) {
			int c = accept4(H.lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

			if (c >= 0) {
				if (H.cfd >= 0)
					close(H.cfd);	/* the newest connection wins */
				H.cfd = c;
			}
		} else if (pf[k].fd == H.cfd) {
			on_message();
		}
	}
	/* Released by the guest, or out of time: out of the guest. */
	for (int i = 0; i < H.n; i++) {
		struct port *p = &H.port[i];
		char name[IOV_PCI_ADDR_STRLEN];
		bool asked = p->detaching;

		if (!p->dev)
			continue;
		snprintf(name, sizeof(name), "%s", p->name);
		if (p->released) {
			unplug(p);
			if (asked)
				reply("ok detach %s released", name);
			else
				reply("released %s", name);
		} else if (p->detaching && ms_until(&p->deadline) <= 0) {
			log_warn("hot-plug: %s: the guest did not release it in time: surprise "
				 "removal", name);
			unplug(p);
			reply("ok detach %s surprise", name);
		}
	}
}

void iovm_hotplug_close(void)
{
	if (H.cfd >= 0)
		close(H.cfd);
	if (H.lfd >= 0)
		close(H.lfd);
	if (H.efd >= 0)
		close(H.efd);
	H.cfd = H.lfd = H.efd = -1;
}
