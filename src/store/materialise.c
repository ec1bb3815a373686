/*
 * materialise.c: volume directories built whole in a hidden sibling, then
 * swapped in; left alone when they already match the plan (see materialise.h).
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

#include "checkpoint_store.h"
#include "fsutil.h"
#include "k8s_validate.h"
#include "materialise.h"
#include "selinux_label.h"

#define MAT_PRIVATE_DIR_MODE 0700 /* volumes/ and volumes/<uid>/ */
#define MAT_VOLUME_DIR_MODE  0755 /* a volume directory and its subdirectories */
#define MAT_MAX_DEPTH        64
/* Room left in a name for ".<volume>.tmp-<pid>". */
#define MAT_NAME_MAX (NAME_MAX - 24)

/* Where one plan is written: the <uid> directory and who must own the files. */
struct mat_target {
	int uidfd;
	char path[PATH_MAX + CKPT_UID_LEN + 2]; /* <state>/volumes/<uid>, for messages */
	uid_t uid;                              /* expected owner (the agent's own when unset) */
	gid_t gid;
	uid_t chown_uid; /* (uid_t)-1: leave as created */
	gid_t chown_gid;
	char con[SELINUX_CONTEXT_MAX]; /* SELinux context of every entry; "" = SELinux off */
};

/* A string set used to compare a directory tree with a plan. */
struct names {
	char **v;
	size_t n, cap;
};

static void names_free(struct names *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* Add "<tag>:<a><b>" (b may be NULL); false on out of memory. */
static bool names_add(struct names *s, char tag, const char *a, const char *b, size_t blen)
{
	char *e;

	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 32;
		char **nv = realloc(s->v, ncap * sizeof(*nv));

		if (nv == NULL)
			return false;
		s->v = nv;
		s->cap = ncap;
	}
	if (asprintf(&e, "%c:%s%.*s", tag, a, (int)blen, b != NULL ? b : "") < 0)
		return false;
	s->v[s->n++] = e;
	return true;
}

