/*
 * agent_kubelet.c: the settings run inherits from the running kubelet (see
 * agent_kubelet.h): its flags found by kubelet_discovery, its
 * KubeletConfiguration with drop-ins, and the host name, applied in the
 * kubelet's own order of precedence over what neither a flag nor the config
 * file of the agent gave.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_kubelet.h"
#include "k8s_validate.h"
#include "kc_log.h"
#include "kubelet_discovery.h"

/* The CRI endpoints the agent can use: a unix socket by absolute path. */
kc_code agent_kubelet_check_endpoint(const char *value, struct kc_error *err)
{
	const char *path = value;

	if (strncmp(path, "unix://", 7) == 0)
		path += 7;
	if (path[0] != '/')
		return kc_fail(err, KC_EINVAL,
		               "%s: expected unix:///absolute/path (or /absolute/path)", value);
	return KC_OK;
}

/*
 * The string settings the kubelet may give, by setting. A table of slots
 * rather than agent_config.c's own setter keeps the call one way (config
 * calls kubelet, never back).
 */
static char **setting_slot(struct agent_config *cfg, enum agent_setting s)
{
	switch (s) {
	case AGENT_KUBECONFIG:
		return &cfg->kubeconfig;
	case AGENT_NODE_NAME:
		return &cfg->node_name;
	case AGENT_KUBELET_CONFIG:
		return &cfg->kubelet_config;
	case AGENT_STATIC_POD_PATH:
		return &cfg->static_pod_path;
	case AGENT_CONTAINER_RUNTIME_ENDPOINT:
		return &cfg->container_runtime_endpoint;
	default:
		return NULL;
	}
}

/* Set a resolved string setting and its source. */
static kc_code resolve_to(struct agent_config *cfg, enum agent_setting s, const char *value,
                          enum agent_source src, struct kc_error *err)
{
	char **slot = setting_slot(cfg, s);

	if (slot == NULL)
		return kc_fail(err, KC_EINTERNAL, "setting %d is not the kubelet's", (int)s);
	free(*slot);
	if ((*slot = strdup(value)) == NULL)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	cfg->source[s] = src;
	return KC_OK;
}

/* The kubelet's GetHostname: trimmed and lowercased; the result must be a node name. */
static kc_code resolve_node_name(struct agent_config *cfg, const char *raw, enum agent_source src,
                                 struct kc_error *err)
{
	char *name, *start, *end, *p;
	struct kc_error why;
	kc_code rc;

	if ((name = strdup(raw)) == NULL)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	for (start = name; isspace((unsigned char)*start); start++)
		;
	for (end = start + strlen(start); end > start && isspace((unsigned char)end[-1]); end--)
		;
	*end = '\0';
	for (p = start; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	if (k8s_check_dns_subdomain(start, &why) != KC_OK) {
		rc = kc_fail(err, KC_EINVAL, "node name \"%s\" from the %s: %s (give --node-name)",
		             start, src == AGENT_SRC_HOSTNAME ? "host name" : "kubelet cmdline",
		             why.msg);
		free(name);
		return rc;
	}
	rc = resolve_to(cfg, AGENT_NODE_NAME, start, src, err);
	free(name);
	return rc;
}

static kc_code system_hostname(char *buf, size_t size, struct kc_error *err)
{
	if (gethostname(buf, size - 1) != 0)
		return kc_fail_errno(err, KC_EIO, errno, "gethostname");
	buf[size - 1] = '\0';
	return KC_OK;
}

/* The kubelet config, read at most once per load (it may be a FIFO or change under us). */
struct kubelet_read {
	bool done;
	kc_code rc;
	struct kc_error err;
	struct kubelet_settings ks;
};

static kc_code read_kubelet_config(struct kubelet_read *kr, const struct agent_config *cfg,
                                   const char *config_dir)
{
	if (!kr->done) {
		kr->done = true;
		kr->rc = kubelet_config_read(cfg->kubelet_config, config_dir, &kr->ks, &kr->err);
	}
	return kr->rc;
}

/*
 * staticPodPath when no flag or file set it, as the kubelet computes it: its
 * config file, the *.conf drop-ins of its --config-dir over that, then its
 * command-line flags re-applied over both (kubeletConfigFlagPrecedence), so
 * its --pod-manifest-path wins. That holds while the kubelet config is the
 * running kubelet's own. A kubelet config named to the agent (flag or file)
 * that the kubelet does not use describes another setup: it is read first,
 * the kubelet's --pod-manifest-path only fills in. A default kubelet config
 * that does not exist is no error; a named one is.
 */
static kc_code resolve_static_pod_path(struct agent_config *cfg, const struct kubelet_info *ki,
                                       struct kubelet_read *kr, struct kc_error *err)
{
	enum agent_source kcsrc = cfg->source[AGENT_KUBELET_CONFIG];
	bool own = kcsrc == AGENT_SRC_DEFAULT || kcsrc == AGENT_SRC_KUBELET_CMDLINE ||
	           (ki->flags.config != NULL && strcmp(ki->flags.config, cfg->kubelet_config) == 0);
	const char *flag = ki->flags.pod_manifest_path;
	struct stat st;
	kc_code rc;

