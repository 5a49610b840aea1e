/* Server strings, escaped for the terminal (cli/srvstr.h). */
#include "cli/srvstr.h"

#include "lib/log.h"

const char *cli_sval(const json_t *v, const char *dflt)
{
	static char buf[CLI_STR_SLOTS][4096];
	static unsigned n;
	const char *s = json_string_value(v);

	if (!s)
		return dflt;
	n = (n + 1) % CLI_STR_SLOTS;
	return iov_esc(buf[n], sizeof(buf[n]), s);
}

const char *cli_str(const json_t *o, const char *key, const char *dflt)
{
	return cli_sval(json_object_get(o, key), dflt);
}

void cli_put_text(FILE *f, const char *s, size_t len, bool crlf)
{
	for (size_t i = 0; s && i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n' && crlf && (i == 0 || s[i - 1] != '\r'))
			fputc('\r', f);
		fputc(c == '\n' || c == '\t' || (c >= 0x20 && c < 0x7f) ? c : '?', f);
	}
}
