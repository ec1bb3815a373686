/*
 * manifest_check.h: the project's own rule checker for bridge manifests
 * (docs/design.md §5). Independent of render: it re-derives every rule from
 * the output (and, when given, the source pod), so a render bug cannot hide
 * behind itself. The agent calls manifest_verify() before writing a manifest;
 * tests call manifest_check() to see every broken rule at once.
 *
 * Rules: apiVersion v1 / kind Pod; metadata holds only name, namespace, labels,
 * annotations (valid names, no controller labels, no kubernetes.io/config.*,
 * no trigger annotation, both marker annotations, source-uid a UUID); no
 * status; no nodeName, nodeSelector, affinity, schedulingGates,
 * ephemeralContainers, resourceClaims, serviceAccountName, serviceAccount,
 * imagePullSecrets; automountServiceAccountToken false; nothing the kubelet's
 * HasAPIObjectReference (1.34) rejects: no secret/configMap/PVC/CSI/ephemeral/
 * glusterfs/azureFile/unknown volumes, no volume secretRef, projected volumes
 * with downwardAPI sources only, no env valueFrom secret/configMap key refs,
 * no envFrom; no imagePullPolicy Always; cpu/memory/ephemeral-storage
 * requests are 0 (and set when limited); terminationGracePeriodSeconds set
 * (with the source: not longer than its); hostNetwork pods have no container
 * ports and no named probe/lifecycle ports. With the source pod: markers name
 * it, scheduling extras (tolerations, priority, priorityClassName,
 * preemptionPolicy) are kept unchanged, every volume materialised from the
 * API is a hostPath of type Directory mounted read-only.
 */
#ifndef KC_MANIFEST_CHECK_H
#define KC_MANIFEST_CHECK_H

#include <jansson.h>
#include <stddef.h>

#include "kc_error.h"

struct mc_report {
	char **problems; /* one line each: "<field path>: <what is wrong>" */
	size_t count;
};

/*
 * Check manifest against every rule; source (the API pod) may be NULL.
 * Returns KC_OK when the check ran (problems, if any, are in *out); only
 * KC_ENOMEM otherwise. *out must be freed with mc_report_free().
 */
kc_code manifest_check(const json_t *manifest, const json_t *source, struct mc_report *out,
                       struct kc_error *err);
void mc_report_free(struct mc_report *report);

/*
 * KC_OK when manifest breaks no rule; else KC_EINTERNAL (render produced it,
 * so a broken rule is a bug) naming the first problem and the total count.
 */
kc_code manifest_verify(const json_t *manifest, const json_t *source, struct kc_error *err);

#endif
