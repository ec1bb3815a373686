/*
 * test_object_input.c: render's input reader: pods and objects from YAML
 * documents, a JSON List read item by item (its pods parsed only when asked),
 * a document without kind that looks like a pod, and the errors that name the
 * file and document.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "object_input.h"
#include "testutil.h"

static char *dir;

static const char *write_input(const char *name, const char *text)
{
	static char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	tu_write_file(path, text, strlen(text), 0600);
	return path;
}

static int setup(void **state)
{
	(void)state;
	dir = tu_mkdtemp();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tu_rmrf(dir);
	free(dir);
	return 0;
}

static const char *name_of(const json_t *pod)
{
	return json_string_value(json_object_get(json_object_get(pod, "metadata"), "name"));
}

static void test_yaml_documents(void **state)
{
	const char *path = write_input(
	    "in.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: ns}\n"
	               "spec: {containers: [{name: c, image: i}]}\n---\n"
	               "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: ns}\n"
	               "data: {k: dg==}\n---\n"
	               "metadata: {name: b, namespace: ns}\nspec: {containers: []}\n");
	struct object_input in;
	struct kc_error err;
	json_t *pod, *owned;

	(void)state;
	assert_int_equal(object_input_init(&in, &err), KC_OK);
	if (object_input_read(&in, path, &err) != KC_OK)
		fail_msg("%s", err.msg);
	assert_int_equal(in.npods, 2);
	assert_non_null(kc_objects_find(in.objs, "Secret", "ns", "s"));
	assert_int_equal(object_input_pod_tree(&in.pods[1], &pod, &owned, &err), KC_OK);
	assert_null(owned); /* parsed with its document */
	assert_string_equal(name_of(pod), "b");
	assert_non_null(strstr(in.pods[1].where, "in.yaml: document 3"));
	object_input_free(&in);
}

static void test_json_list_streamed(void **state)
{
	const char *path = write_input(
	    "list.json",
	    "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": ["
	    "{\"kind\": \"Pod\", \"metadata\": {\"name\": \"p\", \"namespace\": \"ns\"},"
	    " \"spec\": {\"containers\": []}},"
	    "{\"kind\": \"ConfigMap\", \"apiVersion\": \"v1\","
	    " \"metadata\": {\"name\": \"c\", \"namespace\": \"ns\"}, \"data\": {}},"
	    "{\"kind\": \"Service\", \"metadata\": {\"name\": \"x\"}}]}");
	struct object_input in;
	struct kc_error err;
	json_t *pod, *owned;

	(void)state;
	assert_int_equal(object_input_init(&in, &err), KC_OK);
	if (object_input_read(&in, path, &err) != KC_OK)
		fail_msg("%s", err.msg);
	/* The ConfigMap is indexed; the pod and the Service wait as bytes. */
	assert_non_null(kc_objects_find(in.objs, "ConfigMap", "ns", "c"));
	assert_int_equal(in.npods, 2);
	assert_null(in.pods[0].pod);
	assert_int_equal(object_input_pod_tree(&in.pods[0], &pod, &owned, &err), KC_OK);
	assert_non_null(owned);
	assert_string_equal(name_of(pod), "p");
	json_decref(owned);
	/* Not a pod after all: said when its turn comes, with where it was. */
	assert_int_equal(object_input_pod_tree(&in.pods[1], &pod, &owned, &err), KC_EINVAL);
	if (strstr(err.msg, "list.json: document 1: items[2]: kind: Service is not Pod") == NULL)
		fail_msg("%s", err.msg);
	object_input_free(&in);
}

static void test_errors_name_file_and_document(void **state)
{
	const char *path = write_input("bad.yaml", "kind: Pod\nmetadata: {name: a}\n---\n"
	                                           "kind: Deployment\nmetadata: {name: d}\n");
	struct object_input in;
	struct kc_error err;

	(void)state;
	assert_int_equal(object_input_init(&in, &err), KC_OK);
	assert_int_equal(object_input_read(&in, path, &err), KC_EINVAL);
	assert_non_null(strstr(err.msg, "bad.yaml: document 2: kind: Deployment is not Pod"));
	path = write_input("empty.yaml", "");
	assert_int_equal(object_input_read(&in, path, &err), KC_EINVAL);
	assert_non_null(strstr(err.msg, "empty.yaml: empty input"));
	object_input_free(&in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_yaml_documents),
	    cmocka_unit_test(test_json_list_streamed),
	    cmocka_unit_test(test_errors_name_file_and_document),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
