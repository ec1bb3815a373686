/*
 * test_agent_sync.c: agent_sync driven through the callbacks the API client
 * calls (api_callbacks), against a real checkpoint store in a temp dir. An
 * eligible pod is tracked, checkpointed once its objects arrive (file on
 * disk, manifest cached), forgotten when deleted or missing from a relist;
 * an ineligible pod or a uid the apiserver would not write is never tracked;
 * a restart rebuilds the table from disk, corrupt files included. The API
 * client is real but never stepped: nothing leaves the process.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agent_int.h"
#include "kc_clock.h"
#include "kc_names.h"
#include "render_testpod.h"

#define POD_FILE "pods/" KC_CKPT_FILE_PREFIX TP_UID KC_CKPT_FILE_SUFFIX
#define MANIFEST KC_MANIFEST_PREFIX "kube-system_agent-x7k2p" KC_MANIFEST_SUFFIX

static const char kubeconfig_yaml[] =
    "apiVersion: v1\nkind: Config\n"
    "clusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\n"
    "contexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n"
    "users:\n- name: u\n  user: {token: t}\n";

static char *annotations[] = {KC_DEFAULT_TRIGGER_ANNOTATION};
static char *namespaces[] = {"kube-system"};

struct fixture {
	char *dir;
	char state[512];
	char kubeconfig[512];
	struct agent_config cfg;
	struct agent a;
	struct api_callbacks cb;
};

/* The agent context as sources_open builds it, minus the file watch. */
static void agent_open(struct fixture *f)
{
	struct agent *a = &f->a;
	struct kc_error err;

	memset(a, 0, sizeof(*a));
	a->cfg = &f->cfg;
	a->ropts.node_name = f->cfg.node_name;
	a->ropts.state_dir = f->cfg.state_dir;
	a->ropts.annotations = (const char *const *)annotations;
	a->ropts.nannotations = 1;
	a->ropts.namespaces = (const char *const *)namespaces;
	a->ropts.nnamespaces = 1;
	parent_table_init(&a->parents);
	evq_init(&a->events, EVQ_DEFAULT_CAP);
	reachability_init(&a->reach, kc_clock_ms(), 30000, 15000);
	if (kubeconfig_load(f->kubeconfig, &a->kubeconfig, &err) != KC_OK ||
	    ckpt_store_open(f->state, &a->store, &err) != KC_OK)
		fail_msg("%s", err.msg);
	agent_sync_callbacks(a, &f->cb);
	if (api_client_new(a->kubeconfig, "node-1", &f->cb, &a->api, &err) != KC_OK)
		fail_msg("%s", err.msg);
}

