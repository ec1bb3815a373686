/*
 * test_pod_spec.c: the one container walk visits init containers then
 * containers with their field paths and stops on the first failure; the
 * metadata readers tell a missing or empty field apart as documented.
 */
#include <string.h>

#include "pod_spec.h"
#include "testutil.h"

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);

	if (j == NULL)
		fail_msg("bad test JSON: %s", e.text);
	return j;
}

struct seen {
	char paths[8][64];
	size_t n;
	size_t fail_at; /* fail on this visit (counting from 1); 0: never */
};

static kc_code visit(json_t *c, const char *path, void *ctx, struct kc_error *err)
{
	struct seen *s = ctx;

	snprintf(s->paths[s->n], sizeof(s->paths[0]), "%s=%s", path,
	         json_string_value(json_object_get(c, "name")));
	if (++s->n == s->fail_at)
		return kc_fail(err, KC_ENOTCHECKPOINTABLE, "stop at %s", path);
	return KC_OK;
}

static void test_walk_order(void **state)
{
	json_t *spec = parse("{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}],"
	                     "\"initContainers\":[{\"name\":\"i\"}],"
	                     "\"ephemeralContainers\":[{\"name\":\"e\"}]}");
	struct seen s = {0};
	struct kc_error err;

	assert_int_equal(pod_spec_each_container(spec, visit, &s, &err), KC_OK);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.paths[0], "spec.initContainers[0]=i");
	assert_string_equal(s.paths[1], "spec.containers[0]=a");
	assert_string_equal(s.paths[2], "spec.containers[1]=b");
	memset(&s, 0, sizeof(s));
	s.fail_at = 2;
	assert_int_equal(pod_spec_each_container(spec, visit, &s, &err), KC_ENOTCHECKPOINTABLE);
	assert_int_equal(s.n, 2);
	assert_string_equal(err.msg, "stop at spec.containers[0]");
	json_decref(spec);
}

static void test_walk_bad_shapes(void **state)
{
	json_t *spec = parse("{\"initContainers\":null,\"containers\":{\"name\":\"a\"}}");
	struct seen s = {0};
	struct kc_error err;

	assert_int_equal(pod_spec_each_container(spec, visit, &s, &err), KC_EINVAL);
	assert_string_equal(err.msg, "spec.containers: must be a list");
	json_decref(spec);
	spec = parse("{\"containers\":[{\"name\":\"a\"},\"x\"]}");
	assert_int_equal(pod_spec_each_container(spec, visit, &s, &err), KC_EINVAL);
	assert_string_equal(err.msg, "spec.containers[1]: must be a mapping");
	json_decref(spec);
}

static void test_meta(void **state)
{
	json_t *pod = parse("{\"metadata\":{\"name\":\"etcd\",\"namespace\":\"\",\"uid\":7}}");

	assert_string_equal(pod_meta_string(pod, "name"), "etcd");
	assert_string_equal(pod_meta_string(pod, "namespace"), "");
	assert_null(pod_meta_string(pod, "uid")); /* not a string */
	assert_null(pod_meta_string(pod, "labels"));
	assert_null(pod_meta_string(NULL, "name"));
	assert_string_equal(pod_meta_or(pod, "name", "?"), "etcd");
	assert_string_equal(pod_meta_or(pod, "namespace", "?"), "?"); /* empty is missing */
	assert_string_equal(pod_meta_or(pod, "uid", ""), "");
	assert_null(pod_meta_or(pod, "labels", NULL));
	json_decref(pod);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_walk_order),
	    cmocka_unit_test(test_walk_bad_shapes),
	    cmocka_unit_test(test_meta),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
