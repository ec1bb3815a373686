/*
 * test_agent_trust.c: which kubeconfigs the agent may use (agent_trust.c):
 * https and credentials unless the admin named the file, http only with
 * allowInsecureHttp, and the node name equal to the client certificate's
 * system:node:<name>.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_int.h"
#include "kubeconfig.h"
#include "testutil.h"

/* Self-signed test certificates (openssl req -x509, EC P-256), base64 as in a kubeconfig. */
#define NODE1_CERT                                                                                 \
	"LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJ2akNDQVdXZ0F3SUJBZ0lVYUw4bC94Rk45Ykd4Umg3aVVW" \
	"VG1UMmY3TjVFd0NnWUlLb1pJemowRUF3SXcKTkRFVk1CTUdBMVVFQ2d3TWMzbHpkR1Z0T201dlpHVnpNUnN3R1FZ" \
	"RFZRUUREQkp6ZVhOMFpXMDZibTlrWlRwdQpiMlJsTFRFd0lCY05Nall4TWpBeE1EUTBNekV4V2hnUE1qRXlOakV4" \
	"TURjd05EUXpNVEZhTURReEZUQVRCZ05WCkJBb01ESE41YzNSbGJUcHViMlJsY3pFYk1Ca0dBMVVFQXd3U2MzbHpk" \
	"R1Z0T201dlpHVTZibTlrWlMweE1Ga3cKRXdZSEtvWkl6ajBDQVFZSUtvWkl6ajBEQVFjRFFnQUVYZW1tcU9iR0Vo" \
	"V042ZmhwTDRITzVRTG14dmdnaXkydQo2SXl1cUdRL2pRc2tVVnNqMWZ6dE5BMlo5QmZTS0hPQ3Y1ZjZZWmFoZHc5" \
	"bFVkeDF2UWErNzZOVE1GRXdIUVlEClZSME9CQllFRlBRVkJ1WVpCMGZhNERKSmMxdk1HRWpYUXA5T01COEdBMVVk" \
	"SXdRWU1CYUFGUFFWQnVZWkIwZmEKNERKSmMxdk1HRWpYUXA5T01BOEdBMVVkRXdFQi93UUZNQU1CQWY4d0NnWUlL" \
	"b1pJemowRUF3SURSd0F3UkFJZwpJWW1Lejc1SnNTWFdSbzRITnlYVDAvdGRWNmNhL3JWb0ZQVHozb09iODFjQ0lF" \
	"SHc2MnAveDlKQWFUR2V6bWJxCkdkRnFLcUt5cWdBdlRRKzByWXZMSS9EcAotLS0tLUVORCBDRVJUSUZJQ0FURS0t" \
	"LS0tCg=="
#define NODE1_KEY                                                                                  \
	"LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCk1JR0hBZ0VBTUJNR0J5cUdTTTQ5QWdFR0NDcUdTTTQ5QXdFSEJH" \
	"MHdhd0lCQVFRZ1B2ODN4aGlCaWN6L2ZPRloKaWd2UDNlWEpBa2JPUTdyeHo3Y2M5L25TQ2ZxaFJBTkNBQVJkNmFh" \
	"bzVzWVNGWTNwK0drdmdjN2xBdWJHK0NDTApMYTdvaks2b1pEK05DeVJSV3lQVi9PMDBEWm4wRjlJb2M0Sy9sL3Bo" \
	"bHFGM0QyVlIzSFc5QnI3dgotLS0tLUVORCBQUklWQVRFIEtFWS0tLS0tCg=="
#define ADMIN_CERT                                                                                 \
	"LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJqakNDQVRPZ0F3SUJBZ0lVUW5yOXo3aXVFOVZxcXNMbDhY" \
	"NkJ4N2g5WXFRd0NnWUlLb1pJemowRUF3SXcKR3pFWk1CY0dBMVVFQXd3UWEzVmlaWEp1WlhSbGN5MWhaRzFwYmpB" \
	"Z0Z3MHlOakV5TURFd05EUXpNVEZhR0E4eQpNVEkyTVRFd056QTBORE14TVZvd0d6RVpNQmNHQTFVRUF3d1FhM1Zp" \
	"WlhKdVpYUmxjeTFoWkcxcGJqQlpNQk1HCkJ5cUdTTTQ5QWdFR0NDcUdTTTQ5QXdFSEEwSUFCUElER3JzR1o1YUtz" \
	"dXhKM0c5UUJScDJZWWVudGVHMFFTaFYKajZTQUt1WE1IbzBxc0dXcTlhcUEzOVNlRVVjbFY0MGcvQlk3MHl2ZlBa" \
	"OGF2ZlhFVjBtalV6QlJNQjBHQTFVZApEZ1FXQkJSemIxcTBjRElQWGxHS2FvQkY3SGo4U0hOQ1FUQWZCZ05WSFNN" \
	"RUdEQVdnQlJ6YjFxMGNESVBYbEdLCmFvQkY3SGo4U0hOQ1FUQVBCZ05WSFJNQkFmOEVCVEFEQVFIL01Bb0dDQ3FH" \
	"U000OUJBTUNBMGtBTUVZQ0lRRFMKL1R4bmxtV1pWTUViSGpqTzFRTlZUUE9IWGNUWTRFVXk1UFErNHVDN1JBSWhB" \
	"UE8vcXptRnhIUVZoQnJhUUkzRApUKzhMMGZrTXFlRHJSdEgrU2plbk5TYzgKLS0tLS1FTkQgQ0VSVElGSUNBVEUt" \
	"LS0tLQo="
