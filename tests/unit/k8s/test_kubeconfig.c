/*
 * test_kubeconfig.c: kubeconfigs of every shape the agent meets (kubeadm's
 * kubelet.conf, data blobs, tokens, relative paths) resolve as client-go
 * resolves them, and every unsupported or broken one is an error naming the
 * key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kubeconfig.h"
#include "testutil.h"
#include "tu_tree.h"

#define CA_PEM                                                                                     \
	"-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUZmFrZQ==\n-----END CERTIFICATE-----\n"
#define CA_B64                                                                                     \
	"LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJzekNDQVZtZ0F3SUJBZ0lVWm1GclpRPT0KLS0tLS1FTkQg" \
	"Q0V"                                                                                      \
	"SVElGSUNBVEUtLS0tLQo="
#define CA_B64_TWICE                                                                               \
	"TFMwdExTMUNSVWRKVGlCRFJWSlVTVVpKUTBGVVJTMHRMUzB0Q2sxSlNVSnpla05EUVZadFowRjNTVUpCWjBsVldt" \
	"MUdj"                                                                                     \
	"bHBSUFQwS0xTMHRMUzFGVGtRZ1EwVlNWRWxHU1VOQlZFVXRMUzB0TFFvPQ=="
#define KEY_PEM "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIGZha2U=\n-----END EC PRIVATE KEY-----\n"
#define KEY_B64                                                                                    \
	"LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS0tLS0tCk1IY0NBUUVFSUdaaGEyVT0KLS0tLS1FTkQgRUMgUFJJVkFU" \
	"RSBL"                                                                                     \
	"RVktLS0tLQo="

struct fixture {
	char *dir;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->dir = tu_mkdtemp();
	free(tu_put(f->dir, "pki/kubelet-client-2026-01-01.pem", CA_PEM KEY_PEM));
	tu_put_link(f->dir, "pki/kubelet-client-current.pem", "kubelet-client-2026-01-01.pem");
	free(tu_put(f->dir, "pki/ca.crt", CA_PEM));
	free(tu_put(f->dir, "token", "abc.def\n"));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	tu_rmrf(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* Write yaml (each "{D}" replaced by the fixture dir) as <dir>/etc/kubelet.conf and load it. */
static kc_code load(struct fixture *f, const char *yaml, struct kubeconfig **kc,
                    struct kc_error *err)
{
	char *text = NULL, *path;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	kc_code rc;

	for (; *yaml != '\0'; yaml++)
		if (strncmp(yaml, "{D}", 3) == 0) {
			fputs(f->dir, m);
			yaml += 2;
		} else {
			fputc(*yaml, m);
		}
	fclose(m);
	path = tu_put(f->dir, "etc/kubelet.conf", text);
	*kc = NULL;
	rc = kubeconfig_load(path, kc, err);
	free(path);
	free(text);
	return rc;
}

static void expect_error(struct fixture *f, const char *yaml, kc_code code, const char *msg_part)
{
	struct kubeconfig *kc;
	struct kc_error err;

	assert_int_equal(load(f, yaml, &kc, &err), code);
	assert_null(kc);
	if (getenv("KC_TEST_VERBOSE") != NULL)
		print_message("%s\n", err.msg);
	if (strstr(err.msg, msg_part) == NULL)
		fail_msg("error \"%s\" does not contain \"%s\"", err.msg, msg_part);
	assert_non_null(strstr(err.msg, "kubelet.conf"));
}

static char *at(struct fixture *f, const char *rel)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s/%s", f->dir, rel);
	return buf;
}

