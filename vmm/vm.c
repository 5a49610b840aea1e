#include "vmm/vm.h"
#include "vmm/bus.h"
#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define KVM_TSS_ADDR		0xfffbd000ull	/* 3 pages KVM needs below 4 GiB (VMX real mode) */
#define KVM_IDENTITY_MAP_ADDR	0xfffbc000ull
#define IOVM_KICK_SIGNAL	SIGUSR1

static const char *const stat_name[IOVM_STAT_NR] = {
	"io", "mmio", "hlt", "shutdown", "intr", "fail_entry", "internal_error",
	"system_event", "other",
};

static int xioctl(int fd, unsigned long req, const void *arg)
{
	int r;

	do
		r = ioctl(fd, req, arg);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

/* IOVM_CPUID=WORD[,WORD...]: what the guest is offered, switched per launch so that the
 * benchmark (tests/rig/scenarios/vmm_vs_qemu.sh) measures each leaf's worth in one test-host
 * run. Not an interface: nopv hides KVM's paravirtual leaves (0x40000000-0x400000ff: the
 * KVMKVMKVM signature and kvmclock, PV EOI, PV send-IPI...), nox2apic clears x2APIC,
 * nodeadline the TSC-deadline timer. */
enum { CPUID_NOPV = 1, CPUID_NOX2APIC = 2, CPUID_NODEADLINE = 4 };

static unsigned cpuid_switches(void)
{
	const char *e = getenv("IOVM_CPUID");
	unsigned sw = 0;

	if (!e)
		return 0;
	sw |= strstr(e, "nopv") ? CPUID_NOPV : 0;
	sw |= strstr(e, "nox2apic") ? CPUID_NOX2APIC : 0;
	sw |= strstr(e, "nodeadline") ? CPUID_NODEADLINE : 0;
	return sw;
}

static int vcpu_setup_cpuid(struct iovm_vcpu *v)
{
	struct kvm_cpuid2 *c;
	int nent = 256, ret;
	unsigned sw = cpuid_switches();
	uint32_t n = 0;

	for (;;) {
		c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
		if (!c)
			return -ENOMEM;
		c->nent = nent;
		ret = xioctl(v->vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c);
		if (ret != -E2BIG)
			break;
		free(c);
		nent *= 2;
		if (nent > 4096)
			return -E2BIG;
	}
	if (ret < 0)
		goto out;
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if ((sw & CPUID_NOPV) && (e->function & 0xffffff00u) == 0x40000000u)
			continue;
		switch (e->function) {
		case 1:
			/* Initial APIC id in EBX[31:24]; say "hypervisor" in ECX[31]. */
			e->ebx = (e->ebx & 0x00ffffffu) | (uint32_t)v->id << 24;
			e->ecx |= 1u << 31;
			if (v->vm->tsc_deadline)
				e->ecx |= 1u << 24;	/* TSC-deadline timer */
			if (sw & CPUID_NODEADLINE)
				e->ecx &= ~(1u << 24);
			if (sw & CPUID_NOX2APIC)
				e->ecx &= ~(1u << 21);
			break;
		case 0xb:
		case 0x1f:
			e->edx = (uint32_t)v->id;	/* x2APIC id */
			break;
		default:
			break;
		}
		c->entries[n++] = *e;
	}
	c->nent = n;
	ret = xioctl(v->fd, KVM_SET_CPUID2, c);
out:
	free(c);
	return ret;
}

/* What firmware leaves behind and Linux expects: LINT0 as ExtINT (the PIC's virtual wire),
 * LINT1 as NMI. */
static int vcpu_setup_lapic(struct iovm_vcpu *v)
{
	struct kvm_lapic_state l = { 0 };	/* filled by KVM_GET_LAPIC; -O1 cannot tell */
	uint32_t *lint0 = (uint32_t *)&l.regs[0x350], *lint1 = (uint32_t *)&l.regs[0x360];
	int ret = xioctl(v->fd, KVM_GET_LAPIC, &l);

	if (ret < 0)
		return ret;
	*lint0 = (*lint0 & ~0x700u & ~0x10000u) | 0x700u;	/* delivery mode ExtINT, unmasked */
	*lint1 = (*lint1 & ~0x700u & ~0x10000u) | 0x400u;	/* delivery mode NMI */
	return xioctl(v->fd, KVM_SET_LAPIC, &l);
}

