/*
 * test_agent_mirror.c: which pod the agent takes for the mirror pod of its
 * bridge (agent_mirror_source_uid), built as the kubelet builds it from the
 * bridge manifest, against hostile look-alikes; then, through the callbacks
 * the API client calls, how the mirror pod is noted on its parent and
 * forgotten, and that withdrawing the bridge (agent_pass) sends its DELETE.
 * The API client is stepped only to let a DELETE fail against the fixture's
 * unreachable server (127.0.0.1:1), which the client's stats count.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent_fixture.h"

#define NODE        "node-1"
#define MIRROR_NAME "agent-x7k2p-" NODE
#define MIRROR_UID  "5a1e0c3d-2b4f-4e6a-8c7d-9e0f1a2b3c4d"
#define OTHER_UID   "6b2f1d4e-3c5a-4f7b-9d8e-0f1a2b3c4d5e"
#define STATIC_HASH "3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c"

/*
 * The mirror pod of tp_pod()'s bridge as a kubelet publishes it: the bridge
 * manifest's metadata and spec, named "<name>-<node>", bound to the node,
 * with config.hash/source (pkg/kubelet/config/common.go, applyDefaults),
 * then config.mirror = the hash (pkg/kubelet/pod/mirror_client.go,
 * CreateMirrorPod) and a UID of the API's own.
 */
static json_t *mirror_pod(void)
{
	json_t *parent = tp_pod(), *pod = NULL, *meta, *annotations;
	struct kc_objects *objs = kc_objects_new();
	struct kc_error err;

	if (tp_render(parent, objs, &pod, &err) != KC_OK)
		fail_msg("render: %s", err.msg);
	kc_objects_free(objs);
	json_decref(parent);
	meta = json_object_get(pod, "metadata");
	annotations = json_object_get(meta, "annotations");
	assert_string_equal(json_string_value(json_object_get(meta, "name")), "agent-x7k2p");
	assert_string_equal(
	    json_string_value(json_object_get(annotations, KC_ANNOTATION_CHECKPOINT_OF)),
	    "kube-system/agent-x7k2p");
	json_object_set_new(meta, "name", json_string(MIRROR_NAME));
	json_object_set_new(meta, "uid", json_string(MIRROR_UID));
	json_object_set_new(annotations, "kubernetes.io/config.hash", json_string(STATIC_HASH));
	json_object_set_new(annotations, "kubernetes.io/config.source", json_string("file"));
	json_object_set_new(annotations, "kubernetes.io/config.mirror", json_string(STATIC_HASH));
	json_object_set_new(json_object_get(pod, "spec"), "nodeName", json_string(NODE));
	return pod;
}

/* at ("metadata annotations") .key = the JSON text value; NULL removes it. */
static void put(json_t *pod, const char *at, const char *key, const char *value)
{
	json_t *obj = tp_get(pod, at);

	assert_non_null(obj);
	if (value == NULL)
		json_object_del(obj, key);
	else
		json_object_set_new(obj, key, tp_json(value));
}

static void test_real_mirror_accepted(void **state)
{
	json_t *pod = mirror_pod();
	const char *source = agent_mirror_source_uid(pod, NODE);

	(void)state;
	assert_non_null(source);
	assert_string_equal(source, TP_UID);
	/* Any value of the mark will do, as for the kubelet (IsMirrorPod). */
	put(pod, "metadata annotations", "kubernetes.io/config.mirror", "\"\"");
	assert_non_null(agent_mirror_source_uid(pod, NODE));
	json_decref(pod);
}

struct variant {
	const char *what, *at, *key, *value; /* value: JSON text; NULL: removed */
};

