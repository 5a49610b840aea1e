/* Console filter (vmm/confilter.c): guest bytes on their way to a terminal. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "vmm/confilter.h"

/* Filters s (len bytes, in chunks of `chunk`) and compares with want. */
static void check(const char *s, size_t len, size_t chunk, const char *want)
{
	struct iovm_confilter st = { 0 };
	uint8_t out[IOVM_CONFILTER_OUT(256)];
	size_t o = 0;

	assert_true(len <= 256);
	for (size_t i = 0; i < len; i += chunk) {
		size_t n = len - i < chunk ? len - i : chunk;

		o += iovm_confilter(&st, (const uint8_t *)s + i, n, out + o);
	}
	assert_int_equal(o, strlen(want));
	assert_memory_equal(out, want, o);
}

#define CHECK(s, want) do { \
	check(s, sizeof(s) - 1, sizeof(s), want); \
	check(s, sizeof(s) - 1, 1, want); \
} while (0)

static void plain_text(void **state)
{
	CHECK("Linux version 6.12\r\n\tok\b", "Linux version 6.12\r\n\tok\b");
	CHECK("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xc2\xa0", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xc2\xa0");
}

static void escapes(void **state)
{
	CHECK("\x1b[2J\x1b]0;pwned\x07", "^[[2J^[]0;pwned^G");
	CHECK("a\x7f" "b\x05", "a^?b^E");	/* DEL; ENQ (answerback) */
	CHECK("\x9b" "31m", "?31m");		/* raw 8-bit CSI */
	CHECK("\xc2\x9b" "31m", "?31m");	/* CSI as UTF-8 */
	CHECK("\xc2\x90q\xc2\x9c", "?q?");	/* DCS ... ST */
}

static void broken_utf8(void **state)
{
	CHECK("\xc3(", "\xc3(");		/* truncated: the next byte stands alone */
	CHECK("\xc3\x1b", "\xc3^[");		/* an escape cannot hide in a sequence */
	CHECK("\x80\xbf\xc0\xc1\xf5\xff", "??????");
	CHECK("\xc2", "");			/* held at the end of input */
	CHECK("\xc2x", "?x");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plain_text),
		cmocka_unit_test(escapes),
		cmocka_unit_test(broken_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
