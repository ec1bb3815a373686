/*
 * fs_watch.c: inotify watches on the flag file's directory, the staticPodPath and
 * the checkpoint directory, through libinotifytools (see fs_watch.h for why the
 * fd is found the way it is and why watches are added on it directly).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <inotifytools/inotifytools.h>

#include "fs_watch.h"
#include "kc_names.h"

#define WATCH_MAX_TARGETS 3
#define WATCH_MAX_FDS     4096

/* What happens in a watched directory that can matter to the agent. */
#define DIR_EVENTS                                                                                 \
	(IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE_SELF |   \
	 IN_MOVE_SELF | IN_ONLYDIR | IN_EXCL_UNLINK)
#define SELF_GONE (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT)

struct watch_target {
	char path[PATH_MAX];       /* the directory wanted */
	char armed[PATH_MAX];      /* the directory watched: path or its nearest ancestor */
	char filter[NAME_MAX + 1]; /* only this name matters in path ("" = any) */
	unsigned bit;              /* WATCH_*_CHANGED */
	int wd;                    /* -1: none */
};

struct fs_watch {
	int fd; /* libinotifytools' inotify fd (owned by the library) */
	struct watch_target targets[WATCH_MAX_TARGETS];
	size_t ntargets;
};

/* libinotifytools is one global instance: at most one struct fs_watch. */
static bool watch_in_use;

/* The agent's own temporary files: fsutil's ".<name>.tmp" of its files. */
static bool own_temp_name(const char *name)
{
	return strncmp(name, KC_MANIFEST_TEMP_PREFIX, strlen(KC_MANIFEST_TEMP_PREFIX)) == 0 ||
	       strncmp(name, KC_CKPT_TEMP_PREFIX, strlen(KC_CKPT_TEMP_PREFIX)) == 0;
}

/* Mark in seen[] every fd of this process that is an inotify instance. */
static kc_code inotify_fds(bool *seen, struct kc_error *err)
{
	char link[PATH_MAX], target[64];
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");
	ssize_t n;
	long fd;

	if (d == NULL)
		return kc_fail_errno(err, KC_EIO, errno, "/proc/self/fd: open");
	while ((de = readdir(d)) != NULL) {
		fd = strtol(de->d_name, NULL, 10);
		if (de->d_name[0] < '0' || de->d_name[0] > '9' || fd < 0 || fd >= WATCH_MAX_FDS)
			continue;
		snprintf(link, sizeof(link), "/proc/self/fd/%s", de->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, "anon_inode:inotify") == 0)
			seen[fd] = true;
	}
	closedir(d);
	return KC_OK;
}

/* Initialise the library and find its fd: the inotify fd that is new. */
static kc_code init_library(int *fd_out, struct kc_error *err)
{
	bool before[WATCH_MAX_FDS] = {false}, after[WATCH_MAX_FDS] = {false};
	int fd, found = -1;
	kc_code rc;

	if ((rc = inotify_fds(before, err)) != KC_OK)
		return rc;
	if (!inotifytools_initialize())
		return kc_fail_errno(err, KC_EIO, inotifytools_error(), "inotify: initialise");
	if ((rc = inotify_fds(after, err)) != KC_OK)
		goto fail;
	for (fd = 0; fd < WATCH_MAX_FDS; fd++) {
		if (!after[fd] || before[fd])
			continue;
		if (found >= 0) {
			rc = kc_fail(err, KC_EINTERNAL, "inotify: cannot tell the library's fd");
			goto fail;
		}
		found = fd;
	}
	if (found < 0) {
		rc = kc_fail(err, KC_EINTERNAL, "inotify: library fd not found in /proc/self/fd");
		goto fail;
	}
	if (fcntl(found, F_SETFD, FD_CLOEXEC) != 0) {
		rc = kc_fail_errno(err, KC_EIO, errno, "inotify: set close-on-exec");
		goto fail;
	}
	*fd_out = found;
	return KC_OK;
fail:
	inotifytools_cleanup();
	return rc;
}

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Nearest existing directory among path and its ancestors ("/" at worst). */
static void nearest_dir(const char *path, char *out, size_t outsz)
{
	char *slash;

	snprintf(out, outsz, "%s", path);
	while (!is_dir(out)) {
		slash = strrchr(out, '/');
		if (slash == NULL) {
			snprintf(out, outsz, ".");
			return;
		}
		if (slash == out) {
			out[1] = '\0';
			return;
		}
		*slash = '\0';
	}
}

