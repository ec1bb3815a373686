/*
 * bridge_warnings.h: why a bridge of a parent may not start, or may not
 * behave like its parent, although its manifest is valid and the kubelet
 * accepts it. These are warnings, never refusals: a parent that renders is
 * checkpointed whatever they say. They go to `status` (each checkpoint's
 * `warnings` array) and to the log once per pod change.
 *
 * Each rule is checked against the kubelet's source (README "What differs in
 * a bridge" names the files and functions):
 * - spec.runtimeClassName: the kubelet resolves the handler through its
 *   RuntimeClass informer cache (pkg/kubelet/runtimeclass/
 *   runtimeclass_manager.go, Manager.LookupRuntimeHandler, called from
 *   kuberuntime_sandbox.go createPodSandbox). A kubelet started while the API
 *   is down has an empty cache: the lookup fails and no sandbox is created.
 * - spec.imagePullSecrets: dropped (1.34 refuses static pods that name
 *   them). With KubeletEnsureSecretPulledImages (beta, on by default in 1.35)
 *   an image the kubelet pulled with a Secret is verified again for a pod that
 *   does not present that Secret (pkg/kubelet/images/pullmanager/
 *   image_pull_manager.go, PullManager.MustAttemptImagePull): the kubelet
 *   pulls again, which needs the registry and credentials the bridge lacks.
 *   What the bridge promises: the image that ran is on the node and the
 *   manifest says IfNotPresent; not that the kubelet will use it. The same
 *   holds for an image a credential provider pulled with the pod's
 *   ServiceAccount token (tokenAttributes, 1.34+): the pull record names the
 *   ServiceAccount (PullManager.MustAttemptImagePull compares
 *   KubernetesServiceAccounts), the bridge has none, and the provider gets
 *   no token for it (pkg/credentialprovider/plugin/plugin.go,
 *   pluginProvider.provide). Which providers send the token only the node
 *   knows (credential_providers.h): without it (render, status of an agent
 *   that is not running) only imagePullSecrets are seen. One warning covers
 *   both.
 * - spec.dnsPolicy ClusterFirst (the API default) on a pod without
 *   hostNetwork, or ClusterFirstWithHostNet: resolv.conf names the cluster DNS
 *   Service (pkg/kubelet/network/dns/dns.go, getPodDNSType), which is a pod
 *   of the cluster and unlikely to answer during an outage.
 * - an extended resource (a domain-prefixed name outside kubernetes.io/) in
 *   the requests or limits of a container or init container: the bridge
 *   keeps it. The kubelet's device manager allocates it at admission
 *   (pkg/kubelet/cm/devicemanager/manager.go, devicesToAllocate): a kubelet
 *   restarted during the outage knows the resource from its checkpoint but
 *   has no healthy device until the plugin (often a DaemonSet pod)
 *   registers again, and rejects the pod ("no healthy devices present").
 *   A name no device plugin serves is dropped from admission
 *   (pkg/kubelet/lifecycle/predicate.go, removeMissingExtendedResources)
 *   and the container runs without the device. DRA-backed extended
 *   resources (KEP-5004, 1.34+) are such names: the parent's
 *   status.extendedResourceClaimStatus maps them to a ResourceClaim the
 *   bridge does not have, so they get their own warning.
 *
 * Pure: no I/O, same pod in, same strings out, in this order.
 */
#ifndef KC_BRIDGE_WARNINGS_H
#define KC_BRIDGE_WARNINGS_H

#include <jansson.h>

#include "image_ref.h"
#include "kc_error.h"

/* Longest warning text (bytes, NUL included); longer names are cut. */
#define BRIDGE_WARNING_MAX 640

/* What the agent knows of this node's kubelet; NULL: nothing. */
struct bridge_node {
	/* matchImages of the credential providers that send the pod's ServiceAccount token */
	const struct image_credential_rule *sa_token_rules;
	size_t n_sa_token_rules;
};

/*
 * *out = a new JSON array of strings (empty when there is nothing to say)
 * about the API pod pod. KC_ENOMEM only.
 */
kc_code bridge_warnings(const json_t *pod, json_t **out, struct kc_error *err);

/* The same with what is known of the node (node may be NULL). */
kc_code bridge_warnings_on(const json_t *pod, const struct bridge_node *node, json_t **out,
                           struct kc_error *err);

#endif
