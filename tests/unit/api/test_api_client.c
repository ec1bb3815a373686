/*
 * test_api_client.c: the parts of api_client that need no apiserver: server
 * URL and tls-server-name validation, reference tracking rules, timers at
 * start, the object paths every request is sent to. The protocol itself is tested end to end
 * against the fake apiserver (tests/e2e/test_api_client.py).
 */
#include <string.h>

#include <stdlib.h>

#include "api_client.h"
#include "api_int.h"
#include "testutil.h"

static kc_code make(const char *server, const char *tls_name, struct api_client **out,
                    struct kc_error *err)
{
	struct kubeconfig kc;

	memset(&kc, 0, sizeof(kc));
	kc.server = (char *)server;
	kc.tls_server_name = (char *)tls_name;
	return api_client_new(&kc, "node-1", NULL, out, err);
}

static void expect_bad_server(const char *server, const char *tls_name, const char *needle)
{
	struct api_client *c = (struct api_client *)1;
	struct kc_error err;

	assert_int_equal(make(server, tls_name, &c, &err), KC_EINVAL);
	assert_null(c);
	if (strstr(err.msg, needle) == NULL)
		fail_msg("\"%s\" does not contain \"%s\"", err.msg, needle);
}

static void test_server_validation(void **state)
{
	struct api_client *c;
	struct kc_error err;

	(void)state;
	expect_bad_server(NULL, NULL, "no server URL");
	expect_bad_server("", NULL, "no server URL");
	expect_bad_server("ftp://10.0.0.1", NULL, "scheme must be https or http");
	expect_bad_server("https://10.0.0.1:6443/?x=1", NULL, "query or fragment");
	expect_bad_server("https://10.0.0.1:6443/#frag", NULL, "query or fragment");
	expect_bad_server("https://[::1", NULL, "server \"https://[::1\"");
	expect_bad_server("https://10.0.0.1:6443", "bad name/with/slash", "tls-server-name");
	assert_int_equal(make("https://10.0.0.1:6443/", NULL, &c, &err), KC_OK);
	api_client_free(c);
	assert_int_equal(make("https://[::1]:6443/prefix/", "kubernetes.test", &c, &err), KC_OK);
	api_client_free(c);
}

static void test_node_required(void **state)
{
	struct kubeconfig kc;
	struct api_client *c;
	struct kc_error err;

	(void)state;
	memset(&kc, 0, sizeof(kc));
	kc.server = "https://10.0.0.1";
	assert_int_equal(api_client_new(&kc, "", NULL, &c, &err), KC_EINVAL);
	assert_non_null(strstr(err.msg, "empty node name"));
}

static void test_first_list_is_due_at_once(void **state)
{
	struct api_client *c;
	struct kc_error err;
	struct api_stats st;

	(void)state;
	assert_int_equal(make("https://127.0.0.1:1", NULL, &c, &err), KC_OK);
	assert_int_equal(api_client_timeout_ms(c), 0);
	api_client_get_stats(c, &st);
	assert_int_equal(st.lists, 0);
	assert_string_equal(st.last_error, "");
	api_client_free(c);
}

static void test_track_refs_rules(void **state)
{
	struct pod_ref refs[2] = {
	    {.kind = "ConfigMap", .name = "cm", .optional = true},
	    {.kind = "Secret", .name = "s", .optional = false},
	};
	struct pod_refs set = {.namespace = "kube-system", .refs = refs, .count = 2};
	struct api_client *c;
	struct kc_error err;

	(void)state;
	assert_int_equal(make("https://127.0.0.1:1", NULL, &c, &err), KC_OK);
	assert_int_equal(api_client_track_refs(c, "uid-1", &set, &err), KC_OK);
	/* Same set again: accepted, left to the refresh timer. */
	assert_int_equal(api_client_track_refs(c, "uid-1", &set, &err), KC_OK);
	assert_int_equal(api_client_refresh_refs(c, "uid-1", &err), KC_OK);

	refs[1].kind = "Pod";
	assert_int_equal(api_client_track_refs(c, "uid-2", &set, &err), KC_EINVAL);
	assert_non_null(strstr(err.msg, "pod uid-2: reference 1: bad kind or name"));
	refs[1].kind = "Secret";
	set.namespace = NULL;
	assert_int_equal(api_client_track_refs(c, "uid-2", &set, &err), KC_EINVAL);
	assert_non_null(strstr(err.msg, "without a namespace"));
	/* A failed update leaves the tracked set alone. */
	assert_int_equal(api_client_track_refs(c, "uid-1", &set, &err), KC_EINVAL);
	assert_int_equal(api_client_refresh_refs(c, "uid-1", &err), KC_OK);

	assert_int_equal(api_client_refresh_refs(c, "uid-2", &err), KC_ENOTFOUND);
	api_client_untrack_refs(c, "uid-1");
	assert_int_equal(api_client_refresh_refs(c, "uid-1", &err), KC_ENOTFOUND);
	/* Untracking an unknown uid is harmless. */
	api_client_untrack_refs(c, "never-seen");
	api_client_free(c);
}

static void test_contact_names(void **state)
{
	(void)state;
	assert_string_equal(api_contact_name(API_CONTACT_SUCCESS), "success");
	assert_string_equal(api_contact_name(API_CONTACT_FAILURE), "failure");
	assert_string_equal(api_contact_name(API_CONTACT_AUTH_ERROR), "auth_error");
}

static void expect_path(const char *ns, const char *resource, const char *name, const char *query,
                        const char *want)
{
	char *path = api_object_path(ns, resource, name, query);

	assert_non_null(path);
	assert_string_equal(path, want);
	free(path);
}

/* Names come from API objects and the node: escaped, so none can leave its segment. */
static void test_object_paths(void **state)
{
	(void)state;
	expect_path("kube-system", "pods", "etcd-node-1", "",
	            "/api/v1/namespaces/kube-system/pods/etcd-node-1");
	expect_path("ns1", "secrets", "s", "?resourceVersion=0",
	            "/api/v1/namespaces/ns1/secrets/s?resourceVersion=0");
	expect_path("kube-system", "events", NULL, "", "/api/v1/namespaces/kube-system/events");
	expect_path(NULL, "nodes", "node-1", "", "/api/v1/nodes/node-1");
	expect_path("a/../b", "configmaps", "x?y#z", "",
	            "/api/v1/namespaces/a%2F..%2Fb/configmaps/x%3Fy%23z");
	expect_path(NULL, "nodes", "../secrets", "", "/api/v1/nodes/..%2Fsecrets");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_server_validation),
	    cmocka_unit_test(test_node_required),
	    cmocka_unit_test(test_first_list_is_due_at_once),
	    cmocka_unit_test(test_track_refs_rules),
	    cmocka_unit_test(test_contact_names),
	    cmocka_unit_test(test_object_paths),
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
