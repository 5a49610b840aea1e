#include "vmm/boot.h"
#include "vmm/hotplug.h"
#include "vmm/acpi.h"
#include "vmm/pci.h"
#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define BOOT_STACK 0x8ff0ull	/* between the zero page and the page tables */
#define BOOT_HDR_READ 4096	/* the setup header lies in the first 0x300 bytes */

/* pread until len bytes are in (the files stay open: a restart loads them again). */
static int pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO;	/* file shrank under us */
		done += (size_t)r;
	}
	return 0;
}

/* Adopts fd (or opens path) and records its size (regular files only). */
static int open_sized(const char *path, int fd, const char *what, int *fd_out, uint64_t *size)
{
	struct stat st;
	bool own = fd < 0;

	if (own && (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return log_err_errno(-errno, "%s %s", what, path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (own)
			close(fd);
		log_err("%s %s: not a regular file", what, path);
		return -EINVAL;
	}
	*size = (uint64_t)st.st_size;
	*fd_out = fd;
	return 0;
}

int iovm_boot_open(struct iovm_boot_cfg *cfg)
{
	int ret;

	ret = open_sized(cfg->kernel, cfg->kernel_fd, "--kernel", &cfg->kernel_fd, &cfg->ksize);
	if (ret < 0)
		return ret;
	if (cfg->initrd || cfg->initrd_fd >= 0) {
		ret = open_sized(cfg->initrd, cfg->initrd_fd, "--initrd", &cfg->initrd_fd, &cfg->isize);
		if (ret < 0)
			return ret;
		cfg->has_initrd = true;
	}
	return 0;
}

void iovm_boot_close(struct iovm_boot_cfg *cfg)
{
	if (cfg->kernel_fd >= 0)
		close(cfg->kernel_fd);
	if (cfg->initrd_fd >= 0)
		close(cfg->initrd_fd);
	cfg->kernel_fd = cfg->initrd_fd = -1;
}

static void seg(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code64, bool db)
{
	*s = (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type, .present = 1,
		.dpl = 0, .db = db, .s = 1, .l = code64, .g = 1,
	};
}

static int setup_bsp(struct iovm_vcpu *v, bool entry32, uint64_t rip)
{
	struct kvm_sregs s;
	struct kvm_regs r = { 0 };

	if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	seg(&s.cs, IOVM_BOOT_CS, 0xb, !entry32, entry32);
	seg(&s.ds, IOVM_BOOT_DS, 0x3, false, true);
	s.es = s.fs = s.gs = s.ss = s.ds;
	s.tr = (struct kvm_segment){ .selector = IOVM_BOOT_TSS, .limit = 0x67, .type = 0xb,
				     .present = 1 };
	s.gdt.base = IOVM_GDT_ADDR;
	s.gdt.limit = IOVM_GDT_ENTRIES * 8 - 1;
	s.idt.base = 0;
	s.idt.limit = 0;
	s.cr0 = 0x11;			/* PE | ET */
	s.cr4 = 0;
	s.efer = 0;
	if (!entry32) {
		s.cr3 = IOVM_PML4_ADDR;
		s.cr4 |= 0x20;		/* PAE */
		s.cr0 |= 0x80000000u;	/* PG */
		s.efer |= 0x500;	/* LME | LMA */
	}
	if (ioctl(v->fd, KVM_SET_SREGS, &s) < 0)
		return -errno;
	r.rflags = 2;
	r.rip = rip;
	r.rsi = IOVM_ZERO_PAGE_ADDR;	/* boot protocol: %rsi/%esi = struct boot_params */
	r.rsp = r.rbp = BOOT_STACK;
	if (ioctl(v->fd, KVM_SET_REGS, &r) < 0)
		return -errno;
	return 0;
}

int iovm_boot_mptable(struct iovm_vm *vm, int ncpus, const struct iovm_mp_intx *intx, int n)
{
	uint8_t *p = iovm_mem_ptr(vm->mem, IOVM_MPTABLE_ADDR, IOVM_MPTABLE_MAX);
	int ret;

	if (!p)
		return log_err_errno(-ENOMEM, "MP table: no RAM at %#llx", IOVM_MPTABLE_ADDR);
	ret = iovm_mptable_build(p, IOVM_MPTABLE_MAX, IOVM_MPTABLE_ADDR, ncpus > 0 ? ncpus : 1,
				 intx, n);
	if (ret < 0)
		return log_err_errno(ret, "MP table for %d vCPUs, %d INTx routes", ncpus, n);
	/* The ACPI tables describe the same machine (a guest with acpi=off reads the MP table). */
	p = iovm_mem_ptr(vm->mem, IOVM_ACPI_ADDR, IOVM_ACPI_MAX);
	if (!p)
		return log_err_errno(-ENOMEM, "ACPI tables: no RAM at %#llx", IOVM_ACPI_ADDR);
	ret = iovm_acpi_build(p, IOVM_ACPI_MAX, IOVM_ACPI_ADDR, &(struct iovm_acpi_cfg){
		.ncpus = ncpus > 0 ? ncpus : 1, .intx = intx, .nintx = n,
		.mmio_start = (uint32_t)IOVM_PCI_MMIO_START, .mmio_end = (uint32_t)IOVM_PCI_MMIO_END,
		.ecam_base = IOVM_PCI_ECAM_BASE, .hp_ports = iovm_hotplug_ports() });
	if (ret < 0)
		return log_err_errno(ret, "ACPI tables for %d vCPUs, %d INTx routes", ncpus, n);
	return 0;
}

int iovm_boot_load(struct iovm_vm *vm, const struct iovm_boot_cfg *cfg)
{
	struct iovm_mem *mem = vm->mem;
	struct iovm_e820_entry e820[BP_E820_MAX];
	struct iovm_bzimage bz;
	const char *cmdline = cfg->cmdline ? cfg->cmdline : "";
	uint64_t ksize = cfg->ksize, isize = 0, iaddr = 0, kend;
	/* Only the real-mode part (setup header) is read into iovm's memory; the protected-mode
	 * kernel goes straight into guest RAM. */
	uint8_t img[BOOT_HDR_READ];
	uint8_t *low, *dst;
	int n, ret;

	low = iovm_mem_ptr(mem, 0, IOVM_KERNEL_ADDR);
	if (!low || mem->size < IOVM_BOOT_MIN_MEM)
		return log_err_errno(-EINVAL, "guest RAM too small to boot (need %llu MiB)",
				     IOVM_BOOT_MIN_MEM >> 20);
	if (ksize > mem->size)
		return log_err_errno(-EFBIG, "--kernel %s: bigger than guest RAM", cfg->kernel);
	memset(img, 0, sizeof(img));
	ret = pread_full(cfg->kernel_fd, img, ksize < sizeof(img) ? ksize : sizeof(img), 0);
	if (ret < 0)
		return log_err_errno(ret, "--kernel %s: read", cfg->kernel);
	ret = iovm_bzimage_parse(img, ksize, !cfg->entry32, &bz);
	if (ret < 0) {
		log_err("--kernel %s: not a usable bzImage (%s): need \"HdrS\", boot protocol "
			">= 2.06, loaded high%s", cfg->kernel, strerror(-ret),
			cfg->entry32 ? "" : ", 64-bit entry (XLF_KERNEL_64)");
		return ret;
	}
	if (strlen(cmdline) > bz.cmdline_size || strlen(cmdline) >= IOVM_CMDLINE_MAX)
		return log_err_errno(-E2BIG, "--cmdline: %zu bytes, the kernel accepts %u",
				     strlen(cmdline), bz.cmdline_size);
	kend = IOVM_KERNEL_ADDR + bz.init_size;
	dst = iovm_mem_ptr(mem, IOVM_KERNEL_ADDR, bz.init_size);
	if (!dst || bz.pm_size > bz.init_size)
		return log_err_errno(-EFBIG, "--kernel %s: needs %u bytes from 1 MiB; give more --mem",
				     cfg->kernel, bz.init_size);
	ret = pread_full(cfg->kernel_fd, dst, bz.pm_size, bz.pm_offset);
	if (ret < 0)
		return log_err_errno(ret, "--kernel %s: read", cfg->kernel);

	n = iovm_e820_build(mem, cfg->excl, cfg->nexcl, e820, BP_E820_MAX);
	if (n < 0)
		return log_err_errno(n, "e820 map");
	if (cfg->has_initrd) {
		isize = cfg->isize;
		ret = iovm_initrd_place(&bz, e820, n, (kend + 0xfff) & ~0xfffull, isize, &iaddr);
		if (ret == 0 && !(dst = iovm_mem_ptr(mem, iaddr, isize)))
			ret = -ENOMEM;
		if (ret < 0) {
			log_err("--initrd %s: %llu bytes do not fit in guest RAM below %#x after the "
				"kernel; give more --mem", cfg->initrd, (unsigned long long)isize,
				bz.initrd_addr_max);
			return ret;
		}
		ret = pread_full(cfg->initrd_fd, dst, isize, 0);
		if (ret < 0)
			return log_err_errno(ret, "--initrd %s: read", cfg->initrd);
	}
	memcpy(low + IOVM_CMDLINE_ADDR, cmdline, strlen(cmdline) + 1);
	ret = iovm_bootparams_fill(low + IOVM_ZERO_PAGE_ADDR, img, &bz, IOVM_CMDLINE_ADDR, iaddr,
				   isize, e820, n);
	if (ret < 0)
		return ret;
	ret = iovm_boot_mptable(vm, cfg->ncpus, cfg->intx, cfg->nintx);
	if (ret < 0)
		return ret;
	{
		uint64_t rsdp = IOVM_ACPI_ADDR;	/* boot_params.acpi_rsdp_addr: no scan needed */

		memcpy(low + IOVM_ZERO_PAGE_ADDR + IOVM_ACPI_ZP_RSDP, &rsdp, sizeof(rsdp));
	}
	iovm_boot_pagetables(low);
	{
		uint64_t gdt[IOVM_GDT_ENTRIES];

		iovm_boot_gdt(gdt, !cfg->entry32);
		memcpy(low + IOVM_GDT_ADDR, gdt, sizeof(gdt));
	}
	/* 64-bit entry is startup_64, 0x200 bytes into the protected-mode kernel. */
	ret = setup_bsp(&vm->vcpu[0], cfg->entry32,
			cfg->entry32 ? IOVM_KERNEL_ADDR : IOVM_KERNEL_ADDR + 0x200);
	if (ret < 0)
		return log_err_errno(ret, "boot vCPU registers");
	log_info("kernel %s: protocol %u.%02u, %u bytes at %#llx; initrd %llu bytes at %#llx",
		 cfg->kernel, bz.version >> 8, bz.version & 0xff, bz.pm_size,
		 IOVM_KERNEL_ADDR, (unsigned long long)isize, (unsigned long long)iaddr);
	return 0;
}
