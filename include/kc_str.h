/*
 * kc_str.h: the small C-string helpers several layers need: membership in a
 * fixed list of names, and a copy that keeps NULL.
 */
#ifndef KC_STR_H
#define KC_STR_H

#include <stdbool.h>
#include <stddef.h>

/* Is s one of list[0..n)? */
bool kc_str_in(const char *s, const char *const *list, size_t n);

/* kc_str_in over a whole array. */
#define KC_STR_IN(s, list) kc_str_in((s), (list), sizeof(list) / sizeof((list)[0]))

/* A copy of s, NULL for NULL; a failed copy also returns NULL and sets *oom. */
char *kc_strdup_opt(const char *s, bool *oom);

#endif