#define ADMIN_KEY                                                                                  \
	"LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCk1JR0hBZ0VBTUJNR0J5cUdTTTQ5QWdFR0NDcUdTTTQ5QXdFSEJH" \
	"MHdhd0lCQVFRZ1d1ZmpVQTRiZWxJS3NlcGEKSUZFSXdoY0hpL0Fjb09YZE1rYm8rYlVrckVLaFJBTkNBQVR5QXhx" \
	"N0JtZVdpckxzU2R4dlVBVWFkbUdIcDdYaAp0RUVvVlkra2dDcmx6QjZOS3JCbHF2V3FnTi9VbmhGSEpWZU5JUHdX" \
	"TzlNcjN6MmZHcjMxeEZkSgotLS0tLUVORCBQUklWQVRFIEtFWS0tLS0tCg=="

static struct kubeconfig *parse(const char *server, const char *user)
{
	char *text;
	struct kubeconfig *kc = NULL;
	struct kc_error err;

	if (asprintf(&text,
	             "current-context: c\n"
	             "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
	             "clusters: [{name: k, cluster: {server: '%s'}}]\n"
	             "users: [{name: u, user: {%s}}]\n",
	             server, user) < 0)
		abort();
	if (kubeconfig_parse(text, strlen(text), "/etc/kubernetes/kubelet.conf", &kc, &err) !=
	    KC_OK)
		fail_msg("kubeconfig: %s", err.msg);
	free(text);
	return kc;
}

static const char *const node1_user =
    "client-certificate-data: " NODE1_CERT ", client-key-data: " NODE1_KEY;
static const char *const admin_user =
    "client-certificate-data: " ADMIN_CERT ", client-key-data: " ADMIN_KEY;

static kc_code check(enum agent_source kubeconfig_from, bool allow_http, const char *node,
                     const char *server, const char *user, struct kc_error *err)
{
	struct agent_config cfg;
	struct kubeconfig *kc = parse(server, user);
	kc_code rc;

	memset(&cfg, 0, sizeof(cfg));
	cfg.node_name = (char *)node;
	cfg.allow_insecure_http = allow_http;
	cfg.source[AGENT_KUBECONFIG] = kubeconfig_from;
	cfg.source[AGENT_NODE_NAME] = AGENT_SRC_HOSTNAME;
	rc = agent_check_kubeconfig(&cfg, kc, err);
	kubeconfig_free(kc);
	return rc;
}

static void expect(kc_code rc, const struct kc_error *err, kc_code want, const char *needle)
{
	assert_int_equal(rc, want);
	if (needle != NULL && strstr(err->msg, needle) == NULL)
		fail_msg("\"%s\" lacks \"%s\"", err->msg, needle);
}

static void test_found_kubeconfig_needs_https_and_credentials(void **state)
{
	static const enum agent_source found[] = {AGENT_SRC_KUBELET_CMDLINE, AGENT_SRC_DEFAULT};
	struct kc_error err;
	size_t i;

	for (i = 0; i < 2; i++) {
		expect(check(found[i], false, "node-1", "https://10.0.0.1:6443", node1_user, &err),
		       &err, KC_OK, NULL);
		expect(
		    check(found[i], false, "node-1", "https://10.0.0.1:6443", "token: abc", &err),
		    &err, KC_OK, NULL);
		expect(check(found[i], false, "node-1", "https://10.0.0.1:6443",
		             "tokenFile: /dev/null", &err),
		       &err, KC_OK, NULL);
		/* Plain http: never, not even with the option (it is for named files). */
		expect(check(found[i], true, "node-1", "http://10.0.0.1:8080", node1_user, &err),
		       &err, KC_EINVAL, "is plain http; a kubeconfig the agent was not given");
		expect(check(found[i], false, "node-1", "https://10.0.0.1:6443", "", &err), &err,
		       KC_EINVAL, "user u has no credentials");
	}
}

static void test_named_kubeconfig_http_needs_the_option(void **state)
{
	static const enum agent_source named[] = {AGENT_SRC_FLAG, AGENT_SRC_CONFIG_FILE};
	struct kc_error err;
	size_t i;

	for (i = 0; i < 2; i++) {
		expect(check(named[i], false, "node-1", "http://127.0.0.1:8080", "", &err), &err,
		       KC_EINVAL,
		       "allow it with --allow-insecure-http (config key allowInsecureHttp");
		expect(check(named[i], true, "node-1", "http://127.0.0.1:8080", "", &err), &err,
		       KC_OK, NULL);
		/* The admin may name a credential-less https one (an authenticating proxy). */
		expect(check(named[i], false, "node-1", "https://127.0.0.1:6443", "", &err), &err,
		       KC_OK, NULL);
	}
}

