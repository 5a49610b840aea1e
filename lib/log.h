/* Logging to stderr. The *_errno variants return the (negative) error they log, so a
 * caller can `return log_errno(-ENOENT, "...")`. */
#ifndef IOV_LOG_H
#define IOV_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum iov_log_level { IOV_LOG_ERR, IOV_LOG_WARN, IOV_LOG_INFO, IOV_LOG_DEBUG };

void iov_log_set_level(enum iov_log_level lvl);
void iov_log_set_prog(const char *prog);
enum iov_log_level iov_log_get_level(void);

void iov_logv(enum iov_log_level lvl, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
void iov_log(enum iov_log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Logs "fmt: strerror(-err)" and returns err (expected < 0). */
int iov_log_errno(enum iov_log_level lvl, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Copies src into dst (always NUL-terminated, at most dstlen bytes) with everything a
 * terminal or a log reader would act on made visible: C0 controls (newline included), DEL,
 * C1 controls (U+0080..U+009F) and bytes that are not valid UTF-8 become \xNN, and a
 * backslash becomes \\. A cut never splits a UTF-8 character or an escape. Every string
 * that comes from a client or from the host (request fields, parse errors, process names,
 * device names) goes through this before it reaches a log or a terminal; iov_logv applies
 * it to every log line. Returns dst. */
char *iov_esc(char *dst, size_t dstlen, const char *src);

#define log_err(...)   iov_log(IOV_LOG_ERR, __VA_ARGS__)
#define log_warn(...)  iov_log(IOV_LOG_WARN, __VA_ARGS__)
#define log_info(...)  iov_log(IOV_LOG_INFO, __VA_ARGS__)
#define log_debug(...) iov_log(IOV_LOG_DEBUG, __VA_ARGS__)
#define log_err_errno(err, ...)  iov_log_errno(IOV_LOG_ERR, (err), __VA_ARGS__)
#define log_warn_errno(err, ...) iov_log_errno(IOV_LOG_WARN, (err), __VA_ARGS__)

#endif