static int vcpu_setup_fpu(struct iovm_vcpu *v)
{
	struct kvm_fpu f = { .fcw = 0x37f, .mxcsr = 0x1f80 };

	return xioctl(v->fd, KVM_SET_FPU, &f);
}

static int vm_set_routing(struct iovm_vm *vm)
{
	struct kvm_irq_routing *r;
	size_t n = 0, max = IOVM_NR_LEGACY_GSI * 2 + IOVM_MAX_GSI;
	int ret;

	r = calloc(1, sizeof(*r) + max * sizeof(r->entries[0]));
	if (!r)
		return -ENOMEM;
	for (uint32_t gsi = 0; gsi < IOVM_NR_LEGACY_GSI; gsi++) {
		if (gsi < 16)
			r->entries[n++] = (struct kvm_irq_routing_entry){
				.gsi = gsi, .type = KVM_IRQ_ROUTING_IRQCHIP,
				.u.irqchip = { .irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER
								  : KVM_IRQCHIP_PIC_SLAVE,
					       .pin = gsi % 8 } };
		r->entries[n++] = (struct kvm_irq_routing_entry){
			.gsi = gsi, .type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = { .irqchip = KVM_IRQCHIP_IOAPIC, .pin = gsi } };
	}
	for (int i = 0; i < IOVM_MAX_GSI; i++) {
		if (!vm->msi[i].used)
			continue;
		r->entries[n++] = (struct kvm_irq_routing_entry){
			.gsi = vm->msi[i].gsi, .type = KVM_IRQ_ROUTING_MSI,
			.u.msi = { .address_lo = (uint32_t)vm->msi[i].addr,
				   .address_hi = (uint32_t)(vm->msi[i].addr >> 32),
				   .data = vm->msi[i].data } };
	}
	r->nr = (uint32_t)n;
	ret = xioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, r);
	free(r);
	return ret;
}

int iovm_vm_gsi_alloc(struct iovm_vm *vm)
{
	for (int i = 0; i < IOVM_MAX_GSI; i++) {
		if (!vm->msi[i].used) {
			/* Unprogrammed: a message to APIC 0, vector 0 is never delivered usefully,
			 * and the irqfd is only attached once the guest programs the vector. */
			vm->msi[i].used = true;
			vm->msi[i].gsi = IOVM_NR_LEGACY_GSI + (uint32_t)i;
			vm->msi[i].addr = 0xfee00000;
			vm->msi[i].data = 0;
			return (int)vm->msi[i].gsi;
		}
	}
	return -ENOSPC;
}

static int gsi_index(uint32_t gsi)
{
	if (gsi < IOVM_NR_LEGACY_GSI || gsi >= IOVM_NR_LEGACY_GSI + IOVM_MAX_GSI)
		return -EINVAL;
	return (int)(gsi - IOVM_NR_LEGACY_GSI);
}

int iovm_vm_msi_set(struct iovm_vm *vm, uint32_t gsi, uint64_t addr, uint32_t data)
{
	int i = gsi_index(gsi);

	if (i < 0 || !vm->msi[i].used)
		return -EINVAL;
	if (vm->msi[i].addr == addr && vm->msi[i].data == data)
		return 0;
	vm->msi[i].addr = addr;
	vm->msi[i].data = data;
	return vm_set_routing(vm);
}

int iovm_vm_gsi_free(struct iovm_vm *vm, uint32_t gsi)
{
	int i = gsi_index(gsi);

	if (i < 0 || !vm->msi[i].used)
		return -EINVAL;
	vm->msi[i].used = false;
	return vm_set_routing(vm);
}

int iovm_vm_irqfd(struct iovm_vm *vm, int efd, uint32_t gsi, int resample_efd, bool assign)
{
	struct kvm_irqfd f = { .fd = (uint32_t)efd, .gsi = gsi };

	if (!assign)
		f.flags |= KVM_IRQFD_FLAG_DEASSIGN;
	else if (resample_efd >= 0) {
		f.flags |= KVM_IRQFD_FLAG_RESAMPLE;
		f.resamplefd = (uint32_t)resample_efd;
	}
	return xioctl(vm->vm_fd, KVM_IRQFD, &f);
}

