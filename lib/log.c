#include "lib/log.h"

#include <stdio.h>
#include <string.h>

static enum iov_log_level level = IOV_LOG_WARN;
static const char *prog = "iov";

void iov_log_set_level(enum iov_log_level lvl) { level = lvl; }
enum iov_log_level iov_log_get_level(void) { return level; }
void iov_log_set_prog(const char *p) { prog = p; }

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if it is not one. Overlong forms,
 * surrogates and code points above U+10FFFF are not valid. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned c = s[0], cp;
	size_t n;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

char *iov_esc(char *dst, size_t dstlen, const char *src)
{
	const unsigned char *s = (const unsigned char *)(src ? src : "");
	size_t o = 0;

	if (!dstlen)
		return dst;
	while (*s) {
		size_t n = utf8_len(s), k;

		if (n == 0 || *s < 0x20 || *s == 0x7f || (n == 2 && s[0] == 0xc2 && s[1] < 0xa0)) {
			/* A control or a byte out of place: one escape per byte. */
			if (n == 0)
				n = 1;
			if (o + 4 * n >= dstlen)
				break;
			for (size_t i = 0; i < n; i++)
				o += (size_t)snprintf(dst + o, dstlen - o, "\\x%02x", s[i]);
			s += n;
			continue;
		}
		k = *s == '\\' ? 2 : n;
		if (o + k >= dstlen)
			break;
		memcpy(dst + o, *s == '\\' ? "\\\\" : (const char *)s, k);
		o += k;
		s += n;
	}
	dst[o] = '\0';
	return dst;
}

void iov_logv(enum iov_log_level lvl, const char *fmt, va_list ap)
{
	static const char *const tag[] = { "error", "warning", "info", "debug" };
	char raw[2048], out[4096];

	if (lvl > level)
		return;
	/* One line per message, whatever its arguments hold (a client's field name, a
	 * process name): a newline cannot forge a log line, an escape cannot reach a
	 * terminal. */
	vsnprintf(raw, sizeof(raw), fmt, ap);
	fprintf(stderr, "%s: %s: %s\n", prog, tag[lvl], iov_esc(out, sizeof(out), raw));
}

void iov_log(enum iov_log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	iov_logv(lvl, fmt, ap);
	va_end(ap);
}

int iov_log_errno(enum iov_log_level lvl, int err, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	iov_log(lvl, "%s: %s", buf, strerror(err < 0 ? -err : err));
	return err;
}
