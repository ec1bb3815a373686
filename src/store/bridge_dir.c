/*
 * bridge_dir.c: the agent's only view of the staticPodPath: every access is
 * an *at() call on one directory fd, and every change first proves the file
 * is ours (prefix + marker annotation). See bridge_dir.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bridge_dir.h"
#include "doc.h"
#include "fsutil.h"
#include "kc_buf.h"
#include "kc_log.h"
#include "kc_names.h"
#include "render.h"

struct bridge_dir {
	char *path;
	int fd;
};

/* What a look at one file found; strings owned. */
struct inspection {
	bool ours;
	dev_t dev; /* the file inspected, when loaded */
	ino_t ino;
	int64_t mtime_ms;    /* wall clock, when loaded */
	struct kc_error why; /* when not ours */
	char *checkpoint_of;
	char *source_uid;
};

static void inspection_free(struct inspection *in)
{
	free(in->checkpoint_of);
	free(in->source_uid);
	in->checkpoint_of = in->source_uid = NULL;
}

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* A manifest name the agent may create: prefixed, one component, room for the temp name. */
static kc_code check_manifest_name(const struct bridge_dir *bd, const char *file,
                                   struct kc_error *err)
{
	size_t len = strlen(file);

	if (!has_prefix(file, KC_MANIFEST_PREFIX) || len == strlen(KC_MANIFEST_PREFIX) ||
	    strchr(file, '/') != NULL)
		return kc_fail(err, KC_EINVAL, "%s/%s: not a bridge manifest name", bd->path, file);
	if (len > BRIDGE_NAME_MAX)
		return kc_fail(err, KC_EINVAL,
		               "%s/%.40s...: manifest file name of %zu bytes is over the %d a "
		               "file system allows with its temp name",
		               bd->path, file, len, BRIDGE_NAME_MAX);
	return KC_OK;
}

/*
 * Does data parse as one document carrying the marker? Fills in->ours and
 * the annotations; only KC_ENOMEM is an error.
 */
static kc_code inspect_content(const char *data, size_t len, const char *source,
                               struct inspection *in, struct kc_error *err)
{
	json_t *docs = NULL, *ann;
	const char *of, *uid;
	struct kc_error perr;
	kc_code rc;

	in->ours = false;
	if ((rc = doc_parse(data, len, source, &docs, &perr)) != KC_OK) {
		if (rc == KC_ENOMEM)
			return kc_fail(err, rc, "%s", perr.msg);
		kc_fail(&in->why, KC_EINVAL, "does not parse: %s", perr.msg);
		return KC_OK;
	}
	ann = json_object_get(json_object_get(json_array_get(docs, 0), "metadata"), "annotations");
	of = json_string_value(json_object_get(ann, KC_ANNOTATION_CHECKPOINT_OF));
	uid = json_string_value(json_object_get(ann, KC_ANNOTATION_SOURCE_UID));
	if (json_array_size(docs) != 1)
		kc_fail(&in->why, KC_EINVAL, "holds %zu documents, not one", json_array_size(docs));
	else if (of == NULL || of[0] == '\0')
		kc_fail(&in->why, KC_EINVAL, "no %s annotation", KC_ANNOTATION_CHECKPOINT_OF);
	else {
		in->ours = true;
		in->checkpoint_of = strdup(of);
		in->source_uid = uid != NULL ? strdup(uid) : NULL;
		if (in->checkpoint_of == NULL || (uid != NULL && in->source_uid == NULL)) {
			inspection_free(in);
			rc = kc_fail(err, KC_ENOMEM, "out of memory");
		}
	}
	json_decref(docs);
	return rc;
}

/*
 * Read file right now into b (capped at RENDER_MAX_MANIFEST). KC_ENOTFOUND
 * when absent; KC_ENOMEM; otherwise KC_OK with *loaded false and in->why set
 * when it cannot be a manifest of ours (a symlink, not a regular file,
 * unreadable, too big). *mode gets the permission bits of a loaded file.
 */
static kc_code load_candidate(struct bridge_dir *bd, const char *file, struct kc_buf *b,
                              mode_t *mode, bool *loaded, struct inspection *in,
                              struct kc_error *err)
{
	struct stat st;
	kc_code rc;
	int fd;

