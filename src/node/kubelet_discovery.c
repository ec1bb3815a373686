/*
 * kubelet_discovery.c: find the running kubelet in /proc and read the flags
 * and the KubeletConfiguration the agent inherits (see kubelet_discovery.h).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "doc.h"
#include "kc_buf.h"
#include "kc_log.h"
#include "kc_path.h"
#include "kubelet_discovery.h"

/* The kubelet flags we read, and where each lands in struct kubelet_cmdline. */
static const struct {
	const char *name;
	size_t offset;
	bool is_path;
	bool is_bool; /* pflag boolean: "--flag" alone is "true", a value only with "=" */
} kubelet_flags[] = {
    {"kubeconfig", offsetof(struct kubelet_cmdline, kubeconfig), true, false},
    {"config", offsetof(struct kubelet_cmdline, config), true, false},
    {"config-dir", offsetof(struct kubelet_cmdline, config_dir), true, false},
    {"hostname-override", offsetof(struct kubelet_cmdline, hostname_override), false, false},
    {"pod-manifest-path", offsetof(struct kubelet_cmdline, pod_manifest_path), true, false},
    {"container-runtime-endpoint", offsetof(struct kubelet_cmdline, runtime_endpoint), false,
     false},
    {"cgroup-root", offsetof(struct kubelet_cmdline, cgroup_root), false, false},
    {"cgroup-driver", offsetof(struct kubelet_cmdline, cgroup_driver), false, false},
    {"cgroups-per-qos", offsetof(struct kubelet_cmdline, cgroups_per_qos), false, true},
    {"image-credential-provider-config",
     offsetof(struct kubelet_cmdline, image_credential_provider_config), true, false},
};
#define N_KUBELET_FLAGS (sizeof(kubelet_flags) / sizeof(kubelet_flags[0]))

static char **flag_slot(struct kubelet_cmdline *c, size_t i)
{
	return (char **)((char *)c + kubelet_flags[i].offset);
}

static const char *flag_value(const struct kubelet_cmdline *c, size_t i)
{
	return *(char *const *)((const char *)c + kubelet_flags[i].offset);
}

void kubelet_cmdline_free(struct kubelet_cmdline *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < N_KUBELET_FLAGS; i++) {
		free(*flag_slot(c, i));
		*flag_slot(c, i) = NULL;
	}
}

void kubelet_info_free(struct kubelet_info *ki)
{
	if (ki == NULL)
		return;
	kubelet_cmdline_free(&ki->flags);
	ki->pid = 0;
	ki->in_unit = false;
}

/* pflag's normalisation: "--pod_manifest_path" is "--pod-manifest-path". */
static int flag_index(const char *name, size_t len)
{
	size_t i, j;

	for (i = 0; i < N_KUBELET_FLAGS; i++) {
		const char *want = kubelet_flags[i].name;

		if (strlen(want) != len)
			continue;
		for (j = 0; j < len; j++)
			if ((name[j] == '_' ? '-' : name[j]) != want[j])
				break;
		if (j == len)
			return (int)i;
	}
	return -1;
}

/* Set a flag to value[0..len); pflag lets the last occurrence win, and "" means unset. */
static kc_code set_flag(struct kubelet_cmdline *out, int idx, const char *value, size_t len,
                        struct kc_error *err)
{
	char **slot = flag_slot(out, (size_t)idx);
	char *copy = NULL;

	if (len > 0 && (copy = strndup(value, len)) == NULL)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	free(*slot);
	*slot = copy;
	return KC_OK;
}

kc_code kubelet_parse_cmdline(const char *data, size_t len, bool *is_kubelet,
                              struct kubelet_cmdline *out, struct kc_error *err)
{
	const char *arg, *next, *end = data + len, *base, *eq;
	struct kubelet_cmdline flags = {0};
	size_t arglen;
	int idx;
	kc_code rc;

	*is_kubelet = false;
	if (len == 0)
		return KC_OK; /* kernel thread or zombie */
	arglen = strnlen(data, len);
	base = memrchr(data, '/', arglen);
	base = base == NULL ? data : base + 1;
	if ((size_t)(data + arglen - base) != strlen("kubelet") ||
	    memcmp(base, "kubelet", strlen("kubelet")) != 0)
		return KC_OK;
	*is_kubelet = true;

