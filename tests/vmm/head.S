/* A minimal "bzImage" for testing iovm's loader on /dev/kvm: a real setup header (boot
 * protocol 2.15, 64-bit entry), a 32-bit entry at the start of the protected-mode code and
 * the 64-bit entry 0x200 bytes in, as in a Linux kernel. Built flat by payload.ld. */

	.section .header, "a"
	.org 0x1f1
	.byte 1				/* setup_sects: boot sector + 1 setup sector */
	.org 0x1fe
	.word 0xaa55			/* boot_flag */
	.byte 0xeb, 0x66		/* jump over the header: header ends at 0x268 */
	.ascii "HdrS"
	.word 0x020f			/* protocol 2.15 */
	.org 0x211
	.byte 0x01			/* loadflags: LOADED_HIGH */
	.org 0x214
	.long 0x100000			/* code32_start */
	.org 0x22c
	.long 0x7fffffff		/* initrd_addr_max */
	.long 0x200000			/* kernel_alignment */
	.byte 0				/* relocatable_kernel */
	.byte 0				/* min_alignment */
	.word 0x0001			/* xloadflags: XLF_KERNEL_64 */
	.long 2047			/* cmdline_size */
	.org 0x260
	.long 0x100000			/* init_size */
	.org 0x400

	.section .entry, "ax"
	.code32
	.globl entry32
entry32:
	/* Flat protected mode, paging off, %esi = boot_params. Check the segments and the
	 * zero page, say so on the UART, power off through the iovm exit port. */
	cli
	movl $0x7000, %eax
	cmpl %eax, %esi
	jne 9f
	cmpw $0xaa55, 0x1fe(%esi)
	jne 9f
	cmpl $0x53726448, 0x202(%esi)	/* "HdrS" copied into the zero page */
	jne 9f
	movl %cr0, %eax
	testl $0x80000000, %eax		/* paging must be off */
	jnz 9f
	leal msg32 - entry32 + 0x100000, %esi
	jmp 1f
9:	leal bad32 - entry32 + 0x100000, %esi
1:	movw $0x3f8, %dx
2:	lodsb
	testb %al, %al
	jz 3f
	outb %al, %dx
	jmp 2b
3:	movw $0x501, %dx
	xorl %eax, %eax
	outb %al, %dx
4:	hlt
	jmp 4b
msg32:	.asciz "iovm-payload: protected mode ok\n"
bad32:	.asciz "iovm-payload: protected mode FAIL\n"

	.org 0x200
	.code64
	.globl entry64
entry64:
	cli
	movq $0x80000, %rsp		/* a private stack in low RAM */
	movq %rsi, %rdi			/* boot_params */
	call payload_main
5:	hlt
	jmp 5b

/* Real-mode trampoline for the application processor, copied to 0x10000 and started with
 * INIT-SIPI-SIPI (vector 0x10): CS=0x1000, IP=0. */
	.code16
	.globl ap_tramp, ap_tramp_end
ap_tramp:
	cli
	movw $0x1000, %ax
	movw %ax, %ds
	/* 'R' first, then the flag: the BSP prints its result line once it sees the flag, and
	 * the AP's byte must not land inside it (seen on the test host's nested KVM). */
	movw $0x3f8, %dx
	movb $'R', %al
	outb %al, %dx
	movl $0x600dcafe, (ap_flag - ap_tramp)
6:	hlt
	jmp 6b
	.balign 4
ap_flag:
	.long 0
ap_tramp_end:

/* IRQ 4 (UART) handler for the interrupt test: count, acknowledge, EOI the PIC. */
	.code64
	.globl uart_isr
uart_isr:
	pushq %rax
	pushq %rdx
	incl uart_irqs(%rip)
	movw $0x3fa, %dx		/* IIR: acknowledges THRE */
	inb %dx, %al
	movb %al, uart_last_iir(%rip)
	movb $0x20, %al			/* non-specific EOI to the master PIC */
	outb %al, $0x20
	popq %rdx
	popq %rax
	iretq
	.data
	.globl uart_irqs, uart_last_iir
	.balign 4
uart_irqs:	.long 0
uart_last_iir:	.byte 0
