/*
 * test_parent_table.c: the agent's record of each parent. Find-or-add keeps
 * one record per uid (also across growth and removal), the setters copy and
 * report changes, and the decision view holds exactly the parents with a
 * checkpoint or a reason not to have one, each mapped back to its record.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parent_table.h"
#include "testutil.h"

static void uid_of(unsigned i, char out[40])
{
	snprintf(out, 40, "00000000-0000-4000-8000-%012x", i);
}

static void test_get_find_remove(void **state)
{
	struct parent_table t;
	struct parent_rec *r;
	char uid[40];
	unsigned i;

	parent_table_init(&t);
	assert_null(parent_table_find(&t, "00000000-0000-4000-8000-000000000001"));
	for (i = 1; i <= 100; i++) { /* past the first growth (16) several times */
		uid_of(i, uid);
		r = parent_table_get(&t, uid);
		assert_non_null(r);
		assert_string_equal(r->uid, uid);
		assert_int_equal(r->presence, DECISION_PARENT_UNKNOWN);
		assert_int_equal(r->ckpt, PARENT_CKPT_NONE);
	}
	assert_int_equal(t.count, 100);
	uid_of(42, uid);
	r = parent_table_get(&t, uid);
	assert_int_equal(t.count, 100); /* found, not added */
	assert_ptr_equal(r, parent_table_find(&t, uid));
	parent_table_remove(&t, uid);
	assert_int_equal(t.count, 99);
	assert_null(parent_table_find(&t, uid));
	parent_table_remove(&t, uid); /* absent: nothing happens */
	assert_int_equal(t.count, 99);
	for (i = 1; i <= 100; i++) { /* the others stay findable after the move */
		uid_of(i, uid);
		if (i == 42)
			continue;
		assert_non_null(parent_table_find(&t, uid));
		assert_string_equal(parent_table_find(&t, uid)->uid, uid);
	}
	/* Too long for the record: refused, never truncated into another uid. */
	assert_null(parent_table_get(&t, "00000000-0000-4000-8000-0000000000010000"));
	parent_table_free(&t);
	assert_int_equal(t.count, 0);
}

static void test_setters(void **state)
{
	struct parent_table t;
	struct parent_rec *r;
	struct kc_error err;
	struct kc_buf bytes;
	/* Keys not in sorted order: reading back must keep the API's order. */
	json_t *pod = json_pack("{s:s,s:s,s:{s:s}}", "kind", "Pod", "apiVersion", "v1", "metadata",
	                        "name", "etcd"),
	       *back;
	char ns[] = "kube-system";

	parent_table_init(&t);
	r = parent_table_get(&t, "00000000-0000-4000-8000-000000000001");
	assert_int_equal(parent_rec_set_identity(r, ns, "etcd", "2026-01-01T00:00:00Z", &err),
	                 KC_OK);
	ns[0] = 'X'; /* copied */
	assert_string_equal(r->namespace, "kube-system");
	assert_int_equal(parent_rec_set_identity(r, NULL, "etcd-2", NULL, &err), KC_OK);
	assert_string_equal(r->namespace, "kube-system"); /* NULL leaves it */
	assert_string_equal(r->name, "etcd-2");
	assert_string_equal(r->created, "2026-01-01T00:00:00Z");

	assert_false(parent_rec_set_problem(r, NULL));
	assert_true(parent_rec_set_problem(r, "needs the API"));
	assert_false(parent_rec_set_problem(r, "needs the API"));
	assert_true(parent_rec_set_problem(r, "another reason"));
	assert_true(parent_rec_set_problem(r, NULL));
	assert_null(r->problem);

	kc_buf_init(&bytes, 0);
	assert_int_equal(kc_buf_puts(&bytes, "apiVersion: v1\n", &err), KC_OK);
	assert_int_equal(
	    parent_rec_set_manifest(r, "kubelet-checkpoint_kube-system_etcd.yaml", &bytes, &err),
	    KC_OK);
	kc_buf_free(&bytes);
	assert_string_equal(r->manifest_name, "kubelet-checkpoint_kube-system_etcd.yaml");
	assert_int_equal(r->manifest.len, 15);
	assert_memory_equal(r->manifest.data, "apiVersion: v1\n", 15);
	parent_rec_clear_manifest(r);
	assert_null(r->manifest_name);
	assert_int_equal(r->manifest.len, 0);

	assert_false(parent_rec_set_warnings(r, json_array())); /* none yet == empty */
	assert_true(parent_rec_set_warnings(r, json_pack("[s]", "runtimeClassName")));
	assert_false(parent_rec_set_warnings(r, json_pack("[s]", "runtimeClassName")));
	assert_true(parent_rec_set_warnings(r, json_array()));

	assert_int_equal(parent_rec_pod(r, &back, &err), KC_ENOTFOUND);
	assert_int_equal(parent_rec_set_pod(r, pod, &err), KC_OK);
	assert_int_equal(pod->refcount, 1); /* kept as text, not a reference */
	assert_non_null(strchr(r->pod_json, '{'));
	assert_null(strchr(r->pod_json, '\n')); /* compact */
	/* Read back: an equal tree of its own, keys in the order the API sent. */
	assert_int_equal(parent_rec_pod(r, &back, &err), KC_OK);
	assert_ptr_not_equal(back, pod);
	assert_true(json_equal(back, pod));
	assert_string_equal(json_object_iter_key(json_object_iter(back)),
	                    json_object_iter_key(json_object_iter(pod)));
	json_decref(back);
	r->presence = DECISION_PARENT_PRESENT;
	parent_rec_mark_absent(r, 5000);
	assert_null(r->pod_json);
	assert_int_equal(parent_rec_pod(r, &back, &err), KC_ENOTFOUND);
	assert_null(back);
	assert_int_equal(r->presence, DECISION_PARENT_ABSENT);
	assert_int_equal(r->absent_since_ms, 5000);
	parent_rec_mark_absent(r, 9000); /* absent since the first time */
	assert_int_equal(r->absent_since_ms, 5000);
	json_decref(pod);
	parent_table_free(&t);
}

