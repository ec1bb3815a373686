/*
 * test_credential_providers.c: the kubelet's image credential providers that
 * send the pod's ServiceAccount token, from a file or a directory as the
 * kubelet reads it, and hostile configurations refused with the file named.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "credential_providers.h"
#include "testutil.h"

#define TOKEN_PROVIDER                                                                             \
	"apiVersion: kubelet.config.k8s.io/v1\n"                                                   \
	"kind: CredentialProviderConfig\n"                                                         \
	"providers:\n"                                                                             \
	"- name: plain\n"                                                                          \
	"  matchImages: [\"*.plain.example\"]\n"                                                   \
	"  defaultCacheDuration: 10m\n"                                                            \
	"  apiVersion: credentialprovider.kubelet.k8s.io/v1\n"                                     \
	"- name: acr-token\n"                                                                      \
	"  matchImages: [\"*.azurecr.io\", \"reg.example:5000/team\"]\n"                           \
	"  defaultCacheDuration: 10m\n"                                                            \
	"  apiVersion: credentialprovider.kubelet.k8s.io/v1\n"                                     \
	"  tokenAttributes:\n"                                                                     \
	"    serviceAccountTokenAudience: api://AzureCRTokenExchange\n"                            \
	"    requireServiceAccount: true\n"                                                        \
	"    cacheType: ServiceAccount\n"

static void write_text(const char *dir, const char *name, const char *text)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	tu_write_file(path, text, strlen(text), 0644);
}

static void test_file(void **state)
{
	char *dir = tu_mkdtemp(), path[4096];
	struct credential_providers cp;
	struct kc_error err;

	write_text(dir, "config.yaml", TOKEN_PROVIDER);
	snprintf(path, sizeof(path), "%s/config.yaml", dir);
	assert_int_equal(credential_providers_read(path, &cp, &err), KC_OK);
	/* Only the token provider's patterns: "plain" sends no token. */
	assert_int_equal(cp.count, 2);
	assert_string_equal(cp.sa_token_rules[0].provider, "acr-token");
	assert_string_equal(cp.sa_token_rules[0].match_image, "*.azurecr.io");
	assert_string_equal(cp.sa_token_rules[1].match_image, "reg.example:5000/team");
	credential_providers_free(&cp);
	assert_int_equal(cp.count, 0);
	tu_rmrf(dir);
	free(dir);
}

/* A directory: *.json, *.yaml, *.yml in lexical order; other names ignored. */
static void test_directory(void **state)
{
	char *dir = tu_mkdtemp(), sub[4096];
	struct credential_providers cp;
	struct kc_error err;

	write_text(dir, "20-token.yaml", TOKEN_PROVIDER);
	write_text(dir, "10-other.json",
	           "{\"kind\":\"CredentialProviderConfig\",\"providers\":[{\"name\":\"gcr\","
	           "\"matchImages\":[\"gcr.io\"],\"tokenAttributes\":{"
	           "\"serviceAccountTokenAudience\":\"gcr\"}}]}");
	write_text(dir, "README.md", "not a config");
	write_text(dir, "30-broken.yaml.bak", "{");
	snprintf(sub, sizeof(sub), "%s/40-dir.yml", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(credential_providers_read(dir, &cp, &err), KC_OK);
	assert_int_equal(cp.count, 3);
	assert_string_equal(cp.sa_token_rules[0].provider, "gcr");
	assert_string_equal(cp.sa_token_rules[2].match_image, "reg.example:5000/team");
	credential_providers_free(&cp);
	tu_rmrf(dir);
	free(dir);
}

static void test_refused(void **state)
{
	static const struct {
		const char *text, *needle;
	} cases[] = {
	    {"kind: KubeletConfiguration\nproviders: []\n",
	     "expected one CredentialProviderConfig"},
	    {"providers: {}\n", "expected one CredentialProviderConfig"},
	    {"{", "c.yaml"},
	    {"providers:\n- tokenAttributes: {serviceAccountTokenAudience: a}\n",
	     "providers[0]: needs a name and matchImages"},
	    {"providers:\n- name: x\n  matchImages: [1]\n  tokenAttributes:\n"
	     "    serviceAccountTokenAudience: a\n",
	     "providers[0].matchImages[0]: expected a string"},
	};
	char *dir = tu_mkdtemp(), path[4096];
	struct credential_providers cp;
	struct kc_error err;
	size_t i;

	snprintf(path, sizeof(path), "%s/c.yaml", dir);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_text(dir, "c.yaml", cases[i].text);
		assert_int_not_equal(credential_providers_read(path, &cp, &err), KC_OK);
		assert_non_null(strstr(err.msg, cases[i].needle));
		assert_int_equal(cp.count, 0);
	}
	snprintf(path, sizeof(path), "%s/absent", dir);
	assert_int_equal(credential_providers_read(path, &cp, &err), KC_ENOTFOUND);
	tu_rmrf(dir);
	free(dir);
}

/* Over the rule cap: refused, memory bounded. */
static void test_caps(void **state)
{
	char *dir = tu_mkdtemp(), path[4096];
	static char text[64 * 1024];
	struct credential_providers cp;
	struct kc_error err;
	size_t len, i;

	len = (size_t)snprintf(text, sizeof(text),
	                       "providers:\n- name: x\n  tokenAttributes: "
	                       "{serviceAccountTokenAudience: a}\n  matchImages:\n");
	for (i = 0; i <= CREDENTIAL_PROVIDER_RULES_MAX; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "  - r%zu.example\n", i);
	write_text(dir, "c.yaml", text);
	snprintf(path, sizeof(path), "%s/c.yaml", dir);
	assert_int_equal(credential_providers_read(path, &cp, &err), KC_EINVAL);
	assert_non_null(strstr(err.msg, "more than"));
	assert_int_equal(cp.count, 0);
	tu_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_file),
	    cmocka_unit_test(test_directory),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_caps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
