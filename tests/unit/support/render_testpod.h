/*
 * render_testpod.h: synthetic pods and objects for the render unit tests
 * (test_render_*.c, test_volume_plan.c, test_pod_refs.c,
 * test_manifest_check.c). Header-only: each test program is one file.
 */
#ifndef KC_RENDER_TESTPOD_H
#define KC_RENDER_TESTPOD_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "objects.h"
#include "render.h"
#include "testutil.h"

#define TP_UID   "0f3c8a52-6d1e-4b7a-9c2d-1e2f3a4b5c6d"
#define TP_STATE "/state"

/* An eligible, fully populated API pod of a DaemonSet, as the API returns it. */
static inline json_t *tp_pod(void)
{
	json_error_t e;
	json_t *pod =
	    json_loads("{\"apiVersion\":\"v1\",\"kind\":\"Pod\","
	               "\"metadata\":{\"name\":\"agent-x7k2p\",\"namespace\":\"kube-system\","
	               "\"uid\":\"" TP_UID "\",\"resourceVersion\":\"123\",\"generation\":1,"
	               "\"generateName\":\"agent-\",\"creationTimestamp\":\"2024-01-01T00:00:00Z\","
	               "\"selfLink\":\"/api/v1/x\",\"finalizers\":[\"f\"],\"managedFields\":[{}],"
	               "\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"DaemonSet\","
	               "\"name\":\"agent\",\"uid\":\"1f3c8a52-6d1e-4b7a-9c2d-1e2f3a4b5c6d\"}],"
	               "\"labels\":{\"app\":\"agent\",\"controller-revision-hash\":\"abc\","
	               "\"pod-template-generation\":\"3\",\"pod-template-hash\":\"x\"},"
	               "\"annotations\":{\"node.kubernetes.io/bootstrap-checkpoint\":\"true\","
	               "\"kubernetes.io/config.seen\":\"x\",\"team\":\"infra\"}},"
	               "\"spec\":{\"nodeName\":\"node-1\",\"serviceAccountName\":\"agent\","
	               "\"serviceAccount\":\"agent\",\"nodeSelector\":{\"role\":\"x\"},"
	               "\"affinity\":{\"nodeAffinity\":{}},\"schedulingGates\":[{\"name\":\"g\"}],"
	               "\"tolerations\":[{\"operator\":\"Exists\"}],\"priority\":2000001000,"
	               "\"priorityClassName\":\"system-node-critical\","
	               "\"preemptionPolicy\":\"PreemptLowerPriority\","
	               "\"imagePullSecrets\":[{\"name\":\"registry\"}],"
	               "\"ephemeralContainers\":[{\"name\":\"debug\",\"image\":\"busybox\"}],"
	               "\"containers\":[{\"name\":\"main\",\"image\":\"agent:1\","
	               "\"imagePullPolicy\":\"Always\"}]},"
	               "\"status\":{\"phase\":\"Running\",\"podIP\":\"10.0.0.1\"}}",
	               0, &e);

	assert_non_null(pod);
	return pod;
}

static inline json_t *tp_spec(json_t *pod)
{
	return json_object_get(pod, "spec");
}

static inline json_t *tp_container(json_t *pod, size_t i)
{
	return json_array_get(json_object_get(tp_spec(pod), "containers"), i);
}

/* Parse JSON text (tests only: aborts the test on a typo). */
static inline json_t *tp_json(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &e);

	if (j == NULL)
		fail_msg("bad test JSON at %d: %s: %s", e.position, e.text, text);
	return j;
}

/* Is a equal to the JSON text? */
static inline int tp_equal(const json_t *a, const char *text)
{
	json_t *b = tp_json(text);
	int eq = json_equal(a, b);

	json_decref(b);
	return eq;
}

/* Set spec.volumes to the JSON list text. */
static inline void tp_volumes(json_t *pod, const char *list)
{
	json_object_set_new(tp_spec(pod), "volumes", tp_json(list));
}

/* Objects from a JSON list of Secrets/ConfigMaps. */
static inline struct kc_objects *tp_objects(const char *list)
{
	struct kc_objects *objs = kc_objects_new();
	json_t *arr = tp_json(list), *o;
	size_t i;

	assert_non_null(objs);
	json_array_foreach(arr, i, o)
	{
		json_incref(o);
		assert_int_equal(kc_objects_add(objs, o, NULL), KC_OK);
	}
	json_decref(arr);
	return objs;
}

static inline struct render_opts tp_opts(void)
{
	struct render_opts o;

	memset(&o, 0, sizeof(o));
	o.node_name = "node-1";
	o.state_dir = TP_STATE;
	return o;
}

/* render_pod with the default options; returns the code, fills *manifest. */
static inline kc_code tp_render(json_t *pod, const struct kc_objects *objs, json_t **manifest,
                                struct kc_error *err)
{
	struct render_opts o = tp_opts();

	kc_error_clear(err);
	return render_pod(pod, objs, &o, manifest, err);
}

/* Assert msg holds needle, printing both when not. */
#define tp_assert_msg(msg, needle)                                                                 \
	do {                                                                                       \
		if (strstr((msg), (needle)) == NULL)                                               \
			fail_msg("message '%s' lacks '%s'", (msg), (needle));                      \
	} while (0)

/* Value at a path of space-separated keys and list indexes ("spec containers 0"). */
static inline json_t *tp_get(json_t *root, const char *path)
{
	char buf[256], *tok, *save = NULL;
	json_t *cur = root;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, " ", &save); tok != NULL && cur != NULL;
	     tok = strtok_r(NULL, " ", &save)) {
		if (json_is_array(cur))
			cur = json_array_get(cur, (size_t)atoi(tok));
		else
			cur = json_object_get(cur, tok);
	}
	return cur;
}

#endif
