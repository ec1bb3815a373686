/*
 * bridge_name.c: the file name of a bridge manifest in the staticPodPath,
 * "kubelet-checkpoint_<namespace>_<name>.yaml" (docs/design.md §4: '_'
 * cannot occur in Kubernetes names, so two workloads never share a file).
 * Here, below the decision, because the decision names the files it keeps.
 */
#include <stdio.h>
#include <string.h>

#include "bridge_name.h"
#include "k8s_validate.h"
#include "kc_names.h"

kc_code bridge_manifest_name(const char *ns, const char *name, char *out, size_t outsz,
                             struct kc_error *err)
{
	int n;

	if (k8s_check_dns_label(ns, err) != KC_OK)
		return kc_error_prefix(err, "namespace");
	if (k8s_check_dns_subdomain(name, err) != KC_OK)
		return kc_error_prefix(err, "name");
	n = snprintf(out, outsz, KC_MANIFEST_PREFIX "%s_%s" KC_MANIFEST_SUFFIX, ns, name);
	if (n > KC_MANIFEST_NAME_MAX)
		return kc_fail(err, KC_ENOTCHECKPOINTABLE,
		               "metadata.name: the manifest file name " KC_MANIFEST_PREFIX
		               "%s_<name>" KC_MANIFEST_SUFFIX " would be %d bytes, over the %d a "
		               "file system allows (with its temp name): namespace and name "
		               "together must stay within %d characters",
		               ns, n, KC_MANIFEST_NAME_MAX,
		               KC_MANIFEST_NAME_MAX -
		                   (int)strlen(KC_MANIFEST_PREFIX "_" KC_MANIFEST_SUFFIX));
	if (n < 0 || (size_t)n >= outsz)
		return kc_fail(err, KC_ETOOBIG, "manifest name for %s/%s too long", ns, name);
	return KC_OK;
}
