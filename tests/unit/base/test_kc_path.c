/*
 * test_kc_path.c: configuration paths are made absolute against the right
 * directory.
 */
#include <stdlib.h>

#include "kc_path.h"
#include "testutil.h"

static void expect_join(const char *dir, const char *path, const char *want)
{
	struct kc_error err;
	char *out;

	assert_int_equal(kc_path_join(dir, path, &out, &err), KC_OK);
	assert_string_equal(out, want);
	free(out);
}

static void expect_beside(const char *file, const char *path, const char *want)
{
	struct kc_error err;
	char *out;

	assert_int_equal(kc_path_beside(file, path, &out, &err), KC_OK);
	assert_string_equal(out, want);
	free(out);
}

static void test_join(void **state)
{
	expect_join("/etc/kubernetes", "pki/ca.crt", "/etc/kubernetes/pki/ca.crt");
	expect_join("/etc/kubernetes/", "./pki/ca.crt", "/etc/kubernetes/pki/ca.crt");
	expect_join("/", "x", "/x");
	expect_join("/etc", "/abs/y", "/abs/y");
	expect_join(NULL, "rel", "rel");
	expect_join("/a", "../b", "/a/../b"); /* no normalisation: the kernel resolves it */
}

static void test_beside(void **state)
{
	expect_beside("/etc/kubernetes/kubelet.conf", "pki/ca.crt", "/etc/kubernetes/pki/ca.crt");
	expect_beside("/kubelet.conf", "ca.crt", "/ca.crt");
	expect_beside("kubelet.conf", "ca.crt", "./ca.crt");
	expect_beside("/etc//x/kubelet.conf", "ca", "/etc//x/ca");
	expect_beside("/etc/kubelet.conf", "/var/lib/x.pem", "/var/lib/x.pem");
}

static void test_dirname(void **state)
{
	struct kc_error err;
	char *out;

	assert_int_equal(kc_path_dirname("/a/b//c", &out, &err), KC_OK);
	assert_string_equal(out, "/a/b");
	free(out);
	assert_int_equal(kc_path_dirname("c", &out, &err), KC_OK);
	assert_string_equal(out, ".");
	free(out);
	assert_int_equal(kc_path_dirname("//c", &out, &err), KC_OK);
	assert_string_equal(out, "/");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_join),
	    cmocka_unit_test(test_beside),
	    cmocka_unit_test(test_dirname),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
