#include "lib/log.h"

#include <stdio.h>
#include <string.h>

static enum iov_log_level level = IOV_LOG_WARN;
static const char *prog = "iov";

void iov_log_set_level(enum iov_log_level lvl) { level = lvl; }
enum iov_log_level iov_log_get_level(void) { return level; }
void iov_log_set_prog(const char *p) { prog = p; }

void iov_logv(enum iov_log_level lvl, const char *fmt, va_list ap)
{
	static const char *const tag[] = { "error", "warning", "info", "debug" };

	if (lvl > level)
		return;
	fprintf(stderr, "%s: %s: ", prog, tag[lvl]);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
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
