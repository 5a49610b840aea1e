/*
 * kvmcheck: prove that /dev/kvm works, by running real guest code in a fresh VM.
 * Built static for the test host (where /dev/kvm is nested: kvm-amd on QEMU's emulated SVM).
 *
 * Creates a VM with one page of memory at guest-physical 0x1000, one vCPU in real mode,
 * runs   mov $0x2a,%al; out %al,$0x10; mov $0x1234,%bx; hlt
 * and requires exactly: an I/O exit on port 0x10 carrying 0x2a, then a HLT exit with
 * rbx == 0x1234 and rip just past the hlt. Prints what it saw; exits 0 only if all of it held.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

static int fail(const char *what)
{
	fprintf(stderr, "kvmcheck: %s: %s\n", what, strerror(errno));
	return 1;
}

static const char *exit_name(uint32_t r)
{
	switch (r) {
	case KVM_EXIT_IO: return "IO";
	case KVM_EXIT_HLT: return "HLT";
	case KVM_EXIT_MMIO: return "MMIO";
	case KVM_EXIT_SHUTDOWN: return "SHUTDOWN";
	case KVM_EXIT_FAIL_ENTRY: return "FAIL_ENTRY";
	case KVM_EXIT_INTERNAL_ERROR: return "INTERNAL_ERROR";
	default: return "other";
	}
}

int main(int argc, char **argv)
{
	const char *dev = argc > 1 ? argv[1] : "/dev/kvm";
	static const uint8_t code[] = {
		0xb0, 0x2a,             /* mov $0x2a, %al */
		0xe6, 0x10,             /* out %al, $0x10 */
		0xbb, 0x34, 0x12,       /* mov $0x1234, %bx */
		0xf4,                   /* hlt */
	};

	int kvm = open(dev, O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return fail(dev);
	int api = ioctl(kvm, KVM_GET_API_VERSION, 0);
	printf("kvmcheck: %s API version %d\n", dev, api);
	if (api != KVM_API_VERSION) {
		fprintf(stderr, "kvmcheck: API version %d, want %d\n", api, KVM_API_VERSION);
		return 1;
	}
	if (ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY) <= 0) {
		fprintf(stderr, "kvmcheck: no KVM_CAP_USER_MEMORY\n");
		return 1;
	}
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail("KVM_CREATE_VM");
	printf("kvmcheck: KVM_CREATE_VM ok\n");

	size_t memsz = 0x1000;
	uint8_t *mem = mmap(NULL, memsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return fail("mmap guest memory");
	memcpy(mem, code, sizeof(code));
	struct kvm_userspace_memory_region region = {
		.slot = 0, .guest_phys_addr = 0x1000, .memory_size = memsz,
		.userspace_addr = (uint64_t)(uintptr_t)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return fail("KVM_SET_USER_MEMORY_REGION");

	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return fail("KVM_CREATE_VCPU");
	int runsz = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (runsz < (int)sizeof(struct kvm_run))
		return fail("KVM_GET_VCPU_MMAP_SIZE");
	struct kvm_run *run = mmap(NULL, (size_t)runsz, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		return fail("mmap kvm_run");

	struct kvm_sregs sregs;
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		return fail("KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		return fail("KVM_SET_SREGS");
	struct kvm_regs regs = { .rip = 0x1000, .rflags = 0x2 };
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return fail("KVM_SET_REGS");

	if (ioctl(vcpu, KVM_RUN, 0) < 0)
		return fail("KVM_RUN (1)");
	printf("kvmcheck: exit 1: %s", exit_name(run->exit_reason));
	if (run->exit_reason != KVM_EXIT_IO) {
		printf("\n");
		fprintf(stderr, "kvmcheck: first exit %u, want KVM_EXIT_IO\n", run->exit_reason);
		return 1;
	}
	uint8_t val = *((uint8_t *)run + run->io.data_offset);
	printf(" port 0x%x dir %s size %u value 0x%x\n", run->io.port,
	       run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in", run->io.size, val);
	if (run->io.port != 0x10 || run->io.direction != KVM_EXIT_IO_OUT || run->io.size != 1 ||
	    val != 0x2a) {
		fprintf(stderr, "kvmcheck: wrong I/O exit, want out 0x2a to port 0x10 (size 1)\n");
		return 1;
	}

	if (ioctl(vcpu, KVM_RUN, 0) < 0)
		return fail("KVM_RUN (2)");
	printf("kvmcheck: exit 2: %s\n", exit_name(run->exit_reason));
	if (run->exit_reason != KVM_EXIT_HLT) {
		fprintf(stderr, "kvmcheck: second exit %u, want KVM_EXIT_HLT\n", run->exit_reason);
		return 1;
	}
	if (ioctl(vcpu, KVM_GET_REGS, &regs) < 0)
		return fail("KVM_GET_REGS");
	printf("kvmcheck: rbx 0x%llx rip 0x%llx\n", (unsigned long long)regs.rbx,
	       (unsigned long long)regs.rip);
	if ((regs.rbx & 0xffff) != 0x1234 || regs.rip != 0x1000 + sizeof(code)) {
		fprintf(stderr, "kvmcheck: wrong guest state after hlt (want bx 0x1234, rip 0x%zx)\n",
			0x1000 + sizeof(code));
		return 1;
	}
	printf("kvmcheck: guest code ran under %s: PASS\n", dev);
	return 0;
}