static int str_order(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void names_sort_unique(struct names *s)
{
	size_t j = 0;

	if (s->n == 0)
		return;
	qsort(s->v, s->n, sizeof(*s->v), str_order);
	for (size_t i = 1; i < s->n; i++) {
		if (strcmp(s->v[i], s->v[j]) == 0)
			free(s->v[i]);
		else
			s->v[++j] = s->v[i];
	}
	s->n = j + 1;
}

/* A single path component the agent may create: not empty, ".", ".." or with '/'. */
static bool component_ok(const char *s, size_t len)
{
	if (len == 0 || len > NAME_MAX || memchr(s, '/', len) != NULL)
		return false;
	return !(len == 1 && s[0] == '.') && !(len == 2 && s[0] == '.' && s[1] == '.');
}

/* A plan file path: relative, no empty, "." or ".." component. */
static bool rel_path_ok(const char *p)
{
	const char *c = p, *slash;

	if (p[0] == '\0' || p[0] == '/' || strlen(p) >= PATH_MAX - NAME_MAX)
		return false;
	for (;;) {
		slash = strchr(c, '/');
		if (!component_ok(c, slash ? (size_t)(slash - c) : strlen(c)))
			return false;
		if (slash == NULL)
			return true;
		c = slash + 1;
	}
}

static kc_code check_plan(const struct vp_plan *plan, struct kc_error *err)
{
	if (plan->uid == NULL || !k8s_uuid_valid(plan->uid))
		return kc_fail(err, KC_EINVAL, "volume plan: uid %s: not a lowercase UUID",
		               plan->uid ? plan->uid : "(none)");
	if (plan->uid_owner > (long long)UINT32_MAX - 1 ||
	    plan->gid_owner > (long long)UINT32_MAX - 1)
		return kc_fail(err, KC_EINVAL, "volume plan %s: owner id out of range", plan->uid);
	for (size_t i = 0; i < plan->nvolumes; i++) {
		const struct vp_volume *v = &plan->volumes[i];

		if (v->name == NULL || v->name[0] == '.' || strlen(v->name) > MAT_NAME_MAX ||
		    !component_ok(v->name, strlen(v->name)))
			return kc_fail(err, KC_EINVAL, "volume plan %s: volumes[%zu]: bad name %s",
			               plan->uid, i, v->name ? v->name : "(none)");
		for (size_t j = 0; j < i; j++)
			if (strcmp(plan->volumes[j].name, v->name) == 0)
				return kc_fail(err, KC_EINVAL,
				               "volume plan %s: volume %s appears twice", plan->uid,
				               v->name);
		for (size_t j = 0; j < v->nfiles; j++)
			if (v->files[j].path == NULL || !rel_path_ok(v->files[j].path))
				return kc_fail(err, KC_EINVAL,
				               "volume plan %s: volume %s: bad file path %s",
				               plan->uid, v->name,
				               v->files[j].path ? v->files[j].path : "(none)");
	}
	return KC_OK;
}

/* The entries a volume directory holding exactly v has: "d:<dir>" and "f:<file>". */
static kc_code expected_entries(const struct vp_volume *v, struct names *out, struct kc_error *err)
{
	for (size_t i = 0; i < v->nfiles; i++) {
		const char *p = v->files[i].path, *slash;

		for (slash = strchr(p, '/'); slash != NULL; slash = strchr(slash + 1, '/'))
			if (!names_add(out, 'd', "", p, (size_t)(slash - p)))
				return kc_fail(err, KC_ENOMEM, "out of memory");
		if (!names_add(out, 'f', p, NULL, 0))
			return kc_fail(err, KC_ENOMEM, "out of memory");
	}
	names_sort_unique(out);
	return KC_OK;
}

static bool owned_as(const struct stat *st, const struct mat_target *t, mode_t mode)
{
	return st->st_uid == t->uid && st->st_gid == t->gid && (st->st_mode & 07777) == mode;
}

/*
 * Collect the entries under dirfd (prefix is their path so far). Returns
 * false when the tree cannot match any plan: a symlink, a device, a wrong
 * directory mode or owner, too deep. KC_ENOMEM is the only error.
 */
static kc_code walk_tree(int dirfd, const char *prefix, int depth, const struct mat_target *t,
                         struct names *out, bool *match, struct kc_error *err)
{
	struct dirent *de;
	kc_code rc = KC_OK;
	DIR *d;

	if (fs_dir_stream(dirfd, prefix, &d, NULL) != KC_OK) {
		*match = false;
		return KC_OK;
	}
	while (*match && rc == KC_OK && (de = readdir(d)) != NULL) {
		char sub[PATH_MAX];
		struct stat st;
		int cfd;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    snprintf(sub, sizeof(sub), "%s%s", prefix, de->d_name) >= (int)sizeof(sub)) {
			*match = false;
			break;
		}
		if (S_ISREG(st.st_mode)) {
			if (!names_add(out, 'f', sub, NULL, 0))
				rc = kc_fail(err, KC_ENOMEM, "out of memory");
			continue;
		}
		if (!S_ISDIR(st.st_mode) || depth >= MAT_MAX_DEPTH ||
		    !owned_as(&st, t, MAT_VOLUME_DIR_MODE)) {
			*match = false;
			break;
		}
		if (!names_add(out, 'd', sub, NULL, 0)) {
			rc = kc_fail(err, KC_ENOMEM, "out of memory");
			break;
		}
		cfd = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (cfd < 0) {
			*match = false;
			break;
		}
		strncat(sub, "/", sizeof(sub) - strlen(sub) - 1);
		rc = walk_tree(cfd, sub, depth + 1, t, out, match, err);
		close(cfd);
	}
	closedir(d);
	return rc;
}