static const struct variant hostile[] = {
    {"no kubelet mark", "metadata annotations", "kubernetes.io/config.mirror", NULL},
    {"mark not a string", "metadata annotations", "kubernetes.io/config.mirror", "1"},
    {"bound to another node", "spec", "nodeName", "\"node-2\""},
    {"bound to no node", "spec", "nodeName", NULL},
    {"nodeName not a string", "spec", "nodeName", "true"},
    {"another node in the name", "metadata", "name", "\"agent-x7k2p-node-2\""},
    {"name prefix trick", "metadata", "name", "\"agent-x7k2px-" NODE "\""},
    {"name suffix trick", "metadata", "name", "\"agent-x7k2p-" NODE "x\""},
    {"name without the separator", "metadata", "name", "\"agent-x7k2p_" NODE "\""},
    {"the parent's own name", "metadata", "name", "\"agent-x7k2p\""},
    {"name not a string", "metadata", "name", "5"},
    {"no name", "metadata", "name", NULL},
    {"checkpoint-of another namespace", "metadata annotations", KC_ANNOTATION_CHECKPOINT_OF,
     "\"default/agent-x7k2p\""},
    {"checkpoint-of a longer namespace", "metadata annotations", KC_ANNOTATION_CHECKPOINT_OF,
     "\"kube-systemx/agent-x7k2p\""},
    {"checkpoint-of another name", "metadata annotations", KC_ANNOTATION_CHECKPOINT_OF,
     "\"kube-system/agent-other\""},
    {"checkpoint-of a name prefix", "metadata annotations", KC_ANNOTATION_CHECKPOINT_OF,
     "\"kube-system/agent\""},
    {"checkpoint-of without a name", "metadata annotations", KC_ANNOTATION_CHECKPOINT_OF,
     "\"kube-system/\""},
    {"checkpoint-of without a slash", "metadata annotations", KC_ANNOTATION_CHECKPOINT_OF,
     "\"kube-system\""},
    {"checkpoint-of not a string", "metadata annotations", KC_ANNOTATION_CHECKPOINT_OF, "[]"},
    {"no checkpoint-of", "metadata annotations", KC_ANNOTATION_CHECKPOINT_OF, NULL},
    {"a namespace that prefixes checkpoint-of's", "metadata", "namespace", "\"kube\""},
    {"namespace not a string", "metadata", "namespace", "null"},
    {"no namespace", "metadata", "namespace", NULL},
    {"source-uid not a UID", "metadata annotations", KC_ANNOTATION_SOURCE_UID, "\"../../etc\""},
    {"source-uid in upper case", "metadata annotations", KC_ANNOTATION_SOURCE_UID,
     "\"0F3C8A52-6D1E-4B7A-9C2D-1E2F3A4B5C6D\""},
    {"source-uid not a string", "metadata annotations", KC_ANNOTATION_SOURCE_UID, "7"},
    {"no source-uid", "metadata annotations", KC_ANNOTATION_SOURCE_UID, NULL},
    {"uid not a UID", "metadata", "uid", "\"mirror\""},
    {"uid not a string", "metadata", "uid", "1"},
    {"no uid", "metadata", "uid", NULL},
    {"annotations not a mapping", "metadata", "annotations", "[\"kubernetes.io/config.mirror\"]"},
    {"no metadata", "", "metadata", NULL},
    {"metadata not a mapping", "", "metadata", "\"x\""},
    {"spec not a mapping", "", "spec", "[]"},
};

static void test_hostile_variants_refused(void **state)
{
	json_t *pod;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		pod = mirror_pod();

		put(pod, hostile[i].at, hostile[i].key, hostile[i].value);
		if (agent_mirror_source_uid(pod, NODE) != NULL)
			fail_msg("taken for our mirror pod: %s", hostile[i].what);
		json_decref(pod);
	}
	/* The pod is fine, the node is not the one it names. */
	pod = mirror_pod();

	assert_null(agent_mirror_source_uid(pod, "node-2"));
	assert_null(agent_mirror_source_uid(pod, "1"));
	assert_null(agent_mirror_source_uid(pod, ""));
	json_decref(pod);
	/* Not even a mapping. */
	pod = tp_json("[1, 2]");
	assert_null(agent_mirror_source_uid(pod, NODE));
	json_decref(pod);
}

static struct parent_rec *parent(struct agent_fixture *f)
{
	struct parent_rec *r = parent_table_find(&f->a.parents, TP_UID);

	assert_non_null(r);
	return r;
}

static void list(struct agent_fixture *f, json_t *a, json_t *b)
{
	json_t *pods = json_array();

	json_array_append(pods, a);
	if (b != NULL)
		json_array_append(pods, b);
	f->cb.pods_listed(f->cb.ctx, pods);
	json_decref(pods);
}

