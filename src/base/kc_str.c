/*
 * kc_str.c: small C-string helpers (see kc_str.h).
 */
#include <stdlib.h>
#include <string.h>

#include "kc_str.h"

bool kc_str_in(const char *s, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

char *kc_strdup_opt(const char *s, bool *oom)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*oom = true;
	return d;
}
