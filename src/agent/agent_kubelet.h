/*
 * agent_kubelet.h: what run's configuration takes from the running kubelet,
 * between agent_config.c (the settings table, flags and config file) and
 * agent_kubelet.c (everything derived from the kubelet).
 *
 * agent_kubelet_resolve fills what neither a flag nor the config file set:
 * the kubeconfig, node name, kubelet config and staticPodPath from the
 * kubelet's command line and KubeletConfiguration (agent_config.h tells the
 * order), then the kubelet's runtime endpoint and pod cgroup layout. The
 * kubelet is only looked for when one of the first four is left to it.
 */
#ifndef KC_AGENT_KUBELET_H
#define KC_AGENT_KUBELET_H

#include "agent_config.h"
#include "kc_error.h"

kc_code agent_kubelet_resolve(struct agent_config *cfg, const struct agent_env *env,
                              struct kc_error *err);

/* A usable CRI endpoint ("unix:///abs/path" or "/abs/path"), for flags and the kubelet's. */
kc_code agent_kubelet_check_endpoint(const char *value, struct kc_error *err);

/*
 * The kubelet cfg came from has exited (its pid is gone, or reused by
 * another process): a restarted kubelet must be found again, and may run
 * with other flags (issue 19 item 6). False when cfg names no kubelet.
 */
bool agent_kubelet_gone(const struct agent_config *cfg, const char *proc_root);
/* Do a and b inherit the same settings from the kubelet (what a restart may change)? */
bool agent_kubelet_same_settings(const struct agent_config *a, const struct agent_config *b);

#endif