static void test_kubeadm_kubelet_conf(void **state)
{
	struct fixture *f = *state;
	struct kubeconfig *kc;
	struct kc_error err;

	assert_int_equal(load(f,
	                      "apiVersion: v1\n"
	                      "clusters:\n"
	                      "- cluster:\n"
	                      "    certificate-authority-data: " CA_B64 "\n"
	                      "    server: https://10.0.0.1:6443\n"
	                      "  name: kubernetes\n"
	                      "contexts:\n"
	                      "- context:\n"
	                      "    cluster: kubernetes\n"
	                      "    user: system:node:worker-1\n"
	                      "  name: system:node:worker-1@kubernetes\n"
	                      "current-context: system:node:worker-1@kubernetes\n"
	                      "kind: Config\n"
	                      "preferences: {}\n"
	                      "users:\n"
	                      "- name: system:node:worker-1\n"
	                      "  user:\n"
	                      "    client-certificate: {D}/pki/kubelet-client-current.pem\n"
	                      "    client-key: {D}/pki/kubelet-client-current.pem\n",
	                      &kc, &err),
	                 KC_OK);
	assert_string_equal(kc->server, "https://10.0.0.1:6443");
	assert_string_equal(kc->context, "system:node:worker-1@kubernetes");
	assert_string_equal(kc->cluster, "kubernetes");
	assert_string_equal(kc->user, "system:node:worker-1");
	assert_null(kc->ca.path);
	assert_int_equal(kc->ca.len, strlen(CA_PEM));
	assert_memory_equal(kc->ca.data, CA_PEM, strlen(CA_PEM));
	/* The symlink is kept, not resolved: the kubelet rotates what it points at. */
	assert_string_equal(kc->client_cert.path, at(f, "pki/kubelet-client-current.pem"));
	assert_string_equal(kc->client_key.path, at(f, "pki/kubelet-client-current.pem"));
	assert_null(kc->client_cert.data);
	assert_null(kc->token);
	assert_null(kc->token_file);
	assert_false(kc->insecure_skip_tls_verify);
	assert_null(kc->tls_server_name);
	kubeconfig_free(kc);
}

static void test_data_blobs_and_tls_options(void **state)
{
	struct fixture *f = *state;
	struct kubeconfig *kc;
	struct kc_error err;

	assert_int_equal(
	    load(f,
	         "{\"kind\": \"Config\", \"current-context\": \"c\",\n"
	         " \"contexts\": [{\"name\": \"c\", \"context\": {\"cluster\": \"k\", "
	         "\"user\": \"u\", \"namespace\": \"x\"}}],\n"
	         " \"clusters\": [{\"name\": \"k\", \"cluster\": {\"server\": "
	         "\"https://api.example:6443/prefix/\", \"certificate-authority\": "
	         "\"../pki/ca.crt\", \"tls-server-name\": \"kubernetes.default\", "
	         "\"proxy-url\": \"http://proxy:3128\", \"extensions\": []}}],\n"
	         " \"users\": [{\"name\": \"u\", \"user\": {\"client-certificate-data\": "
	         "\"" CA_B64 "\", \"client-key-data\": \"" KEY_B64 "\"}}]}\n",
	         &kc, &err),
	    KC_OK);
	assert_string_equal(kc->server, "https://api.example:6443/prefix");
	/* Relative to the kubeconfig's own directory (<dir>/etc). */
	assert_string_equal(kc->ca.path, at(f, "etc/../pki/ca.crt"));
	assert_string_equal(kc->tls_server_name, "kubernetes.default");
	assert_string_equal(kc->proxy_url, "http://proxy:3128");
	assert_null(kc->client_cert.path);
	assert_memory_equal(kc->client_cert.data, CA_PEM, strlen(CA_PEM));
	assert_int_equal(kc->client_key.len, strlen(KEY_PEM));
	assert_string_equal((char *)kc->client_key.data, KEY_PEM);

	/* The api client keeps its own deep copy: equal values, no shared storage. */
	struct kubeconfig *dup;
	assert_int_equal(kubeconfig_dup(kc, &dup, &err), KC_OK);
	assert_string_equal(dup->server, kc->server);
	assert_ptr_not_equal(dup->server, kc->server);
	assert_string_equal(dup->ca.path, kc->ca.path);
	assert_string_equal(dup->tls_server_name, kc->tls_server_name);
	assert_string_equal(dup->proxy_url, kc->proxy_url);
	assert_string_equal(dup->context, kc->context);
	assert_null(dup->client_cert.path);
	assert_null(dup->token);
	assert_int_equal(dup->client_key.len, kc->client_key.len);
	assert_ptr_not_equal(dup->client_key.data, kc->client_key.data);
	assert_memory_equal(dup->client_key.data, kc->client_key.data, kc->client_key.len + 1);
	assert_int_equal(dup->insecure_skip_tls_verify, kc->insecure_skip_tls_verify);
	kubeconfig_free(kc);
	assert_string_equal(dup->server, "https://api.example:6443/prefix");
	kubeconfig_free(dup);
}

