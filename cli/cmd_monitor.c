/* iovctl monitor [--recent] [--count N]: iovd's events as they happen (io.iovd.Monitor, a
 * varlink "more" call). One line per event: time, type, then the event's fields as
 * key=value; with --json one JSON object per line (JSON Lines), as iovd sent it with
 * "schema": "iovd.event/1" put first. When iovd had to drop events because this reader was
 * too slow, a line says how many ({"schema": "iovd.event/1", "missed": N} in JSON). Runs
 * until interrupted, iovd goes away, or N events came. */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/srvstr.h"
#include "lib/varlink.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void print_value(json_t *v)
{
	if (json_is_string(v)) {
		const char *s = cli_sval(v, NULL);

		/* Quote what would not read back as one word. */
		if (!*s || strpbrk(s, " \t\"=")) {
			char *q = json_dumps(v, JSON_ENCODE_ANY | JSON_ENSURE_ASCII);

			fputs(q ? q : "\"\"", stdout);
			free(q);
		} else {
			for (; *s; s++)
				putchar((unsigned char)*s < 0x20 ? '?' : *s);
		}
	} else {
		char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_ENSURE_ASCII);

		fputs(t ? t : "?", stdout);
		free(t);
	}
}

static void print_event(json_t *ev)
{
	const char *time = cli_str(ev, "time", NULL);
	const char *type = cli_str(ev, "type", NULL);
	const char *t = time ? strchr(time, 'T') : NULL;
	const char *k;
	json_t *v;
	void *it;

	/* The time of day is enough on a live stream; --json has the full timestamp. */
	printf("%-12.12s %-16s", t ? t + 1 : (time ? time : "-"), type ? type : "?");
	/* Sorted keys, so lines of one type line up. */
	const char **keys = calloc(json_object_size(ev) + 1, sizeof(*keys));
	size_t n = 0;

	for (it = json_object_iter(ev); keys && it; it = json_object_iter_next(ev, it)) {
		k = json_object_iter_key(it);
		if (strcmp(k, "time") && strcmp(k, "type") && strcmp(k, "seq"))
			keys[n++] = k;
	}
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
			const char *x = keys[j];

			keys[j] = keys[j - 1];
			keys[j - 1] = x;
		}
	for (size_t i = 0; i < n; i++) {
		v = json_object_get(ev, keys[i]);
		printf(" %s=", keys[i]);
		print_value(v);
	}
	free(keys);
	putchar('\n');
}

int cmd_monitor(int argc, char **argv, struct cli_ctx *ctx)
{
	static const struct option opts[] = {
		{ "recent", no_argument, NULL, 'r' },
		{ "count", required_argument, NULL, 'n' },
		{ 0 },
	};
	struct vl_reader *rd;
	json_t *params;
	long count = -1, seen = 0;
	bool recent = false;
	int c, fd, ret = 0;
	char *end;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r': recent = true; break;
		case 'n':
			errno = 0;
			count = strtol(optarg, &end, 10);
			if (errno || *end || count < 1)
				return cli_usage("monitor", "--count %s: expected a number >= 1", optarg);
			break;
		default: return cli_usage("monitor", "unknown option");
		}
	}
	if (optind < argc)
		return cli_usage("monitor", "unexpected argument '%s'", argv[optind]);
	if ((fd = cli_connect(ctx)) < 0)
		return 1;
	/* Each line is out as soon as it is known: the reader may be a pipe (tests, jq). */
	setvbuf(stdout, NULL, _IOLBF, 0);
	params = recent ? json_pack("{s:b}", "recent", 1) : NULL;
	ret = vl_call_start(fd, "io.iovd.Monitor", params, true);
	json_decref(params);
	rd = ret < 0 ? NULL : vl_reader_new(fd);
	if (!rd) {
		fprintf(stderr, "iovctl: cannot call io.iovd.Monitor: %s\n",
			strerror(ret < 0 ? -ret : ENOMEM));
		close(fd);
		return 1;
	}
	ret = 0;
	while (count < 0 || seen < count) {
		json_t *r = NULL, *ev;
		char *ename = NULL;
		bool more = false;
		json_int_t missed;
		int k = vl_reply_read(rd, -1, &r, &ename, &more);

		if (k < 0) {
			if (k == -ECONNRESET)
				fprintf(stderr, "iovctl: iovd closed the event stream (stopped or "
					"restarted; see its log)\n");
			else
				fprintf(stderr, "iovctl: reading events: %s\n", strerror(-k));
			ret = 1;
			break;
		}
		if (k == 1) {
			ret = cli_print_error("io.iovd.Monitor", ename, r);
			free(ename);
			json_decref(r);
			break;
		}
		missed = json_integer_value(json_object_get(r, "missed"));
		ev = json_object_get(r, "event");
		if (missed > 0) {
			if (ctx->json)
				printf("{\"schema\":\"iovd.event/1\",\"missed\":%lld}\n",
				       (long long)missed);
			else
				printf("-- %lld event%s missed (this reader was too slow; iovd keeps "
				       "going) --\n", (long long)missed, missed == 1 ? "" : "s");
		}
		if (json_is_object(ev)) {
			if (ctx->json) {
				char *t = json_dumps(ev, JSON_COMPACT | JSON_ENSURE_ASCII);

				/* iovd's event as it sent it, with the schema put first. */
				if (t)
					printf("{\"schema\":\"iovd.event/1\"%s%s\n",
					       t[1] == '}' ? "" : ",", t + 1);
				free(t);
			} else {
				print_event(ev);
			}
			seen++;
		}
		json_decref(r);
		if (!more) {
			fprintf(stderr, "iovctl: iovd ended the event stream\n");
			break;
		}
	}
	vl_reader_free(rd);
	close(fd);
	return ret;
}
