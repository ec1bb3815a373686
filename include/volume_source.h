/*
 * volume_source.h: what becomes of each pod volume in a static manifest.
 * One classification shared by pod_refs, volume_plan and render, so they
 * cannot disagree (kubelet 1.34's HasAPIObjectReference, pkg/api/pod/util.go,
 * is the reference for what is allowed). manifest_check keeps its own copy
 * of that rule on purpose: it verifies render's output.
 */
#ifndef KC_VOLUME_SOURCE_H
#define KC_VOLUME_SOURCE_H

#include <jansson.h>

#include "kc_error.h"

enum vs_class {
	VS_KEEP,        /* no API reference: copied unchanged */
	VS_MATERIALISE, /* secret, configMap, projected with an API source: hostPath dir */
};

/*
 * Classify volume (an element of spec.volumes). KC_ENOTCHECKPOINTABLE names
 * the source ("persistentVolumeClaim", "cephfs.secretRef",
 * "projected.sources[1].clusterTrustBundle", "unknown volume type ...");
 * KC_EINVAL for a malformed volume. Messages are relative to the volume.
 */
kc_code volume_source_classify(const json_t *volume, enum vs_class *out, struct kc_error *err);

/* The source key of volume ("hostPath", "secret"...), NULL when none/ambiguous. */
const char *volume_source_kind(const json_t *volume);

#endif
