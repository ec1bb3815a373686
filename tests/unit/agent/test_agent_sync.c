/*
 * test_agent_sync.c: agent_sync driven through the callbacks the API client
 * calls (api_callbacks), against a real checkpoint store in a temp dir. An
 * eligible pod is tracked, checkpointed once its objects arrive (file on
 * disk, manifest cached), forgotten when deleted or missing from a relist;
 * an ineligible pod or a uid the apiserver would not write is never tracked;
 * a restart rebuilds the table from disk, corrupt files included. The API
 * client is real but never stepped: nothing leaves the process.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agent_fixture.h"

#define POD_FILE "pods/" KC_CKPT_FILE_PREFIX TP_UID KC_CKPT_FILE_SUFFIX
#define MANIFEST AF_MANIFEST

static bool exists(const struct agent_fixture *f, const char *rel)
{
	char path[1024];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", f->state, rel);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static void test_list_then_checkpoint(void **state)
{
	struct agent_fixture *f = *state;
	struct parent_rec *r;
	json_t *none;

	assert_false(exists(f, POD_FILE));
	r = af_checkpoint(f);
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
	/* The parent's warnings (imagePullSecrets, cluster DNS) are kept; no Event. */
	assert_int_equal(json_array_size(r->warnings), 2);
	assert_non_null(
	    strstr(json_string_value(json_array_get(r->warnings, 0)), "imagePullSecrets"));
	assert_int_equal(f->a.ev.queue.n, 0);
	/* Objects of a parent no longer tracked are ignored. */
	none = json_array();
	f->cb.refs_fetched(f->cb.ctx, "1f3c8a52-6d1e-4b7a-9c2d-1e2f3a4b5c6d", none, NULL);
	json_decref(none); /* the callback borrows objects (api_client.h) */
	assert_null(parent_table_find(&f->a.parents, "1f3c8a52-6d1e-4b7a-9c2d-1e2f3a4b5c6d"));
}

static void test_missing_object(void **state)
{
	struct agent_fixture *f = *state;
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
	/* One NotCheckpointable Event on the pod, raised once per change of reason. */
	assert_int_equal(f->a.ev.queue.n, 1);
	assert_string_equal(evq_head(&f->a.ev.queue)->reason, EVQ_NOT_CHECKPOINTABLE);
	assert_string_equal(evq_head(&f->a.ev.queue)->name, "agent-x7k2p");
	assert_string_equal(evq_head(&f->a.ev.queue)->uid, TP_UID);
	assert_non_null(strstr(evq_head(&f->a.ev.queue)->message, "Secret kube-system/tls"));
	f->cb.refs_fetched(f->cb.ctx, TP_UID, NULL, &missing);
	assert_int_equal(f->a.ev.queue.n, 1);
	assert_int_equal(evq_head(&f->a.ev.queue)->count, 1);
	kc_fail(&missing, KC_ENOTFOUND, "ConfigMap kube-system/cfg: not found");
	f->cb.refs_fetched(f->cb.ctx, TP_UID, NULL, &missing);
	assert_int_equal(f->a.ev.queue.n, 2);
}

static void test_deleted_then_relisted(void **state)
{
	struct agent_fixture *f = *state;
	struct parent_rec *r = af_checkpoint(f);
	json_t *pod = tp_pod(), *none = json_array();
	int64_t before = kc_clock_ms();

	f->a.dirty = false;
	f->cb.pod_deleted(f->cb.ctx, pod);
	r = parent_table_find(&f->a.parents, TP_UID);
	assert_int_equal(r->presence, DECISION_PARENT_ABSENT);
	assert_true(r->absent_since_ms >= before);
	assert_null(r->pod_json);
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
	struct agent_fixture *f = *state;
	json_t *pod = tp_pod(), *upper = tp_pod(), *pods = json_array(), *held;
	struct parent_rec *r;
	struct kc_error err;

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
	r = af_checkpoint(f);
	assert_int_equal(parent_rec_pod(r, &held, &err), KC_OK);
	assert_true(f->cb.pod_wanted(f->cb.ctx, held));
	json_decref(held);
	f->cb.pod_changed(f->cb.ctx, pod);
	r = parent_table_find(&f->a.parents, TP_UID);
	assert_int_equal(r->presence, DECISION_PARENT_ABSENT);
	json_decref(pod);
	json_decref(upper);
	json_decref(pods);
}

static void test_restart_loads_disk(void **state)
{
	struct agent_fixture *f = *state;
	static const char corrupt_uid[] = "2f3c8a52-6d1e-4b7a-9c2d-1e2f3a4b5c6d";
	char path[1024];
	struct parent_rec *r;
	struct kc_error err;

	af_checkpoint(f);
	snprintf(path, sizeof(path), "%s/pods/" KC_CKPT_FILE_PREFIX "%s" KC_CKPT_FILE_SUFFIX,
	         f->state, corrupt_uid);
	tu_write_file(path, "not a checkpoint\n", 17, 0600);
	af_close(f);
	af_open(f); /* a new process: empty table */
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
	/* The corrupt file names no pod: its Event goes on the Node. */
	assert_int_equal(f->a.ev.queue.n, 1);
	assert_string_equal(evq_head(&f->a.ev.queue)->reason, EVQ_CORRUPT);
	assert_string_equal(evq_head(&f->a.ev.queue)->kind, "Node");
	assert_string_equal(evq_head(&f->a.ev.queue)->name, "node-1");
	assert_non_null(strstr(evq_head(&f->a.ev.queue)->message, corrupt_uid));
}

static void test_contact(void **state)
{
	struct agent_fixture *f = *state;

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
	struct agent_fixture *f = *state;

	af_checkpoint(f);
	f->a.verify_disk = true;
	assert_true(agent_sync_turn(&f->a, kc_clock_ms()) == REACH_NEVER);
	assert_false(f->a.verify_disk);
	assert_int_equal(json_object_size(f->a.ckpt_retry), 0);
}

/*
 * A checkpoint write that fails (here a non-empty directory sits where the
 * file goes, so the rename into place fails) is retried by agent_sync_turn when due, with the
 * objects in hand, and the turn says when it wants to run again until the write succeeds.
 */
static void test_retry_failed_write(void **state)
{
	struct agent_fixture *f = *state;
	json_t *pods = json_array(), *objects = json_array();
	char block[1024], inner[1100];
	struct parent_rec *r;
	int64_t now = kc_clock_ms(), due;

	snprintf(block, sizeof(block), "%s/" POD_FILE, f->state);
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
	    cmocka_unit_test_setup_teardown(test_list_then_checkpoint, af_setup, af_teardown),
	    cmocka_unit_test_setup_teardown(test_missing_object, af_setup, af_teardown),
	    cmocka_unit_test_setup_teardown(test_deleted_then_relisted, af_setup, af_teardown),
	    cmocka_unit_test_setup_teardown(test_not_tracked, af_setup, af_teardown),
	    cmocka_unit_test_setup_teardown(test_restart_loads_disk, af_setup, af_teardown),
	    cmocka_unit_test_setup_teardown(test_contact, af_setup, af_teardown),
	    cmocka_unit_test_setup_teardown(test_turn_idle, af_setup, af_teardown),
	    cmocka_unit_test_setup_teardown(test_retry_failed_write, af_setup, af_teardown),
	};

	return af_run("test_agent_sync", tests, sizeof(tests) / sizeof(tests[0]));
}
