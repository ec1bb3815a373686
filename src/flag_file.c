/*
 * flag_file.c: create / remove / test the bridge flag file (see flag_file.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flag_file.h"
#include "fsutil.h"

static const char flag_content[] =
    "# kubelet-checkpoint: bridge enabled. While this file exists, checkpointed pods whose\n"
    "# parent is not running are written as static pods when the API is unreachable.\n"
    "# Remove it (or run `kubelet-checkpoint disable`) to put the bridge on standby.\n";

/* Split path into its directory and base name; "" and "dir/" are bad input. */
static kc_code split_path(const char *path, char *dir, size_t dirsz, const char **base,
                          struct kc_error *err)
{
	const char *slash = strrchr(path, '/');
	size_t dlen;

	if (path[0] == '\0' || (slash != NULL && slash[1] == '\0'))
		return kc_fail(err, KC_EINVAL, "%s: flag file: not a file path", path);
	if (slash == NULL) {
		snprintf(dir, dirsz, ".");
		*base = path;
		return KC_OK;
	}
	dlen = slash == path ? 1 : (size_t)(slash - path);
	if (dlen >= dirsz)
		return kc_fail(err, KC_EINVAL, "%s: flag file: path too long", path);
	memcpy(dir, path, dlen);
	dir[dlen] = '\0';
	*base = slash + 1;
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
	char dir[PATH_MAX];
	const char *base;
	bool present;
	kc_code rc;
	int dfd;

	if (created != NULL)
		*created = false;
	if ((rc = split_path(path, dir, sizeof(dir), &base, err)) != KC_OK)
		return rc;
	/* Present in any form (even one we did not write) already means enabled. */
	if ((rc = flag_file_enabled(path, &present, err)) != KC_OK || present)
		return rc;
	if ((rc = fs_mkdir_p(dir, 0755, err)) != KC_OK)
		return kc_error_prefix(err, "flag file");
	if ((rc = fs_open_dir(dir, &dfd, err)) != KC_OK)
		return kc_error_prefix(err, "flag file");
	rc = fs_write_atomic_at(dfd, dir, base, flag_content, sizeof(flag_content) - 1, 0644,
	                        created, err);
	close(dfd);
	return rc;
}

kc_code flag_file_disable(const char *path, bool *removed, struct kc_error *err)
{
	char dir[PATH_MAX];
	const char *base;
	bool present;
	kc_code rc;
	int dfd;

	if (removed != NULL)
		*removed = false;
	if ((rc = split_path(path, dir, sizeof(dir), &base, err)) != KC_OK)
		return rc;
	if ((rc = flag_file_enabled(path, &present, err)) != KC_OK || !present)
		return rc;
	if ((rc = fs_open_dir(dir, &dfd, err)) != KC_OK)
		return kc_error_prefix(err, "flag file");
	rc = fs_unlink_at(dfd, dir, base, err);
	close(dfd);
	if (rc == KC_OK && removed != NULL)
		*removed = true;
	return rc;
}