	if (own && flag != NULL)
		return resolve_to(cfg, AGENT_STATIC_POD_PATH, flag, AGENT_SRC_KUBELET_CMDLINE, err);
	if (kcsrc == AGENT_SRC_DEFAULT && stat(cfg->kubelet_config, &st) != 0 && errno == ENOENT)
		return resolve_to(cfg, AGENT_STATIC_POD_PATH, AGENT_DEFAULT_STATIC_POD_PATH,
		                  AGENT_SRC_DEFAULT, err);
	/* The running kubelet's --config not written yet (before kubeadm join): wait for it. */
	if (kcsrc == AGENT_SRC_KUBELET_CMDLINE && stat(cfg->kubelet_config, &st) != 0 &&
	    errno == ENOENT) {
		cfg->kubelet_config_missing = true;
		return resolve_to(cfg, AGENT_STATIC_POD_PATH, AGENT_DEFAULT_STATIC_POD_PATH,
		                  AGENT_SRC_DEFAULT, err);
	}
	if (read_kubelet_config(kr, cfg, own ? ki->flags.config_dir : NULL) != KC_OK) {
		*err = kr->err;
		return kc_error_prefix(err, "reading the kubelet config for staticPodPath (or give "
		                            "--static-pod-path)");
	}
	if (kr->ks.static_pod_path != NULL)
		return resolve_to(cfg, AGENT_STATIC_POD_PATH, kr->ks.static_pod_path,
		                  AGENT_SRC_KUBELET_CONFIG, err);
	if (flag != NULL)
		return resolve_to(cfg, AGENT_STATIC_POD_PATH, flag, AGENT_SRC_KUBELET_CMDLINE, err);
	/*
	 * The kubelet's file source starts only when its staticPodPath is set
	 * (pkg/kubelet/kubelet.go, makePodSourceConfig: "if kubeCfg.StaticPodPath
	 * != \"\""): it watches no directory, and a manifest written anywhere
	 * would never run. The path stays the default for display only.
	 */
	snprintf(cfg->bridge_off, sizeof(cfg->bridge_off),
	         "the kubelet config %s names no staticPodPath and the kubelet has no "
	         "--pod-manifest-path: the kubelet watches no static pod directory",
	         cfg->kubelet_config);
	if ((rc = resolve_to(cfg, AGENT_STATIC_POD_PATH, AGENT_DEFAULT_STATIC_POD_PATH,
	                     AGENT_SRC_DEFAULT, err)) != KC_OK)
		return rc;
	return KC_OK;
}

/* Take *from (may be NULL) into *to, freeing what *to held. */
static void take_string(char **to, char **from)
{
	if (*from == NULL)
		return;
	free(*to);
	*to = *from;
	*from = NULL;
}

static kc_code dup_into(char **to, const char *from, struct kc_error *err)
{
	if (from == NULL)
		return KC_OK;
	free(*to);
	if ((*to = strdup(from)) == NULL)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	return KC_OK;
}

/*
 * The kubelet's runtime endpoint and cgroup layout: its config file (with
 * its --config-dir drop-ins when it is the running kubelet's own), then its
 * flags over that, as the kubelet applies them. ki is NULL when the kubelet
 * was not looked for (everything else was given). A config that cannot be
 * read is not fatal here (staticPodPath resolution says so when it needs the
 * file): it is remembered for the start-up log, and the defaults hold.
 */
static kc_code resolve_kubelet_runtime(struct agent_config *cfg, const struct kubelet_info *ki,
                                       struct kubelet_read *kr, struct kc_error *err)
{
	enum agent_source kcsrc = cfg->source[AGENT_KUBELET_CONFIG];
	bool own =
	    ki != NULL &&
	    (kcsrc == AGENT_SRC_DEFAULT || kcsrc == AGENT_SRC_KUBELET_CMDLINE ||
	     (ki->flags.config != NULL && strcmp(ki->flags.config, cfg->kubelet_config) == 0));
	enum agent_source spsrc = cfg->source[AGENT_STATIC_POD_PATH];
	struct kubelet_settings ks = {.cgroups_per_qos = -1, .fail_cgroup_v1 = -1};
	enum agent_source epsrc = AGENT_SRC_KUBELET_CONFIG;
	struct kc_error why;
	kc_code rc;

