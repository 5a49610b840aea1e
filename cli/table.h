/* Aligned text tables for people. Cells are copied; colour codes never count toward width. */
#ifndef IOV_CLI_TABLE_H
#define IOV_CLI_TABLE_H

#include <stdbool.h>
#include <stdio.h>

struct table;

struct table *table_new(size_t ncols, const char *const *headers);
/* Adds a row of ncols cells (NULL = "-"). colour: ANSI SGR code for the whole row or NULL. */
int table_row(struct table *t, const char *colour, const char *const *cells);
void table_print(const struct table *t, FILE *f, bool colour);
/* Sets the width lines may take (0: no limit): the last column (a free-text name) is cut,
 * ending in "...", so that every line fits. */
void table_set_max_width(struct table *t, size_t max);
void table_free(struct table *t);

#endif
