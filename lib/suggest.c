#include "lib/suggest.h"

#include <string.h>

size_t iov_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64];

	if (la >= 63 || lb >= 63)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

const char *iov_suggest(const char *word, const char *const *words, size_t n)
{
	const char *near = NULL, *prefix_of = NULL;
	size_t best = 3, len = strlen(word), prefixes = 0;

	for (size_t i = 0; i < n; i++) {
		size_t d = iov_edit_distance(word, words[i]);

		if (d < best) {
			best = d;
			near = words[i];
		}
		if (len >= 2 && strncmp(word, words[i], len) == 0) {
			prefixes++;
			prefix_of = words[i];
		}
	}
	if (near)
		return near;
	return prefixes == 1 ? prefix_of : NULL;
}
