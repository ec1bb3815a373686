/*
 * fsutil.c: atomic, durable, symlink-refusing file operations (see fsutil.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"

kc_code fs_open_dir(const char *path, int *fd_out, struct kc_error *err)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return kc_fail_errno(err, errno == ENOENT ? KC_ENOTFOUND : KC_EIO, errno,
		                     "%s: open directory", path);
	*fd_out = fd;
	return KC_OK;
}

kc_code fs_mkdir_p(const char *path, mode_t mode, struct kc_error *err)
{
	char tmp[PATH_MAX];
	size_t len = strlen(path);
	char *p;
	struct stat st;

	if (len == 0 || len >= sizeof(tmp))
		return kc_fail(err, KC_EINVAL, "%s: bad directory path", path);
	memcpy(tmp, path, len + 1);
	for (p = tmp + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		if (mkdir(tmp, mode) != 0 && errno != EEXIST)
			return kc_fail_errno(err, KC_EIO, errno, "%s: mkdir", tmp);
		*p = saved;
		if (saved == '\0')
			break;
	}
	if (stat(path, &st) != 0)
		return kc_fail_errno(err, KC_EIO, errno, "%s: stat", path);
	if (!S_ISDIR(st.st_mode))
		return kc_fail(err, KC_EIO, "%s: exists and is not a directory", path);
	return KC_OK;
}

/*
 * A temp name of its own for every write: "." name "." pid "." random ".tmp".
 * One fixed name per file let two writers (two agents on one directory, or
 * an agent and `enable`/`render` of an admin) unlink and rename each other's
 * half-written file into place (issue 19). The name keeps its leading "."
 * (the kubelet skips dot files: pkg/kubelet/config/file.go, extractFromDir)
 * and starts with "." name, so the prefix rules of the staticPodPath and the
 * cleaning of crash leftovers (fs_remove_temps_at) still hold; a name too
 * long for NAME_MAX with the suffix is cut, never the prefix.
 */
kc_code fs_temp_name(const char *name, char *out, size_t outsz, struct kc_error *err)
{
	char suffix[48];
	uint32_t r;
	struct timespec ts;
	size_t room, n;

	if (strchr(name, '/') != NULL || name[0] == '\0')
		return kc_fail(err, KC_EINVAL, "%s: bad file name", name);
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		r = (uint32_t)ts.tv_nsec ^ (uint32_t)ts.tv_sec;
	}
	snprintf(suffix, sizeof(suffix), ".%ld.%08" PRIx32 FS_TMP_SUFFIX, (long)getpid(), r);
	room = (outsz > NAME_MAX + 1 ? NAME_MAX + 1 : outsz);
	if (room < 1 + FS_TEMP_NAME_KEEP + strlen(suffix) + 1)
		return kc_fail(err, KC_EINVAL, "%s: no room for a temp name", name);
	n = strlen(name);
	if (n > room - 1 - strlen(suffix) - 1)
		n = room - 1 - strlen(suffix) - 1;
	snprintf(out, outsz, ".%.*s%s", (int)n, name, suffix);
	return KC_OK;
}

kc_code fs_remove_temps_at(int dirfd, const char *dirpath, const char *prefix, size_t *removed,
                           struct kc_error *err)
{
	size_t plen = strlen(prefix), slen = strlen(FS_TMP_SUFFIX), len, n = 0;
	struct dirent *de;
	struct stat st;
	kc_code rc;
	DIR *d;

	if (removed != NULL)
		*removed = 0;
	if ((rc = fs_dir_stream(dirfd, dirpath, &d, err)) != KC_OK)
		return rc;
	while (rc == KC_OK && (de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len <= 1 + plen + slen || de->d_name[0] != '.' ||
		    strncmp(de->d_name + 1, prefix, plen) != 0 ||
		    strcmp(de->d_name + len - slen, FS_TMP_SUFFIX) != 0 ||
		    fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (unlinkat(dirfd, de->d_name, 0) == 0)
			n++;
		else if (errno != ENOENT)
			rc = kc_fail_errno(err, KC_EIO, errno, "%s/%s: remove stale temp file",
			                   dirpath, de->d_name);
	}
	closedir(d);
	if (n > 0 && rc == KC_OK)
		rc = fs_fsync_dir(dirfd, dirpath, err);
	if (removed != NULL)
		*removed = n;
	return rc;
}

kc_code fs_fsync_dir(int dirfd, const char *dirpath, struct kc_error *err)
{
	if (fsync(dirfd) != 0)
		return kc_fail_errno(err, KC_EIO, errno, "%s: fsync directory", dirpath);
	return KC_OK;
}

/* True when dirfd/name is a regular file holding exactly data with mode. */
bool fs_fd_holds(int fd, const void *data, size_t len)
{
	char chunk[65536];
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || (size_t)n > len - off || memcmp(chunk, (const char *)data + off, n))
			return false;
		off += (size_t)n;
	}
	return read(fd, chunk, 1) == 0;
}

