/*
 * agent_wait.c: what the agent waits for before it can do its job, and how
 * it says so.
 *
 * A node package is installed before the node is joined (kubeadm init/join
 * writes /etc/kubernetes/kubelet.conf and the staticPodPath later) and the
 * agent is started before the kubelet at boot (no After=kubelet.service on
 * purpose). Neither is an error: exiting would make systemd restart the
 * agent every RestartSec forever, several journal lines a cycle, and
 * guessing the node's identity from defaults while no kubelet runs would
 * adopt whatever is found there. So the agent waits, retrying with backoff,
 * and says what for: once in the log when it starts, then every ten
 * minutes, and once when it ends; all the while in status and metrics.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "agent_int.h"
#include "kc_log.h"

static const char *const wait_names[AGENT_WAIT_COUNT] = {
    [AGENT_WAIT_NONE] = NULL,
    [AGENT_WAIT_KUBELET] = "kubelet",
    [AGENT_WAIT_KUBECONFIG] = "kubeconfig",
    [AGENT_WAIT_KUBELET_CONFIG] = "kubeletConfig",
    [AGENT_WAIT_STATIC_POD_PATH] = "staticPodPath",
};

const char *agent_wait_name(enum agent_wait w)
{
	return w > AGENT_WAIT_NONE && w < AGENT_WAIT_COUNT ? wait_names[w] : NULL;
}

enum agent_wait agent_wait_missing(const struct agent_config *cfg, char *detail, size_t size)
{
	struct stat st;

	if (cfg->kubelet_missing) {
		snprintf(detail, size,
		         "no trustworthy kubelet found (%s); its --kubeconfig and --config are "
		         "needed (or give kubeconfig and kubeletConfig)",
		         cfg->kubelet_why_none);
		return AGENT_WAIT_KUBELET;
	}
	if (cfg->kubelet_config_missing) {
		snprintf(detail, size,
		         "%s (the kubelet's --config, for staticPodPath) does not exist yet "
		         "(kubeadm init/join writes it)",
		         cfg->kubelet_config);
		return AGENT_WAIT_KUBELET_CONFIG;
	}
	if (stat(cfg->kubeconfig, &st) != 0 && errno == ENOENT) {
		snprintf(detail, size, "%s does not exist yet (kubeadm init/join writes it)",
		         cfg->kubeconfig);
		return AGENT_WAIT_KUBECONFIG;
	}
	detail[0] = '\0';
	return AGENT_WAIT_NONE;
}

void agent_wait_set(struct agent *a, enum agent_wait w, const char *detail, int64_t now_ms)
{
	if (w == a->wait.what) {
		if (w != AGENT_WAIT_NONE && now_ms - a->wait.said_ms >= AGENT_WAIT_REMIND_MS) {
			kc_log(KC_LOG_NOTICE, "still waiting for the %s (%lld min): %s",
			       agent_wait_name(w), (long long)((now_ms - a->wait.since_ms) / 60000),
			       detail);
			a->wait.said_ms = now_ms;
		}
		snprintf(a->wait.detail, sizeof(a->wait.detail), "%s", detail);
		return;
	}
	if (a->wait.what != AGENT_WAIT_NONE)
		kc_log(KC_LOG_NOTICE, "the %s is there: no longer waiting for it (%lld s)",
		       agent_wait_name(a->wait.what),
		       (long long)((now_ms - a->wait.since_ms) / 1000));
	if (w != AGENT_WAIT_NONE)
		kc_log(KC_LOG_WARNING, "waiting for the %s: %s", agent_wait_name(w), detail);
	a->wait.what = w;
	a->wait.since_ms = now_ms;
	a->wait.said_ms = now_ms;
	snprintf(a->wait.detail, sizeof(a->wait.detail), "%s", detail);
}

void agent_reload_answer(struct agent *a, const struct kc_error *why)
{
	a->reload.answered++;
	a->reload.ok = why == NULL;
	a->reload.wall = time(NULL);
	snprintf(a->reload.error, sizeof(a->reload.error), "%s", why != NULL ? why->msg : "");
}
