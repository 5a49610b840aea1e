/* The config's JSON readers, shared by the loader (config/load.c) and the guest-spec codec
 * (config/guestspec.c): typed getters that fail with the file, the JSON path, what is wrong
 * and the fix, and the path builders. Internal to config/. */
#ifndef IOV_CONFIG_LDJSON_H
#define IOV_CONFIG_LDJSON_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "config/config.h"
#include "lib/err.h"

struct ld {
	struct iov_config *c;		/* the loader's config (NULL in the codec alone) */
	struct iov_err *err;
	const char *file;		/* prefix of messages: the file being read (NULL: "config") */
	/* which file set each policy field, for "set twice" (the loader's) */
	const char *pol_file[7];		/* one per policy key (config/load.c pol_keys) */
	char pol_path[7][32];
	/* The first path component below base of the last failure (a VmStart parameter). */
	const char *base;
	char key[64];
};

int ld_fail(struct ld *L, const char *path, int code, const char *fix, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* A message from a parser in sriov/vfconf.c, which names the value and the rule. */
int ld_fail_parser(struct ld *L, const char *path, int code, const char *msg, const char *fix);
void ld_where_set(struct iov_cfg_where *w, const char *file, const char *path);
/* Child paths: $.a + key -> $.a.key (quoted when not an identifier); $.a + i -> $.a[i]. */
void ld_path_key(char *buf, size_t len, const char *parent, const char *key);
void ld_path_idx(char *buf, size_t len, const char *parent, size_t i);
/* Every key of o must be in keys (NULL-terminated); a near miss is named in the fix. */
int ld_check_keys(struct ld *L, const json_t *o, const char *path, const char *const *keys,
		  const char *where);
int ld_want_type(struct ld *L, const json_t *v, const char *path, int type, const char *what,
		 const char *fix);
int ld_get_bool(struct ld *L, const json_t *v, const char *path, bool *out);
int ld_get_int(struct ld *L, const json_t *v, const char *path, json_int_t lo, json_int_t hi,
	       const char *fix, json_int_t *out);
/* A non-empty string. */
int ld_get_str(struct ld *L, const json_t *v, const char *path, const char *fix, const char **out);
char *ld_xstrdup(struct ld *L, const char *s);
/* 1 to 32 of a-z 0-9 _ - (PF, pool and guest names). */
bool ld_name_ok(const char *s);
/* o's "name", checked with ld_name_ok; what: "guest", "pool", ... */
int ld_get_name(struct ld *L, const json_t *o, const char *path, const char *what, char **out);

#endif