/* True when dirfd/name is a regular file holding exactly data with mode. */
static bool same_content(int dirfd, const char *name, const void *data, size_t len, mode_t mode)
{
	struct stat st;
	bool same;
	int fd;

	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return false;
	same = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size == len &&
	       (st.st_mode & 07777) == (mode & 07777) && fs_fd_holds(fd, data, len);
	close(fd);
	return same;
}

kc_code fs_dir_stream(int dirfd, const char *dirpath, DIR **out, struct kc_error *err)
{
	int fd = dup(dirfd);

	if (fd < 0 || (*out = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return kc_fail_errno(err, KC_EIO, errno, "%s: read directory", dirpath);
	}
	/* The duplicate shares its offset with dirfd. */
	rewinddir(*out);
	return KC_OK;
}

static kc_code write_all(int fd, const char *path, const void *data, size_t len,
                         struct kc_error *err)
{
	const char *p = data;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return kc_fail_errno(err, KC_EIO, errno, "%s: write", path);
		p += n;
		len -= (size_t)n;
	}
	return KC_OK;
}

/*
 * Create a new temp file for name in dirfd holding data with mode (its name
 * in tmp); fsync it too when durable. O_EXCL and a fresh name on a clash:
 * nothing another writer staged is ever removed or reused.
 */
static kc_code stage_temp(int dirfd, const char *dirpath, const char *name, char *tmp, size_t tmpsz,
                          const void *data, size_t len, mode_t mode, bool durable,
                          struct kc_error *err)
{
	kc_code rc = KC_OK;
	int fd = -1, tries;

	for (tries = 0; fd < 0 && tries < 16; tries++) {
		if ((rc = fs_temp_name(name, tmp, tmpsz, err)) != KC_OK)
			return kc_error_prefix(err, "%s", dirpath);
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		            mode & 07777);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0)
		return kc_fail_errno(err, KC_EIO, errno, "%s/%s: create", dirpath, tmp);
	if (fchmod(fd, mode & 07777) != 0)
		rc = kc_fail_errno(err, KC_EIO, errno, "%s/%s: chmod", dirpath, tmp);
	else if ((rc = write_all(fd, tmp, data, len, err)) != KC_OK)
		kc_error_prefix(err, "%s", dirpath);
	else if (durable && fsync(fd) != 0)
		rc = kc_fail_errno(err, KC_EIO, errno, "%s/%s: fsync", dirpath, tmp);
	if (close(fd) != 0 && rc == KC_OK)
		rc = kc_fail_errno(err, KC_EIO, errno, "%s/%s: close", dirpath, tmp);
	if (rc != KC_OK)
		unlinkat(dirfd, tmp, 0);
	return rc;
}

/* Write dirfd/name through its temp file; durable: fsync file and directory. */
static kc_code replace_at(int dirfd, const char *dirpath, const char *name, const void *data,
                          size_t len, mode_t mode, bool durable, bool *changed,
                          struct kc_error *err)
{
	char tmp[NAME_MAX + 1];
	kc_code rc;

	if (changed != NULL)
		*changed = false;
	if ((rc = fs_temp_name(name, tmp, sizeof(tmp), err)) != KC_OK)
		return kc_error_prefix(err, "%s", dirpath);
	if (same_content(dirfd, name, data, len, mode))
		return KC_OK;
	if ((rc = stage_temp(dirfd, dirpath, name, tmp, sizeof(tmp), data, len, mode, durable,
	                     err)) != KC_OK)
		return rc;
	if (renameat(dirfd, tmp, dirfd, name) != 0) {
		rc = kc_fail_errno(err, KC_EIO, errno, "%s/%s: rename into place", dirpath, name);
		unlinkat(dirfd, tmp, 0);
		return rc;
	}
	if (changed != NULL)
		*changed = true;
	return durable ? fs_fsync_dir(dirfd, dirpath, err) : KC_OK;
}

