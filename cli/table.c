#include "cli/table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"

struct row {
	char **cells;
	const char *colour;
};

struct table {
	size_t ncols, nrows;
	char **headers;
	struct row *rows;
	size_t *width;
	size_t max;		/* line width limit, 0 none */
};

/* Cells hold host-derived strings (device, driver, process names): escaped (lib/log.h). */
static char *dup_or_dash(const char *s)
{
	size_t n = 4 * strlen(s ? s : "-") + 1;
	char *d = malloc(n);

	return d ? iov_esc(d, n, s ? s : "-") : NULL;
}

struct table *table_new(size_t ncols, const char *const *headers)
{
	struct table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->ncols = ncols;
	t->headers = calloc(ncols, sizeof(char *));
	t->width = calloc(ncols, sizeof(size_t));
	if (!t->headers || !t->width) {
		table_free(t);
		return NULL;
	}
	for (size_t i = 0; i < ncols; i++) {
		t->headers[i] = dup_or_dash(headers[i]);
		t->width[i] = strlen(t->headers[i]);
	}
	return t;
}

int table_row(struct table *t, const char *colour, const char *const *cells)
{
	struct row *nr = realloc(t->rows, (t->nrows + 1) * sizeof(*nr));

	if (!nr)
		return -ENOMEM;
	t->rows = nr;
	nr[t->nrows].colour = colour;
	nr[t->nrows].cells = calloc(t->ncols, sizeof(char *));
	if (!nr[t->nrows].cells)
		return -ENOMEM;
	for (size_t i = 0; i < t->ncols; i++) {
		char *c = dup_or_dash(cells[i]);
		size_t w;
		if (!c)
			return -ENOMEM;
		nr[t->nrows].cells[i] = c;
		w = strlen(c);
		if (w > t->width[i])
			t->width[i] = w;
	}
	t->nrows++;
	return 0;
}

void table_set_max_width(struct table *t, size_t max)
{
	t->max = max;
}

static void print_cells(const struct table *t, FILE *f, char *const *cells)
{
	size_t used = 0;

	for (size_t i = 0; i < t->ncols; i++) {
		if (i + 1 < t->ncols) {
			fprintf(f, "%-*s  ", (int)t->width[i], cells[i]);
			used += t->width[i] + 2;
			continue;
		}
		/* The last column: cut to the width left, at least "x...". */
		size_t len = strlen(cells[i]), room = t->max > used + 4 ? t->max - used : 4;

		if (!t->max || len <= room)
			fputs(cells[i], f);
		else
			fprintf(f, "%.*s...", (int)(room - 3), cells[i]);
	}
}

void table_print(const struct table *t, FILE *f, bool colour)
{
	if (colour)
		fputs("\033[1m", f);
	print_cells(t, f, t->headers);
	fputs(colour ? "\033[0m\n" : "\n", f);
	for (size_t r = 0; r < t->nrows; r++) {
		bool c = colour && t->rows[r].colour;
		if (c)
			fprintf(f, "\033[%sm", t->rows[r].colour);
		print_cells(t, f, t->rows[r].cells);
		fputs(c ? "\033[0m\n" : "\n", f);
	}
}

void table_free(struct table *t)
{
	if (!t)
		return;
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t i = 0; i < t->ncols; i++)
			free(t->rows[r].cells ? t->rows[r].cells[i] : NULL);
		free(t->rows[r].cells);
	}
	free(t->rows);
	for (size_t i = 0; t->headers && i < t->ncols; i++)
		free(t->headers[i]);
	free(t->headers);
	free(t->width);
	free(t);
}