/* A watched mirror pod is noted on its parent, never tracked as a parent. */
static void test_watched_mirror_noted(void **state)
{
	struct agent_fixture *f = *state;
	json_t *mirror = mirror_pod();

	assert_string_equal(parent(f)->mirror_uid, "");
	assert_true(f->cb.pod_wanted(f->cb.ctx, mirror)); /* a relist keeps it */
	put(mirror, "metadata annotations", "kubernetes.io/config.mirror", NULL);
	assert_false(f->cb.pod_wanted(f->cb.ctx, mirror)); /* ...not a look-alike */
	put(mirror, "metadata annotations", "kubernetes.io/config.mirror", "\"" STATIC_HASH "\"");
	f->cb.pod_changed(f->cb.ctx, mirror);
	assert_string_equal(parent(f)->mirror_uid, MIRROR_UID);
	assert_int_equal(f->a.parents.count, 1);
	assert_null(parent_table_find(&f->a.parents, MIRROR_UID));
	assert_int_equal(parent(f)->presence, DECISION_PARENT_PRESENT);
	/* A DELETED event of another mirror pod UID (an older one) changes nothing... */
	put(mirror, "metadata", "uid", "\"" OTHER_UID "\"");
	f->cb.pod_deleted(f->cb.ctx, mirror);
	assert_string_equal(parent(f)->mirror_uid, MIRROR_UID);
	/* ...the one noted clears it, and the parent is not taken for deleted. */
	put(mirror, "metadata", "uid", "\"" MIRROR_UID "\"");
	f->cb.pod_deleted(f->cb.ctx, mirror);
	assert_string_equal(parent(f)->mirror_uid, "");
	assert_int_equal(parent(f)->presence, DECISION_PARENT_PRESENT);
	json_decref(mirror);
}

/* A listed mirror pod likewise; a relist without it forgets it. */
static void test_listed_mirror_noted(void **state)
{
	struct agent_fixture *f = *state;
	json_t *mirror = mirror_pod(), *pod = tp_pod();

	list(f, pod, mirror);
	assert_string_equal(parent(f)->mirror_uid, MIRROR_UID);
	assert_int_equal(f->a.parents.count, 1);
	assert_int_equal(parent(f)->presence, DECISION_PARENT_PRESENT);
	list(f, pod, NULL);
	assert_string_equal(parent(f)->mirror_uid, "");
	assert_int_equal(parent(f)->presence, DECISION_PARENT_PRESENT);
	json_decref(mirror);
	json_decref(pod);
}

/*
 * Mirror pods that agent_mirror_source_uid accepts but that are not of a
 * parent the agent tracks under that name: ignored, and nothing tracked.
 */
static void test_mirror_of_unknown_parent_ignored(void **state)
{
	struct agent_fixture *f = *state;
	json_t *mirror = mirror_pod();

	/* The source UID of a parent the agent does not know. */
	put(mirror, "metadata annotations", KC_ANNOTATION_SOURCE_UID, "\"" OTHER_UID "\"");
	assert_non_null(agent_mirror_source_uid(mirror, NODE));
	f->cb.pod_changed(f->cb.ctx, mirror);
	assert_string_equal(parent(f)->mirror_uid, "");
	assert_int_equal(f->a.parents.count, 1);
	assert_null(parent_table_find(&f->a.parents, OTHER_UID));
	assert_null(parent_table_find(&f->a.parents, MIRROR_UID));
	json_decref(mirror);
	/* Our parent's UID, with another parent's namespace and name throughout. */
	mirror = mirror_pod();
	put(mirror, "metadata", "namespace", "\"default\"");
	put(mirror, "metadata annotations", KC_ANNOTATION_CHECKPOINT_OF, "\"default/agent-x7k2p\"");
	assert_non_null(agent_mirror_source_uid(mirror, NODE));
	f->cb.pod_changed(f->cb.ctx, mirror);
	assert_string_equal(parent(f)->mirror_uid, "");
	json_decref(mirror);
	mirror = mirror_pod();
	put(mirror, "metadata", "name", "\"agent-other-" NODE "\"");
	put(mirror, "metadata annotations", KC_ANNOTATION_CHECKPOINT_OF,
	    "\"kube-system/agent-other\"");
	assert_non_null(agent_mirror_source_uid(mirror, NODE));
	f->cb.pod_changed(f->cb.ctx, mirror);
	assert_string_equal(parent(f)->mirror_uid, "");
	assert_int_equal(f->a.parents.count, 1);
	json_decref(mirror);
}

/*
 * A look-alike that names our parent under another name must not replace
 * the real mirror pod noted: the DELETE would then carry its UID and miss.
 */