kc_code fs_write_atomic_at(int dirfd, const char *dirpath, const char *name, const void *data,
                           size_t len, mode_t mode, bool *changed, struct kc_error *err)
{
	return replace_at(dirfd, dirpath, name, data, len, mode, true, changed, err);
}

static void batch_fail(struct fs_batch_entry *e, kc_code *first, struct kc_error *err,
                       const struct kc_error *why)
{
	e->err = *why;
	if (*first == KC_OK) {
		*first = why->code;
		if (err != NULL)
			*err = *why;
	}
}

/* Drop a staged entry whose data could not be made durable. */
static void unstage(int dirfd, struct fs_batch_entry *e, const struct kc_error *why, kc_code *first,
                    struct kc_error *err)
{
	unlinkat(dirfd, e->tmp, 0);
	e->changed = false;
	batch_fail(e, first, err, why);
}

/* Rename every staged, durable entry into place. */
static void batch_commit(int dirfd, const char *dirpath, struct fs_batch_entry *entries, size_t n,
                         kc_code *first, struct kc_error *err)
{
	struct kc_error why;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!entries[i].changed)
			continue;
		if (renameat(dirfd, entries[i].tmp, dirfd, entries[i].name) == 0)
			continue;
		kc_fail_errno(&why, KC_EIO, errno, "%s/%s: rename into place", dirpath,
		              entries[i].name);
		unstage(dirfd, &entries[i], &why, first, err);
	}
}

/*
 * Make every staged temp file durable with overlapping I/O: start writeback
 * of all of them (sync_file_range), then wait for each (fdatasync). Unlike
 * syncfs() this waits for our files only, so a node that has just written a
 * lot elsewhere on the file system (image pulls, logs) does not slow the
 * activation down.
 */
static void flush_staged(int dirfd, const char *dirpath, struct fs_batch_entry *entries, size_t n,
                         kc_code *first, struct kc_error *err)
{
	const char *tmp;
	struct kc_error why;
	int *fds = calloc(n, sizeof(int));
	size_t i;

	for (i = 0; i < n; i++) {
		if (fds != NULL)
			fds[i] = -1;
		if (!entries[i].changed)
			continue;
		tmp = entries[i].tmp;
		int fd = openat(dirfd, tmp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || (fds == NULL && fdatasync(fd) != 0)) {
			kc_fail_errno(&why, KC_EIO, errno, "%s/%s: open for sync", dirpath, tmp);
			if (fd >= 0)
				close(fd);
			unstage(dirfd, &entries[i], &why, first, err);
			continue;
		}
		if (fds == NULL) { /* out of memory: one file at a time, still durable */
			close(fd);
			continue;
		}
		sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
		fds[i] = fd;
	}
	for (i = 0; fds != NULL && i < n; i++) {
		if (fds[i] < 0)
			continue;
		if (fdatasync(fds[i]) != 0) {
			kc_fail_errno(&why, KC_EIO, errno, "%s/%s: fdatasync", dirpath,
			              entries[i].tmp);
			unstage(dirfd, &entries[i], &why, first, err);
		}
		close(fds[i]);
	}
	free(fds);
}

kc_code fs_write_batch_at(int dirfd, const char *dirpath, struct fs_batch_entry *entries, size_t n,
                          mode_t mode, struct kc_error *err)
{
	char tmp[NAME_MAX + 1];
	struct kc_error why;
	kc_code first = KC_OK;
	size_t i, staged = 0;

	for (i = 0; i < n; i++) {
		struct fs_batch_entry *e = &entries[i];

		e->changed = false;
		kc_error_clear(&e->err);
		if (fs_temp_name(e->name, tmp, sizeof(tmp), &why) != KC_OK) {
			batch_fail(e, &first, err, &why);
			continue;
		}
		if (same_content(dirfd, e->name, e->data, e->len, mode))
			continue;
		if (stage_temp(dirfd, dirpath, e->name, e->tmp, sizeof(e->tmp), e->data, e->len,
		               mode, false, &why) != KC_OK) {
			batch_fail(e, &first, err, &why);
			continue;
		}
		e->changed = true;
		staged++;
	}
	if (staged == 0)
		return first;
	flush_staged(dirfd, dirpath, entries, n, &first, err);
	batch_commit(dirfd, dirpath, entries, n, &first, err);
	if (fs_fsync_dir(dirfd, dirpath, &why) != KC_OK && first == KC_OK) {
		first = why.code;
		if (err != NULL)
			*err = why;
	}
	return first;
}