static void agent_close(struct fixture *f)
{
	struct agent *a = &f->a;

	api_client_free(a->api);
	kubeconfig_free(a->kubeconfig);
	ckpt_store_close(a->store);
	parent_table_free(&a->parents);
	evq_free(&a->events);
	json_decref(a->ckpt_retry);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->dir = tu_mkdtemp();
	snprintf(f->state, sizeof(f->state), "%s/state", f->dir);
	snprintf(f->kubeconfig, sizeof(f->kubeconfig), "%s/kubelet.conf", f->dir);
	tu_write_file(f->kubeconfig, kubeconfig_yaml, strlen(kubeconfig_yaml), 0600);
	f->cfg.node_name = "node-1";
	f->cfg.state_dir = f->state;
	f->cfg.kubeconfig = f->kubeconfig;
	f->cfg.gc_grace = 60;
	agent_open(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	agent_close(f);
	tu_rmrf(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static bool exists(const struct fixture *f, const char *rel)
{
	char path[1024];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", f->state, rel);
	return stat(path, &st) == 0;
}

/* List one eligible pod, then hand over its (no) referenced objects. */
static struct parent_rec *checkpoint_one(struct fixture *f)
{
	json_t *pods = json_array(), *objects = json_array();
	struct parent_rec *r;

	json_array_append_new(pods, tp_pod());
	f->cb.pods_listed(f->cb.ctx, pods);
	json_decref(pods);
	r = parent_table_find(&f->a.parents, TP_UID);
	assert_non_null(r);
	assert_int_equal(r->ckpt, PARENT_CKPT_NONE);
	f->cb.refs_fetched(f->cb.ctx, TP_UID, objects, NULL);
	json_decref(objects);
	return parent_table_find(&f->a.parents, TP_UID);
}

static void test_list_then_checkpoint(void **state)
{
	struct fixture *f = *state;
	struct parent_rec *r;

	assert_false(exists(f, POD_FILE));
	r = checkpoint_one(f);
	assert_true(f->a.listed);
	assert_true(f->a.dirty);
	assert_true(f->a.effects_dirty);
	assert_int_equal(r->presence, DECISION_PARENT_PRESENT);
	assert_string_equal(r->namespace, "kube-system");
	assert_string_equal(r->name, "agent-x7k2p");
	assert_int_equal(r->ckpt, PARENT_CKPT_OK);
	assert_false(r->not_checkpointable);
	assert_null(r->problem);
	assert_string_equal(r->manifest_name, MANIFEST);
	assert_true(r->manifest.len > 0);
	assert_non_null(strstr(r->manifest.data, KC_ANNOTATION_SOURCE_UID));
	assert_true(exists(f, POD_FILE));
	/* Objects of a parent no longer tracked are ignored. */
	f->cb.refs_fetched(f->cb.ctx, "1f3c8a52-6d1e-4b7a-9c2d-1e2f3a4b5c6d", json_array(), NULL);
	assert_null(parent_table_find(&f->a.parents, "1f3c8a52-6d1e-4b7a-9c2d-1e2f3a4b5c6d"));
}

static void test_missing_object(void **state)
{
	struct fixture *f = *state;
	json_t *pods = json_array();
	struct parent_rec *r;
	struct kc_error missing;

	json_array_append_new(pods, tp_pod());
	f->cb.pods_listed(f->cb.ctx, pods);
	json_decref(pods);
	kc_fail(&missing, KC_ENOTFOUND, "Secret kube-system/tls: not found");
	f->cb.refs_fetched(f->cb.ctx, TP_UID, NULL, &missing);
	r = parent_table_find(&f->a.parents, TP_UID);
	assert_true(r->not_checkpointable);
	assert_string_equal(r->problem, "Secret kube-system/tls: not found");
	assert_int_equal(r->ckpt, PARENT_CKPT_NONE);
	assert_false(exists(f, POD_FILE));
}

static void test_deleted_then_relisted(void **state)
{
	struct fixture *f = *state;
	struct parent_rec *r = checkpoint_one(f);
	json_t *pod = tp_pod(), *none = json_array();
	int64_t before = kc_clock_ms();

	f->a.dirty = false;
	f->cb.pod_deleted(f->cb.ctx, pod);
	r = parent_table_find(&f->a.parents, TP_UID);
	assert_int_equal(r->presence, DECISION_PARENT_ABSENT);
	assert_true(r->absent_since_ms >= before);
	assert_null(r->pod);
	assert_true(f->a.dirty);
	assert_int_equal(r->ckpt, PARENT_CKPT_OK); /* its checkpoint stays until GC */
	/* Back in the API, then missing from a relist: absent again. */
	f->cb.pod_changed(f->cb.ctx, pod);
	assert_int_equal(r->presence, DECISION_PARENT_PRESENT);
	f->cb.pods_listed(f->cb.ctx, none);
	assert_int_equal(r->presence, DECISION_PARENT_ABSENT);
	json_decref(pod);
	json_decref(none);
}

static void test_not_tracked(void **state)
{
	struct fixture *f = *state;
	json_t *pod = tp_pod(), *upper = tp_pod(), *pods = json_array();
	struct parent_rec *r;

	/* Not eligible: no trigger annotation. */
	json_object_del(tp_get(pod, "metadata annotations"), KC_DEFAULT_TRIGGER_ANNOTATION);
	assert_false(f->cb.pod_wanted(f->cb.ctx, pod));
	f->cb.pod_changed(f->cb.ctx, pod);
	assert_int_equal(f->a.parents.count, 0);
	/* A uid the apiserver never writes (uppercase) is not ours to track. */
	json_object_set_new(tp_get(upper, "metadata"), "uid",
	                    json_string("0F3C8A52-6D1E-4B7A-9C2D-1E2F3A4B5C6D"));
	json_array_append(pods, upper);
	f->cb.pods_listed(f->cb.ctx, pods);
	assert_int_equal(f->a.parents.count, 0);
	/* A tracked parent that loses its annotation is forgotten (absent). */
	r = checkpoint_one(f);
	assert_true(f->cb.pod_wanted(f->cb.ctx, r->pod));
	f->cb.pod_changed(f->cb.ctx, pod);
	r = parent_table_find(&f->a.parents, TP_UID);
	assert_int_equal(r->presence, DECISION_PARENT_ABSENT);
	json_decref(pod);
	json_decref(upper);
	json_decref(pods);
}

static void test_restart_loads_disk(void **state)
{
	struct fixture *f = *state;
	static const char corrupt_uid[] = "2f3c8a52-6d1e-4b7a-9c2d-1e2f3a4b5c6d";
	char path[1024];
	struct parent_rec *r;
	struct kc_error err;

	checkpoint_one(f);
	snprintf(path, sizeof(path), "%s/pods/" KC_CKPT_FILE_PREFIX "%s" KC_CKPT_FILE_SUFFIX,
	         f->state, corrupt_uid);
	tu_write_file(path, "not a checkpoint\n", 17, 0600);
	agent_close(f);
	agent_open(f); /* a new process: empty table */
	assert_int_equal(f->a.parents.count, 0);
	assert_int_equal(agent_sync_load_disk(&f->a, &err), KC_OK);
	assert_int_equal(f->a.parents.count, 2);
	r = parent_table_find(&f->a.parents, TP_UID);
	assert_int_equal(r->ckpt, PARENT_CKPT_OK);
	assert_int_equal(r->presence, DECISION_PARENT_UNKNOWN); /* the API has not spoken */
	assert_string_equal(r->name, "agent-x7k2p");
	assert_string_equal(r->manifest_name, MANIFEST);
	r = parent_table_find(&f->a.parents, corrupt_uid);
	assert_int_equal(r->ckpt, PARENT_CKPT_CORRUPT);
	assert_non_null(r->problem);
	assert_null(r->manifest_name);
}

static void test_contact(void **state)
{
	struct fixture *f = *state;

	f->cb.contact(f->cb.ctx, API_CONTACT_FAILURE, "connection refused");
	assert_int_equal(f->a.last_error.code, KC_ENET);
	assert_string_equal(f->a.last_error.msg, "connection refused");
	assert_int_equal(f->a.last_success_wall, 0);
	f->cb.contact(f->cb.ctx, API_CONTACT_AUTH_ERROR, "401 Unauthorized");
	assert_int_equal(f->a.last_error.code, KC_EAUTH);
	f->a.dirty = false;
	f->cb.contact(f->cb.ctx, API_CONTACT_SUCCESS, NULL);
	assert_true(f->a.last_success_wall > 0);
	assert_true(f->a.dirty);
}

/* Sync owes a turn nothing when no write failed and the dir did not change. */
static void test_turn_idle(void **state)
{
	struct fixture *f = *state;

	checkpoint_one(f);
	f->a.verify_disk = true;
	assert_true(agent_sync_turn(&f->a, kc_clock_ms()) == REACH_NEVER);
	assert_false(f->a.verify_disk);
	assert_int_equal(json_object_size(f->a.ckpt_retry), 0);
}

/*
 * A checkpoint write that fails (here a directory sits where its temp file
 * goes) is retried by agent_sync_turn when due, with the objects in hand,
 * and the turn says when it wants to run again until the write succeeds.
 */
static void test_retry_failed_write(void **state)
{
	struct fixture *f = *state;
	json_t *pods = json_array(), *objects = json_array();
	char block[1024], inner[1100];
	struct parent_rec *r;
	int64_t now = kc_clock_ms(), due;

	snprintf(block, sizeof(block),
	         "%s/pods/." KC_CKPT_FILE_PREFIX TP_UID KC_CKPT_FILE_SUFFIX ".tmp", f->state);
	snprintf(inner, sizeof(inner), "%s/x", block);
	assert_int_equal(mkdir(block, 0700), 0);
	tu_write_file(inner, "x", 1, 0600);
	json_array_append_new(pods, tp_pod());
	f->cb.pods_listed(f->cb.ctx, pods);
	f->cb.refs_fetched(f->cb.ctx, TP_UID, objects, NULL);
	r = parent_table_find(&f->a.parents, TP_UID);
	assert_int_equal(r->ckpt, PARENT_CKPT_NONE);
	assert_null(r->manifest_name); /* nothing unverified is ever activated */
	assert_false(exists(f, POD_FILE));
	assert_true(f->a.last_error.code != KC_OK);
	due = f->a.ckpt_retry_ms;
	assert_true(due >= now + 4000 && due <= kc_clock_ms() + 5000);
	/* Not due yet: nothing tried, the turn asks to come back then. */
	assert_true(agent_sync_turn(&f->a, now) == due);
	assert_false(exists(f, POD_FILE));
	/* Still failing when due: the next try is one period later. */
	assert_true(agent_sync_turn(&f->a, due) == due + 5000);
	tu_rmrf(block);
	assert_true(agent_sync_turn(&f->a, due + 5000) == REACH_NEVER);
	r = parent_table_find(&f->a.parents, TP_UID);
	assert_int_equal(r->ckpt, PARENT_CKPT_OK);
	assert_string_equal(r->manifest_name, MANIFEST);
	assert_true(exists(f, POD_FILE));
	assert_null(r->retry_objects);
	json_decref(pods);
	json_decref(objects);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_list_then_checkpoint, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_object, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_deleted_then_relisted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_not_tracked, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_restart_loads_disk, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_contact, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_turn_idle, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_retry_failed_write, setup, teardown),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