/* Name of the child of t->armed on the way to t->path ("" when armed == path). */
static const char *next_component(const struct watch_target *t, char *buf, size_t bufsz)
{
	size_t alen = strlen(t->armed);
	const char *rest, *end;

	if (strcmp(t->armed, t->path) == 0)
		return "";
	rest = t->path + alen;
	if (alen > 1 || t->armed[0] != '/')
		rest++; /* skip the '/' after armed (none after the root "/") */
	end = strchr(rest, '/');
	snprintf(buf, bufsz, "%.*s", end ? (int)(end - rest) : (int)strlen(rest), rest);
	return buf;
}

static bool wd_shared(const struct fs_watch *w, const struct watch_target *t)
{
	size_t i;

	for (i = 0; i < w->ntargets; i++)
		if (&w->targets[i] != t && w->targets[i].wd == t->wd)
			return true;
	return false;
}

/*
 * Watch t->path, or its nearest existing ancestor while it does not exist.
 * Returns true when what is watched changed (the directory appeared or went).
 */
static bool arm(struct fs_watch *w, struct watch_target *t, struct kc_error *err, kc_code *rc)
{
	char want[PATH_MAX];
	bool moved = false;
	int wd, tries;

	*rc = KC_OK;
	/* Retry while the directory appears between the lookup and the watch. */
	for (tries = 0; tries < 8; tries++) {
		nearest_dir(t->path, want, sizeof(want));
		if (t->wd >= 0 && strcmp(want, t->armed) == 0)
			return moved;
		/* Fails harmlessly when the kernel dropped the watch already. */
		if (t->wd >= 0 && !wd_shared(w, t))
			inotify_rm_watch(w->fd, t->wd);
		t->wd = -1;
		moved = moved || strcmp(want, t->armed) != 0;
		snprintf(t->armed, sizeof(t->armed), "%s", want);
		wd = inotify_add_watch(w->fd, t->armed, DIR_EVENTS);
		if (wd < 0) {
			if (errno == ENOENT || errno == ENOTDIR)
				continue; /* removed meanwhile: look again */
			*rc = kc_fail_errno(err, KC_EIO, errno, "%s: inotify watch", t->armed);
			return true;
		}
		t->wd = wd;
	}
	return moved;
}

/* A doubled "/" would hide the next component on the way: "//" -> "/". */
static void squeeze_slashes(char *p)
{
	char *out = p;

	for (; *p != '\0'; p++)
		if (!(*p == '/' && p[1] == '/'))
			*out++ = *p;
	*out = '\0';
}

static kc_code add_target(struct fs_watch *w, const char *dir, const char *filter, unsigned bit,
                          struct kc_error *err)
{
	struct watch_target *t = &w->targets[w->ntargets];
	char cwd[PATH_MAX];
	size_t len;
	kc_code rc;

	if (dir[0] == '\0' || strlen(filter) >= sizeof(t->filter))
		return kc_fail(err, KC_EINVAL, "%s: bad path to watch", dir);
	/* Absolute, so the walk up to the nearest existing ancestor ends at "/". */
	if (dir[0] != '/' && getcwd(cwd, sizeof(cwd)) == NULL)
		return kc_fail_errno(err, KC_EIO, errno, "%s: current directory", dir);
	if (snprintf(t->path, sizeof(t->path), "%s%s%s", dir[0] == '/' ? "" : cwd,
	             dir[0] == '/' ? "" : "/", dir) >= (int)sizeof(t->path))
		return kc_fail(err, KC_EINVAL, "%s: path too long to watch", dir);
	squeeze_slashes(t->path);
	len = strlen(t->path);
	while (len > 1 && t->path[len - 1] == '/')
		t->path[--len] = '\0';
	snprintf(t->filter, sizeof(t->filter), "%s", filter);
	t->armed[0] = '\0';
	t->bit = bit;
	t->wd = -1;
	w->ntargets++;
	arm(w, t, err, &rc);
	return rc;
}

/* The flag file's directory, watched for the flag file's name only. */
static kc_code add_flag_target(struct fs_watch *w, const char *flag_file, struct kc_error *err)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(flag_file, '/');

	if (flag_file[0] == '\0' || (slash != NULL && slash[1] == '\0'))
		return kc_fail(err, KC_EINVAL, "%s: flag file: not a file path", flag_file);
	if (slash == NULL)
		return add_target(w, ".", flag_file, FS_WATCH_FLAG_CHANGED, err);
	if (slash == flag_file)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - flag_file), flag_file);
	return add_target(w, dir, slash + 1, FS_WATCH_FLAG_CHANGED, err);
}

