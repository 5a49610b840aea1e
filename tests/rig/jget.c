/*
 * jget: a tiny, strict JSON reader for the test host's scenarios (busybox has no jq).
 * Built static so it runs in the guest without libraries.
 *
 *   jget [-j|-c|-t] FILE PATH [SUBPATH...]
 *
 * FILE is parsed as one JSON value (strict RFC 8259: anything malformed, or trailing text,
 * is an error, so jget also validates). PATH is a sequence of steps applied to the set of
 * current values, starting with the document:
 *   .           the value itself (only as the whole PATH)
 *   .name       member "name" of objects
 *   [N]         element N of arrays
 *   []          every element of arrays / every member value of objects
 *   [key=text]  elements of arrays that are objects whose member "key" is a scalar equal to
 *               text (strings compared unescaped; numbers, true, false, null by their text)
 * Output, one line per resulting value: strings unescaped, other values as compact JSON
 * (their source text with whitespace outside strings removed). -j prints strings as JSON too.
 * -c prints only the number of values; -t prints each value's type.
 * With SUBPATHs, prints one line per value of PATH instead: the values of each SUBPATH applied
 * to it, separated by spaces (several values of one SUBPATH joined by ',', none as <none>),
 * e.g. jget FILE '.devices[]' .address .driver '.netdevs[]'.
 * Exit: 0 if at least one value (or -c), 1 if none, 2 on bad usage or malformed JSON.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };
static const char *const type_names[] = { "null", "bool", "number", "string", "array", "object" };

struct jval {
	enum jtype type;
	const char *start, *end; /* source text */
	char *str;               /* unescaped, for J_STR */
	char *key;               /* member name when inside an object */
	struct jval **kids;
	size_t nkids;
};

static const char *src, *pos, *src_end;

static void die_parse(const char *what)
{
	size_t line = 1;
	for (const char *p = src; p < pos && p < src_end; p++)
		line += *p == '\n';
	fprintf(stderr, "jget: malformed JSON at byte %zu (line %zu): %s\n",
		(size_t)(pos - src), line, what);
	exit(2);
}

static void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz);
	if (!p) {
		perror("jget");
		exit(2);
	}
	return p;
}

static void skip_ws(void)
{
	while (pos < src_end && (*pos == ' ' || *pos == '\t' || *pos == '\n' || *pos == '\r'))
		pos++;
}

static void put_utf8(char **o, unsigned cp)
{
	char *p = *o;
	if (cp < 0x80) {
		*p++ = (char)cp;
	} else if (cp < 0x800) {
		*p++ = (char)(0xc0 | (cp >> 6));
		*p++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*p++ = (char)(0xe0 | (cp >> 12));
		*p++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*p++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*p++ = (char)(0xf0 | (cp >> 18));
		*p++ = (char)(0x80 | ((cp >> 12) & 0x3f));
		*p++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*p++ = (char)(0x80 | (cp & 0x3f));
	}
	*o = p;
}

static unsigned hex4(void)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++, pos++) {
		if (pos >= src_end || !isxdigit((unsigned char)*pos))
			die_parse("bad \\u escape");
		v = v * 16 + (unsigned)(isdigit((unsigned char)*pos) ? *pos - '0' : (tolower((unsigned char)*pos) - 'a' + 10));
	}
	return v;
}

static char *parse_string(void)
{
	/* at the opening quote */
	pos++;
	char *out = xcalloc((size_t)(src_end - pos) + 1, 1), *o = out;
	for (;;) {
		if (pos >= src_end)
			die_parse("unterminated string");
		unsigned char c = (unsigned char)*pos;
		if (c == '"') {
			pos++;
			break;
		}
		if (c < 0x20)
			die_parse("control character in string");
		if (c != '\\') {
			*o++ = (char)c;
			pos++;
			continue;
		}
		pos++;
		if (pos >= src_end)
			die_parse("unterminated escape");
		switch (*pos++) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '/': *o++ = '/'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u': {
			unsigned cp = hex4();
			if (cp >= 0xd800 && cp < 0xdc00) {
				if (src_end - pos < 6 || pos[0] != '\\' || pos[1] != 'u')
					die_parse("lone surrogate");
				pos += 2;
				unsigned lo = hex4();
				if (lo < 0xdc00 || lo > 0xdfff)
					die_parse("bad surrogate pair");
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp < 0xe000) {
				die_parse("lone surrogate");
			}
			put_utf8(&o, cp);
			break;
		}
		default:
			pos--;
			die_parse("bad escape");
		}
	}
	*o = 0;
	return out;
}

