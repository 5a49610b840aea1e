#include "vmm/uart.h"
#include "vmm/bus.h"
#include "vmm/console.h"

#include <errno.h>
#include <unistd.h>

#define UART_BASE	0x3f8
#define UART_IRQ	4
#define RX_SIZE		1024

/* Register offsets and bits (as in the kernel's serial_reg.h). */
#define RBR_THR 0
#define IER 1
#define IIR_FCR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7
#define IER_RDI		0x01
#define IER_THRI	0x02
#define IIR_NO_INT	0x01
#define IIR_THRI	0x02
#define IIR_RDI		0x04
#define IIR_FIFO	0xc0
#define LCR_DLAB	0x80
#define LSR_DR		0x01
#define LSR_THRE	0x20
#define LSR_TEMT	0x40
#define MCR_LOOP	0x10
#define MSR_CTS		0x10
#define MSR_DSR		0x20
#define MSR_DCD		0x80

static struct {
	struct iovm_vm *vm;
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	bool thri_pending;
	uint8_t rx[RX_SIZE];
	unsigned rx_head, rx_count;
} u;

/* The PIC input is edge-triggered: each new interrupt condition is sent as a pulse. */
static void uart_kick(void)
{
	iovm_vm_irq_pulse(u.vm, UART_IRQ);
}

static uint8_t uart_iir(void)
{
	uint8_t fifo = (u.fcr & 1) ? IIR_FIFO : 0;

	if ((u.ier & IER_RDI) && u.rx_count)
		return fifo | IIR_RDI;
	if ((u.ier & IER_THRI) && u.thri_pending)
		return fifo | IIR_THRI;
	return fifo | IIR_NO_INT;
}

static void uart_tx(uint8_t c)
{
	if (u.mcr & MCR_LOOP) {
		if (u.rx_count < RX_SIZE) {
			u.rx[(u.rx_head + u.rx_count) % RX_SIZE] = c;
			u.rx_count++;
		}
		return;
	}
	iovm_console_put(&c, 1);	/* never blocks: see vmm/console.h */
}

static uint64_t uart_read(void *opaque, uint64_t off, unsigned len)
{
	uint8_t v = 0;

	switch (off) {
	case RBR_THR:
		if (u.lcr & LCR_DLAB)
			return u.dll;
		if (u.rx_count) {
			v = u.rx[u.rx_head];
			u.rx_head = (u.rx_head + 1) % RX_SIZE;
			u.rx_count--;
			if (u.rx_count && (u.ier & IER_RDI))
				uart_kick();
		}
		return v;
	case IER:
		return (u.lcr & LCR_DLAB) ? u.dlm : u.ier;
	case IIR_FCR:
		v = uart_iir();
		if ((v & 0x0f) == IIR_THRI)
			u.thri_pending = false;	/* reading IIR acknowledges THRE */
		return v;
	case LCR:
		return u.lcr;
	case MCR:
		return u.mcr;
	case LSR:
		return LSR_THRE | LSR_TEMT | (u.rx_count ? LSR_DR : 0);
	case MSR:
		if (u.mcr & MCR_LOOP)	/* loopback: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD */
			return (uint8_t)((u.mcr & 1) << 5 | (u.mcr & 2) << 3 | (u.mcr & 4) << 4 |
					 (u.mcr & 8) << 4);
		return MSR_DCD | MSR_DSR | MSR_CTS;
	case SCR:
		return u.scr;
	}
	return 0xff;
}

static void uart_write(void *opaque, uint64_t off, uint64_t val, unsigned len)
{
	uint8_t v = (uint8_t)val, old;

	switch (off) {
	case RBR_THR:
		if (u.lcr & LCR_DLAB) {
			u.dll = v;
			return;
		}
		uart_tx(v);
		/* Transmission is instantaneous: THR is empty again at once. */
		if (u.ier & IER_THRI) {
			u.thri_pending = true;
			uart_kick();
		}
		if ((u.mcr & MCR_LOOP) && (u.ier & IER_RDI))
			uart_kick();
		return;
	case IER:
		if (u.lcr & LCR_DLAB) {
			u.dlm = v;
			return;
		}
		old = u.ier;
		u.ier = v & 0x0f;
		if ((u.ier & IER_THRI) && !(old & IER_THRI))
			u.thri_pending = true;
		if ((uart_iir() & 0x0f) != IIR_NO_INT)
			uart_kick();
		return;
	case IIR_FCR:
		u.fcr = v & 0xc9;
		if (v & 0x02) {		/* clear receive FIFO */
			u.rx_count = 0;
			u.rx_head = 0;
		}
		return;
	case LCR:
		u.lcr = v;
		return;
	case MCR:
		u.mcr = v & 0x1f;
		return;
	case SCR:
		u.scr = v;
		return;
	}
}

static const struct iovm_bus_ops uart_ops = { .read = uart_read, .write = uart_write };

void iovm_uart_input(const char *buf, size_t len)
{
	bool was_empty;

	iovm_bus_lock();
	was_empty = u.rx_count == 0;
	for (size_t i = 0; i < len && u.rx_count < RX_SIZE; i++) {
		u.rx[(u.rx_head + u.rx_count) % RX_SIZE] = (uint8_t)buf[i];
		u.rx_count++;
	}
	if (u.vm && u.rx_count && (was_empty || len) && (u.ier & IER_RDI))
		uart_kick();
	iovm_bus_unlock();
}

void iovm_uart_reset(void)
{
	iovm_bus_lock();
	u.ier = u.lcr = u.scr = u.fcr = u.dll = u.dlm = 0;
	u.thri_pending = false;
	u.rx_head = u.rx_count = 0;
	u.mcr = 0x08;		/* OUT2: what the BIOS leaves so that interrupts reach the PIC */
	iovm_bus_unlock();
}

int iovm_uart_init(struct iovm_vm *vm)
{
	u.vm = vm;
	iovm_uart_reset();
	return iovm_bus_add(IOVM_PIO, UART_BASE, 8, "uart0", &uart_ops, NULL);
}
