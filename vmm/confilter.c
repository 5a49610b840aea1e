#include "vmm/confilter.h"

#include <stdbool.h>

static bool c0_ok(uint8_t b)
{
	return b == '\n' || b == '\r' || b == '\t' || b == '\b';
}

size_t iovm_confilter(struct iovm_confilter *st, const uint8_t *in, size_t n, uint8_t *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		uint8_t b = in[i];

		if (st->held) {
			/* 0xc2 0x80..0x9f encodes a C1 control (0x9b is CSI). */
			st->held = 0;
			if (b >= 0xa0 && b <= 0xbf) {
				out[o++] = 0xc2;
				out[o++] = b;
				continue;
			}
			out[o++] = '?';
			if (b >= 0x80 && b <= 0x9f)
				continue;
		}
		if (st->expect) {
			if (b >= 0x80 && b <= 0xbf) {
				out[o++] = b;
				st->expect--;
				continue;
			}
			st->expect = 0;	/* truncated sequence: start again with this byte */
		}
		if (b >= 0x20 && b < 0x7f) {
			out[o++] = b;
		} else if (b < 0x20 || b == 0x7f) {
			if (c0_ok(b)) {
				out[o++] = b;
			} else {
				out[o++] = '^';
				out[o++] = b ^ 0x40;
			}
		} else if (b == 0xc2) {
			st->held = b;
		} else if (b >= 0xc3 && b <= 0xdf) {
			out[o++] = b;
			st->expect = 1;
		} else if (b >= 0xe0 && b <= 0xef) {
			out[o++] = b;
			st->expect = 2;
		} else if (b >= 0xf0 && b <= 0xf4) {
			out[o++] = b;
			st->expect = 3;
		} else {
			out[o++] = '?';	/* stray continuation, raw C1, or never valid in UTF-8 */
		}
	}
	return o;
}
