/*
 * agent_node_facts.c: what the agent reads of the node, beyond the settings
 * it inherits from the kubelet, because Kubernetes 1.35+ makes bridges
 * depend on it (issue 19, finding 14):
 * - the kubelet's image credential providers that send the pod's
 *   ServiceAccount token (credential_providers.h): an image they cover gets
 *   a bridge warning (bridge_warnings.h);
 * - a cgroup v1 host whose kubelet config does not set failCgroupV1: false:
 *   a 1.35+ kubelet refuses to start there (cgroup_mode.h), said at start.
 * Read at every start and reload; what cannot be read is said and counts as
 * nothing known.
 */
#include "agent_int.h"
#include "cgroup_mode.h"
#include "kc_log.h"

void agent_node_facts_free(struct agent *a)
{
	credential_providers_free(&a->cred_providers);
	a->bridge_node.sa_token_rules = NULL;
	a->bridge_node.n_sa_token_rules = 0;
}

static void load_credential_providers(struct agent *a)
{
	const char *path = a->cfg->kubelet_image_credential_provider_config;
	struct kc_error err;
	size_t i;

	if (path == NULL)
		return;
	if (credential_providers_read(path, &a->cred_providers, &err) != KC_OK) {
		kc_log(
		    KC_LOG_WARNING,
		    "kubelet --image-credential-provider-config: %s: bridge warnings cannot name "
		    "images its ServiceAccount-token providers pull",
		    err.msg);
		return;
	}
	for (i = 0; i < a->cred_providers.count; i++)
		kc_log(
		    KC_LOG_INFO,
		    "kubelet credential provider \"%s\" sends the pod's ServiceAccount token for "
		    "%s: bridges of pods with such images are warned",
		    a->cred_providers.sa_token_rules[i].provider,
		    a->cred_providers.sa_token_rules[i].match_image);
	a->bridge_node.sa_token_rules = a->cred_providers.sa_token_rules;
	a->bridge_node.n_sa_token_rules = a->cred_providers.count;
}

void agent_node_facts_load(struct agent *a)
{
	char text[512];

	agent_node_facts_free(a);
	load_credential_providers(a);
	if (a->cfg->cgroup_root != NULL &&
	    cgroup_v1_refusal(cgroup_mode_probe(a->cfg->cgroup_root),
	                      a->cfg->kubelet_fail_cgroup_v1, text, sizeof(text)))
		kc_log(KC_LOG_WARNING, "%s", text);
}
