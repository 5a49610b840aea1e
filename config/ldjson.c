/* The config's JSON readers (config/ldjson.h). */
#include "config/ldjson.h"
#include "lib/suggest.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- messages ---- */

int ld_fail(struct ld *L, const char *path, int code, const char *fix, const char *fmt, ...)
{
	char what[640];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	L->key[0] = '\0';
	if (L->base && strncmp(path, L->base, strlen(L->base)) == 0) {
		const char *k = path + strlen(L->base);

		k += *k == '.';
		snprintf(L->key, sizeof(L->key), "%.*s", (int)strcspn(k, ".["), k);
	}
	return iov_err_set(L->err, code, fix, "%s: %s: %s", L->file ? L->file : "config", path, what);
}

/* A message from a parser in sriov/vfconf.c, which names the value and the rule. */
int ld_fail_parser(struct ld *L, const char *path, int code, const char *msg, const char *fix)
{
	return ld_fail(L, path, code, fix, "%s", msg);
}

void ld_where_set(struct iov_cfg_where *w, const char *file, const char *path)
{
	w->file = file;
	snprintf(w->path, sizeof(w->path), "%s", path);
}

static const char *ld_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number with a fraction";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "something else";
}

/* Child paths: $.a + key -> $.a.key; keys that are not identifiers are quoted. */
void ld_path_key(char *buf, size_t len, const char *parent, const char *key)
{
	bool ident = *key != '\0';

	for (const char *p = key; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
		      (*p >= '0' && *p <= '9' && p != key)))
			ident = false;
	if (ident) {
		snprintf(buf, len, "%s.%s", parent, key);
		return;
	}
	/* Quote, escaping what would make the path ambiguous or unprintable. */
	size_t n = (size_t)snprintf(buf, len, "%s[\"", parent);
	for (const unsigned char *p = (const unsigned char *)key; *p && n + 8 < len; p++) {
		if (*p == '"' || *p == '\\')
			n += (size_t)snprintf(buf + n, len - n, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			n += (size_t)snprintf(buf + n, len - n, "\\u%04x", *p);
		else
			buf[n++] = (char)*p;
	}
	snprintf(buf + (n < len ? n : len - 1), len - (n < len ? n : len - 1), "\"]");
}

void ld_path_idx(char *buf, size_t len, const char *parent, size_t i)
{
	snprintf(buf, len, "%s[%zu]", parent, i);
}

/* A value shown in a message: strings quoted and cut, others as JSON. */
static void ld_show_value(const json_t *v, char *buf, size_t len)
{
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		size_t n = 0;

		buf[n++] = '"';
		for (; *s && n + 6 < len; s++)
			buf[n++] = (unsigned char)*s < 0x20 ? '?' : *s;
		if (*s && n + 4 < len) {
			memcpy(buf + n, "...", 3);
			n += 3;
		}
		buf[n++] = '"';
		buf[n] = '\0';
		return;
	}
	char *d = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

	snprintf(buf, len, "%s", d ? d : "?");
	if (d && strlen(d) >= len && len > 4)
		memcpy(buf + len - 4, "...", 4);
	free(d);
}

/* ---- unknown keys ---- */

/* Every key of o must be in keys (NULL-terminated). */
int ld_check_keys(struct ld *L, const json_t *o, const char *path, const char *const *keys,
		      const char *where)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)o, k, v) {
		const char *near = NULL;
		size_t best = 3;
		char p[256], list[384], fix[512];
		size_t n = 0;
		bool known = false;

		for (size_t i = 0; keys[i]; i++) {
			size_t d;

			if (strcmp(k, keys[i]) == 0) {
				known = true;
				break;
			}
			d = iov_edit_distance(k, keys[i]);
			if (d < best) {
				best = d;
				near = keys[i];
			}
			if (n < sizeof(list))
				n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s",
						      i ? ", " : "", keys[i]);
		}
		if (known)
			continue;
		ld_path_key(p, sizeof(p), path, k);
		if (near)
			snprintf(fix, sizeof(fix), "did you mean \"%s\"? (a misspelt key would "
				 "otherwise silently mean the default)", near);
		else
			snprintf(fix, sizeof(fix), "remove it; the keys of %s are: %s", where, list);
		return ld_fail(L, p, -EINVAL, fix, "unknown key \"%s\"", k);
	}
	return 0;
}

/* ---- typed getters ---- */

int ld_want_type(struct ld *L, const json_t *v, const char *path, int type, const char *what,
		     const char *fix)
{
	char shown[96];

	if ((int)json_typeof(v) == type || (type == JSON_TRUE && json_is_boolean(v)))
		return 0;
	ld_show_value(v, shown, sizeof(shown));
	return ld_fail(L, path, -EINVAL, fix, "expected %s, got %s %s", what,
		       ld_type_name(v), shown);
}

int ld_get_bool(struct ld *L, const json_t *v, const char *path, bool *out)
{
	int r = ld_want_type(L, v, path, JSON_TRUE, "true or false",
			  "write true or false without quotes");

	if (r == 0)
		*out = json_is_true(v);
	return r;
}

int ld_get_int(struct ld *L, const json_t *v, const char *path, json_int_t lo, json_int_t hi,
		   const char *fix, json_int_t *out)
{
	char what[64];
	int r;

	snprintf(what, sizeof(what), "an integer %" JSON_INTEGER_FORMAT "..%" JSON_INTEGER_FORMAT,
		 lo, hi);
	if ((r = ld_want_type(L, v, path, JSON_INTEGER, what, fix)) < 0)
		return r;
	if (json_integer_value(v) < lo || json_integer_value(v) > hi)
		return ld_fail(L, path, -ERANGE, fix, "%" JSON_INTEGER_FORMAT " is out of range "
			       "%" JSON_INTEGER_FORMAT "..%" JSON_INTEGER_FORMAT,
			       json_integer_value(v), lo, hi);
	*out = json_integer_value(v);
	return 0;
}

int ld_get_str(struct ld *L, const json_t *v, const char *path, const char *fix,
		   const char **out)
{
	int r = ld_want_type(L, v, path, JSON_STRING, "a string", fix);

	if (r < 0)
		return r;
	if (!*json_string_value(v))
		return ld_fail(L, path, -EINVAL, fix, "empty string");
	*out = json_string_value(v);
	return 0;
}

char *ld_xstrdup(struct ld *L, const char *s)
{
	char *d = strdup(s);

	if (!d)
		iov_err_set(L->err, -ENOMEM, NULL, "out of memory reading the config");
	return d;
}

bool ld_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 32)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			return false;
	return true;
}

int ld_get_name(struct ld *L, const json_t *o, const char *path, const char *what, char **out)
{
	json_t *v = json_object_get(o, "name");
	char p[256], fix[256];
	const char *s;
	int r;

	snprintf(fix, sizeof(fix), "give each %s a \"name\": 1 to 32 of a-z, 0-9, _ and -", what);
	if (!v)
		return ld_fail(L, path, -EINVAL, fix, "this %s has no \"name\"", what);
	ld_path_key(p, sizeof(p), path, "name");
	if ((r = ld_get_str(L, v, p, fix, &s)) < 0)
		return r;
	if (!ld_name_ok(s))
		return ld_fail(L, p, -EINVAL, fix, "\"%.40s\" is not a valid %s name", s, what);
	return (*out = ld_xstrdup(L, s)) ? 0 : -ENOMEM;
}