static void test_decision_view(void **state)
{
	struct decision_checkpoint *view = NULL;
	struct parent_table t;
	struct parent_rec *r;
	struct kc_error err;
	size_t *idx = NULL, n = 99;
	char uid[40];
	unsigned i;

	parent_table_init(&t);
	assert_int_equal(parent_table_decision_view(&t, &view, &idx, &n, &err), KC_OK);
	assert_int_equal(n, 0);
	free(view);
	free(idx);
	for (i = 1; i <= 5; i++) {
		uid_of(i, uid);
		parent_table_get(&t, uid);
	}
	t.recs[0].ckpt = PARENT_CKPT_OK; /* in the view */
	t.recs[0].presence = DECISION_PARENT_PRESENT;
	t.recs[0].host_ports = true;
	parent_rec_set_identity(&t.recs[0], "kube-system", "etcd", "2026-01-01T00:00:00Z", &err);
	/* recs[1]: tracked, nothing on disk yet: not in the view */
	t.recs[2].ckpt = PARENT_CKPT_CORRUPT;
	t.recs[3].not_checkpointable = true;
	t.recs[3].presence = DECISION_PARENT_PRESENT;
	t.recs[4].ckpt = PARENT_CKPT_OK;
	parent_rec_mark_absent(&t.recs[4], 1234);
	assert_int_equal(parent_table_decision_view(&t, &view, &idx, &n, &err), KC_OK);
	assert_int_equal(n, 4);
	assert_int_equal(idx[0], 0);
	assert_int_equal(idx[1], 2);
	assert_int_equal(idx[2], 3);
	assert_int_equal(idx[3], 4);
	for (i = 0; i < n; i++)
		assert_string_equal(view[i].uid, t.recs[idx[i]].uid);
	assert_int_equal(view[0].state, DECISION_CKPT_OK);
	assert_int_equal(view[0].parent, DECISION_PARENT_PRESENT);
	assert_string_equal(view[0].namespace, "kube-system");
	assert_string_equal(view[0].name, "etcd");
	assert_string_equal(view[0].created, "2026-01-01T00:00:00Z");
	assert_true(view[0].host_ports);
	assert_int_equal(view[1].state, DECISION_CKPT_CORRUPT);
	assert_null(view[1].namespace);
	assert_int_equal(view[1].parent, DECISION_PARENT_UNKNOWN);
	assert_int_equal(view[2].state, DECISION_CKPT_NOT_CHECKPOINTABLE);
	assert_int_equal(view[3].parent, DECISION_PARENT_ABSENT);
	assert_int_equal(view[3].parent_absent_since_ms, 1234);
	assert_false(view[3].host_ports);
	free(view);
	free(idx);
	r = &t.recs[3];
	r->not_checkpointable = false; /* a checkpoint that stops mattering leaves the view */
	assert_int_equal(parent_table_decision_view(&t, &view, &idx, &n, &err), KC_OK);
	assert_int_equal(n, 3);
	free(view);
	free(idx);
	parent_table_free(&t);
}

/*
 * The warnings setter says "changed" only when the text changes: the agent
 * logs warnings once per pod change, not at every checkpoint refresh.
 */
static void test_set_warnings(void **state)
{
	struct parent_table t;
	struct parent_rec *r;

	parent_table_init(&t);
	r = parent_table_get(&t, "00000000-0000-4000-8000-000000000001");
	assert_non_null(r);
	assert_false(parent_rec_set_warnings(r, json_array())); /* none known -> none */
	assert_true(parent_rec_set_warnings(r, json_pack("[s]", "dns")));
	assert_false(parent_rec_set_warnings(r, json_pack("[s]", "dns")));
	assert_true(parent_rec_set_warnings(r, json_pack("[s, s]", "runtime", "dns")));
	assert_true(parent_rec_set_warnings(r, json_pack("[s, s]", "dns", "runtime")));
	assert_string_equal(json_string_value(json_array_get(r->warnings, 0)), "dns");
	assert_true(parent_rec_set_warnings(r, json_array()));
	assert_int_equal(json_array_size(r->warnings), 0);
	parent_table_free(&t); /* frees the warnings too (ASan/valgrind would say) */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_get_find_remove),
	    cmocka_unit_test(test_setters),
	    cmocka_unit_test(test_decision_view),
	    cmocka_unit_test(test_set_warnings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