static void test_tokens_and_anonymous(void **state)
{
	struct fixture *f = *state;
	struct kubeconfig *kc;
	struct kc_error err;

	assert_int_equal(load(f,
	                      "current-context: c\n"
	                      "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
	                      "clusters: [{name: k, cluster: {server: 'api.internal:443', "
	                      "insecure-skip-tls-verify: true}}]\n"
	                      "users: [{name: u, user: {token: s3cr3t, tokenFile: ../token}}]\n",
	                      &kc, &err),
	                 KC_OK);
	assert_string_equal(kc->server, "https://api.internal:443"); /* client-go's default */
	assert_true(kc->insecure_skip_tls_verify);
	assert_string_equal(kc->token, "s3cr3t");
	assert_string_equal(kc->token_file, at(f, "etc/../token"));
	assert_null(kc->ca.path);
	assert_null(kc->ca.data);
	kubeconfig_free(kc);

	/* A context without a user is anonymous: allowed, nothing to present. */
	assert_int_equal(load(f,
	                      "current-context: c\n"
	                      "contexts: [{name: c, context: {cluster: k}}]\n"
	                      "clusters: [{name: k, cluster: {server: 'http://127.0.0.1:8080'}}]\n",
	                      &kc, &err),
	                 KC_OK);
	assert_string_equal(kc->server, "http://127.0.0.1:8080");
	assert_null(kc->user);
	assert_null(kc->token);
	assert_null(kc->client_cert.path);
	kubeconfig_free(kc);
}

#define CTX     "current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
#define CLUSTER "clusters: [{name: k, cluster: {server: https://h:6443}}]\n"

static void test_unsupported_users(void **state)
{
	struct fixture *f = *state;

	expect_error(f,
	             CTX CLUSTER "users:\n- name: u\n  user:\n    exec:\n"
	                         "      apiVersion: client.authentication.k8s.io/v1\n"
	                         "      command: aws\n",
	             KC_EINVAL, "users[0].user.exec: exec credential plugins are not supported");
	expect_error(f, CTX CLUSTER "users: [{name: u, user: {auth-provider: {name: gcp}}}]\n",
	             KC_EINVAL, "users[0].user.auth-provider: auth-provider plugins");
	expect_error(f,
	             CTX CLUSTER "users: [{name: x, user: {}}, "
	                         "{name: u, user: {username: a, password: b}}]\n",
	             KC_EINVAL, "users[1].user.username: basic authentication");
	expect_error(f, CTX CLUSTER "users: [{name: u, user: {token: t, as: admin}}]\n", KC_EINVAL,
	             "users[0].user.as: impersonation");
}

static void test_missing_pieces(void **state)
{
	struct fixture *f = *state;

	expect_error(f, "contexts: []\nclusters: []\nusers: []\n", KC_EINVAL,
	             "current-context: not set");
	expect_error(f, "current-context: ''\n", KC_EINVAL, "current-context: not set");
	expect_error(f, "current-context: c\n", KC_EINVAL, "contexts: no entry named \"c\"");
	expect_error(f, "current-context: c\ncontexts: [{name: c, context: {user: u}}]\n",
	             KC_EINVAL, "contexts[0].context.cluster: not set");
	expect_error(f, CTX "clusters: [{name: other, cluster: {server: https://h}}]\n", KC_EINVAL,
	             "clusters: no entry named \"k\"");
	expect_error(f, CTX "clusters: [{name: k, cluster: {certificate-authority-data: x}}]\n",
	             KC_EINVAL, "clusters[0].cluster.server: not set");
	expect_error(f, CTX CLUSTER "users: [{name: someone-else, user: {}}]\n", KC_EINVAL,
	             "users: no entry named \"u\"");
	expect_error(f, CTX CLUSTER "users: [{name: u}]\n", KC_EINVAL,
	             "users[0].user: expected a mapping");
	expect_error(f,
	             CTX CLUSTER "users: [{name: u, user: {client-certificate: {D}/pki/ca.crt}}]\n",
	             KC_EINVAL, "users[0].user: client-certificate is set but client-key is not");
	expect_error(f, CTX CLUSTER "users: [{name: u, user: {client-key-data: " KEY_B64 "}}]\n",
	             KC_EINVAL, "client-key is set but client-certificate is not");
	expect_error(f,
	             CTX CLUSTER "users: [{name: u, user: {client-certificate: nope.pem, "
	                         "client-key: nope.pem}}]\n",
	             KC_ENOTFOUND, "users[0].user.client-certificate: ");
	expect_error(f, CTX CLUSTER "users: [{name: u, user: {tokenFile: /nonexistent/token}}]\n",
	             KC_ENOTFOUND, "users[0].user.tokenFile: /nonexistent/token");
}