	/* The last argument may lack its NUL (a truncated or rewritten cmdline). */
	for (arg = data + arglen + 1; arg < end; arg = next) {
		arglen = strnlen(arg, (size_t)(end - arg));
		next = arg + arglen + 1;
		if (arglen == 2 && memcmp(arg, "--", 2) == 0)
			break; /* the rest are arguments, not flags */
		if (arglen < 3 || arg[0] != '-' || arg[1] != '-')
			continue; /* a value, a positional or a shorthand such as -v=2 */
		eq = memchr(arg, '=', arglen);
		idx = flag_index(arg + 2, (size_t)((eq != NULL ? eq : arg + arglen) - (arg + 2)));
		if (idx < 0)
			continue;
		if (eq != NULL) {
			rc = set_flag(&flags, idx, eq + 1, (size_t)(arg + arglen - eq - 1), err);
		} else if (kubelet_flags[idx].is_bool) {
			rc = set_flag(&flags, idx, "true", 4,
			              err); /* the next argument is not its */
		} else if (next >= end) {
			rc = kc_fail(err, KC_EINVAL, "kubelet flag --%s has no value",
			             kubelet_flags[idx].name);
		} else {
			/* pflag takes the next argument as the value, whatever it looks like. */
			arglen = strnlen(next, (size_t)(end - next));
			rc = set_flag(&flags, idx, next, arglen, err);
			next += arglen + 1;
		}
		if (rc != KC_OK)
			goto fail;
	}
	*out = flags;
	return KC_OK;
fail:
	kubelet_cmdline_free(&flags);
	return rc;
}

