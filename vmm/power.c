#include "vmm/power.h"
#include "vmm/acpi.h"
#include "vmm/bus.h"
#include "lib/log.h"

#include <errno.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>

#define SLP_EN		0x20	/* sleep control register: SLP_EN, SLP_TYP in bits 2-4 */
#define SLP_TYP(v)	(((v) >> 2) & 7)

static struct iovm_vm *pvm;

static uint64_t sleep_read(void *opaque, uint64_t off, unsigned len)
{
	return 0;	/* status: no wake event */
}

static void sleep_write(void *opaque, uint64_t off, uint64_t val, unsigned len)
{
	if (off != 0 || !(val & SLP_EN))
		return;
	if (SLP_TYP(val) == IOVM_ACPI_SLP_TYP_S5)
		iovm_vm_request_stop(pvm, IOVM_EXIT_POWEROFF, "guest power-off (ACPI S5)");
	else
		log_warn("guest asked for sleep state type %u; only S5 (power-off) is offered",
			 (unsigned)SLP_TYP(val));
}

static const struct iovm_bus_ops sleep_ops = { .read = sleep_read, .write = sleep_write };

int iovm_power_init(struct iovm_vm *vm)
{
	pvm = vm;
	return iovm_bus_add(IOVM_PIO, IOVM_ACPI_SLEEP_PORT, 2, "acpi-sleep", &sleep_ops, NULL);
}

void iovm_power_button(struct iovm_vm *vm)
{
	iovm_vm_irq_pulse(vm, IOVM_ACPI_GED_GSI);
}

int iovm_power_button_heard(struct iovm_vm *vm)
{
	struct kvm_irqchip chip = { .chip_id = KVM_IRQCHIP_IOAPIC };

	if (ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &chip) < 0)
		return -errno;
	return !chip.chip.ioapic.redirtbl[IOVM_ACPI_GED_GSI].fields.mask;
}