kc_code fs_watch_open(const char *flag_file, const char *static_dir, const char *state_dir,
                      struct fs_watch **out, struct kc_error *err)
{
	struct fs_watch *w;
	kc_code rc = KC_OK;

	*out = NULL;
	if (watch_in_use)
		return kc_fail(err, KC_EINTERNAL, "inotify: a watch is already open");
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return kc_fail(err, KC_ENOMEM, "inotify: out of memory");
	if ((rc = init_library(&w->fd, err)) != KC_OK) {
		free(w);
		return rc;
	}
	watch_in_use = true;
	if (flag_file != NULL)
		rc = add_flag_target(w, flag_file, err);
	if (rc == KC_OK && static_dir != NULL)
		rc = add_target(w, static_dir, "", FS_WATCH_STATIC_DIR_CHANGED, err);
	if (rc == KC_OK && state_dir != NULL)
		rc = add_target(w, state_dir, "", FS_WATCH_STATE_DIR_CHANGED, err);
	if (rc != KC_OK) {
		fs_watch_close(w);
		return rc;
	}
	*out = w;
	return KC_OK;
}

void fs_watch_close(struct fs_watch *w)
{
	if (w == NULL)
		return;
	inotifytools_cleanup(); /* closes the fd; the kernel drops its watches */
	watch_in_use = false;
	free(w);
}

int fs_watch_fd(const struct fs_watch *w)
{
	return w->fd;
}

/*
 * One event on target t: which change it reports, and whether t must be
 * re-armed (its directory, or the ancestor's child on the way, came or went).
 */
static unsigned classify(const struct watch_target *t, const struct inotify_event *ev, bool *rearm,
                         bool *gone)
{
	char buf[NAME_MAX + 1];
	const char *name = ev->len > 0 ? ev->name : "";
	const char *next;

	if (ev->mask & SELF_GONE) {
		/* The watched directory itself went: watch afresh, and rescan. */
		*rearm = *gone = true;
		return t->bit;
	}
	next = next_component(t, buf, sizeof(buf));
	if (next[0] != '\0') {
		/* Watching an ancestor: only the next component on the way matters. */
		if (strcmp(name, next) == 0)
			*rearm = true;
		return 0;
	}
	if (name[0] == '\0' || own_temp_name(name))
		return 0;
	if (t->filter[0] != '\0' && strcmp(name, t->filter) != 0)
		return 0;
	return t->bit;
}

kc_code fs_watch_drain(struct fs_watch *w, unsigned *changed, struct kc_error *err)
{
	bool rearm[WATCH_MAX_TARGETS] = {false}, gone[WATCH_MAX_TARGETS] = {false};
	struct inotify_event *ev;
	kc_code rc = KC_OK, arc;
	size_t i;

	*changed = 0;
	/* Timeout 0: select() with a zero timeout, so this never blocks. */
	while ((ev = inotifytools_next_events(0, 1)) != NULL) {
		if (ev->mask & IN_Q_OVERFLOW) {
			*changed |= FS_WATCH_OVERFLOW;
			for (i = 0; i < w->ntargets; i++) {
				*changed |= w->targets[i].bit;
				rearm[i] = true;
			}
			continue;
		}
		for (i = 0; i < w->ntargets; i++)
			if (w->targets[i].wd == ev->wd)
				*changed |= classify(&w->targets[i], ev, &rearm[i], &gone[i]);
	}
	if (inotifytools_error() != 0 && inotifytools_error() != EAGAIN &&
	    inotifytools_error() != EINTR)
		rc = kc_fail_errno(err, KC_EIO, inotifytools_error(), "inotify: read events");
	for (i = 0; i < w->ntargets; i++) {
		if (!rearm[i])
			continue;
		if (gone[i]) {
			if (!wd_shared(w, &w->targets[i]))
				inotify_rm_watch(w->fd, w->targets[i].wd);
			w->targets[i].wd = -1;
		}
		if (arm(w, &w->targets[i], rc == KC_OK ? err : NULL, &arc))
			*changed |= w->targets[i].bit;
		if (arc != KC_OK && rc == KC_OK)
			rc = arc;
	}
	return rc;
}