static bool same_string(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static bool same_flags(const struct kubelet_cmdline *a, const struct kubelet_cmdline *b)
{
	size_t i;

	for (i = 0; i < N_KUBELET_FLAGS; i++)
		if (!same_string(flag_value(a, i), flag_value(b, i)))
			return false;
	return true;
}

/* readlink into a new string; NULL when the link cannot be read. */
static char *read_link(const char *proc_root, const char *pid, const char *what)
{
	char path[PATH_MAX], target[PATH_MAX];
	ssize_t n;

	if (snprintf(path, sizeof(path), "%s/%s/%s", proc_root, pid, what) >= (int)sizeof(path))
		return NULL;
	if ((n = readlink(path, target, sizeof(target) - 1)) < 0)
		return NULL;
	target[n] = '\0';
	return strdup(target);
}

/* A process in another PID namespace is some container's kubelet, not ours. */
static bool other_pid_namespace(const char *proc_root, const char *pid, const char *own_ns)
{
	char *ns;
	bool other;

	if (own_ns == NULL || (ns = read_link(proc_root, pid, "ns/pid")) == NULL)
		return false; /* unknown: count it */
	other = strcmp(ns, own_ns) != 0;
	free(ns);
	return other;
}

/* The kubelet resolves its relative flag paths against its own cwd. */
static kc_code absolute_flags(const char *proc_root, const char *pid, struct kubelet_cmdline *flags,
                              struct kc_error *err)
{
	char *cwd = NULL, *abs, **slot;
	size_t i;
	kc_code rc = KC_OK;

	for (i = 0; i < N_KUBELET_FLAGS && rc == KC_OK; i++) {
		slot = flag_slot(flags, i);
		if (!kubelet_flags[i].is_path || *slot == NULL || (*slot)[0] == '/')
			continue;
		if (cwd == NULL && (cwd = read_link(proc_root, pid, "cwd")) == NULL) {
			rc =
			    kc_fail(err, KC_EINVAL,
			            "kubelet pid %s: --%s=%s is relative and the kubelet's working "
			            "directory cannot be read",
			            pid, kubelet_flags[i].name, *slot);
			break;
		}
		if ((rc = kc_path_join(cwd, *slot, &abs, err)) == KC_OK) {
			free(*slot);
			*slot = abs;
		}
	}
	free(cwd);
	return rc;
}

static bool is_pid_name(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* Read a small file of an open /proc/<pid> directory; false if it cannot be read. */
static bool read_at(int dfd, const char *name, size_t limit, struct kc_buf *buf)
{
	struct kc_error ignored;
	kc_code rc;
	int fd;

	kc_buf_init(buf, limit);
	if ((fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return false;
	rc = kc_buf_read_fd(buf, fd, name, &ignored);
	close(fd);
	if (rc != KC_OK)
		kc_buf_free(buf);
	return rc == KC_OK;
}

/*
 * Whether the process may be the node's kubelet: all four uids of the
 * status "Uid:" line (real, effective, saved, fs) are 0, and the file its
 * exe link names is a regular file owned by root that group and others
 * cannot write. Anyone can name a process "kubelet" and hand it flags; only
 * root can run one this way, and root owns the node anyway. Why not is
 * written to why.
 */
static bool trusted_process(int dfd, char *why, size_t size)
{
	unsigned long uid[4];
	struct kc_buf buf;
	struct stat st;
	const char *line = NULL;
	bool ok = false;
	int used = 0;

	if (!read_at(dfd, "status", 64 * 1024, &buf)) {
		snprintf(why, size, "its status cannot be read");
		return false;
	}
	/* kc_buf keeps its data NUL-terminated. */
	if (buf.data == NULL)
		line = NULL;
	else if (strncmp(buf.data, "Uid:", 4) == 0)
		line = buf.data;
	else if ((line = strstr(buf.data, "\nUid:")) != NULL)
		line++;
	if (line == NULL ||
	    sscanf(line, "Uid: %lu %lu %lu %lu%n", &uid[0], &uid[1], &uid[2], &uid[3], &used) !=
	        4 ||
	    used == 0)
		snprintf(why, size, "its status has no readable Uid: line");
	else if (uid[0] != 0 || uid[1] != 0 || uid[2] != 0 || uid[3] != 0)
		snprintf(
		    why, size,
		    "it runs as uid %lu (real), %lu (effective), %lu (saved), %lu (fs), not root",
		    uid[0], uid[1], uid[2], uid[3]);
	else
		ok = true;
	kc_buf_free(&buf);
	if (!ok)
		return false;
	/* stat through the exe magic link: the binary the process runs, even if renamed. */
	if (fstatat(dfd, "exe", &st, 0) != 0)
		snprintf(why, size, "its executable cannot be inspected: %s", strerror(errno));
	else if (!S_ISREG(st.st_mode))
		snprintf(why, size, "its executable is not a regular file");
	else if (st.st_uid != 0)
		snprintf(why, size, "its executable is owned by uid %lu, not root",
		         (unsigned long)st.st_uid);
	else if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
		snprintf(why, size, "its executable (mode %04o) is writable by %s",
		         (unsigned)(st.st_mode & 07777),
		         (st.st_mode & S_IWOTH) != 0 ? "others" : "its group");
	else
		return true;
	return false;
}

/*
 * Whether the process belongs to the kubelet's systemd unit: a line of
 * /proc/<pid>/cgroup whose path has the element "kubelet.service" (v1 or v2).
 */
static bool in_kubelet_unit(int dfd)
{
	static const char unit[] = "/kubelet.service";
	struct kc_buf buf;
	const char *p, *end, *after;
	bool found = false;

	if (!read_at(dfd, "cgroup", 64 * 1024, &buf))
		return false;
	end = buf.data + buf.len;
	for (p = buf.data; !found && p < end; p = after) {
		if ((p = memmem(p, (size_t)(end - p), unit, strlen(unit))) == NULL)
			break;
		after = p + strlen(unit);
		/* The unit's own cgroup or one below it, not "kubelet.service-foo". */
		found = after == end || *after == '\n' || *after == '/';
	}
	kc_buf_free(&buf);
	return found;
}

/*
 * Whether one cgroup path ("/kubepods.slice/kubepods-burstable.slice/
 * kubepods-burstable-pod<uid>.slice/cri-containerd-<id>.scope", or the
 * cgroupfs form "/kubepods/burstable/pod<uid>/<id>") lies in a pod's cgroup:
 * an element starting with "kubepods" and, below it, a pod element (the
 * layouts of pkg/kubelet/cm/cgroup_manager_linux.go and pod_container_
 * manager_linux.go, GetPodContainerName: "pod" + UID, under either driver).
 */
static bool pod_cgroup_path(const char *path, size_t len)
{
	const char *p = path, *end = path + len, *slash;
	bool under_kubepods = false;
	size_t n;

	while (p < end) {
		slash = memchr(p, '/', (size_t)(end - p));
		n = (size_t)((slash != NULL ? slash : end) - p);
		if (under_kubepods &&
		    ((n > 3 && memcmp(p, "pod", 3) == 0) ||
		     (n > strlen(".slice") && memcmp(p, "kubepods", 8) == 0 &&
		      memmem(p, n, "-pod", 4) != NULL &&
		      memcmp(p + n - strlen(".slice"), ".slice", strlen(".slice")) == 0)))
			return true;
		if (n >= 8 && memcmp(p, "kubepods", 8) == 0)
			under_kubepods = true;
		p += n + 1;
	}
	return false;
}

/*
 * The first pod cgroup a line of /proc/<pid>/cgroup ("hierarchy:controllers:
 * path", v1 and v2) names, copied into where; false when none does. The
 * kubelet is a host service; a process in a pod's cgroup is some
 * container's, whatever it is called and whoever it runs as.
 */
static bool in_pod_cgroup(int dfd, char *where, size_t size)
{
	struct kc_buf buf;
	const char *line, *next, *end, *path;
	bool found = false;
	size_t len;

	if (!read_at(dfd, "cgroup", 64 * 1024, &buf))
		return false;
	end = buf.data + buf.len;
	for (line = buf.data; !found && line < end; line = next + 1) {
		if ((next = memchr(line, '\n', (size_t)(end - line))) == NULL)
			next = end;
		if ((path = memchr(line, ':', (size_t)(next - line))) == NULL ||
		    (path = memchr(path + 1, ':', (size_t)(next - path - 1))) == NULL)
			continue;
		path++;
		len = (size_t)(next - path);
		if ((found = pod_cgroup_path(path, len)))
			snprintf(where, size, "%.*s", (int)(len > 160 ? 160 : len), path);
	}
	kc_buf_free(&buf);
	return found;
}

/*
 * The mount namespaces a kubelet of this node may run in: the agent's own,
 * and init's (systemd gives the agent's unit a namespace of its own for
 * ProtectSystem= and friends, while kubelet.service runs in init's). Known
 * only when <proc_root>/self/ns/mnt can be looked at (fake trees in tests
 * may leave it out: then nothing is checked, as with the PID namespace).
 */
struct mount_namespaces {
	bool known;
	struct stat self, init;
	bool init_known;
};

static void own_mount_namespaces(const char *proc_root, struct mount_namespaces *ns)
{
	char path[PATH_MAX];

	memset(ns, 0, sizeof(*ns));
	snprintf(path, sizeof(path), "%s/self/ns/mnt", proc_root);
	ns->known = stat(path, &ns->self) == 0;
	snprintf(path, sizeof(path), "%s/1/ns/mnt", proc_root);
	ns->init_known = ns->known && stat(path, &ns->init) == 0;
}

/*
 * A process named kubelet in another mount namespace (a hostPID container
 * running a root-owned binary) sees other files under the paths its flags
 * name: adopting it would have the agent write, as root on the host, what a
 * container's configuration says (issue 19 item 4).
 */
static bool shares_mount_namespace(int dfd, const struct mount_namespaces *ns, char *why,
                                   size_t size)
{
	struct stat st;

	if (!ns->known)
		return true;
	if (fstatat(dfd, "ns/mnt", &st, 0) != 0) {
		snprintf(why, size, "its mount namespace cannot be inspected: %s", strerror(errno));
		return false;
	}
	if ((st.st_dev == ns->self.st_dev && st.st_ino == ns->self.st_ino) ||
	    (ns->init_known && st.st_dev == ns->init.st_dev && st.st_ino == ns->init.st_ino))
		return true;
	snprintf(why, size,
	         "it runs in another mount namespace than this agent and init (a container's "
	         "process): the files its flags name are not the node's");
	return false;
}

/* Field 22 of /proc/<pid>/stat: the start time in clock ticks after boot; 0 if unreadable. */
/* True (why said) when the process runs in a pod's cgroup. */
static bool in_pod(int dfd, char *why, size_t size)
{
	char where[200];

	if (!in_pod_cgroup(dfd, where, sizeof(where)))
		return false;
	snprintf(why, size, "it runs inside the pod cgroup %s (a container's process)", where);
	return true;
}

static unsigned long long start_time_at(int dfd)
{
	unsigned long long t = 0;
	struct kc_buf buf;
	const char *p;
	int field;

	if (!read_at(dfd, "stat", 4096, &buf))
		return 0;
	/* The command name (field 2) may hold spaces and ')': skip to the last ')'. */
	if (buf.data != NULL && (p = strrchr(buf.data, ')')) != NULL) {
		for (field = 2; field < 22 && p != NULL; field++)
			p = strchr(p + 1, ' ');
		if (p != NULL && sscanf(p + 1, "%llu", &t) != 1)
			t = 0;
	}
	kc_buf_free(&buf);
	return t;
}

/* State 'Z' (zombie) or 'X' (dead) in /proc/<pid>/stat: exited, not yet reaped. */
static bool exited(int dfd)
{
	struct kc_buf buf;
	const char *p;
	bool dead = false;

	if (!read_at(dfd, "stat", 4096, &buf))
		return false;
	if (buf.data != NULL && (p = strrchr(buf.data, ')')) != NULL)
		dead = p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
	kc_buf_free(&buf);
	return dead;
}

bool kubelet_still_running(const char *proc_root, pid_t pid, unsigned long long start_time)
{
	char path[PATH_MAX];
	bool same;
	int dfd;

	snprintf(path, sizeof(path), "%s/%ld", proc_root, (long)pid);
	if ((dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return false;
	same = start_time_at(dfd) == start_time && !exited(dfd);
	close(dfd);
	return same;
}

/*
 * Read and parse the cmdline of the open /proc/<pid> directory; a vanished or
 * unreadable process is not a kubelet.
 */
static kc_code inspect_process(int dfd, const char *proc_root, const char *pid, bool *is_kubelet,
                               struct kubelet_cmdline *flags, struct kc_error *err)
{
	struct kc_buf buf;
	kc_code rc;

	*is_kubelet = false;
	if (!read_at(dfd, "cmdline", KUBELET_CMDLINE_MAX, &buf))
		return KC_OK;
	rc = kubelet_parse_cmdline(buf.data, buf.len, is_kubelet, flags, err);
	kc_buf_free(&buf);
	if (rc != KC_OK)
		return kc_error_prefix(err, "%s/%s/cmdline", proc_root, pid);
	return KC_OK;
}

/* A process named kubelet that does not count: say so (kc_log folds repeats). */
static void ignore_process(struct kubelet_info *ki, const char *proc_root, const char *pid,
                           const char *why)
{
	ki->ignored++;
	/* why is at most 255 bytes; the message is cut rather than overflow. */
	if (snprintf(ki->why_none, sizeof(ki->why_none),
	             "process %.16s named kubelet is not trusted: %.255s", pid, why) < 0)
		ki->why_none[0] = '\0';
	kc_log(KC_LOG_WARNING, "kubelet discovery: ignoring %s/%s: %s", proc_root, pid, why);
}

kc_code kubelet_discover(const char *proc_root, struct kubelet_info *out, struct kc_error *err)
{
	struct kubelet_info found = {0};
	struct kubelet_cmdline flags;
	struct dirent *de;
	struct mount_namespaces mnt_ns;
	unsigned long long started;
	char *own_ns, why[256];
	bool is_kubelet, unit, take;
	long pid, conflict = 0, conflict2 = 0;
	DIR *d;
	int dfd;
	kc_code rc = KC_OK;

	if ((d = opendir(proc_root)) == NULL)
		return kc_fail_errno(err, KC_EIO, errno, "%s", proc_root);
	own_ns = read_link(proc_root, "self", "ns/pid");
	own_mount_namespaces(proc_root, &mnt_ns);
	snprintf(found.why_none, sizeof(found.why_none), "no process named kubelet runs");
	while ((de = readdir(d)) != NULL) {
		if (!is_pid_name(de->d_name))
			continue;
		/*
		 * Every file is read through one directory fd: if the process
		 * exits and its pid is reused, the fd still names the old one
		 * and reads fail instead of mixing two processes.
		 */
		if ((dfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
			continue;
		memset(&flags, 0, sizeof(flags));
		rc = inspect_process(dfd, proc_root, de->d_name, &is_kubelet, &flags, err);
		if (!is_kubelet || other_pid_namespace(proc_root, de->d_name, own_ns)) {
			close(dfd);
			kubelet_cmdline_free(&flags);
			rc = KC_OK;
			continue;
		}
		/* Trust first: a bad cmdline of someone else's "kubelet" is no error of ours. */
		if (!trusted_process(dfd, why, sizeof(why)) ||
		    !shares_mount_namespace(dfd, &mnt_ns, why, sizeof(why)) ||
		    in_pod(dfd, why, sizeof(why))) {
			close(dfd);
			kubelet_cmdline_free(&flags);
			ignore_process(&found, proc_root, de->d_name, why);
			rc = KC_OK;
			continue;
		}
		if (rc != KC_OK) {
			close(dfd);
			break;
		}
		unit = in_kubelet_unit(dfd);
		started = start_time_at(dfd);
		close(dfd);
		if ((rc = absolute_flags(proc_root, de->d_name, &flags, err)) != KC_OK) {
			kubelet_cmdline_free(&flags);
			break;
		}
		pid = strtol(de->d_name, NULL, 10);
		/*
		 * The process of kubelet.service beats any other root "kubelet";
		 * between equals, identical twins (a wrapper exec'ing the binary)
		 * keep the lowest pid and different flags are ambiguous.
		 */
		if (found.pid == 0 || (unit && !found.in_unit)) {
			take = true;
			conflict = 0;
		} else if (unit != found.in_unit) {
			take = false;
		} else {
			if (!same_flags(&found.flags, &flags) && conflict == 0) {
				conflict = pid < (long)found.pid ? pid : (long)found.pid;
				conflict2 = pid < (long)found.pid ? (long)found.pid : pid;
			}
			take = pid < (long)found.pid;
		}
		if (take) {
			kubelet_cmdline_free(&found.flags);
			found.flags = flags;
			found.pid = (pid_t)pid;
			found.start_time = started;
			found.in_unit = unit;
		} else {
			kubelet_cmdline_free(&flags);
		}
	}
	if (rc == KC_OK && conflict != 0)
		rc = kc_fail(err, KC_EINVAL,
		             "%s: kubelet processes %ld and %ld run with different flags; "
		             "cannot tell which one is this node's: give --kubeconfig, "
		             "--node-name, --kubelet-config and --static-pod-path",
		             proc_root, conflict, conflict2);
	closedir(d);
	free(own_ns);
	if (rc != KC_OK) {
		kubelet_info_free(&found);
		return rc;
	}
	if (found.pid != 0)
		found.why_none[0] = '\0';
	*out = found;
	return KC_OK;
}

/*
 * One string key of a config document over *slot: absent or null leaves it
 * alone, "" unsets it; as_path resolves it against the file's directory.
 */
static kc_code apply_string(const char *file, json_t *doc, const char *key, bool as_path,
                            char **slot, struct kc_error *err)
{
	json_t *v = json_object_get(doc, key);

	if (v == NULL || json_is_null(v))
		return KC_OK;
	if (!json_is_string(v))
		return kc_fail(err, KC_EINVAL, "%s: %s: expected a string", file, key);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return kc_fail(err, KC_EINVAL, "%s: %s: contains a NUL byte", file, key);
	free(*slot);
	*slot = NULL;
	if (json_string_length(v) == 0)
		return KC_OK;
	if (as_path)
		return kc_path_beside(file, json_string_value(v), slot, err);
	if ((*slot = strdup(json_string_value(v))) == NULL)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	return KC_OK;
}

/* A boolean key: 1 or 0 into *slot; absent or null leaves it alone. */
static kc_code apply_bool(const char *file, json_t *doc, const char *key, int *slot,
                          struct kc_error *err)
{
	json_t *v = json_object_get(doc, key);

	if (v == NULL || json_is_null(v))
		return KC_OK;
	if (!json_is_boolean(v))
		return kc_fail(err, KC_EINVAL, "%s: %s: expected true or false", file, key);
	*slot = json_is_true(v) ? 1 : 0;
	return KC_OK;
}

/*
 * Apply one KubeletConfiguration document over *ks: a key the document does
 * not mention is left alone; "" unsets a string.
 */
static kc_code apply_config_file(const char *file, struct kubelet_settings *ks,
                                 struct kc_error *err)
{
	struct kc_buf buf;
	json_t *docs = NULL, *doc, *kind;
	kc_code rc;

	kc_buf_init(&buf, KUBELET_CONFIG_MAX);
	if ((rc = kc_buf_read_file(&buf, file, err)) != KC_OK)
		goto out;
	if ((rc = doc_parse(buf.data, buf.len, file, &docs, err)) != KC_OK)
		goto out;
	if (json_array_size(docs) != 1 || !json_is_object(json_array_get(docs, 0))) {
		rc = kc_fail(err, KC_EINVAL,
		             "%s: expected one KubeletConfiguration mapping, found %s", file,
		             json_array_size(docs) == 0 ? "an empty file" : "something else");
		goto out;
	}
	doc = json_array_get(docs, 0);
	kind = json_object_get(doc, "kind");
	if (kind != NULL && (!json_is_string(kind) ||
	                     strcmp(json_string_value(kind), "KubeletConfiguration") != 0)) {
		rc = kc_fail(err, KC_EINVAL, "%s: kind: expected KubeletConfiguration", file);
		goto out;
	}
	if ((rc = apply_string(file, doc, "staticPodPath", true, &ks->static_pod_path, err)) !=
	        KC_OK ||
	    (rc = apply_string(file, doc, "containerRuntimeEndpoint", false, &ks->runtime_endpoint,
	                       err)) != KC_OK ||
	    (rc = apply_string(file, doc, "cgroupRoot", false, &ks->cgroup_root, err)) != KC_OK ||
	    (rc = apply_string(file, doc, "cgroupDriver", false, &ks->cgroup_driver, err)) != KC_OK)
		goto out;
	if ((rc = apply_bool(file, doc, "cgroupsPerQOS", &ks->cgroups_per_qos, err)) != KC_OK)
		goto out;
	rc = apply_bool(file, doc, "failCgroupV1", &ks->fail_cgroup_v1, err);
out:
	json_decref(docs);
	kc_buf_free(&buf);
	return rc;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_dropin_name(const char *name)
{
	size_t len = strlen(name);

	return name[0] != '.' && len > strlen(".conf") &&
	       strcmp(name + len - strlen(".conf"), ".conf") == 0;
}

/* The kubelet applies the *.conf files of --config-dir in lexical order. */
static kc_code apply_dropins(const char *dir, struct kubelet_settings *ks, struct kc_error *err)
{
	char **names = NULL, **grown, *file;
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	DIR *d;
	kc_code rc = KC_OK;

	if ((d = opendir(dir)) == NULL)
		return kc_fail_errno(err, errno == ENOENT ? KC_ENOTFOUND : KC_EIO, errno,
		                     "kubelet --config-dir %s", dir);
	while ((de = readdir(d)) != NULL && rc == KC_OK) {
		if (!is_dropin_name(de->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			if ((grown = realloc(names, cap * sizeof(*names))) == NULL) {
				rc = kc_fail(err, KC_ENOMEM, "out of memory");
				break;
			}
			names = grown;
		}
		if ((names[n] = strdup(de->d_name)) == NULL)
			rc = kc_fail(err, KC_ENOMEM, "out of memory");
		else
			n++;
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), compare_names);
	for (i = 0; i < n && rc == KC_OK; i++) {
		if ((rc = kc_path_join(dir, names[i], &file, err)) != KC_OK)
			break;
		rc = apply_config_file(file, ks, err);
		free(file);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

int kubelet_parse_bool(const char *s)
{
	static const char *const yes[] = {"1", "t", "T", "true", "TRUE", "True"};
	static const char *const no[] = {"0", "f", "F", "false", "FALSE", "False"};
	size_t i;

	for (i = 0; s != NULL && i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcmp(s, yes[i]) == 0)
			return 1;
		if (strcmp(s, no[i]) == 0)
			return 0;
	}
	return -1;
}

kc_code kubelet_config_read(const char *config_path, const char *config_dir,
                            struct kubelet_settings *out, struct kc_error *err)
{
	kc_code rc;

	memset(out, 0, sizeof(*out));
	out->cgroups_per_qos = -1;
	out->fail_cgroup_v1 = -1;
	rc = apply_config_file(config_path, out, err);
	if (rc == KC_OK && config_dir != NULL)
		rc = apply_dropins(config_dir, out, err);
	if (rc != KC_OK)
		kubelet_settings_free(out);
	return rc;
}

kc_code kubelet_config_static_pod_path(const char *config_path, const char *config_dir,
                                       char **path_out, struct kc_error *err)
{
	struct kubelet_settings ks;
	kc_code rc;

	if ((rc = kubelet_config_read(config_path, config_dir, &ks, err)) != KC_OK)
		return rc;
	*path_out = ks.static_pod_path;
	ks.static_pod_path = NULL;
	kubelet_settings_free(&ks);
	return KC_OK;
}

void kubelet_settings_free(struct kubelet_settings *ks)
{
	free(ks->static_pod_path);
	free(ks->runtime_endpoint);
	free(ks->cgroup_root);
	free(ks->cgroup_driver);
	memset(ks, 0, sizeof(*ks));
	ks->cgroups_per_qos = -1;
	ks->fail_cgroup_v1 = -1;
}