	cfg->kubelet_cgroups_per_qos = true;
	if (read_kubelet_config(kr, cfg, own ? ki->flags.config_dir : NULL) != KC_OK) {
		if (kr->err.code != KC_ENOTFOUND ||
		    (kcsrc != AGENT_SRC_DEFAULT && !cfg->kubelet_config_missing))
			snprintf(cfg->kubelet_config_problem, sizeof(cfg->kubelet_config_problem),
			         "%s", kr->err.msg);
	} else {
		/* Ours to consume: nothing reads the cached settings after this. */
		ks = kr->ks;
		memset(&kr->ks, 0, sizeof(kr->ks));
		/* An explicit staticPodPath of ours that the kubelet does not watch. */
		if (ks.static_pod_path == NULL &&
		    (ki == NULL || ki->pid == 0 || ki->flags.pod_manifest_path == NULL) &&
		    (spsrc == AGENT_SRC_FLAG || spsrc == AGENT_SRC_CONFIG_FILE))
			snprintf(
			    cfg->static_pod_path_unread, sizeof(cfg->static_pod_path_unread),
			    "the kubelet config %s names no staticPodPath%s: the kubelet may not "
			    "read %s",
			    cfg->kubelet_config,
			    ki != NULL && ki->pid != 0
			        ? " and the kubelet has no --pod-manifest-path"
			        : "",
			    cfg->static_pod_path);
	}
	if (ki != NULL && ki->pid != 0 && ki->flags.runtime_endpoint != NULL) {
		free(ks.runtime_endpoint);
		ks.runtime_endpoint = NULL;
		epsrc = AGENT_SRC_KUBELET_CMDLINE;
		if ((rc = dup_into(&ks.runtime_endpoint, ki->flags.runtime_endpoint, err)) != KC_OK)
			goto out;
	}
	if (ki != NULL && ki->pid != 0 &&
	    ((rc = dup_into(&ks.cgroup_root, ki->flags.cgroup_root, err)) != KC_OK ||
	     (rc = dup_into(&ks.cgroup_driver, ki->flags.cgroup_driver, err)) != KC_OK))
		goto out;
	take_string(&cfg->kubelet_cgroup_root, &ks.cgroup_root);
	take_string(&cfg->kubelet_cgroup_driver, &ks.cgroup_driver);
	cfg->kubelet_fail_cgroup_v1 = ks.fail_cgroup_v1;
	if (ki != NULL && ki->pid != 0 &&
	    (rc = dup_into(&cfg->kubelet_image_credential_provider_config,
	                   ki->flags.image_credential_provider_config, err)) != KC_OK)
		goto out;
	/* Its --cgroups-per-qos flag beats its config, as its other flags do. */
	if (ki != NULL && ki->pid != 0 && kubelet_parse_bool(ki->flags.cgroups_per_qos) >= 0)
		ks.cgroups_per_qos = kubelet_parse_bool(ki->flags.cgroups_per_qos);
	if (ks.cgroups_per_qos == 0)
		cfg->kubelet_cgroups_per_qos = false;
	rc = KC_OK;
	if (cfg->container_runtime_endpoint != NULL)
		goto out;
	if (ks.runtime_endpoint != NULL &&
	    agent_kubelet_check_endpoint(ks.runtime_endpoint, &why) == KC_OK)
		rc = resolve_to(cfg, AGENT_CONTAINER_RUNTIME_ENDPOINT, ks.runtime_endpoint, epsrc,
		                err);
	else if (ks.runtime_endpoint != NULL) {
		/* Said at start: the default is then a guess, and the cgroups may have to answer.
		 */
		snprintf(cfg->kubelet_config_problem, sizeof(cfg->kubelet_config_problem),
		         "the kubelet's container runtime endpoint is unusable (%.900s); using %s",
		         why.msg, AGENT_DEFAULT_RUNTIME_ENDPOINT);
		rc = resolve_to(cfg, AGENT_CONTAINER_RUNTIME_ENDPOINT,
		                AGENT_DEFAULT_RUNTIME_ENDPOINT, AGENT_SRC_DEFAULT, err);
	} else
		rc = resolve_to(cfg, AGENT_CONTAINER_RUNTIME_ENDPOINT,
		                AGENT_DEFAULT_RUNTIME_ENDPOINT, AGENT_SRC_DEFAULT, err);
out:
	kubelet_settings_free(&ks);
	return rc;
}

kc_code agent_kubelet_resolve(struct agent_config *cfg, const struct agent_env *env,
                              struct kc_error *err)
{
	struct kubelet_info ki = {0};
	struct kubelet_read kr = {.ks.cgroups_per_qos = -1};
	char host[256];
	kc_code rc;