static void parse_number(void)
{
	if (pos < src_end && *pos == '-')
		pos++;
	if (pos >= src_end || !isdigit((unsigned char)*pos))
		die_parse("bad number");
	if (*pos == '0')
		pos++;
	else
		while (pos < src_end && isdigit((unsigned char)*pos))
			pos++;
	if (pos < src_end && *pos == '.') {
		pos++;
		if (pos >= src_end || !isdigit((unsigned char)*pos))
			die_parse("bad fraction");
		while (pos < src_end && isdigit((unsigned char)*pos))
			pos++;
	}
	if (pos < src_end && (*pos == 'e' || *pos == 'E')) {
		pos++;
		if (pos < src_end && (*pos == '+' || *pos == '-'))
			pos++;
		if (pos >= src_end || !isdigit((unsigned char)*pos))
			die_parse("bad exponent");
		while (pos < src_end && isdigit((unsigned char)*pos))
			pos++;
	}
}

static void add_kid(struct jval *v, struct jval *k)
{
	if ((v->nkids & (v->nkids - 1)) == 0) { /* 0, 1, 2, 4, ...: grow */
		struct jval **n = realloc(v->kids, (v->nkids ? v->nkids * 2 : 1) * sizeof(*n));
		if (!n) {
			perror("jget");
			exit(2);
		}
		v->kids = n;
	}
	v->kids[v->nkids++] = k;
}

static struct jval *parse_value(int depth)
{
	if (depth > 200)
		die_parse("nested too deeply");
	skip_ws();
	if (pos >= src_end)
		die_parse("value expected");
	struct jval *v = xcalloc(1, sizeof(*v));
	v->start = pos;
	switch (*pos) {
	case '{':
		v->type = J_OBJ;
		pos++;
		skip_ws();
		if (pos < src_end && *pos == '}') {
			pos++;
			break;
		}
		for (;;) {
			skip_ws();
			if (pos >= src_end || *pos != '"')
				die_parse("member name expected");
			char *key = parse_string();
			skip_ws();
			if (pos >= src_end || *pos != ':')
				die_parse("':' expected");
			pos++;
			struct jval *k = parse_value(depth + 1);
			k->key = key;
			add_kid(v, k);
			skip_ws();
			if (pos < src_end && *pos == ',') {
				pos++;
				continue;
			}
			if (pos < src_end && *pos == '}') {
				pos++;
				break;
			}
			die_parse("',' or '}' expected");
		}
		break;
	case '[':
		v->type = J_ARR;
		pos++;
		skip_ws();
		if (pos < src_end && *pos == ']') {
			pos++;
			break;
		}
		for (;;) {
			add_kid(v, parse_value(depth + 1));
			skip_ws();
			if (pos < src_end && *pos == ',') {
				pos++;
				continue;
			}
			if (pos < src_end && *pos == ']') {
				pos++;
				break;
			}
			die_parse("',' or ']' expected");
		}
		break;
	case '"':
		v->type = J_STR;
		v->str = parse_string();
		break;
	case 't':
	case 'f':
	case 'n': {
		static const char *const words[] = { "true", "false", "null" };
		int found = 0;
		for (int i = 0; i < 3; i++) {
			size_t n = strlen(words[i]);
			if ((size_t)(src_end - pos) >= n && !memcmp(pos, words[i], n)) {
				v->type = i == 2 ? J_NULL : J_BOOL;
				pos += n;
				found = 1;
				break;
			}
		}
		if (!found)
			die_parse("unknown literal");
		break;
	}
	default:
		v->type = J_NUM;
		parse_number();
	}
	v->end = pos;
	return v;
}

/* Source text without whitespace outside strings. */
static void print_compact(const struct jval *v)
{
	int in_str = 0;
	for (const char *p = v->start; p < v->end; p++) {
		if (in_str) {
			putchar(*p);
			if (*p == '\\' && p + 1 < v->end)
				putchar(*++p);
			else if (*p == '"')
				in_str = 0;
		} else if (*p == '"') {
			in_str = 1;
			putchar(*p);
		} else if (!isspace((unsigned char)*p)) {
			putchar(*p);
		}
	}
}

static int scalar_equals(const struct jval *v, const char *text)
{
	if (v->type == J_STR)
		return strcmp(v->str, text) == 0;
	if (v->type == J_ARR || v->type == J_OBJ)
		return 0;
	return strlen(text) == (size_t)(v->end - v->start) && !memcmp(v->start, text, strlen(text));
}

struct set {
	struct jval **v;
	size_t n, cap;
};

static void set_add(struct set *s, struct jval *v)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		if (!s->v) {
			perror("jget");
			exit(2);
		}
	}
	s->v[s->n++] = v;
}

static void print_value(const struct jval *v, int mode)
{
	if (mode == 't')
		fputs(type_names[v->type], stdout);
	else if (v->type == J_STR && mode != 'j')
		fputs(v->str, stdout);
	else
		print_compact(v);
}

static void usage(void)
{
	fprintf(stderr, "usage: jget [-j|-c|-t] FILE PATH [SUBPATH...]   (PATH like .devices[role=vf].address)\n");
	exit(2);
}

