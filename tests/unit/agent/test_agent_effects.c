/*
 * test_agent_effects.c: one pass (agent_pass) against a temp staticPodPath,
 * state dir, flag file and pod-cgroup tree, with a parent checkpointed
 * through agent_sync's callbacks. While the API is unreachable and the parent
 * does not run, the pass writes its bridge manifest; without the flag file,
 * or once the API is reachable again, it withdraws it; a file with our prefix
 * that is not ours is left alone; a pass that changes nothing touches nothing.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_int.h"
#include "kc_clock.h"
#include "kc_names.h"
#include "render_testpod.h"

#define MANIFEST KC_MANIFEST_PREFIX "kube-system_agent-x7k2p" KC_MANIFEST_SUFFIX
#define FOREIGN  KC_MANIFEST_PREFIX "kube-system_lookalike" KC_MANIFEST_SUFFIX

static const char kubeconfig_yaml[] =
    "apiVersion: v1\nkind: Config\n"
    "clusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\n"
    "contexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n"
    "users:\n- name: u\n  user: {token: t}\n";

static char *annotations[] = {KC_DEFAULT_TRIGGER_ANNOTATION};
static char *namespaces[] = {"kube-system"};

struct fixture {
	char *dir;
	char path[8][512]; /* state, static, flag, kubeconfig, cgroup, endpoint */
	struct agent_config cfg;
	struct agent a;
	struct api_callbacks cb;
	int64_t t0;
};

enum { STATE, STATIC, FLAG, KUBECONFIG, CGROUP, ENDPOINT };

