/*
 * test_status.c: the status document keeps the contract keys (docs/design.md §4),
 * maps unknown to null, and the file is written atomically with its
 * directory; the agent liveness check needs a live kubelet-checkpoint.
 */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "status.h"
#include "testutil.h"

static const struct status_checkpoint ckpts[] = {
    {"kube-system", "kube-proxy-x", "0f0e0d0c-0b0a-4909-8807-060504030201", "ok", NULL, true, NULL,
     "not-running", "kubelet did not start it: see the kubelet log", NULL, NULL, 0},
    {NULL, NULL, "1f0e0d0c-0b0a-4909-8807-060504030201", "corrupt", "checksum mismatch", false,
     NULL, NULL, NULL, NULL, NULL, 0},
    {"kube-system", "csi-node", "2f0e0d0c-0b0a-4909-8807-060504030201", "not-checkpointable",
     "spec.volumes[0].persistentVolumeClaim: needs the API", false, NULL, NULL, NULL, NULL, NULL,
     0},
};
static const char *const manifests[] = {"kubelet-checkpoint_kube-system_kube-proxy-x.yaml"};

static struct status_snapshot snapshot(void)
{
	struct status_snapshot s = {0};

	s.agent_running = true;
	s.pid = 4242;
	s.version = "0.1.0";
	s.started = 1767225600; /* 2026-01-01T00:00:00Z */
	s.updated = 1767225660;
	s.flag_path = "/etc/kubelet-checkpoint/enabled";
	s.flag_enabled = true;
	s.api = REACH_UNREACHABLE;
	s.api_since = 1767225630;
	s.static_pod_path = "/etc/kubernetes/manifests";
	s.state_dir = "/var/lib/kubelet-checkpoint";
	s.checkpoints = ckpts;
	s.ncheckpoints = 3;
	s.bridge_manifests = manifests;
	s.nbridge_manifests = 1;
	return s;
}

static void test_build_contract_keys(void **state)
{
	struct status_snapshot s = snapshot();
	struct kc_error err;
	json_t *doc, *c;

	assert_int_equal(status_build(&s, &doc, &err), KC_OK);
	assert_true(json_is_true(json_object_get(json_object_get(doc, "agent"), "running")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "agent"), "pid")),
	                 4242);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(doc, "flag"), "path")),
	    "/etc/kubelet-checkpoint/enabled");
	assert_true(json_is_true(json_object_get(json_object_get(doc, "flag"), "enabled")));
	assert_true(json_is_false(json_object_get(json_object_get(doc, "api"), "reachable")));
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(doc, "api"), "since")),
	    "2026-01-01T00:00:30Z");
	assert_string_equal(json_string_value(json_object_get(doc, "staticPodPath")),
	                    "/etc/kubernetes/manifests");
	assert_int_equal(json_array_size(json_object_get(doc, "checkpoints")), 3);
	c = json_array_get(json_object_get(doc, "checkpoints"), 0);
	assert_string_equal(json_string_value(json_object_get(c, "namespace")), "kube-system");
	assert_string_equal(json_string_value(json_object_get(c, "name")), "kube-proxy-x");
	assert_string_equal(json_string_value(json_object_get(c, "uid")), ckpts[0].uid);
	assert_string_equal(json_string_value(json_object_get(c, "state")), "ok");
	assert_true(json_is_null(json_object_get(c, "reason")));
	assert_true(json_is_true(json_object_get(c, "active")));
	/* No warnings known is an empty array, never absent or null. */
	assert_true(json_is_array(json_object_get(c, "warnings")));
	assert_int_equal(json_array_size(json_object_get(c, "warnings")), 0);
	/* Whether the kubelet started the bridge, and why not (issue 10). */
	assert_string_equal(json_string_value(json_object_get(c, "bridge")), "not-running");
	assert_non_null(
	    strstr(json_string_value(json_object_get(c, "bridgeReason")), "kubelet log"));
	c = json_array_get(json_object_get(doc, "checkpoints"), 1);
	assert_true(json_is_null(json_object_get(c, "namespace")));
	assert_true(json_is_null(json_object_get(c, "bridge")));
	assert_string_equal(json_string_value(json_object_get(c, "reason")), "checksum mismatch");
	assert_string_equal(
	    json_string_value(json_array_get(json_object_get(doc, "bridgeManifests"), 0)),
	    manifests[0]);
	c = json_object_get(doc, "counts");
	assert_int_equal(json_integer_value(json_object_get(c, "ok")), 1);
	assert_int_equal(json_integer_value(json_object_get(c, "corrupt")), 1);
	assert_int_equal(json_integer_value(json_object_get(c, "notCheckpointable")), 1);
	assert_int_equal(json_integer_value(json_object_get(c, "active")), 1);
	json_decref(doc);
}