int iovm_vm_ioeventfd(struct iovm_vm *vm, int efd, uint64_t gpa, uint32_t len, bool assign)
{
	struct kvm_ioeventfd e = { .addr = gpa, .len = len, .fd = efd,
				   .flags = assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN };

	return xioctl(vm->vm_fd, KVM_IOEVENTFD, &e);
}

int iovm_vm_signal_msi(struct iovm_vm *vm, uint64_t addr, uint32_t data)
{
	struct kvm_msi m = { .address_lo = (uint32_t)addr, .address_hi = (uint32_t)(addr >> 32),
			     .data = data };

	return xioctl(vm->vm_fd, KVM_SIGNAL_MSI, &m);
}

static int irq_line(struct iovm_vm *vm, uint32_t irq, int level)
{
	struct kvm_irq_level l = { .irq = irq, .level = (uint32_t)level };

	return xioctl(vm->vm_fd, KVM_IRQ_LINE, &l);
}

void iovm_vm_irq_pulse(struct iovm_vm *vm, uint32_t irq)
{
	irq_line(vm, irq, 1);
	irq_line(vm, irq, 0);
}

static int kvm_check_cap(int fd, long cap)
{
	int r = ioctl(fd, KVM_CHECK_EXTENSION, cap);

	return r < 0 ? 0 : r;
}

int iovm_vm_has_cap(struct iovm_vm *vm, long cap)
{
	return kvm_check_cap(vm->kvm_fd, cap);
}

static void kick_handler(int sig)
{
	(void)sig;	/* only there to make KVM_RUN return -EINTR */
}

int iovm_vm_create(struct iovm_vm *vm, int kvm_fd, int ncpus)
{
	static bool handler_set;	/* once, here: the sandbox forbids sigaction later */
	static const struct { long cap; const char *name; } need[] = {
		{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
		{ KVM_CAP_PIT2, "KVM_CAP_PIT2" },
		{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD" },
		{ KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING" },
		{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
		{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
		{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
	};
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	int ret, mslots;

	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = vm->vm_fd = vm->stop_efd = -1;
	for (int i = 0; i < IOVM_MAX_VCPUS; i++)
		vm->vcpu[i].fd = -1;
	pthread_mutex_init(&vm->stop_lock, NULL);
	if (!handler_set) {
		struct sigaction sa = { .sa_handler = kick_handler };

		sigemptyset(&sa.sa_mask);
		sigaction(IOVM_KICK_SIGNAL, &sa, NULL);	/* no SA_RESTART */
		handler_set = true;
	}
	if (ncpus < 1 || ncpus > IOVM_MAX_VCPUS)
		return -EINVAL;
	if (kvm_fd < 0) {
		kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
		if (kvm_fd < 0)
			return log_err_errno(-errno, "/dev/kvm");
	}
	vm->kvm_fd = kvm_fd;
	ret = ioctl(kvm_fd, KVM_GET_API_VERSION, 0);
	if (ret != KVM_API_VERSION) {
		log_err("/dev/kvm: API version %d, iovm needs %d (is the fd really /dev/kvm?)",
			ret, KVM_API_VERSION);
		return -ENOTTY;
	}
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		if (!kvm_check_cap(kvm_fd, need[i].cap)) {
			log_err("KVM lacks %s, which iovm needs", need[i].name);
			return -ENOTSUP;
		}
	}
	/* Not in KVM_GET_SUPPORTED_CPUID (it needs the in-kernel LAPIC): without it the guest
	 * programs its LAPIC timer through TMICT instead of one TSC-deadline MSR write. */
	vm->tsc_deadline = kvm_check_cap(kvm_fd, KVM_CAP_TSC_DEADLINE_TIMER) > 0;
	mslots = kvm_check_cap(kvm_fd, KVM_CAP_NR_MEMSLOTS);
	vm->max_slots = mslots > 0 ? (uint32_t)mslots : 32;
	if (ncpus > kvm_check_cap(kvm_fd, KVM_CAP_MAX_VCPUS) &&
	    ncpus > kvm_check_cap(kvm_fd, KVM_CAP_NR_VCPUS)) {
		log_err("--cpus %d: KVM allows at most %d", ncpus,
			kvm_check_cap(kvm_fd, KVM_CAP_MAX_VCPUS));
		return -EINVAL;
	}

	ret = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (ret < 0)
		return log_err_errno(-errno, "KVM_CREATE_VM");
	vm->vm_fd = ret;
	if ((ret = xioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (void *)KVM_TSS_ADDR)) < 0)
		return log_err_errno(ret, "KVM_SET_TSS_ADDR");
	{
		uint64_t ident = KVM_IDENTITY_MAP_ADDR;

		if ((ret = xioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &ident)) < 0)
			return log_err_errno(ret, "KVM_SET_IDENTITY_MAP_ADDR");
	}
	if ((ret = xioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, NULL)) < 0)
		return log_err_errno(ret, "KVM_CREATE_IRQCHIP");
	if ((ret = xioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit)) < 0)
		return log_err_errno(ret, "KVM_CREATE_PIT2");
	if ((ret = vm_set_routing(vm)) < 0)
		return log_err_errno(ret, "KVM_SET_GSI_ROUTING");

	vm->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->stop_efd < 0)
		return log_err_errno(-errno, "eventfd");
	ret = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (ret <= 0)
		return log_err_errno(-errno, "KVM_GET_VCPU_MMAP_SIZE");
	vm->run_size = (size_t)ret;

	vm->ncpus = ncpus;
	for (int i = 0; i < ncpus; i++) {
		struct iovm_vcpu *v = &vm->vcpu[i];
		void *run;

		v->vm = vm;
		v->id = i;
		ret = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)i);
		if (ret < 0)
			return log_err_errno(-errno, "KVM_CREATE_VCPU %d", i);
		v->fd = ret;
		run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
		if (run == MAP_FAILED)
			return log_err_errno(-errno, "mmap kvm_run of vCPU %d", i);
		v->run = run;
		if ((ret = vcpu_setup_cpuid(v)) < 0)
			return log_err_errno(ret, "vCPU %d: KVM_SET_CPUID2", i);
		if ((ret = vcpu_setup_lapic(v)) < 0)
			return log_err_errno(ret, "vCPU %d: LAPIC LINT0/LINT1", i);
		if ((ret = vcpu_setup_fpu(v)) < 0)
			return log_err_errno(ret, "vCPU %d: KVM_SET_FPU", i);
	}
	return 0;
}