static char *read_all(const char *file, size_t *len)
{
	FILE *f = strcmp(file, "-") ? fopen(file, "rb") : stdin;
	if (!f) {
		fprintf(stderr, "jget: cannot open %s: %s\n", file, strerror(errno));
		exit(2);
	}
	size_t cap = 65536, n = 0;
	char *buf = xcalloc(cap, 1);
	for (;;) {
		if (n == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			if (!buf) {
				perror("jget");
				exit(2);
			}
		}
		size_t r = fread(buf + n, 1, cap - n, f);
		if (r == 0)
			break;
		n += r;
	}
	if (ferror(f)) {
		fprintf(stderr, "jget: cannot read %s\n", file);
		exit(2);
	}
	*len = n;
	return buf;
}

/* Apply PATH to START; the resulting values go to *out (reset first). */
static void eval_path(struct jval *start, const char *path, struct set *out)
{
	struct set cur = { 0 }, next = { 0 };
	set_add(&cur, start);
	const char *p = path;
	if (strcmp(p, ".") == 0)
		p = "";
	while (*p) {
		next.n = 0;
		if (*p == '.') {
			const char *s = ++p;
			while (*p && *p != '.' && *p != '[')
				p++;
			size_t n = (size_t)(p - s);
			if (n == 0)
				usage();
			for (size_t i = 0; i < cur.n; i++) {
				if (cur.v[i]->type != J_OBJ)
					continue;
				for (size_t k = 0; k < cur.v[i]->nkids; k++) {
					const char *key = cur.v[i]->kids[k]->key;
					if (strlen(key) == n && !memcmp(key, s, n))
						set_add(&next, cur.v[i]->kids[k]);
				}
			}
		} else if (*p == '[') {
			const char *s = ++p;
			while (*p && *p != ']')
				p++;
			if (!*p)
				usage();
			size_t n = (size_t)(p - s);
			char *inner = xcalloc(n + 1, 1);
			memcpy(inner, s, n);
			p++;
			char *eq = strchr(inner, '=');
			for (size_t i = 0; i < cur.n; i++) {
				struct jval *v = cur.v[i];
				if (n == 0) {
					if (v->type == J_ARR || v->type == J_OBJ)
						for (size_t k = 0; k < v->nkids; k++)
							set_add(&next, v->kids[k]);
				} else if (eq) {
					*eq = 0;
					if (v->type == J_ARR)
						for (size_t k = 0; k < v->nkids; k++) {
							struct jval *e = v->kids[k];
							if (e->type != J_OBJ)
								continue;
							for (size_t m = 0; m < e->nkids; m++)
								if (!strcmp(e->kids[m]->key, inner) &&
								    scalar_equals(e->kids[m], eq + 1)) {
									set_add(&next, e);
									break;
								}
						}
					*eq = '=';
				} else {
					char *endp;
					errno = 0;
					unsigned long idx = strtoul(inner, &endp, 10);
					if (*endp || errno || !isdigit((unsigned char)inner[0]))
						usage();
					if (v->type == J_ARR && idx < v->nkids)
						set_add(&next, v->kids[idx]);
				}
			}
			free(inner);
		} else {
			usage();
		}
		struct set t = cur;
		cur = next;
		next = t;
	}

	free(next.v);
	*out = cur;
}

int main(int argc, char **argv)
{
	int mode = 0; /* 0 values, 'j' json, 'c' count, 't' type */
	int ai = 1;
	while (ai < argc && argv[ai][0] == '-' && argv[ai][1] && argv[ai][2] == 0 &&
	       strchr("jct", argv[ai][1])) {
		mode = argv[ai][1];
		ai++;
	}
	if (argc - ai < 2)
		usage();
	const char *path = argv[ai + 1];
	char **subpaths = argv + ai + 2;
	int nsub = argc - ai - 2;
	if (nsub && mode == 'c')
		usage();

	size_t len;
	src = read_all(argv[ai], &len);
	pos = src;
	src_end = src + len;
	struct jval *root = parse_value(0);
	skip_ws();
	if (pos != src_end)
		die_parse("trailing text after the value");

	struct set cur;
	eval_path(root, path, &cur);

	if (mode == 'c') {
		printf("%zu\n", cur.n);
		return 0;
	}
	for (size_t i = 0; i < cur.n; i++) {
		if (!nsub) {
			print_value(cur.v[i], mode);
			putchar('\n');
			continue;
		}
		/* One line per match: each SUBPATH's values, comma-joined, or <none>. */
		for (int k = 0; k < nsub; k++) {
			struct set sub;
			eval_path(cur.v[i], subpaths[k], &sub);
			if (k)
				putchar(' ');
			if (!sub.n)
				fputs("<none>", stdout);
			for (size_t m = 0; m < sub.n; m++) {
				if (m)
					putchar(',');
				print_value(sub.v[m], mode);
			}
			free(sub.v);
		}
		putchar('\n');
	}
	return cur.n ? 0 : 1;
}