/* "cluster": which cluster the API serves (issue 18); unknown is null, never absent. */
static void test_build_cluster(void **state)
{
	struct status_snapshot s = snapshot();
	json_t *doc, *c;

	assert_int_equal(status_build(&s, &doc, NULL), KC_OK);
	c = json_object_get(doc, "cluster");
	assert_true(json_is_object(c));
	assert_true(json_is_null(json_object_get(c, "kubeSystemUID")));
	assert_true(json_is_null(json_object_get(c, "seen")));
	json_decref(doc);
	s.cluster_uid = "3f0e0d0c-0b0a-4909-8807-060504030201";
	s.cluster_seen = 1767225630;
	assert_int_equal(status_build(&s, &doc, NULL), KC_OK);
	c = json_object_get(doc, "cluster");
	assert_string_equal(json_string_value(json_object_get(c, "kubeSystemUID")),
	                    "3f0e0d0c-0b0a-4909-8807-060504030201");
	assert_string_equal(json_string_value(json_object_get(c, "seen")), "2026-01-01T00:00:30Z");
	json_decref(doc);
}

static void test_build_no_agent(void **state)
{
	struct status_snapshot s = {0};
	json_t *doc, *api;

	s.flag_path = "/f";
	s.static_pod_path = "/m";
	s.api = REACH_UNKNOWN;
	s.api_since = 1767225630; /* ignored while unknown */
	assert_int_equal(status_build(&s, &doc, NULL), KC_OK);
	assert_true(json_is_false(json_object_get(json_object_get(doc, "agent"), "running")));
	assert_true(json_is_null(json_object_get(json_object_get(doc, "agent"), "pid")));
	api = json_object_get(doc, "api");
	assert_true(json_is_null(json_object_get(api, "reachable")));
	assert_true(json_is_null(json_object_get(api, "since")));
	assert_int_equal(json_array_size(json_object_get(doc, "checkpoints")), 0);
	assert_int_equal(json_array_size(json_object_get(doc, "bridgeManifests")), 0);
	assert_null(json_object_get(doc, "stateDir"));
	json_decref(doc);
	/* Reachable. */
	s.api = REACH_REACHABLE;
	assert_int_equal(status_build(&s, &doc, NULL), KC_OK);
	assert_true(json_is_true(json_object_get(json_object_get(doc, "api"), "reachable")));
	assert_null(json_object_get(json_object_get(doc, "api"), "confirming"));
	json_decref(doc);
	/* Not settled yet, but the first LIST answered: reachable, confirming. */
	s.api = REACH_UNKNOWN;
	s.api_answering = true;
	assert_int_equal(status_build(&s, &doc, NULL), KC_OK);
	api = json_object_get(doc, "api");
	assert_true(json_is_true(json_object_get(api, "reachable")));
	assert_string_equal(json_string_value(json_object_get(api, "state")), "reachable");
	assert_true(json_is_true(json_object_get(api, "confirming")));
	assert_string_equal(json_string_value(json_object_get(api, "since")),
	                    "2026-01-01T00:00:30Z");
	json_decref(doc);
}

/* What the agent waits for, and the verdict of the last reload (cmd_reload.c reads it). */
static void test_build_waiting_and_reload(void **state)
{
	struct status_snapshot s = snapshot();
	json_t *doc, *agent, *reload;

	assert_int_equal(status_build(&s, &doc, NULL), KC_OK);
	agent = json_object_get(doc, "agent");
	assert_true(json_is_null(json_object_get(agent, "waitingFor")));
	assert_true(json_is_null(json_object_get(agent, "kubeletPid")));
	assert_null(json_object_get(agent, "reload"));
	json_decref(doc);

	s.waiting_for = "kubeconfig";
	s.waiting_detail = "/etc/kubernetes/kubelet.conf does not exist yet";
	s.kubelet_pid = 77;
	s.reloads = 2;
	s.reload_ok = false;
	s.reload_error = "config.yaml: gcGrace: bad";
	s.reload_time = 1767225660;
	assert_int_equal(status_build(&s, &doc, NULL), KC_OK);
	agent = json_object_get(doc, "agent");
	assert_string_equal(json_string_value(json_object_get(agent, "waitingFor")), "kubeconfig");
	assert_non_null(
	    strstr(json_string_value(json_object_get(agent, "waitingDetail")), "kubelet.conf"));
	assert_int_equal(json_integer_value(json_object_get(agent, "kubeletPid")), 77);
	reload = json_object_get(agent, "reload");
	assert_int_equal(json_integer_value(json_object_get(reload, "generation")), 2);
	assert_true(json_is_false(json_object_get(reload, "ok")));
	assert_string_equal(json_string_value(json_object_get(reload, "error")),
	                    "config.yaml: gcGrace: bad");
	assert_string_equal(json_string_value(json_object_get(reload, "time")),
	                    "2026-01-01T00:01:00Z");
	json_decref(doc);
}

