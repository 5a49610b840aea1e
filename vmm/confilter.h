/* Pure: makes guest console bytes safe for a terminal. C0 controls other than tab, newline,
 * carriage return and backspace, and DEL, become caret notation (ESC -> "^["), so a guest
 * cannot move the cursor, retitle the window, rewrite the screen or answer back through
 * terminal queries. C1 controls (U+0080..U+009F, as UTF-8 or as raw 8-bit bytes) and bytes
 * that are not UTF-8 become '?'. Valid UTF-8 text passes unchanged. */
#ifndef IOVM_CONFILTER_H
#define IOVM_CONFILTER_H

#include <stddef.h>
#include <stdint.h>

struct iovm_confilter {
	unsigned expect;	/* continuation bytes still expected */
	uint8_t held;		/* a 0xc2 lead byte waiting for the next chunk, or 0 */
};

/* Worst-case output size for n input bytes. */
#define IOVM_CONFILTER_OUT(n) (2 * (n) + 2)

/* Filters n bytes into out (IOVM_CONFILTER_OUT(n) bytes); returns the bytes written. The
 * state carries a sequence split across calls. */
size_t iovm_confilter(struct iovm_confilter *st, const uint8_t *in, size_t n, uint8_t *out);

#endif
