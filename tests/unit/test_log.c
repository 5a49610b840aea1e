/* lib/log.c: iov_esc, the one escaping function for client- and host-derived strings, and
 * log lines that a newline or an escape sequence in an argument cannot forge (issue 10). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/varlink.h"

static void test_esc_cases(void **state)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "plain", "plain" },
		{ "", "" },
		{ "a\nb", "a\\x0ab" },
		{ "\x1b[31mred", "\\x1b[31mred" },
		{ "del\x7f", "del\\x7f" },
		{ "back\\slash", "back\\\\slash" },
		{ "caf\xc3\xa9", "caf\xc3\xa9" },			/* é stays */
		{ "\xe2\x82\xac", "\xe2\x82\xac" },			/* € stays */
		{ "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80" },		/* emoji stays */
		{ "csi\xc2\x9b" "2J", "csi\\xc2\\x9b2J" },		/* C1 CSI as UTF-8 */
		{ "raw\x9b" "2J", "raw\\x9b2J" },			/* 8-bit CSI */
		{ "over\xc0\xaf", "over\\xc0\\xaf" },			/* overlong '/' */
		{ "cut\xe2\x82", "cut\\xe2\\x82" },			/* truncated sequence */
		{ "sur\xed\xa0\x80", "sur\\xed\\xa0\\x80" },		/* surrogate */
	};
	char buf[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		iov_esc(buf, sizeof(buf), cases[i].in);
		if (strcmp(buf, cases[i].out) != 0)
			fail_msg("case %zu: got '%s', want '%s'", i, buf, cases[i].out);
	}
}

/* A cut never splits a character or an escape. */
static void test_esc_cut(void **state)
{
	char buf[8];

	iov_esc(buf, 6, "abcd\xc3\xa9");	/* room for 5 bytes: "abcd" + half of é */
	assert_string_equal(buf, "abcd");
	iov_esc(buf, 6, "abc\x01");		/* "\x01" needs 4 */
	assert_string_equal(buf, "abc");
	iov_esc(buf, 1, "x");
	assert_string_equal(buf, "");
	iov_esc(buf, sizeof(buf), NULL);
	assert_string_equal(buf, "");
}

/* The varlink decoder's errors quote the client's field names and jansson's text escaped. */
static void test_parse_errors_escaped(void **state)
{
	static const char *const reqs[] = {
		"{\"method\":\"a.B\",\"x\\n\\u001b[2Jfake line\":1}",
		"{\"method\":\"a.B\",\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9x\":1}",
		"{\"method\x1b[2J\n\":",
	};

	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		json_t *m, *p;
		const char *meth;
		bool ow;
		char err[256];

		assert_int_equal(vl_parse_call(reqs[i], strlen(reqs[i]), &m, &meth, &p, &ow, err,
					       sizeof(err)), -EINVAL);
		for (const unsigned char *c = (const unsigned char *)err; *c; c++)
			if (*c < 0x20 || *c == 0x7f)
				fail_msg("request %zu: control byte 0x%02x in '%s'", i, *c, err);
		/* Cut at 64 bytes without splitting é (2 bytes each): 32 of them. */
		if (i == 1 && !strstr(err, "'\xc3\xa9\xc3\xa9") )
			fail_msg("request 1: %s", err);
		if (i == 1) {
			const char *q = strchr(err, '\'') + 1, *e = strrchr(err, '\'');

			assert_int_equal(e - q, 64);
		}
	}
}

/* A log line stays one line. */
static void test_log_one_line(void **state)
{
	char path[] = "/tmp/test_log.XXXXXX", line[512];
	int fd = mkstemp(path), saved = dup(2), lines = 0;
	FILE *f;

	assert_true(fd >= 0 && saved >= 0);
	assert_true(dup2(fd, 2) == 2);
	iov_log_set_level(IOV_LOG_INFO);
	log_info("client pid %d: bad request: %s", 1, "x\niovd: error: forged\x1b[2J");
	fflush(stderr);
	assert_true(dup2(saved, 2) == 2);
	f = fdopen(fd, "r");
	rewind(f);
	while (fgets(line, sizeof(line), f)) {
		lines++;
		assert_null(strchr(line, '\x1b'));
	}
	fclose(f);
	unlink(path);
	assert_int_equal(lines, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_esc_cases),
		cmocka_unit_test(test_esc_cut),
		cmocka_unit_test(test_parse_errors_escaped),
		cmocka_unit_test(test_log_one_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
