/* Every string iovd sends that iovctl prints goes through here (tests/cli_escape.sh fails on
 * a print that bypasses it): a guest's output, a client-chosen name or a forged state file
 * cannot drive the terminal (no escape sequence, title, clear screen or line forging). */
#ifndef IOV_CLI_SRVSTR_H
#define IOV_CLI_SRVSTR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

/* A one-line string of a reply (o's key, or the string v), escaped (lib/log.h iov_esc:
 * controls and bytes that are not UTF-8 as \xNN, backslash doubled); dflt when it is not a
 * string. Valid until CLI_STR_SLOTS more calls. */
#define CLI_STR_SLOTS 8
const char *cli_str(const json_t *o, const char *key, const char *dflt);
const char *cli_sval(const json_t *v, const char *dflt);
/* Text of many lines (a guest's log): newlines and tabs kept (crlf: a carriage return
 * before each bare newline, for a raw terminal), every other control byte and every byte
 * above 0x7f shown as '?'. */
void cli_put_text(FILE *f, const char *s, size_t len, bool crlf);

#endif
