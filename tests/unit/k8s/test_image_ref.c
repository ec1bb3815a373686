/*
 * test_image_ref.c: the repository the kubelet pulls for an image reference
 * (docker's normalisation) and the credential providers' matchImages rule
 * (pkg/credentialprovider/keyring.go, URLsMatchStr), with the examples of
 * the kubelet's CredentialProviderConfig documentation.
 */
#include <string.h>

#include "image_ref.h"
#include "testutil.h"

static void test_repository(void **state)
{
	static const struct {
		const char *image, *repo;
	} cases[] = {
	    {"nginx", "docker.io/library/nginx"},
	    {"nginx:1.27", "docker.io/library/nginx"},
	    {"team/app:v1", "docker.io/team/app"},
	    {"docker.io/nginx", "docker.io/library/nginx"},
	    {"index.docker.io/team/app", "docker.io/team/app"},
	    {"index.docker.io/nginx", "docker.io/library/nginx"},
	    {"localhost/app", "localhost/app"},
	    {"Upper/app", "Upper/app"},
	    {"reg.example.com:5000/a/b:tag@sha256:0123", "reg.example.com:5000/a/b"},
	    {"123456789012.dkr.ecr.us-east-1.amazonaws.com/app@sha256:ab",
	     "123456789012.dkr.ecr.us-east-1.amazonaws.com/app"},
	    {"reg:5000", "docker.io/library/reg"}, /* a tag, not a port */
	};
	char out[IMAGE_REF_MAX + 64];
	struct kc_error err;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(image_ref_repository(cases[i].image, out, sizeof(out), &err),
		                 KC_OK);
		assert_string_equal(out, cases[i].repo);
	}
}

static void test_repository_refused(void **state)
{
	static const char *const bad[] = {"", "/app", "reg.io/", "a b", "@sha256:x", ":tag"};
	char out[64], big[IMAGE_REF_MAX + 2];
	struct kc_error err;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(image_ref_repository(bad[i], out, sizeof(out), &err), KC_EINVAL);
	assert_int_equal(image_ref_repository(NULL, out, sizeof(out), &err), KC_EINVAL);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(image_ref_repository(big, out, sizeof(out), &err), KC_EINVAL);
	/* Fits the limit but not the buffer: refused, never cut. */
	assert_int_equal(image_ref_repository("reg.example.com/a-rather-long-name", out, 16, &err),
	                 KC_EINVAL);
}

static void test_glob(void **state)
{
	static const struct {
		const char *glob, *repo;
		bool match;
	} cases[] = {
	    {"*.registry.io", "abc.registry.io/app", true},
	    {"*.registry.io", "registry.io/app", false}, /* label count differs */
	    {"*.registry.io", "a.b.registry.io/app", false},
	    {"*.*.registry.io", "a.b.registry.io/app", true},
	    {"registry.io:8080/path", "registry.io:8080/path/app", true},
	    {"registry.io:8080/path", "registry.io/path/app", false}, /* port differs */
	    {"registry.io/path", "registry.io/pathology", true},      /* a string prefix */
	    {"registry.io/path", "registry.io/other", false},
	    {"*.dkr.ecr.*.amazonaws.com", "123.dkr.ecr.us-east-1.amazonaws.com/app", true},
	    {"*.dkr.ecr.*.amazonaws.com", "123.dkr.ecr.us-east-1.amazonaws.com.cn/app", false},
	    {"docker.io", "docker.io/library/nginx", true},
	    {"reg-[0-9].io", "reg-7.io/a", true},
	    {"reg-[0-9].io", "reg-x.io/a", false},
	    {"reg?.io", "reg1.io/a", false}, /* url.Parse: "?" starts the query */
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (image_ref_glob_matches(cases[i].glob, cases[i].repo) != cases[i].match)
			fail_msg("%s vs %s: want %d", cases[i].glob, cases[i].repo, cases[i].match);
	}
	assert_false(image_ref_glob_matches(NULL, "a"));
	assert_false(image_ref_glob_matches("a", NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_repository),
	    cmocka_unit_test(test_repository_refused),
	    cmocka_unit_test(test_glob),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