static void test_write_file(void **state)
{
	char *dir = tu_mkdtemp(), path[PATH_MAX];
	struct status_snapshot s = snapshot();
	struct kc_error err;
	json_error_t jerr;
	struct stat st;
	json_t *doc;

	snprintf(path, sizeof(path), "%s/run/kubelet-checkpoint/status.json", dir);
	assert_int_equal(status_write(path, &s, &err), KC_OK);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	doc = json_load_file(path, 0, &jerr);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "staticPodPath")),
	                    "/etc/kubernetes/manifests");
	json_decref(doc);
	/* Rewritten in place, no temp file left. */
	s.flag_enabled = false;
	assert_int_equal(status_write(path, &s, &err), KC_OK);
	doc = json_load_file(path, 0, &jerr);
	assert_true(json_is_false(json_object_get(json_object_get(doc, "flag"), "enabled")));
	json_decref(doc);
	snprintf(path, sizeof(path), "%s/run/kubelet-checkpoint/.status.json.tmp", dir);
	assert_int_not_equal(access(path, F_OK), 0);
	/* A directory in the way is an error naming it. */
	snprintf(path, sizeof(path), "%s/run/kubelet-checkpoint", dir);
	assert_int_not_equal(status_write(path, &s, &err), KC_OK);
	assert_non_null(strstr(err.msg, "kubelet-checkpoint"));
	tu_rmrf(dir);
	free(dir);
}

static void test_rfc3339(void **state)
{
	char buf[32];

	assert_int_equal(status_rfc3339(0, buf, sizeof(buf), NULL), KC_OK);
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	assert_int_equal(status_rfc3339(1767225630, buf, sizeof(buf), NULL), KC_OK);
	assert_string_equal(buf, "2026-01-01T00:00:30Z");
	assert_int_equal(status_rfc3339(1767225630, buf, 5, NULL), KC_EINVAL);
}

static void test_pid_is_agent(void **state)
{
	pid_t child, impostor;
	int st;

	assert_false(status_pid_is_agent(0));
	assert_false(status_pid_is_agent(-1));
	/* This very executable as our uid: what the agent is to `reload` (same binary). */
	assert_true(status_pid_is_agent(getpid()));
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		pause();
		_exit(0);
	}
	assert_true(status_pid_is_agent(child));
	/*
	 * Another program that calls itself kubelet-checkpoint (argv[0]): a pid a
	 * stale status file may name. It must not be taken for the agent (issue 19
	 * item 13); argv[0] was all the old check looked at.
	 */
	impostor = fork();
	assert_true(impostor >= 0);
	if (impostor == 0) {
		execl("/bin/sleep", "/usr/sbin/kubelet-checkpoint", "5", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		char exe[64], link[256];
		ssize_t n;

		snprintf(exe, sizeof(exe), "/proc/%ld/exe", (long)impostor);
		if ((n = readlink(exe, link, sizeof(link) - 1)) > 0 &&
		    (link[n] = '\0', strstr(link, "sleep") != NULL))
			break; /* exec'd */
		usleep(10000);
	}
	assert_false(status_pid_is_agent(impostor));
	kill(impostor, 9);
	waitpid(impostor, &st, 0);
	kill(child, 9);
	waitpid(child, &st, 0);
	assert_false(status_pid_is_agent(child)); /* dead and reaped */
}

/* A checkpoint's warnings reach the document as its own copy, in order. */
static void test_build_warnings(void **state)
{
	struct status_checkpoint one = ckpts[0];
	struct status_snapshot s = snapshot();
	json_t *w = json_pack("[s, s]", "runtimeClassName \"nvidia\": ...", "dnsPolicy ...");
	struct kc_error err;
	json_t *doc, *got;

	one.warnings = w;
	s.checkpoints = &one;
	s.ncheckpoints = 1;
	assert_int_equal(status_build(&s, &doc, &err), KC_OK);
	got = json_object_get(json_array_get(json_object_get(doc, "checkpoints"), 0), "warnings");
	assert_true(json_equal(got, w));
	assert_true(got != w);
	json_decref(doc);
	json_decref(w);
}

/* The Events owed to the cluster: counted in "events", left out when unknown. */
static void test_build_events(void **state)
{
	struct status_snapshot s = snapshot();
	struct kc_error err;
	json_t *doc, *ev;

	assert_int_equal(status_build(&s, &doc, &err), KC_OK);
	assert_null(json_object_get(doc, "events"));
	json_decref(doc);
	s.events_known = true;
	s.events_queued = 2;
	s.events_posted = 7;
	s.events_aggregated = 3;
	s.events_dropped = 1;
	s.events_rejected = 4;
	assert_int_equal(status_build(&s, &doc, &err), KC_OK);
	ev = json_object_get(doc, "events");
	assert_int_equal(json_integer_value(json_object_get(ev, "queued")), 2);
	assert_int_equal(json_integer_value(json_object_get(ev, "posted")), 7);
	assert_int_equal(json_integer_value(json_object_get(ev, "aggregated")), 3);
	assert_int_equal(json_integer_value(json_object_get(ev, "dropped")), 1);
	assert_int_equal(json_integer_value(json_object_get(ev, "rejected")), 4);
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_build_contract_keys),
	    cmocka_unit_test(test_build_cluster),
	    cmocka_unit_test(test_build_warnings),
	    cmocka_unit_test(test_build_events),
	    cmocka_unit_test(test_build_no_agent),
	    cmocka_unit_test(test_build_waiting_and_reload),
	    cmocka_unit_test(test_write_file),
	    cmocka_unit_test(test_rfc3339),
	    cmocka_unit_test(test_pid_is_agent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
