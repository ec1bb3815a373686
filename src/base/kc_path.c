/*
 * kc_path.c: joining configuration paths (see kc_path.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc_path.h"

kc_code kc_path_join(const char *dir, const char *path, char **out, struct kc_error *err)
{
	size_t dlen;
	int n;

	if (path[0] == '/' || dir == NULL || dir[0] == '\0') {
		*out = strdup(path);
	} else {
		dlen = strlen(dir);
		while (dlen > 1 && dir[dlen - 1] == '/')
			dlen--;
		/* "./x" reads better as "x": drop leading "./" of the relative part. */
		while (path[0] == '.' && path[1] == '/')
			path += 2;
		if (dlen == 1 && dir[0] == '/')
			n = asprintf(out, "/%s", path);
		else
			n = asprintf(out, "%.*s/%s", (int)dlen, dir, path);
		if (n < 0)
			*out = NULL;
	}
	if (*out == NULL)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	return KC_OK;
}

kc_code kc_path_dirname(const char *file, char **out, struct kc_error *err)
{
	const char *slash = strrchr(file, '/');
	size_t len;

	if (slash == NULL) {
		*out = strdup(".");
	} else {
		len = (size_t)(slash - file);
		while (len > 0 && file[len - 1] == '/')
			len--;
		*out = len == 0 ? strdup("/") : strndup(file, len);
	}
	if (*out == NULL)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	return KC_OK;
}

kc_code kc_path_beside(const char *file, const char *path, char **out, struct kc_error *err)
{
	char *dir;
	kc_code rc;

	if (path[0] == '/')
		return kc_path_join(NULL, path, out, err);
	if ((rc = kc_path_dirname(file, &dir, err)) != KC_OK)
		return rc;
	rc = kc_path_join(dir, path, out, err);
	free(dir);
	return rc;
}
