/*
 * volume_source.c: one classification of pod volumes for the whole program
 * (see volume_source.h). The lists mirror kubelet 1.34's
 * HasAPIObjectReference: a static pod may use a source only if the kubelet
 * needs no API object to set it up.
 */
#include <stdbool.h>
#include <string.h>

#include "kc_str.h"
#include "volume_source.h"

/* Sources the kubelet sets up from the node alone. */
static const char *const keep_kinds[] = {
    "awsElasticBlockStore", "azureDisk", "downwardAPI",   "emptyDir", "fc",  "flocker",
    "gcePersistentDisk",    "gitRepo",   "hostPath",      "image",    "nfs", "photonPersistentDisk",
    "portworxVolume",       "quobyte",   "vsphereVolume",
};

/* Allowed unless they name a Secret (VisitPodSecretNames). */
static const struct {
	const char *kind;
	const char *secret_field;
} secret_ref_kinds[] = {
    {"cephfs", "secretRef"},    {"cinder", "secretRef"}, {"flexVolume", "secretRef"},
    {"iscsi", "secretRef"},     {"rbd", "secretRef"},    {"scaleIO", "secretRef"},
    {"storageos", "secretRef"},
};

/* Sources that need an API object the kubelet cannot have offline. */
static const struct {
	const char *kind;
	const char *why;
} api_kinds[] = {
    {"persistentVolumeClaim", "a PersistentVolumeClaim needs the API"},
    {"csi", "a CSI volume needs the CSIDriver object"},
    {"ephemeral", "an ephemeral volume is a PersistentVolumeClaim"},
    {"glusterfs", "a glusterfs volume needs an Endpoints object"},
    {"azureFile", "an azureFile volume needs a Secret"},
};

const char *volume_source_kind(const json_t *volume)
{
	const char *key, *kind = NULL;
	json_t *value;

	if (!json_is_object(volume))
		return NULL;
	json_object_foreach((json_t *)volume, key, value)
	{
		if (strcmp(key, "name") == 0 || json_is_null(value))
			continue;
		if (kind != NULL)
			return NULL;
		kind = key;
	}
	return kind;
}

static bool has_ref(const json_t *obj, const char *field)
{
	const json_t *ref = json_object_get(obj, field);

	return ref != NULL && !json_is_null(ref);
}

/*
 * Projected sources whose data only the API has, and that the agent cannot
 * copy: the kubelet fills them from live API objects, and 1.34's
 * HasAPIObjectReference (pkg/api/pod/util.go) refuses them in a static pod
 * ("clustertrustbundles", "podcertificates").
 * - clusterTrustBundle: the kubelet reads the bundles through its
 *   ClusterTrustBundle informer (pkg/kubelet/clustertrustbundle/
 *   clustertrustbundle_manager.go, GetTrustAnchorsByName/BySigner).
 * - podCertificate (1.35+): the kubelet makes a key, reads the pod's
 *   ServiceAccount and creates a PodCertificateRequest in the API, then waits
 *   for the signer (pkg/kubelet/podcertificate/podcertificatemanager.go,
 *   IssuingManager.handleProjection; the volume reads it through
 *   GetPodCertificateCredentialBundle). Key and certificate live in the
 *   kubelet's memory only; a copied certificate would be bound to another pod
 *   and could not be renewed.
 */
static const char *api_projected_why(const char *kind)
{
	if (strcmp(kind, "clusterTrustBundle") == 0)
		return "the kubelet reads ClusterTrustBundle objects from the API and refuses a "
		       "static pod that uses them";
	if (strcmp(kind, "podCertificate") == 0)
		return "the kubelet gets the certificate by a PodCertificateRequest to the API for "
		       "the pod's ServiceAccount, and refuses a static pod that uses it";
	return NULL;
}

static kc_code classify_projected(const json_t *projected, enum vs_class *out, struct kc_error *err)
{
	const json_t *sources = json_object_get(projected, "sources"), *src;
	const char *kind, *why;
	bool api = false;
	size_t i;

	if (sources == NULL || json_is_null(sources)) {
		*out = VS_KEEP;
		return KC_OK;
	}
	if (!json_is_array(sources))
		return kc_fail(err, KC_EINVAL, "projected.sources: must be a list");
	json_array_foreach(sources, i, src)
	{
		kind = volume_source_kind(src);
		if (kind == NULL)
			return kc_fail(err, KC_EINVAL,
			               "projected.sources[%zu]: must hold exactly one source", i);
		if (strcmp(kind, "downwardAPI") == 0)
			continue;
		if (strcmp(kind, "secret") == 0 || strcmp(kind, "configMap") == 0 ||
		    strcmp(kind, "serviceAccountToken") == 0) {
			api = true;
			continue;
		}
		if ((why = api_projected_why(kind)) != NULL)
			return kc_fail(
			    err, KC_ENOTCHECKPOINTABLE,
			    "projected.sources[%zu].%s: %s, cannot be made self-contained", i, kind,
			    why);
		return kc_fail(err, KC_ENOTCHECKPOINTABLE,
		               "projected.sources[%zu].%s: unknown projected source", i, kind);
	}
	*out = api ? VS_MATERIALISE : VS_KEEP;
	return KC_OK;
}

kc_code volume_source_classify(const json_t *volume, enum vs_class *out, struct kc_error *err)
{
	const char *kind = volume_source_kind(volume);
	const json_t *src;
	size_t i;

	if (!json_is_object(volume))
		return kc_fail(err, KC_EINVAL, "must be a mapping");
	if (kind == NULL)
		return kc_fail(err, KC_EINVAL, "must hold exactly one volume source");
	src = json_object_get(volume, kind);
	if (!json_is_object(src))
		return kc_fail(err, KC_EINVAL, "%s: must be a mapping", kind);
	if (KC_STR_IN(kind, keep_kinds)) {
		*out = VS_KEEP;
		return KC_OK;
	}
	for (i = 0; i < sizeof(secret_ref_kinds) / sizeof(secret_ref_kinds[0]); i++) {
		if (strcmp(kind, secret_ref_kinds[i].kind) != 0)
			continue;
		if (has_ref(src, secret_ref_kinds[i].secret_field))
			return kc_fail(err, KC_ENOTCHECKPOINTABLE,
			               "%s.%s: references a Secret, cannot be made self-contained",
			               kind, secret_ref_kinds[i].secret_field);
		*out = VS_KEEP;
		return KC_OK;
	}
	for (i = 0; i < sizeof(api_kinds) / sizeof(api_kinds[0]); i++)
		if (strcmp(kind, api_kinds[i].kind) == 0)
			return kc_fail(err, KC_ENOTCHECKPOINTABLE,
			               "%s: %s, cannot be made self-contained", kind,
			               api_kinds[i].why);
	if (strcmp(kind, "secret") == 0 || strcmp(kind, "configMap") == 0) {
		*out = VS_MATERIALISE;
		return KC_OK;
	}
	if (strcmp(kind, "projected") == 0)
		return classify_projected(src, out, err);
	return kc_fail(err, KC_ENOTCHECKPOINTABLE, "%s: unknown volume type", kind);
}