/* Does volfd/f hold exactly f's bytes, mode and owner? */
static bool file_matches(int volfd, const struct vp_file *f, const struct mat_target *t)
{
	struct stat st;
	bool same;
	int fd = openat(volfd, f->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return false;
	same = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size == f->len &&
	       owned_as(&st, t, f->mode & 07777) && fs_fd_holds(fd, f->data, f->len) &&
	       (t->con[0] == '\0' || selinux_fd_has(fd, t->con));
	close(fd);
	return same;
}

/* Does uidfd/<v->name> already hold exactly v (nothing more, nothing less)? */
static kc_code volume_matches(const struct mat_target *t, const struct vp_volume *v, bool *match,
                              struct kc_error *err)
{
	struct names want = {0}, have = {0};
	struct stat st;
	kc_code rc;
	int volfd;

	*match = false;
	if (fstatat(t->uidfd, v->name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode) ||
	    !owned_as(&st, t, MAT_VOLUME_DIR_MODE))
		return KC_OK;
	volfd = openat(t->uidfd, v->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (volfd < 0)
		return KC_OK;
	/* A tree labelled otherwise (SELinux just enabled, another level) is rebuilt. */
	*match = t->con[0] == '\0' || selinux_fd_has(volfd, t->con);
	if (*match)
		rc = walk_tree(volfd, "", 0, t, &have, match, err);
	else
		rc = KC_OK;
	if (rc == KC_OK && *match)
		rc = expected_entries(v, &want, err);
	if (rc == KC_OK && *match) {
		names_sort_unique(&have);
		*match = have.n == want.n;
		for (size_t i = 0; *match && i < want.n; i++)
			*match = strcmp(have.v[i], want.v[i]) == 0;
		for (size_t i = 0; *match && i < v->nfiles; i++)
			*match = file_matches(volfd, &v->files[i], t);
	}
	close(volfd);
	names_free(&want);
	names_free(&have);
	return rc;
}

static kc_code set_owner(int fd, const struct mat_target *t, const char *what, struct kc_error *err)
{
	if (t->chown_uid == (uid_t)-1 && t->chown_gid == (gid_t)-1)
		return KC_OK;
	if (fchown(fd, t->chown_uid, t->chown_gid) != 0)
		return kc_fail_errno(err, KC_EIO, errno,
		                     "%s/%s: chown to %u:%u (setting runAsUser/fsGroup ownership "
		                     "needs root)",
		                     t->path, what, (unsigned)t->uid, (unsigned)t->gid);
	return KC_OK;
}

/* mkdirat + exact mode + owner, fsynced later by sync_dirs. */
static kc_code make_dir(int dirfd, const char *name, const struct mat_target *t, const char *what,
                        struct kc_error *err)
{
	kc_code rc;
	int fd;

	if (mkdirat(dirfd, name, MAT_VOLUME_DIR_MODE) != 0) {
		if (errno == EEXIST)
			return KC_OK; /* made for an earlier file of this build */
		return kc_fail_errno(err, KC_EIO, errno, "%s/%s: mkdir", t->path, what);
	}
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return kc_fail_errno(err, KC_EIO, errno, "%s/%s: open", t->path, what);
	rc = KC_OK;
	if (fchmod(fd, MAT_VOLUME_DIR_MODE) != 0)
		rc = kc_fail_errno(err, KC_EIO, errno, "%s/%s: chmod", t->path, what);
	if (rc == KC_OK)
		rc = set_owner(fd, t, what, err);
	if (rc == KC_OK && t->con[0] != '\0')
		rc = selinux_label_fd(fd, t->con, what, err);
	close(fd);
	return rc;
}

static kc_code write_file(int volfd, const char *tmpname, const struct vp_file *f,
                          const struct mat_target *t, struct kc_error *err)
{
	char what[PATH_MAX];
	const unsigned char *p = f->data;
	size_t left = f->len;
	kc_code rc = KC_OK;
	ssize_t n;
	int fd;

	snprintf(what, sizeof(what), "%s/%s", tmpname, f->path);
	for (const char *s = strchr(f->path, '/'); s != NULL; s = strchr(s + 1, '/')) {
		char dir[PATH_MAX];

		snprintf(dir, sizeof(dir), "%.*s", (int)(s - f->path), f->path);
		if ((rc = make_dir(volfd, dir, t, what, err)) != KC_OK)
			return rc;
	}
	fd = openat(volfd, f->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	            f->mode & 07777);
	if (fd < 0)
		return kc_fail_errno(err, KC_EIO, errno, "%s/%s: create", t->path, what);
	if (fchmod(fd, f->mode & 07777) != 0)
		rc = kc_fail_errno(err, KC_EIO, errno, "%s/%s: chmod", t->path, what);
	if (rc == KC_OK)
		rc = set_owner(fd, t, what, err);
	if (rc == KC_OK && t->con[0] != '\0')
		rc = selinux_label_fd(fd, t->con, what, err);
	while (rc == KC_OK && left > 0) {
		n = write(fd, p, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = kc_fail_errno(err, KC_EIO, errno, "%s/%s: write", t->path, what);
		else {
			p += n;
			left -= (size_t)n;
		}
	}
	if (rc == KC_OK && fsync(fd) != 0)
		rc = kc_fail_errno(err, KC_EIO, errno, "%s/%s: fsync", t->path, what);
	if (close(fd) != 0 && rc == KC_OK)
		rc = kc_fail_errno(err, KC_EIO, errno, "%s/%s: close", t->path, what);
	return rc;
}

/* fsync every directory of the new tree, so the swap publishes only durable content. */
static kc_code sync_dirs(int volfd, const struct vp_volume *v, const struct mat_target *t,
                         struct kc_error *err)
{
	struct names dirs = {0};
	kc_code rc = expected_entries(v, &dirs, err);

	for (size_t i = 0; rc == KC_OK && i < dirs.n; i++) {
		int fd;

		if (dirs.v[i][0] != 'd')
			continue;
		fd = openat(volfd, dirs.v[i] + 2, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fsync(fd) != 0)
			rc = kc_fail_errno(err, KC_EIO, errno, "%s/%s/%s: fsync", t->path, v->name,
			                   dirs.v[i] + 2);
		if (fd >= 0)
			close(fd);
	}
	names_free(&dirs);
	if (rc == KC_OK && fsync(volfd) != 0)
		rc = kc_fail_errno(err, KC_EIO, errno, "%s/%s: fsync", t->path, v->name);
	return rc;
}

/* Put the built tmp directory in place of v->name, atomically where possible. */
static kc_code swap_in(const struct mat_target *t, const char *tmp, const char *name,
                       struct kc_error *err)
{
	char old[NAME_MAX + 1];
	struct stat st;
	kc_code rc;

	if (fstatat(t->uidfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno != ENOENT)
			return kc_fail_errno(err, KC_EIO, errno, "%s/%s: stat", t->path, name);
		if (renameat(t->uidfd, tmp, t->uidfd, name) != 0)
			return kc_fail_errno(err, KC_EIO, errno, "%s/%s: rename into place",
			                     t->path, name);
		return KC_OK;
	}
#ifdef RENAME_EXCHANGE
	if (renameat2(t->uidfd, tmp, t->uidfd, name, RENAME_EXCHANGE) == 0)
		return fs_remove_tree_at(t->uidfd, t->path, tmp, err); /* tmp now holds the old */
	if (errno != EINVAL && errno != ENOSYS)
		return kc_fail_errno(err, KC_EIO, errno, "%s/%s: exchange", t->path, name);
#endif
	/* No exchange on this file system: a short window with no directory. */
	snprintf(old, sizeof(old), ".%s.old-%ld", name, (long)getpid());
	if ((rc = fs_remove_tree_at(t->uidfd, t->path, old, err)) != KC_OK)
		return rc;
	if (renameat(t->uidfd, name, t->uidfd, old) != 0)
		return kc_fail_errno(err, KC_EIO, errno, "%s/%s: rename aside", t->path, name);
	if (renameat(t->uidfd, tmp, t->uidfd, name) != 0)
		return kc_fail_errno(err, KC_EIO, errno, "%s/%s: rename into place", t->path, name);
	return fs_remove_tree_at(t->uidfd, t->path, old, err);
}

static kc_code build_volume(const struct mat_target *t, const struct vp_volume *v,
                            struct kc_error *err)
{
	char tmp[NAME_MAX + 1];
	kc_code rc;
	int volfd;

	snprintf(tmp, sizeof(tmp), ".%s.tmp-%ld", v->name, (long)getpid());
	if ((rc = fs_remove_tree_at(t->uidfd, t->path, tmp, err)) != KC_OK)
		return rc;
	if ((rc = make_dir(t->uidfd, tmp, t, tmp, err)) != KC_OK)
		return rc;
	volfd = openat(t->uidfd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (volfd < 0)
		return kc_fail_errno(err, KC_EIO, errno, "%s/%s: open", t->path, tmp);
	for (size_t i = 0; rc == KC_OK && i < v->nfiles; i++)
		rc = write_file(volfd, tmp, &v->files[i], t, err);
	if (rc == KC_OK)
		rc = sync_dirs(volfd, v, t, err);
	close(volfd);
	if (rc == KC_OK)
		rc = swap_in(t, tmp, v->name, err);
	if (rc != KC_OK)
		fs_remove_tree_at(t->uidfd, t->path, tmp, NULL);
	return rc;
}

static bool plan_has_volume(const struct vp_plan *plan, const char *name)
{
	for (size_t i = 0; i < plan->nvolumes; i++)
		if (strcmp(plan->volumes[i].name, name) == 0)
			return true;
	return false;
}

/*
 * Remove dirfd/name by renaming it to a hidden name first: a crash during
 * the removal then leaves a dot leftover (cleaned by the next call), never
 * a half-emptied directory under its real name.
 */
static kc_code remove_whole(int dirfd, const char *dirpath, const char *name, struct kc_error *err)
{
	char gone[NAME_MAX + 1];
	kc_code rc;

	if ((size_t)snprintf(gone, sizeof(gone), ".%s.removing-%ld", name, (long)getpid()) >=
	    sizeof(gone))
		return fs_remove_tree_at(dirfd, dirpath, name, err);
	if (renameat(dirfd, name, dirfd, gone) != 0) {
		if (errno == ENOENT)
			return KC_OK;
		return kc_fail_errno(err, KC_EIO, errno, "%s/%s: rename for removal", dirpath,
		                     name);
	}
	if ((rc = fs_fsync_dir(dirfd, dirpath, err)) != KC_OK)
		return rc;
	return fs_remove_tree_at(dirfd, dirpath, gone, err);
}

/*
 * Remove the entries of dirfd that keep() rejects; dot entries (leftovers of
 * an interrupted build or removal) always go. *removed counts the others.
 */
static kc_code prune_dir(int dirfd, const char *dirpath, bool (*keep)(const char *, const void *),
                         const void *arg, size_t *removed, struct kc_error *err)
{
	struct dirent *de;
	kc_code rc = KC_OK;
	DIR *d;

	if ((rc = fs_dir_stream(dirfd, dirpath, &d, err)) != KC_OK)
		return rc;
	while (rc == KC_OK && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (de->d_name[0] == '.') {
			rc = fs_remove_tree_at(dirfd, dirpath, de->d_name, err);
			continue;
		}
		if (keep(de->d_name, arg))
			continue;
		rc = remove_whole(dirfd, dirpath, de->d_name, err);
		if (rc == KC_OK && removed != NULL)
			(*removed)++;
	}
	closedir(d);
	return rc;
}

static bool keep_planned(const char *name, const void *plan)
{
	return plan_has_volume(plan, name);
}

static bool keep_all(const char *name, const void *arg)
{
	return true;
}

/* Open <state_dir>/volumes, creating it (and state_dir) 0700 when create is set. */
static kc_code open_volumes_dir(const char *state_dir, bool create, int *fd, char *path,
                                size_t pathsz, struct kc_error *err)
{
	kc_code rc;

	if ((size_t)snprintf(path, pathsz, "%s/volumes", state_dir) >= pathsz)
		return kc_fail(err, KC_EINVAL, "%s: state directory path too long", state_dir);
	if (create && (rc = fs_mkdir_p(path, MAT_PRIVATE_DIR_MODE, err)) != KC_OK)
		return rc;
	return fs_open_dir(path, fd, err);
}

static void target_owners(struct mat_target *t, const struct vp_plan *plan)
{
	uid_t me = geteuid();
	gid_t mygroup = getegid();

	t->uid = plan->uid_owner >= 0 ? (uid_t)plan->uid_owner : me;
	t->gid = plan->gid_owner >= 0 ? (gid_t)plan->gid_owner : mygroup;
	/* New files are already ours: only a different id needs fchown (and root). */
	t->chown_uid = t->uid == me ? (uid_t)-1 : t->uid;
	t->chown_gid = t->gid == mygroup ? (gid_t)-1 : t->gid;
}

kc_code materialise_plan(const char *state_dir, const struct vp_plan *plan,
                         struct mat_result *result, struct kc_error *err)
{
	struct mat_result local = {0};
	struct mat_target t;
	char volpath[PATH_MAX];
	bool created = false;
	kc_code rc;
	int volfd = -1;

	if (result == NULL)
		result = &local;
	memset(result, 0, sizeof(*result));
	memset(&t, 0, sizeof(t));
	t.uidfd = -1;
	if ((rc = check_plan(plan, err)) != KC_OK)
		return rc;
	target_owners(&t, plan);
	selinux_volume_context(plan->selinux_level, t.con, sizeof(t.con));
	if ((rc = open_volumes_dir(state_dir, true, &volfd, volpath, sizeof(volpath), err)) !=
	    KC_OK)
		return rc;
	snprintf(t.path, sizeof(t.path), "%s/%s", volpath, plan->uid);
	if (mkdirat(volfd, plan->uid, MAT_PRIVATE_DIR_MODE) == 0)
		created = true;
	else if (errno != EEXIST) {
		rc = kc_fail_errno(err, KC_EIO, errno, "%s: mkdir", t.path);
		goto out;
	}
	if ((t.uidfd = openat(volfd, plan->uid, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) <
	    0) {
		rc = kc_fail_errno(err, KC_EIO, errno, "%s: open directory", t.path);
		goto out;
	}
	if ((rc = prune_dir(volfd, volpath, keep_all, NULL, NULL, err)) != KC_OK ||
	    (rc = prune_dir(t.uidfd, t.path, keep_planned, plan, &result->volumes_removed, err)) !=
	        KC_OK)
		goto out;
	for (size_t i = 0; rc == KC_OK && i < plan->nvolumes; i++) {
		bool same;

		rc = volume_matches(&t, &plan->volumes[i], &same, err);
		if (rc != KC_OK)
			break;
		if (same) {
			result->volumes_kept++;
			continue;
		}
		if ((rc = build_volume(&t, &plan->volumes[i], err)) == KC_OK)
			result->volumes_written++;
	}
	if (rc == KC_OK && (result->volumes_written > 0 || result->volumes_removed > 0))
		rc = fs_fsync_dir(t.uidfd, t.path, err);
	/* An unchanged pod costs no fsync at all. */
	if (rc == KC_OK && created)
		rc = fs_fsync_dir(volfd, volpath, err);
out:
	if (t.uidfd >= 0)
		close(t.uidfd);
	close(volfd);
	return rc;
}

kc_code materialise_remove(const char *state_dir, const char *uid, struct kc_error *err)
{
	char volpath[PATH_MAX];
	kc_code rc;
	int volfd;

	if (!k8s_uuid_valid(uid))
		return kc_fail(err, KC_EINVAL, "volumes: %s: not a lowercase UUID", uid);
	rc = open_volumes_dir(state_dir, false, &volfd, volpath, sizeof(volpath), err);
	if (rc == KC_ENOTFOUND)
		return KC_OK;
	if (rc != KC_OK)
		return rc;
	rc = prune_dir(volfd, volpath, keep_all, NULL, NULL, err);
	if (rc == KC_OK)
		rc = remove_whole(volfd, volpath, uid, err);
	if (rc == KC_OK)
		rc = fs_fsync_dir(volfd, volpath, err);
	close(volfd);
	return rc;
}

kc_code materialise_list_uids(const char *state_dir, struct mat_uid_list *out, struct kc_error *err)
{
	char volpath[PATH_MAX];
	struct names found = {0};
	struct dirent *de;
	struct stat st;
	kc_code rc;
	DIR *d;
	int volfd;

	out->uids = NULL;
	out->count = 0;
	rc = open_volumes_dir(state_dir, false, &volfd, volpath, sizeof(volpath), err);
	if (rc == KC_ENOTFOUND)
		return KC_OK;
	if (rc != KC_OK)
		return rc;
	if ((d = fdopendir(volfd)) == NULL) {
		rc = kc_fail_errno(err, KC_EIO, errno, "%s: read directory", volpath);
		close(volfd);
		return rc;
	}
	while (rc == KC_OK && (de = readdir(d)) != NULL) {
		if (!k8s_uuid_valid(de->d_name) ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		if (!names_add(&found, 'u', de->d_name, NULL, 0))
			rc = kc_fail(err, KC_ENOMEM, "out of memory");
	}
	closedir(d);
	if (rc != KC_OK) {
		names_free(&found);
		return rc;
	}
	names_sort_unique(&found);
	/* Drop the "u:" tag names_add put in front. */
	for (size_t i = 0; i < found.n; i++)
		memmove(found.v[i], found.v[i] + 2, strlen(found.v[i] + 2) + 1);
	out->uids = found.v;
	out->count = found.n;
	return KC_OK;
}

void mat_uid_list_free(struct mat_uid_list *list)
{
	for (size_t i = 0; i < list->count; i++)
		free(list->uids[i]);
	free(list->uids);
	list->uids = NULL;
	list->count = 0;
}