static void test_lookalike_does_not_replace_real(void **state)
{
	struct agent_fixture *f = *state;
	json_t *mirror = mirror_pod(), *other = mirror_pod();

	f->cb.pod_changed(f->cb.ctx, mirror);
	put(other, "metadata", "name", "\"agent-other-" NODE "\"");
	put(other, "metadata", "uid", "\"" OTHER_UID "\"");
	put(other, "metadata annotations", KC_ANNOTATION_CHECKPOINT_OF,
	    "\"kube-system/agent-other\"");
	f->cb.pod_changed(f->cb.ctx, other);
	assert_string_equal(parent(f)->mirror_uid, MIRROR_UID);
	f->cb.pod_deleted(f->cb.ctx, other);
	assert_string_equal(parent(f)->mirror_uid, MIRROR_UID);
	json_decref(mirror);
	json_decref(other);
}

/* Step the API client for up to ms; the mirror pod DELETEs failed by then. */
static unsigned long long failed_deletes_after(struct agent_fixture *f, int ms)
{
	int64_t end = kc_clock_ms() + ms;
	struct api_stats st;
	struct kc_error err;

	do {
		assert_int_equal(api_client_wait(f->a.api, NULL, 0, 20, &err), KC_OK);
		assert_int_equal(api_client_step(f->a.api, &err), KC_OK);
		api_client_get_stats(f->a.api, &st);
	} while (kc_clock_ms() < end && st.mirror_delete_failures == 0);
	return st.mirror_delete_failures;
}

/* Past the unreachable window: the API was never reached since t0. */
static int64_t outage(const struct agent_fixture *f)
{
	return f->t0 + 31000;
}

/*
 * The pass that withdraws the bridge sends the DELETE of its mirror pod and
 * awaits it before the manifest goes (here it fails: nothing listens at the
 * fixture's server), and forgets it.
 */
static void test_withdrawal_sends_delete(void **state)
{
	struct agent_fixture *f = *state;
	json_t *mirror = mirror_pod();
	struct api_stats st;

	agent_pass(&f->a, outage(f));
	assert_int_equal(f->a.nactive, 1);
	f->cb.pod_changed(f->cb.ctx, mirror);
	assert_string_equal(parent(f)->mirror_uid, MIRROR_UID);
	unlink(f->flag);
	agent_pass(&f->a, outage(f) + 1000);
	assert_int_equal(f->a.withdrawals, 1);
	assert_string_equal(parent(f)->mirror_uid, "");
	/* Awaited within the pass, before the manifest went: counted already. */
	api_client_get_stats(f->a.api, &st);
	assert_int_equal(st.mirror_delete_failures, 1);
	assert_int_equal(failed_deletes_after(f, 300), 1);
	json_decref(mirror);
}

/* Without a mirror pod noted, a withdrawal sends nothing. */
static void test_withdrawal_without_mirror(void **state)
{
	struct agent_fixture *f = *state;
	json_t *mirror = mirror_pod();

	agent_pass(&f->a, outage(f));
	/* Noted, then deleted by the kubelet before the withdrawal. */
	f->cb.pod_changed(f->cb.ctx, mirror);
	f->cb.pod_deleted(f->cb.ctx, mirror);
	unlink(f->flag);
	agent_pass(&f->a, outage(f) + 1000);
	assert_int_equal(f->a.withdrawals, 1);
	assert_int_equal(failed_deletes_after(f, 500), 0);
	/* And a parent the agent does not track, or no UID at all: nothing. */
	agent_mirror_delete(&f->a, (const char *const[]){OTHER_UID, NULL}, 2);
	assert_int_equal(failed_deletes_after(f, 300), 0);
	json_decref(mirror);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_real_mirror_accepted),
	    cmocka_unit_test(test_hostile_variants_refused),
	    cmocka_unit_test_setup_teardown(test_watched_mirror_noted, af_setup_checkpointed,
	                                    af_teardown),
	    cmocka_unit_test_setup_teardown(test_listed_mirror_noted, af_setup_checkpointed,
	                                    af_teardown),
	    cmocka_unit_test_setup_teardown(test_mirror_of_unknown_parent_ignored,
	                                    af_setup_checkpointed, af_teardown),
	    cmocka_unit_test_setup_teardown(test_lookalike_does_not_replace_real,
	                                    af_setup_checkpointed, af_teardown),
	    cmocka_unit_test_setup_teardown(test_withdrawal_sends_delete, af_setup_checkpointed,
	                                    af_teardown),
	    cmocka_unit_test_setup_teardown(test_withdrawal_without_mirror, af_setup_checkpointed,
	                                    af_teardown),
	};

	return af_run("test_agent_mirror", tests, sizeof(tests) / sizeof(tests[0]));
}