	*loaded = false;
	if (!has_prefix(file, KC_MANIFEST_PREFIX)) {
		kc_fail(&in->why, KC_EINVAL, "name lacks the %s prefix", KC_MANIFEST_PREFIX);
		return KC_OK;
	}
	fd = openat(bd->fd, file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return kc_fail(err, KC_ENOTFOUND, "%s/%s: no such file", bd->path, file);
		kc_fail_errno(&in->why, KC_EIO, errno, "cannot open");
		return KC_OK;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		kc_fail(&in->why, KC_EINVAL, "not a regular file");
		return KC_OK;
	}
	if ((unsigned long long)st.st_size > RENDER_MAX_MANIFEST) {
		close(fd);
		kc_fail(&in->why, KC_ETOOBIG, "larger than %u bytes", RENDER_MAX_MANIFEST);
		return KC_OK;
	}
	*mode = st.st_mode & 07777;
	in->dev = st.st_dev;
	in->ino = st.st_ino;
	in->mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
	rc = kc_buf_read_fd(b, fd, file, &in->why);
	close(fd);
	if (rc == KC_ENOMEM)
		return kc_fail(err, rc, "%s/%s: %s", bd->path, file, in->why.msg);
	/* Unreadable or grown past the cap meanwhile: not provably ours. */
	*loaded = rc == KC_OK;
	return KC_OK;
}

/*
 * Look at file right now. KC_ENOTFOUND when absent; KC_ENOMEM; otherwise
 * KC_OK with in->ours. Anything that stops us proving ownership (a symlink,
 * not a regular file, unreadable, too big, no marker) means not ours.
 */
static kc_code inspect_file(struct bridge_dir *bd, const char *file, struct inspection *in,
                            struct kc_error *err)
{
	struct kc_buf b;
	bool loaded;
	mode_t mode;
	kc_code rc;

	memset(in, 0, sizeof(*in));
	kc_buf_init(&b, RENDER_MAX_MANIFEST);
	rc = load_candidate(bd, file, &b, &mode, &loaded, in, err);
	if (rc == KC_OK && loaded)
		rc = inspect_content(b.data, b.len, file, in, err);
	kc_buf_free(&b);
	return rc;
}

kc_code bridge_dir_open(const char *path, struct bridge_dir **out, struct kc_error *err)
{
	struct bridge_dir *bd;
	struct stat st;
	int fd;

	*out = NULL;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return kc_fail(err, KC_ENOTFOUND, "staticPodPath %s does not exist (yet)",
			               path);
		if ((errno == ELOOP || errno == ENOTDIR) && lstat(path, &st) == 0 &&
		    S_ISLNK(st.st_mode))
			return kc_fail(err, KC_EIO,
			               "staticPodPath %s is a symlink: give the real directory",
			               path);
		return kc_fail_errno(err, KC_EIO, errno, "staticPodPath %s", path);
	}
	if ((bd = calloc(1, sizeof(*bd))) == NULL || (bd->path = strdup(path)) == NULL) {
		free(bd);
		close(fd);
		return kc_fail(err, KC_ENOMEM, "out of memory");
	}
	bd->fd = fd;
	*out = bd;
	return KC_OK;
}

void bridge_dir_close(struct bridge_dir *bd)
{
	if (bd == NULL)
		return;
	close(bd->fd);
	free(bd->path);
	free(bd);
}

const char *bridge_dir_path(const struct bridge_dir *bd)
{
	return bd->path;
}

bool bridge_dir_same(const struct bridge_dir *x, const struct bridge_dir *y)
{
	struct stat sx, sy;

	return fstat(x->fd, &sx) == 0 && fstat(y->fd, &sy) == 0 && sx.st_dev == sy.st_dev &&
	       sx.st_ino == sy.st_ino;
}

kc_code bridge_dir_owns(struct bridge_dir *bd, const char *file, bool *ours, struct kc_error *why,
                        struct kc_error *err)
{
	struct inspection in;
	kc_code rc;

	*ours = false;
	if ((rc = inspect_file(bd, file, &in, err)) != KC_OK)
		return rc;
	*ours = in.ours;
	if (!in.ours && why != NULL)
		*why = in.why;
	inspection_free(&in);
	return KC_OK;
}

/* Open a readdir stream on a duplicate of the directory fd, rewound. */
static kc_code open_stream(struct bridge_dir *bd, DIR **d, struct kc_error *err)
{
	return fs_dir_stream(bd->fd, bd->path, d, err);
}

