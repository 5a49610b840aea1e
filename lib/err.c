#include "lib/err.h"

#include <stdarg.h>
#include <stdio.h>

int iov_err_set(struct iov_err *e, int code, const char *fix, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return code;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	snprintf(e->fix, sizeof(e->fix), "%s", fix ? fix : "");
	return code;
}
