/*
 * tu_tree.c: file tree helpers for tests (see tu_tree.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "tu_tree.h"

static char *full_path(const char *root, const char *rel)
{
	char *path, *p;

	if (asprintf(&path, "%s/%s", root, rel) < 0)
		abort();
	for (p = path + strlen(root) + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(path, 0755) != 0 && errno != EEXIST) {
			perror(path);
			abort();
		}
		*p = '/';
	}
	return path;
}

char *tu_put(const char *root, const char *rel, const char *content)
{
	char *path = full_path(root, rel);

	tu_write_file(path, content, strlen(content), 0644);
	return path;
}

void tu_put_link(const char *root, const char *rel, const char *target)
{
	char *path = full_path(root, rel);

	if (symlink(target, path) != 0) {
		perror(path);
		abort();
	}
	free(path);
}

void tu_fake_process_as(const char *proc, int pid, const char *const *argv,
                        const struct tu_identity *id)
{
	char rel[64], *path, *buf = NULL, *exe;
	size_t len = 0, n;
	FILE *f;

	snprintf(rel, sizeof(rel), "%d/cmdline", pid);
	path = full_path(proc, rel);
	if ((f = open_memstream(&buf, &len)) == NULL)
		abort();
	for (; *argv != NULL; argv++) {
		n = strlen(*argv) + 1;
		if (fwrite(*argv, 1, n, f) != n)
			abort();
	}
	fclose(f);
	tu_write_file(path, buf, len, 0444);
	free(buf);
	free(path);

	/* status as the kernel prints it: real, effective, saved and fs uid. */
	snprintf(rel, sizeof(rel), "%d/status", pid);
	if (asprintf(&buf, "Name:\tkubelet\nState:\tS (sleeping)\nUid:\t%s\nGid:\t0\t0\t0\t0\n",
	             id->uids) < 0)
		abort();
	free(tu_put(proc, rel, buf));
	free(buf);
	/* exe: a link to a file of its own, with the mode and owner asked for. */
	snprintf(rel, sizeof(rel), "bin/%d/kubelet", pid);
	exe = tu_put(proc, rel, "#!binary\n");
	if (chmod(exe, id->exe_mode) != 0 || chown(exe, id->exe_uid, 0) != 0) {
		perror(exe);
		abort();
	}
	snprintf(rel, sizeof(rel), "%d/exe", pid);
	tu_put_link(proc, rel, exe);
	free(exe);
	if (id->cgroup != NULL) {
		snprintf(rel, sizeof(rel), "%d/cgroup", pid);
		free(tu_put(proc, rel, id->cgroup));
	}
}

const struct tu_identity tu_root_identity = {"0\t0\t0\t0", 0755, 0, NULL};

void tu_fake_process(const char *proc, int pid, const char *const *argv)
{
	tu_fake_process_as(proc, pid, argv, &tu_root_identity);
}