static bool grow(void **v, size_t n, size_t *cap, size_t size)
{
	void *nv;

	if (n < *cap)
		return true;
	if ((nv = realloc(*v, (*cap ? *cap * 2 : 8) * size)) == NULL)
		return false;
	*v = nv;
	*cap = *cap ? *cap * 2 : 8;
	return true;
}

static int manifest_order(const void *a, const void *b)
{
	return strcmp(((const struct bridge_manifest *)a)->file,
	              ((const struct bridge_manifest *)b)->file);
}

static int ignored_order(const void *a, const void *b)
{
	return strcmp(((const struct bridge_ignored *)a)->file,
	              ((const struct bridge_ignored *)b)->file);
}

/* Record one inspected file in out; takes the inspection's strings. */
static kc_code list_add(struct bridge_list *out, size_t *cap, size_t *icap, const char *file,
                        struct inspection *in, struct kc_error *err)
{
	char *name = strdup(file);

	if (name == NULL)
		goto oom;
	if (in->ours) {
		if (!grow((void **)&out->manifests, out->count, cap, sizeof(*out->manifests)))
			goto oom;
		out->manifests[out->count++] =
		    (struct bridge_manifest){.file = name,
		                             .checkpoint_of = in->checkpoint_of,
		                             .source_uid = in->source_uid,
		                             .written_ms = in->mtime_ms};
		in->checkpoint_of = in->source_uid = NULL;
		return KC_OK;
	}
	if (!grow((void **)&out->ignored, out->nignored, icap, sizeof(*out->ignored)))
		goto oom;
	if ((out->ignored[out->nignored].reason = strdup(in->why.msg)) == NULL)
		goto oom;
	out->ignored[out->nignored++].file = name;
	return KC_OK;
oom:
	free(name);
	return kc_fail(err, KC_ENOMEM, "out of memory");
}

kc_code bridge_dir_list(struct bridge_dir *bd, struct bridge_list *out, struct kc_error *err)
{
	size_t cap = 0, icap = 0;
	struct inspection in;
	struct dirent *de;
	kc_code rc;
	DIR *d;

	memset(out, 0, sizeof(*out));
	if ((rc = open_stream(bd, &d, err)) != KC_OK)
		return rc;
	while (rc == KC_OK && (de = readdir(d)) != NULL) {
		if (!has_prefix(de->d_name, KC_MANIFEST_PREFIX))
			continue;
		rc = inspect_file(bd, de->d_name, &in, err);
		if (rc == KC_ENOTFOUND) { /* removed since readdir */
			rc = KC_OK;
			continue;
		}
		if (rc != KC_OK)
			break;
		rc = list_add(out, &cap, &icap, de->d_name, &in, err);
		inspection_free(&in);
	}
	closedir(d);
	if (rc != KC_OK) {
		bridge_list_free(out);
		return rc;
	}
	if (out->count > 1) /* qsort's base may not be NULL, even for 0 items */
		qsort(out->manifests, out->count, sizeof(*out->manifests), manifest_order);
	if (out->nignored > 1)
		qsort(out->ignored, out->nignored, sizeof(*out->ignored), ignored_order);
	return KC_OK;
}

void bridge_list_free(struct bridge_list *list)
{
	for (size_t i = 0; i < list->count; i++) {
		free(list->manifests[i].file);
		free(list->manifests[i].checkpoint_of);
		free(list->manifests[i].source_uid);
	}
	for (size_t i = 0; i < list->nignored; i++) {
		free(list->ignored[i].file);
		free(list->ignored[i].reason);
	}
	free(list->manifests);
	free(list->ignored);
	memset(list, 0, sizeof(*list));
}

/*
 * Write data, known to carry the marker, to file: skipped when the file
 * already holds these bytes (no parse needed), refused when the file there
 * is not ours.
 */
/*
 * May data be written to file? KC_OK with *same when the file already holds
 * these bytes with our mode (no parse needed: the bytes carry the marker);
 * KC_OK when it is absent or ours; KC_EINVAL when it is not ours.
 */
