/*
 * flag_file.c: create / remove / test the bridge flag file (see flag_file.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flag_file.h"
#include "fsutil.h"
#include "kc_path.h"

static const char flag_content[] =
    "# kubelet-checkpoint: bridge enabled. While this file exists, checkpointed pods whose\n"
    "# parent is not running are written as static pods when the API is unreachable.\n"
    "# Remove it (or run `kubelet-checkpoint disable`) to put the bridge on standby.\n";

/* "" and "dir/" name no file: bad input, before anything looks at the disk. */
static kc_code check_path(const char *path, struct kc_error *err)
{
	size_t n = strlen(path);

	if (n == 0 || path[n - 1] == '/')
		return kc_fail(err, KC_EINVAL, "%s: flag file: not a file path", path);
	return KC_OK;
}

kc_code flag_file_enabled(const char *path, bool *enabled, struct kc_error *err)
{
	struct stat st;

	*enabled = false;
	if (lstat(path, &st) == 0) {
		*enabled = true;
		return KC_OK;
	}
	if (errno == ENOENT || errno == ENOTDIR)
		return KC_OK;
	return kc_fail_errno(err, KC_EIO, errno, "%s: flag file", path);
}

kc_code flag_file_enable(const char *path, bool *created, struct kc_error *err)
{
	char *dir = NULL;
	bool present;
	kc_code rc;

	if (created != NULL)
		*created = false;
	if ((rc = check_path(path, err)) != KC_OK)
		return rc;
	/* Present in any form (even one we did not write) already means enabled. */
	if ((rc = flag_file_enabled(path, &present, err)) != KC_OK || present)
		return rc;
	if ((rc = kc_path_dirname(path, &dir, err)) != KC_OK)
		return rc;
	if ((rc = fs_mkdir_p(dir, 0755, err)) == KC_OK)
		rc = fs_write_atomic(path, flag_content, sizeof(flag_content) - 1, 0644, created,
		                     err);
	free(dir);
	return rc != KC_OK ? kc_error_prefix(err, "flag file") : KC_OK;
}

kc_code flag_file_disable(const char *path, bool *removed, struct kc_error *err)
{
	bool present;
	kc_code rc;

	if (removed != NULL)
		*removed = false;
	if ((rc = check_path(path, err)) != KC_OK)
		return rc;
	if ((rc = flag_file_enabled(path, &present, err)) != KC_OK || !present)
		return rc;
	if ((rc = fs_unlink(path, err)) != KC_OK)
		return kc_error_prefix(err, "flag file");
	if (removed != NULL)
		*removed = true;
	return KC_OK;
}