void iovm_vm_destroy(struct iovm_vm *vm)
{
	if (!vm)
		return;
	for (int i = 0; i < vm->ncpus; i++) {
		if (vm->vcpu[i].run)
			munmap(vm->vcpu[i].run, vm->run_size);
		if (vm->vcpu[i].fd >= 0)
			close(vm->vcpu[i].fd);
	}
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->stop_efd >= 0)
		close(vm->stop_efd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->vm_fd = vm->stop_efd = vm->kvm_fd = -1;
	vm->ncpus = 0;
}

static int vm_set_slot(struct iovm_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size, void *hva)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot, .guest_phys_addr = gpa, .memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)hva,
	};

	return xioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r);
}

int iovm_vm_add_ram(struct iovm_vm *vm, struct iovm_mem *mem)
{
	for (int i = 0; i < mem->nbanks; i++) {
		int ret = iovm_vm_map(vm, mem->bank[i].gpa, mem->bank[i].size, mem->bank[i].hva);

		if (ret < 0)
			return ret;
	}
	vm->mem = mem;
	return 0;
}

/* Slots are never reused within a run: BAR remaps are rare (boot-time sizing). A freed slot
 * id goes on a small free list instead. */
static uint32_t free_slots[64];
static unsigned nfree_slots;

int iovm_vm_map(struct iovm_vm *vm, uint64_t gpa, uint64_t size, void *hva)
{
	uint32_t slot;
	int ret;

	if (nfree_slots)
		slot = free_slots[--nfree_slots];
	else if (vm->next_slot < vm->max_slots)
		slot = vm->next_slot++;
	else
		return -ENOSPC;
	ret = vm_set_slot(vm, slot, gpa, size, hva);
	if (ret < 0) {
		if (nfree_slots < 64)
			free_slots[nfree_slots++] = slot;
		return ret;
	}
	return (int)slot;
}