	if (cfg->kubeconfig != NULL && cfg->node_name != NULL && cfg->kubelet_config != NULL &&
	    cfg->static_pod_path != NULL) {
		rc = resolve_kubelet_runtime(cfg, NULL, &kr, err);
		kubelet_settings_free(&kr.ks);
		return rc;
	}
	if ((rc = kubelet_discover(env->proc_root != NULL ? env->proc_root : "/proc", &ki, err)) !=
	    KC_OK)
		return kc_error_prefix(err, "looking for the kubelet");
	cfg->kubelet_pid = ki.pid;
	cfg->kubelet_start_time = ki.start_time;
	/*
	 * The kubeconfig (the node's credentials) or the kubelet config would be
	 * guessed from defaults: the agent must wait for the kubelet instead
	 * (agent_wait.c). The node name alone is not waited for: the host name
	 * is the kubelet's own default, and the client certificate names the
	 * node anyway. The defaults below still fill the config, so status and
	 * the log can name what is unknown.
	 */
	cfg->kubelet_missing =
	    ki.pid == 0 && (cfg->kubeconfig == NULL || cfg->kubelet_config == NULL);
	if (ki.pid == 0)
		snprintf(cfg->kubelet_why_none, sizeof(cfg->kubelet_why_none), "%s", ki.why_none);
	/* When the kubelet is needed, the wait says it (agent_wait.c). */
	if (ki.pid == 0 && !cfg->kubelet_missing)
		kc_log(KC_LOG_WARNING, "config: no trustworthy kubelet found (%s)", ki.why_none);

	if (cfg->kubeconfig == NULL)
		rc = ki.flags.kubeconfig != NULL
		         ? resolve_to(cfg, AGENT_KUBECONFIG, ki.flags.kubeconfig,
		                      AGENT_SRC_KUBELET_CMDLINE, err)
		         : resolve_to(cfg, AGENT_KUBECONFIG, AGENT_DEFAULT_KUBECONFIG,
		                      AGENT_SRC_DEFAULT, err);
	if (rc == KC_OK && cfg->node_name == NULL) {
		if (ki.flags.hostname_override != NULL)
			rc = resolve_node_name(cfg, ki.flags.hostname_override,
			                       AGENT_SRC_KUBELET_CMDLINE, err);
		else if (env->hostname != NULL)
			rc = resolve_node_name(cfg, env->hostname, AGENT_SRC_HOSTNAME, err);
		else if ((rc = system_hostname(host, sizeof(host), err)) == KC_OK)
			rc = resolve_node_name(cfg, host, AGENT_SRC_HOSTNAME, err);
	}
	if (rc == KC_OK && cfg->kubelet_config == NULL)
		rc = ki.flags.config != NULL
		         ? resolve_to(cfg, AGENT_KUBELET_CONFIG, ki.flags.config,
		                      AGENT_SRC_KUBELET_CMDLINE, err)
		         : resolve_to(cfg, AGENT_KUBELET_CONFIG, AGENT_DEFAULT_KUBELET_CONFIG,
		                      AGENT_SRC_DEFAULT, err);
	if (rc == KC_OK && cfg->static_pod_path == NULL)
		rc = resolve_static_pod_path(cfg, &ki, &kr, err);
	if (rc == KC_OK)
		rc = resolve_kubelet_runtime(cfg, &ki, &kr, err);
	kubelet_settings_free(&kr.ks);
	kubelet_info_free(&ki);
	return rc;
}

bool agent_kubelet_gone(const struct agent_config *cfg, const char *proc_root)
{
	return cfg->kubelet_pid != 0 &&
	       !kubelet_still_running(proc_root, cfg->kubelet_pid, cfg->kubelet_start_time);
}

static bool same_text(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

bool agent_kubelet_same_settings(const struct agent_config *a, const struct agent_config *b)
{
	return same_text(a->kubeconfig, b->kubeconfig) && same_text(a->node_name, b->node_name) &&
	       same_text(a->kubelet_config, b->kubelet_config) &&
	       same_text(a->static_pod_path, b->static_pod_path) &&
	       same_text(a->container_runtime_endpoint, b->container_runtime_endpoint) &&
	       same_text(a->kubelet_cgroup_root, b->kubelet_cgroup_root) &&
	       same_text(a->kubelet_cgroup_driver, b->kubelet_cgroup_driver) &&
	       a->kubelet_cgroups_per_qos == b->kubelet_cgroups_per_qos &&
	       strcmp(a->bridge_off, b->bridge_off) == 0 &&
	       a->kubelet_config_missing == b->kubelet_config_missing;
}
