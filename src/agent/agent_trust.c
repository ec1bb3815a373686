/*
 * agent_trust.c: whether the kubeconfig in force may be used by a root agent
 * that writes pods into the kubelet's staticPodPath (issue 9).
 *
 * - A kubeconfig the agent was not given (the running kubelet's, or the
 *   default path) must name an https server and real credentials (a client
 *   certificate and key, a token or a tokenFile): over http the node's
 *   credentials would travel in clear and any answer would be believed.
 * - A kubeconfig given with --kubeconfig (or the config file) may use http
 *   only with allowInsecureHttp, and then the agent says so at every start.
 * - The node name must be the one in the client certificate: the Node
 *   authorizer (plugin/pkg/auth/authorizer/node/node_authorizer.go,
 *   NodeIdentifier in pkg/auth/nodeidentifier/default.go: user
 *   "system:node:<name>" in group "system:nodes") only lets a kubelet read
 *   what its own node needs, so an agent that names another node would
 *   checkpoint pods it must not.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agent_int.h"
#include "kc_log.h"
#include "kubeconfig.h"

#define NODE_USER_PREFIX "system:node:"

static bool named_by_admin(const struct agent_config *cfg)
{
	enum agent_source src = cfg->source[AGENT_KUBECONFIG];

	return src == AGENT_SRC_FLAG || src == AGENT_SRC_CONFIG_FILE;
}

static bool has_credentials(const struct kubeconfig *kc)
{
	return kc->client_cert.path != NULL || kc->client_cert.data != NULL || kc->token != NULL ||
	       kc->token_file != NULL;
}

static kc_code check_transport(const struct agent_config *cfg, const struct kubeconfig *kc,
                               struct kc_error *err)
{
	bool http = strncmp(kc->server, "http://", strlen("http://")) == 0;
	const char *origin = agent_source_name(cfg->source[AGENT_KUBECONFIG]);

	if (!named_by_admin(cfg)) {
		if (http)
			return kc_fail(err, KC_EINVAL,
			               "kubeconfig %s (%s): server %s is plain http; a kubeconfig "
			               "the agent was not given must name an https server (give "
			               "--kubeconfig to choose one)",
			               kc->path, origin, kc->server);
		if (!has_credentials(kc))
			return kc_fail(err, KC_EINVAL,
			               "kubeconfig %s (%s): user %s has no credentials (client "
			               "certificate and key, token or tokenFile); a kubeconfig the "
			               "agent was not given must carry the kubelet's own",
			               kc->path, origin, kc->user != NULL ? kc->user : "-");
		return KC_OK;
	}
	if (!http)
		return KC_OK;
	if (!cfg->allow_insecure_http)
		return kc_fail(
		    err, KC_EINVAL,
		    "kubeconfig %s: server %s is plain http: credentials would cross the "
		    "network in clear and any answer would be believed; use https, or "
		    "allow it with --%s (config key %s: true)",
		    kc->path, kc->server, agent_setting_flag(AGENT_ALLOW_INSECURE_HTTP),
		    agent_setting_key(AGENT_ALLOW_INSECURE_HTTP));
	kc_log(KC_LOG_WARNING,
	       "kubeconfig %s: server %s is plain http (allowed by %s): credentials cross the "
	       "network in clear and any answer is believed",
	       kc->path, kc->server, agent_setting_key(AGENT_ALLOW_INSECURE_HTTP));
	return KC_OK;
}

static kc_code check_node_identity(const struct agent_config *cfg, const struct kubeconfig *kc,
                                   struct kc_error *err)
{
	char *cn = NULL;
	kc_code rc;

	if ((rc = kubeconfig_client_cn(kc, &cn, err)) != KC_OK)
		return kc_error_prefix(err, "kubeconfig %s: client certificate", kc->path);
	if (cn == NULL)
		return KC_OK; /* a token: its identity is the apiserver's to know */
	if (strncmp(cn, NODE_USER_PREFIX, strlen(NODE_USER_PREFIX)) != 0) {
		kc_log(KC_LOG_WARNING,
		       "kubeconfig %s: client certificate CN %s is not a node identity (%s<node>): "
		       "the Node authorizer does not limit it to node %s",
		       kc->path, cn, NODE_USER_PREFIX, cfg->node_name);
	} else if (strcmp(cn + strlen(NODE_USER_PREFIX), cfg->node_name) != 0) {
		rc =
		    kc_fail(err, KC_EINVAL,
		            "node name %s (%s) does not match the client certificate of kubeconfig "
		            "%s, which is node %s (CN %s): give --node-name %s, or the "
		            "kubeconfig of node %s",
		            cfg->node_name, agent_source_name(cfg->source[AGENT_NODE_NAME]),
		            kc->path, cn + strlen(NODE_USER_PREFIX), cn,
		            cn + strlen(NODE_USER_PREFIX), cfg->node_name);
	}
	free(cn);
	return rc;
}

kc_code agent_check_kubeconfig(const struct agent_config *cfg, const struct kubeconfig *kc,
                               struct kc_error *err)
{
	kc_code rc;

	if ((rc = check_transport(cfg, kc, err)) != KC_OK)
		return rc;
	return check_node_identity(cfg, kc, err);
}

/*
 * What can be checked now is checked now, before any wait (issue 19 item 6):
 * an admin's mistake (an http kubeconfig, a node name that is not the
 * certificate's) must end the start, not surface whenever a kubelet or the
 * kubeconfig turns up. A kubeconfig or node name that is still a guess (no
 * kubelet found yet, and it was left to the kubelet) waits for the kubelet;
 * a kubeconfig not written yet waits for kubeadm (agent_wait.c). Neither
 * sources_open's check nor its place changes: this one only comes earlier.
 */
kc_code agent_check_early(const struct agent_config *cfg, struct kc_error *err)
{
	enum agent_source nsrc = cfg->source[AGENT_NODE_NAME];
	bool node_settled =
	    !cfg->kubelet_missing || nsrc == AGENT_SRC_FLAG || nsrc == AGENT_SRC_CONFIG_FILE;
	struct kubeconfig *kc;
	struct stat st;
	kc_code rc;

	if ((cfg->kubelet_missing && !named_by_admin(cfg)) ||
	    (stat(cfg->kubeconfig, &st) != 0 && errno == ENOENT))
		return KC_OK;
	if ((rc = kubeconfig_load(cfg->kubeconfig, &kc, err)) != KC_OK)
		return rc;
	if ((rc = check_transport(cfg, kc, err)) == KC_OK && node_settled)
		rc = check_node_identity(cfg, kc, err);
	kubeconfig_free(kc);
	return rc;
}
