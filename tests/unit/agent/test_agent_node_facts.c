/*
 * test_agent_node_facts.c: the kubelet's ServiceAccount-token credential
 * providers reach the warnings the agent keeps for status (issue 19,
 * finding 14a): read from the kubelet's --image-credential-provider-config,
 * matched against the parent's images; an unreadable configuration is said
 * and counts as none; a reload re-reads it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_fixture.h"

#define PROVIDERS(glob)                                                                            \
	"kind: CredentialProviderConfig\nproviders:\n- name: token-provider\n"                     \
	"  matchImages: [\"" glob "\"]\n  tokenAttributes:\n"                                      \
	"    serviceAccountTokenAudience: registry\n"

static const char *first_warning_with(const struct parent_rec *r, const char *needle)
{
	const json_t *w;
	size_t i;

	json_array_foreach(r->warnings, i, w)
	{
		if (strstr(json_string_value(w), needle) != NULL)
			return json_string_value(w);
	}
	return NULL;
}

static void test_token_provider_warns_in_status(void **state)
{
	struct agent_fixture *f = *state;
	char path[1024];
	const char *w;
	struct parent_rec *r;

	/* tp_pod's container image is "agent:1", i.e. docker.io/library/agent. */
	snprintf(path, sizeof(path), "%s/credential-providers.yaml", f->dir);
	tu_write_file(path, PROVIDERS("docker.io/library"), strlen(PROVIDERS("docker.io/library")),
	              0644);
	f->cfg.kubelet_image_credential_provider_config = path;
	f->cfg.kubelet_fail_cgroup_v1 = -1;
	f->cfg.cgroup_root = f->cgroup;
	agent_node_facts_load(&f->a);
	assert_int_equal(f->a.bridge_node.n_sa_token_rules, 1);
	r = af_checkpoint(f);
	w = first_warning_with(r, "credential provider \"token-provider\"");
	assert_non_null(w);
	/* tp_pod also names imagePullSecrets: one warning says both. */
	assert_non_null(strstr(w, "imagePullSecrets, and image \"agent:1\""));
	agent_node_facts_free(&f->a);
	assert_int_equal(f->a.bridge_node.n_sa_token_rules, 0);
	f->cfg.kubelet_image_credential_provider_config = NULL;
}

static void test_no_or_bad_configuration(void **state)
{
	struct agent_fixture *f = *state;
	char path[1024];
	struct parent_rec *r;

	snprintf(path, sizeof(path), "%s/broken.yaml", f->dir);
	tu_write_file(path, "providers: 7\n", strlen("providers: 7\n"), 0644);
	f->cfg.kubelet_image_credential_provider_config = path;
	f->cfg.kubelet_fail_cgroup_v1 = -1;
	f->cfg.cgroup_root = f->cgroup;
	agent_node_facts_load(&f->a);
	assert_int_equal(f->a.bridge_node.n_sa_token_rules, 0);
	r = af_checkpoint(f);
	assert_null(first_warning_with(r, "credential provider"));
	assert_non_null(first_warning_with(r, "imagePullSecrets: the bridge has no registry"));
	agent_node_facts_free(&f->a);
	f->cfg.kubelet_image_credential_provider_config = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_token_provider_warns_in_status, af_setup,
	                                    af_teardown),
	    cmocka_unit_test_setup_teardown(test_no_or_bad_configuration, af_setup, af_teardown),
	};

	return af_run("agent_node_facts", tests, sizeof(tests) / sizeof(tests[0]));
}