/* Split path into its directory (opened) and final component. */
static kc_code open_parent(const char *path, int *dirfd, char *dir, size_t dirsz, const char **base,
                           struct kc_error *err)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (slash == NULL) {
		snprintf(dir, dirsz, ".");
		*base = path;
	} else {
		n = slash == path ? 1 : (size_t)(slash - path);
		if (n >= dirsz)
			return kc_fail(err, KC_EINVAL, "%s: path too long", path);
		memcpy(dir, path, n);
		dir[n] = '\0';
		*base = slash + 1;
	}
	if (**base == '\0')
		return kc_fail(err, KC_EINVAL, "%s: not a file path", path);
	return fs_open_dir(dir, dirfd, err);
}

static kc_code replace_path(const char *path, const void *data, size_t len, mode_t mode,
                            bool durable, bool *changed, struct kc_error *err)
{
	char dir[PATH_MAX];
	const char *base = NULL;
	int dirfd = -1;
	kc_code rc;

	if ((rc = open_parent(path, &dirfd, dir, sizeof(dir), &base, err)) != KC_OK)
		return rc;
	rc = replace_at(dirfd, dir, base, data, len, mode, durable, changed, err);
	close(dirfd);
	return rc;
}

kc_code fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode, bool *changed,
                        struct kc_error *err)
{
	return replace_path(path, data, len, mode, true, changed, err);
}

kc_code fs_write_atomic_volatile(const char *path, const void *data, size_t len, mode_t mode,
                                 bool *changed, struct kc_error *err)
{
	return replace_path(path, data, len, mode, false, changed, err);
}

kc_code fs_read_at(int dirfd, const char *dirpath, const char *name, struct kc_buf *out,
                   struct kc_error *err)
{
	struct stat st;
	kc_code rc;
	int fd;

	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return kc_fail_errno(err, errno == ENOENT ? KC_ENOTFOUND : KC_EIO, errno, "%s/%s",
		                     dirpath, name);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return kc_fail(err, KC_EIO, "%s/%s: not a regular file", dirpath, name);
	}
	rc = kc_buf_read_fd(out, fd, name, err);
	close(fd);
	if (rc != KC_OK)
		kc_error_prefix(err, "%s", dirpath);
	return rc;
}

kc_code fs_unlink_at(int dirfd, const char *dirpath, const char *name, struct kc_error *err)
{
	if (unlinkat(dirfd, name, 0) != 0) {
		if (errno == ENOENT)
			return KC_OK;
		return kc_fail_errno(err, KC_EIO, errno, "%s/%s: remove", dirpath, name);
	}
	return fs_fsync_dir(dirfd, dirpath, err);
}

static kc_code remove_children(int fd, const char *path, struct kc_error *err)
{
	DIR *d;
	struct dirent *de;
	kc_code rc;

	if ((rc = fs_dir_stream(fd, path, &d, err)) != KC_OK)
		return rc;
	while (rc == KC_OK && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		rc = fs_remove_tree_at(fd, path, de->d_name, err);
	}
	closedir(d);
	return rc;
}

kc_code fs_remove_tree_at(int dirfd, const char *dirpath, const char *name, struct kc_error *err)
{
	char path[PATH_MAX];
	struct stat st;
	kc_code rc;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dirpath, name);
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno == ENOENT)
			return KC_OK;
		return kc_fail_errno(err, KC_EIO, errno, "%s: stat", path);
	}
	if (S_ISDIR(st.st_mode)) {
		fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return kc_fail_errno(err, KC_EIO, errno, "%s: open directory", path);
		rc = remove_children(fd, path, err);
		close(fd);
		if (rc != KC_OK)
			return rc;
		if (unlinkat(dirfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
			return kc_fail_errno(err, KC_EIO, errno, "%s: remove directory", path);
		return KC_OK;
	}
	if (unlinkat(dirfd, name, 0) != 0 && errno != ENOENT)
		return kc_fail_errno(err, KC_EIO, errno, "%s: remove", path);
	return KC_OK;
}

kc_code fs_unlink(const char *path, struct kc_error *err)
{
	char dir[PATH_MAX];
	const char *base = NULL;
	int dirfd = -1;
	kc_code rc;

	if ((rc = open_parent(path, &dirfd, dir, sizeof(dir), &base, err)) != KC_OK)
		return rc;
	rc = fs_unlink_at(dirfd, dir, base, err);
	close(dirfd);
	return rc;
}
