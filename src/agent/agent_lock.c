/*
 * agent_lock.c: the agent's claim on its state dir and staticPodPath (see
 * agent_lock.h).
 *
 * The state dir has a lock file of its own. The staticPodPath gets no file
 * (the kubelet reads every non-dot file there, and a dot file of ours would
 * be one more thing to own): the directory itself is locked, through an fd
 * of it (flock works on a directory fd on Linux). That catches the second
 * agent that shares only the staticPodPath (another state dir), which a lock
 * in the state dir could not see. A lock dies with its process, so a crash
 * never leaves a stale claim behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "agent_lock.h"
#include "fsutil.h"
#include "kc_log.h"
#include "kc_names.h"

void agent_lock_init(struct agent_lock *l)
{
	memset(l, 0, sizeof(*l));
	l->state_fd = -1;
	l->static_fd = -1;
}

/*
 * /proc/locks lines: "1: FLOCK  ADVISORY  WRITE 4242 08:01:131 0 EOF", the
 * device as hex major:minor. Only the holder's pid is wanted, for the message.
 */
pid_t agent_lock_holder(const char *locks_path, dev_t dev, ino_t ino)
{
	char line[512], kind[32];
	unsigned maj, mnr;
	unsigned long long inode;
	long pid;
	pid_t found = 0;
	FILE *f;

	if ((f = fopen(locks_path, "re")) == NULL)
		return 0;
	while (found == 0 && fgets(line, sizeof(line), f) != NULL) {
		const char *p = strchr(line, ':');

		/* Blocked waiters ("1: -> FLOCK ...") are not holders. */
		if (p == NULL || strstr(p, "->") != NULL)
			continue;
		if (sscanf(p + 1, " %31s %*s %*s %ld %x:%x:%llu", kind, &pid, &maj, &mnr, &inode) ==
		        5 &&
		    strcmp(kind, "FLOCK") == 0 && maj == major(dev) && mnr == minor(dev) &&
		    inode == (unsigned long long)ino && pid > 0)
			found = (pid_t)pid;
	}
	fclose(f);
	return found;
}

/* flock fd, or say who holds it: what, path name it in the message. */
static kc_code take(int fd, const char *what, const char *path, struct kc_error *err)
{
	char holder[64] = "";
	struct stat st;
	pid_t pid;

	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return KC_OK;
	/*
	 * A file system without flock (some network ones, ENOLCK) must not stop
	 * the agent: it runs unguarded, and says so (once per directory: the fd
	 * is kept as if locked, so it is not tried again every turn).
	 */
	if (errno != EWOULDBLOCK) {
		kc_log(KC_LOG_WARNING,
		       "%s %s: cannot lock (%s): a second agent on it would not be "
		       "stopped",
		       what, path, strerror(errno));
		return KC_OK;
	}
	if (fstat(fd, &st) == 0 &&
	    (pid = agent_lock_holder("/proc/locks", st.st_dev, st.st_ino)) > 0)
		snprintf(holder, sizeof(holder), " (pid %ld)", (long)pid);
	return kc_fail(err, KC_EIO,
	               "%s %s is locked by another kubelet-checkpoint agent%s: two agents on "
	               "one %s would undo each other's bridges; stop the other one or give "
	               "this one its own directories",
	               what, path, holder, what);
}

/* Crash leftovers of checkpoint writes: ours alone to remove once the lock is held. */
static void clean_checkpoint_temps(const char *state_dir)
{
	char pods[4096];
	struct kc_error err;
	size_t removed = 0;
	int dfd;

	snprintf(pods, sizeof(pods), "%s/" KC_STATE_PODS_DIR, state_dir);
	if (fs_open_dir(pods, &dfd, &err) != KC_OK)
		return; /* not there yet: nothing left over */
	if (fs_remove_temps_at(dfd, pods, KC_CKPT_FILE_PREFIX, &removed, &err) != KC_OK)
		kc_log(KC_LOG_WARNING, "%s", err.msg);
	else if (removed > 0)
		kc_log(KC_LOG_INFO, "%s: removed %zu stale temp file(s)", pods, removed);
	close(dfd);
}

kc_code agent_lock_state(struct agent_lock *l, const char *state_dir, struct kc_error *err)
{
	char path[4096], text[32];
	char *dir;
	kc_code rc;
	int fd, n;

	if (l->state_fd >= 0 && strcmp(l->state_dir, state_dir) == 0)
		return KC_OK;
	if ((rc = fs_mkdir_p(state_dir, 0700, err)) != KC_OK)
		return kc_error_prefix(err, "state dir");
	snprintf(path, sizeof(path), "%s/" AGENT_LOCK_FILE, state_dir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600)) < 0)
		return kc_fail_errno(err, KC_EIO, errno, "%s: open lock file", path);
	if ((rc = take(fd, "state dir lock", path, err)) != KC_OK ||
	    (dir = strdup(state_dir)) == NULL) {
		close(fd);
		return rc != KC_OK ? rc : kc_fail(err, KC_ENOMEM, "out of memory");
	}
	/* For people: /proc/locks is what the next agent reads. */
	n = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)n, 0) != n)
		kc_log(KC_LOG_WARNING, "%s: cannot record our pid: %s", path, strerror(errno));
	if (l->state_fd >= 0)
		close(l->state_fd);
	free(l->state_dir);
	l->state_fd = fd;
	l->state_dir = dir;
	clean_checkpoint_temps(state_dir);
	return KC_OK;
}

static void release_static(struct agent_lock *l)
{
	if (l->static_fd >= 0)
		close(l->static_fd);
	free(l->static_path);
	l->static_fd = -1;
	l->static_path = NULL;
}

kc_code agent_lock_static_dir(struct agent_lock *l, const char *path, struct kc_error *err)
{
	struct statvfs vfs;
	struct stat st;
	char *copy;
	kc_code rc;
	int fd;

	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
		release_static(l); /* gone: the one that comes back is locked then */
		return KC_OK;
	}
	if (l->static_fd >= 0 && st.st_dev == l->static_dev && st.st_ino == l->static_ino &&
	    strcmp(l->static_path, path) == 0)
		return KC_OK;
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return KC_OK; /* unreadable: the bridge says why, and writes nothing */
	/*
	 * Read-only here (a read-only bind mount, or ProtectSystem= after the
	 * directory was replaced): no agent writes there, so there is nothing
	 * to guard, and an fd held on it would keep the admin from unmounting it.
	 */
	if (fstatvfs(fd, &vfs) == 0 && (vfs.f_flag & ST_RDONLY) != 0) {
		close(fd);
		release_static(l);
		return KC_OK;
	}
	if (fstat(fd, &st) != 0)
		rc = kc_fail_errno(err, KC_EIO, errno, "%s: stat", path);
	else if ((rc = take(fd, "staticPodPath", path, err)) == KC_OK &&
	         (copy = strdup(path)) == NULL)
		rc = kc_fail(err, KC_ENOMEM, "out of memory");
	if (rc != KC_OK) {
		close(fd);
		return rc;
	}
	release_static(l);
	l->static_fd = fd;
	l->static_path = copy;
	l->static_dev = st.st_dev;
	l->static_ino = st.st_ino;
	return KC_OK;
}

void agent_lock_release(struct agent_lock *l)
{
	release_static(l);
	if (l->state_fd >= 0)
		close(l->state_fd);
	free(l->state_dir);
	agent_lock_init(l);
}