static kc_code may_write(struct bridge_dir *bd, const char *file, const void *data, size_t len,
                         bool *same, struct kc_error *err)
{
	struct inspection in;
	struct kc_buf b;
	bool loaded;
	mode_t mode = 0;
	kc_code rc;

	*same = false;
	memset(&in, 0, sizeof(in));
	kc_buf_init(&b, RENDER_MAX_MANIFEST);
	rc = load_candidate(bd, file, &b, &mode, &loaded, &in, err);
	if (rc == KC_OK && loaded && b.len == len && memcmp(b.data, data, len) == 0 &&
	    mode == BRIDGE_MANIFEST_MODE) {
		kc_buf_free(&b);
		*same = true;
		return KC_OK;
	}
	if (rc == KC_OK && loaded)
		rc = inspect_content(b.data, b.len, file, &in, err);
	kc_buf_free(&b);
	inspection_free(&in);
	if (rc == KC_OK && !in.ours)
		return kc_fail(err, KC_EINVAL, "%s/%s: exists and is not ours (%s): left alone",
		               bd->path, file, in.why.msg);
	return rc == KC_ENOTFOUND ? KC_OK : rc;
}

/* Write data, known to carry the marker, to file (see may_write). */
static kc_code write_marked(struct bridge_dir *bd, const char *file, const void *data, size_t len,
                            bool *changed, struct kc_error *err)
{
	bool same;
	kc_code rc;

	if ((rc = may_write(bd, file, data, len, &same, err)) != KC_OK || same)
		return rc;
	return fs_write_atomic_at(bd->fd, bd->path, file, data, len, BRIDGE_MANIFEST_MODE, changed,
	                          err);
}

kc_code bridge_dir_check_bytes(const char *file, const void *data, size_t len, struct kc_error *err)
{
	struct inspection in;
	kc_code rc;

	if (len > RENDER_MAX_MANIFEST)
		return kc_fail(err, KC_ETOOBIG, "%s: manifest over %u bytes", file,
		               RENDER_MAX_MANIFEST);
	memset(&in, 0, sizeof(in));
	if ((rc = inspect_content(data, len, file, &in, err)) != KC_OK)
		return rc;
	inspection_free(&in);
	if (!in.ours)
		return kc_fail(err, KC_EINVAL, "%s: refusing a manifest that %s", file, in.why.msg);
	return KC_OK;
}

kc_code bridge_dir_write_batch(struct bridge_dir *bd, struct bridge_write *w, size_t n,
                               struct kc_error *err)
{
	struct fs_batch_entry *e = calloc(n ? n : 1, sizeof(*e));
	size_t i, k = 0, *back = calloc(n ? n : 1, sizeof(*back));
	kc_code first = KC_OK;
	bool same;

	if (e == NULL || back == NULL) {
		free(e);
		free(back);
		return kc_fail(err, KC_ENOMEM, "out of memory");
	}
	for (i = 0; i < n; i++) {
		w[i].changed = false;
		kc_error_clear(&w[i].err);
		if (check_manifest_name(bd, w[i].file, &w[i].err) != KC_OK ||
		    may_write(bd, w[i].file, w[i].data, w[i].len, &same, &w[i].err) != KC_OK ||
		    same)
			continue;
		e[k] =
		    (struct fs_batch_entry){.name = w[i].file, .data = w[i].data, .len = w[i].len};
		back[k++] = i;
	}
	fs_write_batch_at(bd->fd, bd->path, e, k, BRIDGE_MANIFEST_MODE, NULL);
	for (i = 0; i < k; i++) {
		w[back[i]].changed = e[i].changed;
		w[back[i]].err = e[i].err;
	}
	for (i = 0; i < n && first == KC_OK; i++) {
		if (w[i].err.code != KC_OK) {
			first = w[i].err.code;
			if (err != NULL)
				*err = w[i].err;
		}
	}
	free(e);
	free(back);
	return first;
}

/* What every single write checks first: a name of ours, a size the kubelet reads. */
static kc_code check_write(struct bridge_dir *bd, const char *file, size_t len, bool *changed,
                           struct kc_error *err)
{
	kc_code rc;

	if (changed != NULL)
		*changed = false;
	if ((rc = check_manifest_name(bd, file, err)) != KC_OK)
		return rc;
	if (len > RENDER_MAX_MANIFEST)
		return kc_fail(err, KC_ETOOBIG, "%s/%s: manifest over %u bytes", bd->path, file,
		               RENDER_MAX_MANIFEST);
	return KC_OK;
}