int iovm_vm_unmap(struct iovm_vm *vm, int slot)
{
	int ret;

	if (slot < 0)
		return -EINVAL;
	ret = vm_set_slot(vm, (uint32_t)slot, 0, 0, NULL);
	if (ret == 0 && nfree_slots < 64)
		free_slots[nfree_slots++] = (uint32_t)slot;
	return ret;
}

void iovm_vm_request_stop(struct iovm_vm *vm, enum iovm_exit code, const char *why)
{
	uint64_t one = 1;

	pthread_mutex_lock(&vm->stop_lock);
	if (!vm->stopping) {
		vm->stopping = true;
		vm->exit_code = code;
		log_info("stopping: %s", why);
		for (int i = 0; i < vm->ncpus; i++)
			if (vm->vcpu[i].run)
				vm->vcpu[i].run->immediate_exit = 1;
		if (write(vm->stop_efd, &one, sizeof(one)) < 0) {
			/* counter overflow only; the main thread is already woken */
		}
	}
	pthread_mutex_unlock(&vm->stop_lock);
}

static bool vm_stopping(struct iovm_vm *vm)
{
	bool s;

	pthread_mutex_lock(&vm->stop_lock);
	s = vm->stopping;
	pthread_mutex_unlock(&vm->stop_lock);
	return s;
}

static void vcpu_dump(struct iovm_vcpu *v)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return;
	log_err("vCPU %d: rip=%#llx rsp=%#llx rax=%#llx cr0=%#llx cr3=%#llx cr4=%#llx efer=%#llx",
		v->id, r.rip, r.rsp, r.rax, s.cr0, s.cr3, s.cr4, s.efer);
}

static void vcpu_handle_io(struct iovm_vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	unsigned size = run->io.size;

	/* KVM hands a whole `rep ins/outs` batch at once: count items of size bytes, all
	 * inside the kvm_run page (KVM guarantees it; checked anyway). */
	if (run->io.data_offset + (uint64_t)size * run->io.count > v->vm->run_size)
		return;
	for (uint32_t i = 0; i < run->io.count; i++)
		iovm_bus_access(IOVM_PIO, run->io.port, data + i * size, size,
				run->io.direction == KVM_EXIT_IO_OUT);
}

static void *vcpu_thread(void *arg)
{
	struct iovm_vcpu *v = arg;
	struct iovm_vm *vm = v->vm;
	sigset_t set;
	char why[96];

	sigemptyset(&set);
	sigaddset(&set, IOVM_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	while (!vm_stopping(vm)) {
		struct kvm_run *run = v->run;

		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			snprintf(why, sizeof(why), "vCPU %d: KVM_RUN: %s", v->id, strerror(errno));
			log_err("%s", why);
			iovm_vm_request_stop(vm, IOVM_EXIT_ERROR, why);
			break;
		}
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			v->exits[IOVM_STAT_IO]++;
			vcpu_handle_io(v);
			break;
		case KVM_EXIT_MMIO:
			v->exits[IOVM_STAT_MMIO]++;
			iovm_bus_access(IOVM_MMIO, run->mmio.phys_addr, run->mmio.data,
					run->mmio.len, run->mmio.is_write);
			break;
		case KVM_EXIT_HLT:
			v->exits[IOVM_STAT_HLT]++;
			break;
		case KVM_EXIT_INTR:
			v->exits[IOVM_STAT_INTR]++;
			break;
		case KVM_EXIT_SHUTDOWN:
			v->exits[IOVM_STAT_SHUTDOWN]++;
			snprintf(why, sizeof(why), "vCPU %d: triple fault", v->id);
			vcpu_dump(v);
			iovm_vm_request_stop(vm, IOVM_EXIT_CRASH, why);
			break;
		case KVM_EXIT_SYSTEM_EVENT:
			v->exits[IOVM_STAT_SYSTEM_EVENT]++;
			if (run->system_event.type == KVM_SYSTEM_EVENT_RESET)
				iovm_vm_request_stop(vm, IOVM_EXIT_REBOOT, "guest reset");
			else if (run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN)
				iovm_vm_request_stop(vm, IOVM_EXIT_POWEROFF, "guest poweroff");
			else
				iovm_vm_request_stop(vm, IOVM_EXIT_CRASH, "guest crash event");
			break;
		case KVM_EXIT_FAIL_ENTRY:
			v->exits[IOVM_STAT_FAIL_ENTRY]++;
			snprintf(why, sizeof(why), "vCPU %d: VM entry failed, reason %#llx", v->id,
				 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
			vcpu_dump(v);
			iovm_vm_request_stop(vm, IOVM_EXIT_CRASH, why);
			break;
		case KVM_EXIT_INTERNAL_ERROR:
			v->exits[IOVM_STAT_INTERNAL]++;
			snprintf(why, sizeof(why), "vCPU %d: KVM internal error, suberror %u", v->id,
				 run->internal.suberror);
			vcpu_dump(v);
			iovm_vm_request_stop(vm, IOVM_EXIT_CRASH, why);
			break;
		default:
			v->exits[IOVM_STAT_OTHER]++;
			snprintf(why, sizeof(why), "vCPU %d: unhandled exit reason %u", v->id,
				 run->exit_reason);
			iovm_vm_request_stop(vm, IOVM_EXIT_ERROR, why);
			break;
		}
	}
	return NULL;
}


