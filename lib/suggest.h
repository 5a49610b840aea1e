/* "Did you mean": the nearest of a list of known words to a misspelt one. */
#ifndef IOV_SUGGEST_H
#define IOV_SUGGEST_H

#include <stddef.h>

/* Levenshtein distance of a and b (99 for words of 63 characters or more). */
size_t iov_edit_distance(const char *a, const char *b);
/* The word of words[0..n) nearest to word, if it is at most 2 edits away (or word is a
 * prefix of exactly one of them); NULL if none is near enough. */
const char *iov_suggest(const char *word, const char *const *words, size_t n);

#endif