kc_code bridge_dir_write(struct bridge_dir *bd, const char *file, const void *data, size_t len,
                         bool *changed, struct kc_error *err)
{
	kc_code rc;

	if ((rc = check_write(bd, file, len, changed, err)) != KC_OK)
		return rc;
	/* Never create a file a later look would not recognise as ours. */
	if ((rc = bridge_dir_check_bytes(file, data, len, err)) != KC_OK)
		return kc_error_prefix(err, "%s", bd->path);
	return write_marked(bd, file, data, len, changed, err);
}

kc_code bridge_dir_write_manifest(struct bridge_dir *bd, const char *file, const json_t *manifest,
                                  const void *data, size_t len, bool *changed, struct kc_error *err)
{
	const json_t *ann;
	const char *of;
	kc_code rc;

	if ((rc = check_write(bd, file, len, changed, err)) != KC_OK)
		return rc;
	ann = json_object_get(json_object_get(manifest, "metadata"), "annotations");
	of = json_string_value(json_object_get(ann, KC_ANNOTATION_CHECKPOINT_OF));
	if (of == NULL || of[0] == '\0')
		return kc_fail(err, KC_EINVAL,
		               "%s/%s: refusing to write a manifest with no %s annotation",
		               bd->path, file, KC_ANNOTATION_CHECKPOINT_OF);
	return write_marked(bd, file, data, len, changed, err);
}

kc_code bridge_dir_remove(struct bridge_dir *bd, const char *file, bool *removed,
                          struct kc_error *err)
{
	struct inspection in;
	struct stat st;
	kc_code rc;

	if (removed != NULL)
		*removed = false;
	if ((rc = check_manifest_name(bd, file, err)) != KC_OK)
		return rc;
	rc = inspect_file(bd, file, &in, err);
	if (rc == KC_ENOTFOUND)
		return KC_OK;
	if (rc != KC_OK)
		return rc;
	inspection_free(&in);
	if (!in.ours)
		return kc_fail(err, KC_EINVAL, "%s/%s: not ours (%s): left alone", bd->path, file,
		               in.why.msg);
	/* Narrow the window between proof and unlink: still the file we read? */
	if (fstatat(bd->fd, file, &st, AT_SYMLINK_NOFOLLOW) != 0 || st.st_dev != in.dev ||
	    st.st_ino != in.ino)
		return kc_fail(err, KC_EAGAIN, "%s/%s: replaced while being checked: left alone",
		               bd->path, file);
	if ((rc = fs_unlink_at(bd->fd, bd->path, file, err)) == KC_OK && removed != NULL)
		*removed = true;
	return rc;
}

/* ".kubelet-checkpoint_<anything>.tmp": the temp names fsutil gives our manifests. */
static bool is_our_temp_name(const char *name)
{
	size_t len = strlen(name), plen = strlen(KC_MANIFEST_TEMP_PREFIX),
	       slen = strlen(FS_TMP_SUFFIX);

	return len > plen + slen && has_prefix(name, KC_MANIFEST_TEMP_PREFIX) &&
	       strcmp(name + len - slen, FS_TMP_SUFFIX) == 0;
}

kc_code bridge_dir_clean_temps(struct bridge_dir *bd, size_t *removed, struct kc_error *err)
{
	struct dirent *de;
	struct stat st;
	size_t n = 0;
	kc_code rc;
	DIR *d;

	if (removed != NULL)
		*removed = 0;
	if ((rc = open_stream(bd, &d, err)) != KC_OK)
		return rc;
	while (rc == KC_OK && (de = readdir(d)) != NULL) {
		if (!is_our_temp_name(de->d_name) ||
		    fstatat(bd->fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (unlinkat(bd->fd, de->d_name, 0) == 0) {
			kc_log(KC_LOG_INFO, "%s/%s: removed stale temp file", bd->path, de->d_name);
			n++;
		} else if (errno != ENOENT) {
			rc = kc_fail_errno(err, KC_EIO, errno, "%s/%s: remove stale temp file",
			                   bd->path, de->d_name);
		}
	}
	closedir(d);
	if (n > 0 && rc == KC_OK)
		rc = fs_fsync_dir(bd->fd, bd->path, err);
	if (removed != NULL)
		*removed = n;
	return rc;
}
