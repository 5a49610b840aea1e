/* 8250/16550A UART at 0x3f8, IRQ 4: the guest console. Output goes to the console ring
 * (vmm/console.h); input is fed by the main thread with iovm_uart_input(). */
#ifndef IOVM_UART_H
#define IOVM_UART_H

#include <stddef.h>

#include "vmm/vm.h"

int iovm_uart_init(struct iovm_vm *vm);
/* Power-on register state (guest reboot). */
void iovm_uart_reset(void);
/* Queues console input (drops what does not fit in the receive buffer). */
void iovm_uart_input(const char *buf, size_t len);

#endif