static void test_bad_values(void **state)
{
	struct fixture *f = *state;
	struct kubeconfig *kc;
	struct kc_error err;

	expect_error(f,
	             CTX "clusters: [{name: k, cluster: {server: https://h, "
	                 "certificate-authority: {D}/pki/ca.crt, "
	                 "certificate-authority-data: " CA_B64 "}}]\n",
	             KC_EINVAL,
	             "clusters[0].cluster: both certificate-authority and "
	             "certificate-authority-data are set");
	expect_error(f,
	             CTX "clusters: [{name: k, cluster: {server: https://h, "
	                 "certificate-authority-data: " CA_B64
	                 ", insecure-skip-tls-verify: true}}]\n",
	             KC_EINVAL, "insecure-skip-tls-verify and a certificate authority");
	expect_error(f,
	             CTX "clusters: [{name: k, cluster: {server: https://h, "
	                 "certificate-authority-data: 'not base64!'}}]\n",
	             KC_EINVAL, "clusters[0].cluster.certificate-authority-data: base64");
	expect_error(f,
	             CTX "clusters: [{name: k, cluster: {server: https://h, "
	                 "certificate-authority-data: " CA_B64_TWICE "}}]\n",
	             KC_EINVAL, "certificate-authority-data: does not decode to PEM");
	expect_error(f,
	             CTX "clusters: [{name: k, cluster: {server: https://h, "
	                 "insecure-skip-tls-verify: 'true'}}]\n",
	             KC_EINVAL, "insecure-skip-tls-verify: expected true or false");
	expect_error(f, CTX "clusters: [{name: k, cluster: {server: 6443}}]\n", KC_EINVAL,
	             "clusters[0].cluster.server: expected a string");
	expect_error(f, CTX "clusters: [{name: k, cluster: {server: 'ftp://h'}}]\n", KC_EINVAL,
	             "scheme must be https or http");
	expect_error(f, CTX "clusters: [{name: k, cluster: {server: 'https:///x'}}]\n", KC_EINVAL,
	             "not a valid URL");
	expect_error(f, CTX "clusters: [{name: k, cluster: {server: 'https://'}}]\n", KC_EINVAL,
	             "https://: not a valid URL");
	expect_error(f, CTX "clusters: [{name: k, cluster: {server: 'http:////'}}]\n", KC_EINVAL,
	             "not a valid URL");
	expect_error(f,
	             CTX "clusters: [{name: k, cluster: {server: https://a}}, "
	                 "{name: k, cluster: {server: https://b}}]\n",
	             KC_EINVAL, "clusters[1].name: duplicate name \"k\" (also clusters[0])");
	expect_error(f, CTX "clusters: {k: {server: https://a}}\n", KC_EINVAL,
	             "clusters: expected a list");
	expect_error(f, "kind: Pod\n", KC_EINVAL, "kind: expected Config");
	expect_error(f, "- a\n- b\n", KC_EINVAL, "expected one kubeconfig mapping");
	expect_error(f, "current-context: [\n", KC_EINVAL, "");
	expect_error(f,
	             CTX "clusters: [{name: k, cluster: {server: https://h}}]\n"
	                 "users: [{name: u, user: {token: \"a\\nb\"}}]\n",
	             KC_EINVAL, "users[0].user.token: contains a line break");

	/* A file that is not there. */
	assert_int_equal(kubeconfig_load(at(f, "nope.conf"), &kc, &err), KC_ENOTFOUND);
	assert_non_null(strstr(err.msg, "kubeconfig: "));
	assert_non_null(strstr(err.msg, "nope.conf"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_kubeadm_kubelet_conf, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_data_blobs_and_tls_options, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tokens_and_anonymous, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unsupported_users, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_pieces, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_values, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