static void test_node_name_is_the_certificates(void **state)
{
	struct kc_error err;

	expect(check(AGENT_SRC_FLAG, false, "node-2", "https://a:6443", node1_user, &err), &err,
	       KC_EINVAL, "node name node-2 (host name) does not match");
	expect(check(AGENT_SRC_FLAG, false, "node-2", "https://a:6443", node1_user, &err), &err,
	       KC_EINVAL, "which is node node-1 (CN system:node:node-1)");
	expect(
	    check(AGENT_SRC_KUBELET_CMDLINE, false, "node-10", "https://a:6443", node1_user, &err),
	    &err, KC_EINVAL, "node-1");
	/* Not a node identity (an admin cert) or a token: nothing to compare (a warning). */
	expect(check(AGENT_SRC_FLAG, false, "node-2", "https://a:6443", admin_user, &err), &err,
	       KC_OK, NULL);
	expect(check(AGENT_SRC_FLAG, false, "node-2", "https://a:6443", "token: t", &err), &err,
	       KC_OK, NULL);
}

static void test_client_cn(void **state)
{
	struct kubeconfig *kc = parse("https://a", node1_user);
	struct kc_error err;
	char *cn;

	assert_int_equal(kubeconfig_client_cn(kc, &cn, &err), KC_OK);
	assert_string_equal(cn, "system:node:node-1");
	free(cn);
	kubeconfig_free(kc);
	kc = parse("https://a", "token: t");
	assert_int_equal(kubeconfig_client_cn(kc, &cn, &err), KC_OK);
	assert_null(cn);
	kubeconfig_free(kc);
}

/* Write a kubeconfig for server and user into dir; returns its path. */
static char *kubeconfig_file(const char *dir, const char *server, const char *user)
{
	char *text, *path;

	if (asprintf(&text,
	             "current-context: c\n"
	             "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
	             "clusters: [{name: k, cluster: {server: '%s'}}]\n"
	             "users: [{name: u, user: {%s}}]\n",
	             server, user) < 0 ||
	    asprintf(&path, "%s/kubelet.conf", dir) < 0)
		abort();
	tu_write_file(path, text, strlen(text), 0600);
	free(text);
	return path;
}

/*
 * Explicit settings are checked at start, before any wait for a kubelet
 * (issue 19 item 6); what is still a guess while no kubelet runs is not.
 */
static void test_early_check_before_any_kubelet(void **state)
{
	char *dir = tu_mkdtemp(), *http, *node1, missing[4096];
	struct agent_config cfg;
	struct kc_error err;

	(void)state;
	http = kubeconfig_file(dir, "http://127.0.0.1:9", "token: t");
	memset(&cfg, 0, sizeof(cfg));
	cfg.kubelet_missing = true; /* no kubelet yet: the wait is next */
	cfg.kubeconfig = http;
	cfg.node_name = (char *)"node-1";
	cfg.source[AGENT_KUBECONFIG] = AGENT_SRC_FLAG;
	cfg.source[AGENT_NODE_NAME] = AGENT_SRC_HOSTNAME;
	assert_int_equal(agent_check_early(&cfg, &err), KC_EINVAL);
	assert_non_null(strstr(err.msg, "is plain http"));
	cfg.allow_insecure_http = true;
	assert_int_equal(agent_check_early(&cfg, &err), KC_OK);
	/* The default path, while no kubelet says which kubeconfig is its own: not yet. */
	cfg.allow_insecure_http = false;
	cfg.source[AGENT_KUBECONFIG] = AGENT_SRC_DEFAULT;
	assert_int_equal(agent_check_early(&cfg, &err), KC_OK);
	free(http);

	node1 = kubeconfig_file(dir, "https://127.0.0.1:6443", node1_user);
	cfg.kubeconfig = node1;
	cfg.source[AGENT_KUBECONFIG] = AGENT_SRC_FLAG;
	cfg.node_name = (char *)"node-2";
	/* A host name may yet be overridden by the kubelet's --hostname-override. */
	assert_int_equal(agent_check_early(&cfg, &err), KC_OK);
	cfg.source[AGENT_NODE_NAME] = AGENT_SRC_FLAG;
	assert_int_equal(agent_check_early(&cfg, &err), KC_EINVAL);
	assert_non_null(strstr(err.msg, "node name node-2 (flag) does not match"));
	/* A kubeconfig not written yet is waited for, not refused. */
	snprintf(missing, sizeof(missing), "%s/later.conf", dir);
	cfg.kubeconfig = missing;
	assert_int_equal(agent_check_early(&cfg, &err), KC_OK);
	free(node1);
	tu_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_found_kubeconfig_needs_https_and_credentials),
	    cmocka_unit_test(test_named_kubeconfig_http_needs_the_option),
	    cmocka_unit_test(test_node_name_is_the_certificates),
	    cmocka_unit_test(test_client_cn),
	    cmocka_unit_test(test_early_check_before_any_kubelet),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
