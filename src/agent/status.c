/*
 * status.c: the status document (pure builder) and its file (see status.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "kc_buf.h"
#include "status.h"

kc_code status_rfc3339(time_t t, char *buf, size_t bufsz, struct kc_error *err)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, bufsz, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return kc_fail(err, KC_EINVAL, "time %lld: cannot format", (long long)t);
	return KC_OK;
}

/* Jansson setters return -1 only on allocation failure (or a NULL value). */
static int set_str(json_t *obj, const char *key, const char *s)
{
	return json_object_set_new(obj, key, s != NULL ? json_string(s) : json_null());
}

static int set_time(json_t *obj, const char *key, time_t t)
{
	char buf[32];

	if (t == 0 || status_rfc3339(t, buf, sizeof(buf), NULL) != KC_OK)
		return json_object_set_new(obj, key, json_null());
	return json_object_set_new(obj, key, json_string(buf));
}

static json_t *build_reload(const struct status_snapshot *s)
{
	json_t *o = json_object();

	if (o == NULL ||
	    json_object_set_new(o, "generation", json_integer((json_int_t)s->reloads)) != 0 ||
	    json_object_set_new(o, "ok", json_boolean(s->reload_ok)) != 0 ||
	    set_str(o, "error", s->reload_error) != 0 || set_time(o, "time", s->reload_time) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *build_agent(const struct status_snapshot *s)
{
	json_t *o = json_object();

	if (o == NULL || json_object_set_new(o, "running", json_boolean(s->agent_running)) != 0 ||
	    json_object_set_new(o, "pid", s->pid > 0 ? json_integer(s->pid) : json_null()) != 0 ||
	    (s->version != NULL && set_str(o, "version", s->version) != 0) ||
	    (s->started != 0 && set_time(o, "started", s->started) != 0) ||
	    (s->updated != 0 && set_time(o, "updated", s->updated) != 0) ||
	    set_str(o, "lastError", s->last_error) != 0 ||
	    set_time(o, "lastErrorTime", s->last_error != NULL ? s->last_error_time : 0) != 0 ||
	    (s->agent_running &&
	     (set_str(o, "waitingFor", s->waiting_for) != 0 ||
	      set_str(o, "waitingDetail", s->waiting_detail) != 0 ||
	      json_object_set_new(o, "kubeletPid",
	                          s->kubelet_pid > 0 ? json_integer(s->kubelet_pid)
	                                             : json_null()) != 0)) ||
	    (s->reloads > 0 && json_object_set_new(o, "reload", build_reload(s)) != 0)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *build_api(const struct status_snapshot *s)
{
	json_t *o = json_object();
	bool answering = s->api == REACH_UNKNOWN && s->api_answering;
	enum reach_state shown = answering ? REACH_REACHABLE : s->api;
	json_t *reachable =
	    shown == REACH_UNKNOWN ? json_null() : json_boolean(shown == REACH_REACHABLE);

	if (o == NULL || json_object_set_new(o, "reachable", reachable) != 0 ||
	    set_str(o, "state", reach_state_name(shown)) != 0 ||
	    set_time(o, "since", shown == REACH_UNKNOWN ? 0 : s->api_since) != 0 ||
	    (answering && json_object_set_new(o, "confirming", json_true()) != 0)) {
		json_decref(o);
		return NULL;
	}
	if (s->node_presence != NULL &&
	    (set_str(o, "clusterUID", s->cluster_uid) != 0 ||
	     set_str(o, "node", s->node_presence) != 0 ||
	     json_object_set_new(o, "otherCluster", json_boolean(s->other_cluster)) != 0 ||
	     json_object_set_new(o, "collectionSuspended", json_boolean(s->collection_suspended)) !=
	         0)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *build_local(const struct status_snapshot *s)
{
	json_t *o = json_object();

	if (o == NULL ||
	    json_object_set_new(o, "known",
	                        json_boolean(strcmp(s->local_source, "unknown") != 0)) != 0 ||
	    set_str(o, "source", s->local_source) != 0 ||
	    set_str(o, "reason", s->local_reason) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *build_cluster(const struct status_snapshot *s)
{
	json_t *o = json_object();

	if (o == NULL || set_str(o, "kubeSystemUID", s->cluster_uid) != 0 ||
	    set_time(o, "seen", s->cluster_seen) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *build_checkpoints(const struct status_snapshot *s)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; arr != NULL && i < s->ncheckpoints; i++) {
		const struct status_checkpoint *c = &s->checkpoints[i];
		json_t *o = json_object();

		if (o == NULL || set_str(o, "namespace", c->namespace) != 0 ||
		    set_str(o, "name", c->name) != 0 || set_str(o, "uid", c->uid) != 0 ||
		    set_str(o, "state", c->state) != 0 || set_str(o, "reason", c->reason) != 0 ||
		    json_object_set_new(o, "active", json_boolean(c->active)) != 0 ||
		    set_str(o, "bridge", c->bridge) != 0 ||
		    set_str(o, "bridgeReason", c->bridge_reason) != 0 ||
		    set_str(o, "handoff", c->handoff) != 0 ||
		    set_str(o, "handoffSince", c->handoff_since) != 0 ||
		    json_object_set_new(o, "watchdogFires",
		                        json_integer((json_int_t)c->watchdog_fires)) != 0 ||
		    json_object_set_new(o, "warnings",
		                        c->warnings != NULL ? json_deep_copy(c->warnings)
		                                            : json_array()) != 0 ||
		    json_array_append_new(arr, o) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static json_t *build_manifests(const struct status_snapshot *s)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; arr != NULL && i < s->nbridge_manifests; i++)
		if (json_array_append_new(arr, json_string(s->bridge_manifests[i])) != 0) {
			json_decref(arr);
			return NULL;
		}
	return arr;
}

static json_t *build_flag(const struct status_snapshot *s)
{
	json_t *o = json_object();

	if (o == NULL || set_str(o, "path", s->flag_path) != 0 ||
	    json_object_set_new(o, "enabled", json_boolean(s->flag_enabled)) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *build_counts(const struct status_snapshot *s)
{
	size_t i, ok = 0, corrupt = 0, notckpt = 0, nactive = 0;

	for (i = 0; i < s->ncheckpoints; i++) {
		const char *st = s->checkpoints[i].state;

		if (s->checkpoints[i].active)
			nactive++;

		if (st != NULL && strcmp(st, "ok") == 0)
			ok++;
		else if (st != NULL && strcmp(st, "corrupt") == 0)
			corrupt++;
		else
			notckpt++;
	}
	return json_pack("{s:I, s:I, s:I, s:I, s:I}", "ok", (json_int_t)ok, "corrupt",
	                 (json_int_t)corrupt, "notCheckpointable", (json_int_t)notckpt, "active",
	                 (json_int_t)nactive, "bridgeManifests", (json_int_t)s->nbridge_manifests);
}

kc_code status_build(const struct status_snapshot *s, json_t **out, struct kc_error *err)
{
	json_t *doc = json_object();

	*out = NULL;
	/* json_object_set_new steals the value even when it fails (or is NULL). */
	if (doc == NULL || json_object_set_new(doc, "agent", build_agent(s)) != 0 ||
	    json_object_set_new(doc, "flag", build_flag(s)) != 0 ||
	    json_object_set_new(doc, "api", build_api(s)) != 0 ||
	    (s->local_source != NULL && json_object_set_new(doc, "local", build_local(s)) != 0) ||
	    json_object_set_new(doc, "cluster", build_cluster(s)) != 0 ||
	    set_str(doc, "staticPodPath", s->static_pod_path) != 0 ||
	    set_str(doc, "bridgeOff", s->bridge_off) != 0 ||
	    (s->state_dir != NULL && set_str(doc, "stateDir", s->state_dir) != 0) ||
	    json_object_set_new(doc, "checkpoints", build_checkpoints(s)) != 0 ||
	    json_object_set_new(doc, "bridgeManifests", build_manifests(s)) != 0 ||
	    json_object_set_new(doc, "counts", build_counts(s)) != 0 ||
	    (s->events_known &&
	     json_object_set_new(doc, "events",
	                         json_pack("{s:I, s:I, s:I, s:I, s:I}", "queued",
	                                   (json_int_t)s->events_queued, "posted",
	                                   (json_int_t)s->events_posted, "aggregated",
	                                   (json_int_t)s->events_aggregated, "dropped",
	                                   (json_int_t)s->events_dropped, "rejected",
	                                   (json_int_t)s->events_rejected)) != 0)) {
		json_decref(doc);
		return kc_fail(err, KC_ENOMEM, "status: out of memory");
	}
	*out = doc;
	return KC_OK;
}

kc_code status_write(const char *path, const struct status_snapshot *s, struct kc_error *err)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	json_t *doc;
	char *text;
	kc_code rc;

	if (slash != NULL && slash != path) {
		if ((size_t)(slash - path) >= sizeof(dir))
			return kc_fail(err, KC_EINVAL, "%s: status file: path too long", path);
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
		if ((rc = fs_mkdir_p(dir, 0755, err)) != KC_OK)
			return kc_error_prefix(err, "status file");
	}
	if ((rc = status_build(s, &doc, err)) != KC_OK)
		return rc;
	text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(doc);
	if (text == NULL)
		return kc_fail(err, KC_ENOMEM, "%s: status: out of memory", path);
	rc = fs_write_atomic_volatile(path, text, strlen(text), 0644, NULL, err);
	free(text);
	return rc;
}

/* argv[0]'s base name is kubelet-checkpoint: all an unprivileged caller can see. */
static bool argv0_is_agent(pid_t pid)
{
	char path[64], argv0[PATH_MAX];
	const char *base;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/cmdline", (long)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, argv0, sizeof(argv0) - 1);
	close(fd);
	if (n <= 0)
		return false; /* gone, or a zombie */
	argv0[n] = '\0';
	base = strrchr(argv0, '/');
	base = base != NULL ? base + 1 : argv0;
	return strcmp(base, "kubelet-checkpoint") == 0;
}

/* The real and effective uid of the Uid: line of /proc/<pid>/status. */
static bool process_uids(pid_t pid, unsigned long *real, unsigned long *effective)
{
	char path[64], line[256];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "re")) == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = sscanf(line, "Uid: %lu %lu", real, effective) == 2;
	fclose(f);
	return found;
}

/*
 * The same program: the file /proc/<pid>/exe stats to is ours, or, after a
 * package upgrade replaced it, its link names our path with " (deleted)".
 */
static int same_executable(pid_t pid)
{
	char path[64], link[PATH_MAX], self[PATH_MAX];
	struct stat st, mine;
	ssize_t n, m;

	snprintf(path, sizeof(path), "/proc/%ld/exe", (long)pid);
	if (stat(path, &st) != 0)
		return errno == EACCES || errno == EPERM ? -1 : 0;
	if (stat("/proc/self/exe", &mine) != 0)
		return 0;
	if (st.st_dev == mine.st_dev && st.st_ino == mine.st_ino)
		return 1;
	if ((n = readlink(path, link, sizeof(link) - 1)) < 0 ||
	    (m = readlink("/proc/self/exe", self, sizeof(self) - 1)) < 0)
		return 0;
	link[n] = '\0';
	self[m] = '\0';
	return strncmp(link, self, (size_t)m) == 0 && strcmp(link + m, " (deleted)") == 0;
}

bool status_pid_is_agent(pid_t pid)
{
	unsigned long real, effective;
	int same;

	if (pid <= 0 || !process_uids(pid, &real, &effective))
		return false; /* gone */
	same = same_executable(pid);
	/*
	 * Not allowed to look (an unprivileged `status` of a root agent): such a
	 * caller cannot signal the agent either, and status only decides whether
	 * to show the agent's own report; argv[0] is all there is to go by.
	 */
	if (same < 0)
		return geteuid() != 0 && argv0_is_agent(pid);
	return same == 1 && real == (unsigned long)geteuid() &&
	       effective == (unsigned long)geteuid();
}
