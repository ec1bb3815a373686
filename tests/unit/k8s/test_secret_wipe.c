/*
 * test_secret_wipe.c: credentials read from a kubeconfig (a token, a private
 * key blob, the file's text) are cleared before the memory holding them is
 * freed. Built with -Wl,--wrap=free (tests/tests.cmake): every free() of the
 * project's code passes through __wrap_free, which looks for the secrets in
 * the block being released. The API transport's token file cache (replaced
 * when the file changes, dropped at cleanup, refused with a line break) is
 * held to the same rule.
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "api_transport.h"
#include "kubeconfig.h"
#include "testutil.h"
#include "tu_tree.h"

#define TOKEN "SECRET-TOKEN-4b1d"
#define KEY   "KEYMATERIAL-9f3e"
#define KEY_B64                                                                                    \
	"LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCktFWU1BVEVSSUFMLTlmM2UKLS0tLS1FTkQgUFJJVkFURSBLRVkt" \
	"LS0tLQo="

void __real_free(void *p);
void __wrap_free(void *p);

static int watching, leaks;

void __wrap_free(void *p)
{
	if (p != NULL && watching) {
		size_t n = malloc_usable_size(p);

		if (memmem(p, n, TOKEN, strlen(TOKEN)) != NULL ||
		    memmem(p, n, KEY, strlen(KEY)) != NULL)
			leaks++;
	}
	__real_free(p);
}

static void test_kubeconfig_secrets_are_cleared(void **state)
{
	char *dir = tu_mkdtemp(), *path;
	struct kubeconfig *kc = NULL;
	struct kc_error err;

	path = tu_put(dir, "kubelet.conf",
	              "current-context: c\n"
	              "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
	              "clusters: [{name: k, cluster: {server: 'https://10.0.0.1:6443'}}]\n"
	              "users: [{name: u, user: {token: " TOKEN ", client-certificate-data: " KEY_B64
	              ", client-key-data: " KEY_B64 "}}]\n");
	watching = 1;
	leaks = 0;
	if (kubeconfig_load(path, &kc, &err) != KC_OK)
		fail_msg("%s", err.msg);
	assert_string_equal(kc->token, TOKEN);
	assert_non_null(memmem(kc->client_key.data, kc->client_key.len, KEY, strlen(KEY)));
	kubeconfig_free(kc);
	watching = 0;
	assert_int_equal(leaks, 0);
	free(path);
	tu_rmrf(dir);
	free(dir);
}

/* One request's easy handle and headers, built and thrown away. */
static void one_request(struct api_transport *t)
{
	struct api_http req = {.method = "GET", .path = "/api/v1/pods", .timeout_ms = 1000};
	struct curl_slist *headers = NULL;
	struct kc_error err;
	CURL *easy = NULL;

	if (api_transport_easy(t, &req, &easy, &headers, &err) != KC_OK)
		fail_msg("%s", err.msg);
	curl_easy_cleanup(easy);
	api_transport_free_headers(headers);
}

static void test_token_file_cache_is_cleared(void **state)
{
	char *dir = tu_mkdtemp(), *token, *path, *text;
	struct kubeconfig *kc = NULL;
	struct api_transport t;
	struct kc_error err;

	token = tu_put(dir, "token", TOKEN "-one\n");
	if (asprintf(&text,
	             "current-context: c\n"
	             "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
	             "clusters: [{name: k, cluster: {server: 'https://10.0.0.1:6443'}}]\n"
	             "users: [{name: u, user: {tokenFile: %s}}]\n",
	             token) < 0)
		abort();
	path = tu_put(dir, "kubelet.conf", text);
	free(text);
	if (kubeconfig_load(path, &kc, &err) != KC_OK)
		fail_msg("%s", err.msg);
	watching = 1;
	leaks = 0;
	assert_int_equal(api_transport_init(&t, kc, &err), KC_OK);
	one_request(&t);
	assert_non_null(strstr(t.token_cached, TOKEN "-one"));
	/* The file changes (another size): the old token is dropped. */
	free(tu_put(dir, "token", TOKEN "-the-second-one\n"));
	one_request(&t);
	assert_non_null(strstr(t.token_cached, TOKEN "-the-second-one"));
	/* A line break inside: refused, the last good token kept, the bad read dropped. */
	free(tu_put(dir, "token", TOKEN "\r\nX-Injected: yes\n"));
	one_request(&t);
	assert_non_null(strstr(t.token_cached, TOKEN "-the-second-one"));
	api_transport_cleanup(&t);
	kubeconfig_free(kc);
	watching = 0;
	assert_int_equal(leaks, 0);
	free(token);
	free(path);
	tu_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kubeconfig_secrets_are_cleared),
	    cmocka_unit_test(test_token_file_cache_is_cleared),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
