/* Hot-plug of passthrough devices while the guest runs (`--hotplug N --control-fd FD`):
 * N PCIe root ports on bus 0, each with one hot-plug slot (vmm/hpslot.h) that the guest's
 * pciehp driver drives, and the control socket over which iovd plugs devices in and asks
 * for them back.
 *
 * Port i (0-based) sits at the next free device number on bus 0, its secondary bus is i + 1
 * and its memory window 2 MiB of the PCI MMIO window, placed like a firmware would. Config
 * space behind a port (bus i + 1, device 0) is reached through conf1 and answers only while
 * the slot's link is up (a card present and powered).
 *
 * The control socket: a listening AF_UNIX SOCK_SEQPACKET socket iovd made and passed; iovm
 * accepts one connection at a time (a new one replaces the old: iovd restarted). One
 * message per command, text:
 *   attach ADDRESS GROUP     (with the group's fd, SCM_RIGHTS)
 *                            -> "ok attach ADDRESS slot N" | "error attach ADDRESS: WHY"
 *   detach ADDRESS MS        the attention button; MS ms for the guest to power the slot
 *                            off, then surprise removal
 *                            -> later "ok detach ADDRESS released" | "... surprise"
 *                               | "error detach ADDRESS: WHY"
 *   list                     -> "ok list [ADDRESS:SLOT:on|off|detaching]..."
 * and, unasked, "released ADDRESS" when the guest powers a slot off by itself (its
 * `echo 0 > /sys/bus/pci/slots/N/power`): the device is gone from it. */
#ifndef IOVM_HOTPLUG_H
#define IOVM_HOTPLUG_H

#include <poll.h>
#include <stdint.h>

#include "vmm/vm.h"

#define IOVM_HOTPLUG_MAX	8
#define IOVM_HOTPLUG_WINDOW	((uint64_t)2 << 20)

/* After iovm_pci_init and the boot devices: the root ports and their windows. */
int iovm_hotplug_init(struct iovm_vm *vm, int nports, int control_fd);
int iovm_hotplug_ports(void);
/* The main loop's share: fds to poll (at most 3), the ms until the next detach deadline
 * (-1: none), and the work after poll. */
int iovm_hotplug_pollfds(struct pollfd *p);
int iovm_hotplug_timeout_ms(void);
void iovm_hotplug_handle(const struct pollfd *p, int n);
/* Exit: the sockets closed (the devices go with iovm_vfio_close). */
void iovm_hotplug_close(void);

#endif