int iovm_vm_start(struct iovm_vm *vm)
{

	for (int i = 0; i < vm->ncpus; i++) {
		int ret = pthread_create(&vm->vcpu[i].thread, NULL, vcpu_thread, &vm->vcpu[i]);

		if (ret) {
			iovm_vm_request_stop(vm, IOVM_EXIT_ERROR, "cannot start vCPU thread");
			return log_err_errno(-ret, "vCPU %d: pthread_create", i);
		}
		vm->vcpu[i].started = true;
	}
	return 0;
}

void iovm_vm_stop(struct iovm_vm *vm)
{
	if (!vm_stopping(vm))
		iovm_vm_request_stop(vm, IOVM_EXIT_ERROR, "stopped by iovm");
	for (int i = 0; i < vm->ncpus; i++)
		if (vm->vcpu[i].started)
			pthread_kill(vm->vcpu[i].thread, IOVM_KICK_SIGNAL);
	for (int i = 0; i < vm->ncpus; i++) {
		if (vm->vcpu[i].started) {
			pthread_join(vm->vcpu[i].thread, NULL);
			vm->vcpu[i].started = false;
		}
	}
}

int iovm_vm_rebuild(struct iovm_vm *vm)
{
	uint64_t before[IOVM_STAT_NR];
	struct iovm_mem *mem = vm->mem;
	int kvm_fd = vm->kvm_fd, ncpus = vm->ncpus, ret;
	unsigned restarts = vm->restarts + 1;

	for (int s = 0; s < IOVM_STAT_NR; s++) {
		before[s] = vm->exits_before[s];
		for (int i = 0; i < vm->ncpus; i++)
			before[s] += vm->vcpu[i].exits[s];
	}
	vm->kvm_fd = -1;	/* kept: the sandbox may forbid opening /dev/kvm again */
	iovm_vm_destroy(vm);
	pthread_mutex_destroy(&vm->stop_lock);
	nfree_slots = 0;
	ret = iovm_vm_create(vm, kvm_fd, ncpus);
	memcpy(vm->exits_before, before, sizeof(before));
	vm->restarts = restarts;
	if (ret < 0)
		return ret;
	return mem ? iovm_vm_add_ram(vm, mem) : 0;
}

void iovm_vm_print_stats(struct iovm_vm *vm, FILE *f)
{
	uint64_t tot[IOVM_STAT_NR] = { 0 };

	for (int s = 0; s < IOVM_STAT_NR; s++)
		tot[s] = vm->exits_before[s];

	for (int i = 0; i < vm->ncpus; i++)
		for (int s = 0; s < IOVM_STAT_NR; s++)
			tot[s] += vm->vcpu[i].exits[s];
	fprintf(f, "iovm: exits to userspace by reason (all vCPUs):\n");
	for (int s = 0; s < IOVM_STAT_NR; s++)
		if (tot[s])
			fprintf(f, "  %-16s %" PRIu64 "\n", stat_name[s], tot[s]);
	fprintf(f, "iovm: device accesses:\n");
	iovm_bus_print_stats(f);
}