static void sub(struct fixture *f, int which, const char *prefix, const char *name)
{
	snprintf(f->path[which], sizeof(f->path[0]), "%s%s/%s", prefix, f->dir, name);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct agent *a = &f->a;
	json_t *pods = json_array(), *objects = json_array();
	struct kc_error err;
	char kubepods[600];

	f->dir = tu_mkdtemp();
	sub(f, STATE, "", "state");
	sub(f, STATIC, "", "manifests");
	sub(f, FLAG, "", "enabled");
	sub(f, KUBECONFIG, "", "kubelet.conf");
	sub(f, CGROUP, "", "cgroup");
	sub(f, ENDPOINT, "unix://", "no-runtime.sock");
	mkdir(f->path[STATIC], 0755);
	mkdir(f->path[CGROUP], 0755);
	snprintf(kubepods, sizeof(kubepods), "%s/kubelet", f->path[CGROUP]);
	mkdir(kubepods, 0755);
	snprintf(kubepods, sizeof(kubepods), "%s/kubelet/kubepods", f->path[CGROUP]);
	mkdir(kubepods, 0755); /* the pod cgroups: known, and nothing runs */
	tu_write_file(f->path[FLAG], "", 0, 0644);
	tu_write_file(f->path[KUBECONFIG], kubeconfig_yaml, strlen(kubeconfig_yaml), 0600);
	f->cfg.node_name = "node-1";
	f->cfg.state_dir = f->path[STATE];
	f->cfg.static_pod_path = f->path[STATIC];
	f->cfg.flag_file = f->path[FLAG];
	f->cfg.kubeconfig = f->path[KUBECONFIG];
	f->cfg.gc_grace = 60;
	f->cfg.unreachable_after = 30;
	f->cfg.reachable_after = 15;
	f->cfg.bridge_start_timeout = 60;

	a->cfg = &f->cfg;
	a->ropts.node_name = f->cfg.node_name;
	a->ropts.state_dir = f->cfg.state_dir;
	a->ropts.annotations = (const char *const *)annotations;
	a->ropts.nannotations = 1;
	a->ropts.namespaces = (const char *const *)namespaces;
	a->ropts.nnamespaces = 1;
	a->ignored_logged = json_array();
	a->activated_at = json_object();
	a->sigfd = -1;
	f->t0 = kc_clock_ms();
	parent_table_init(&a->parents);
	evq_init(&a->events, EVQ_DEFAULT_CAP);
	reachability_init(&a->reach, f->t0, 30000, 15000);
	if (kubeconfig_load(f->path[KUBECONFIG], &a->kubeconfig, &err) != KC_OK ||
	    ckpt_store_open(f->path[STATE], &a->store, &err) != KC_OK ||
	    local_state_init(&a->local, f->path[ENDPOINT], f->path[CGROUP], "/kubelet", "cgroupfs",
	                     true, &err) != KC_OK)
		fail_msg("%s", err.msg);
	agent_sync_callbacks(a, &f->cb);
	if (api_client_new(a->kubeconfig, "node-1", &f->cb, &a->api, &err) != KC_OK)
		fail_msg("%s", err.msg);
	/* The parent, listed and checkpointed while the API was up. */
	json_array_append_new(pods, tp_pod());
	f->cb.pods_listed(f->cb.ctx, pods);
	f->cb.refs_fetched(f->cb.ctx, TP_UID, objects, NULL);
	json_decref(pods);
	json_decref(objects);
	assert_int_equal(parent_table_find(&a->parents, TP_UID)->ckpt, PARENT_CKPT_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct agent *a = &f->a;
	size_t i;

	if (a->bridge != NULL)
		bridge_dir_close(a->bridge);
	api_client_free(a->api);
	kubeconfig_free(a->kubeconfig);
	ckpt_store_close(a->store);
	local_state_free(&a->local);
	parent_table_free(&a->parents);
	evq_free(&a->events);
	for (i = 0; i < a->nbridge_files; i++)
		free(a->bridge_files[i]);
	free(a->bridge_files);
	json_decref(a->ignored_logged);
	json_decref(a->activated_at);
	json_decref(a->ckpt_retry);
	tu_rmrf(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static bool in_static(const struct fixture *f, const char *name)
{
	char path[1024];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", f->path[STATIC], name);
	return stat(path, &st) == 0;
}

/* Past the unreachable window: the API was never reached since t0. */
static int64_t outage(const struct fixture *f)
{
	return f->t0 + 31000;
}

static void test_activate_in_outage(void **state)
{
	struct fixture *f = *state;

	agent_pass(&f->a, f->t0 + 1000); /* still inside the window */
	assert_false(in_static(f, MANIFEST));
	agent_pass(&f->a, outage(f));
	assert_true(in_static(f, MANIFEST));
	assert_int_equal(f->a.activations, 1);
	assert_int_equal(f->a.nactive, 1);
	assert_string_equal(f->a.bridge_files[0], MANIFEST);
	/* In an outage the pass comes back each second to follow the local pods. */
	assert_true(f->a.next_pass_ms <= outage(f) + 1000);
	/* Nothing changed: the next pass writes nothing again. */
	agent_pass(&f->a, outage(f) + 1000);
	assert_int_equal(f->a.activations, 1);
	assert_true(in_static(f, MANIFEST));
}

static void test_flag_off_withdraws(void **state)
{
	struct fixture *f = *state;

	agent_pass(&f->a, outage(f));
	assert_true(in_static(f, MANIFEST));
	unlink(f->path[FLAG]);
	agent_pass(&f->a, outage(f) + 1000);
	assert_false(in_static(f, MANIFEST));
	assert_int_equal(f->a.withdrawals, 1);
	assert_int_equal(f->a.nactive, 0);
}

static void test_api_back_withdraws(void **state)
{
	struct fixture *f = *state;
	int64_t t;

	agent_pass(&f->a, outage(f));
	assert_true(in_static(f, MANIFEST));
	/* Answers for longer than reachableAfter (15 s). */
	for (t = outage(f); t <= outage(f) + 16000; t += 1000)
		reachability_on_success(&f->a.reach, t);
	agent_pass(&f->a, outage(f) + 16000);
	assert_false(in_static(f, MANIFEST));
	assert_int_equal(f->a.withdrawals, 1);
}

static void test_foreign_file_left_alone(void **state)
{
	struct fixture *f = *state;
	static const char foreign[] = "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n";
	char path[1024];
	char *text;

	snprintf(path, sizeof(path), "%s/%s", f->path[STATIC], FOREIGN);
	tu_write_file(path, foreign, strlen(foreign), 0600);
	unlink(f->path[FLAG]); /* a pass that withdraws everything of ours */
	agent_pass(&f->a, outage(f));
	assert_true(in_static(f, FOREIGN));
	text = tu_read_file(path, NULL);
	assert_string_equal(text, foreign);
	free(text);
	assert_int_equal(json_array_size(f->a.ignored_logged), 1);
	assert_string_equal(json_string_value(json_array_get(f->a.ignored_logged, 0)), FOREIGN);
	agent_pass(&f->a, outage(f) + 1000); /* said once */
	assert_int_equal(json_array_size(f->a.ignored_logged), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_activate_in_outage, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_flag_off_withdraws, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_api_back_withdraws, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_foreign_file_left_alone, setup, teardown),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
