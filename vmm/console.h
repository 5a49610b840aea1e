/* The guest console's host side: a bounded ring between the UART (vCPU threads) and one
 * writer thread. A vCPU never makes a system call for console output and never waits for
 * the reader: when the ring is full (a slow, stalled or departed reader) new bytes are
 * dropped and counted. The writer filters terminal escapes when asked (vmm/confilter.h). */
#ifndef IOVM_CONSOLE_H
#define IOVM_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IOVM_CONSOLE_RING	(64u << 10)

/* out_fd -1: output discarded (not counted as dropped). */
int iovm_console_start(int out_fd, bool filter);
/* From any thread; never blocks on the reader. */
void iovm_console_put(const uint8_t *buf, size_t len);
/* Flushes what the reader takes within a short grace time, then stops the writer. */
void iovm_console_stop(void);
uint64_t iovm_console_dropped(void);
uint64_t iovm_console_written(void);

#endif
