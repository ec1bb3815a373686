/*
 * bridge_warnings.c: the classifier of bridge_warnings.h: one plain sentence
 * per way a bridge of this parent may not start or behave like it.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "bridge_warnings.h"

static const char *spec_str(const json_t *spec, const char *key)
{
	const char *s = json_string_value(json_object_get(spec, key));

	return s != NULL && s[0] != '\0' ? s : NULL;
}

/* Append one formatted warning; -1 when out of memory. */
__attribute__((format(printf, 2, 3))) static int add(json_t *arr, const char *fmt, ...)
{
	char text[BRIDGE_WARNING_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return json_array_append_new(arr, json_string(text));
}

static int runtime_class(const json_t *spec, json_t *arr)
{
	const char *rc = spec_str(spec, "runtimeClassName");

	if (rc == NULL)
		return 0;
	return add(
	    arr,
	    "runtimeClassName \"%.100s\": the kubelet looks the RuntimeClass up in its API "
	    "cache; a kubelet that ran before the outage starts the bridge, a kubelet "
	    "restarted while the API is down cannot create its sandbox until the API answers",
	    rc);
}

static int pull_secrets(const json_t *spec, json_t *arr)
{
	const json_t *ps = json_object_get(spec, "imagePullSecrets");

	if (json_array_size(ps) == 0)
		return 0;
	return add(arr, "imagePullSecrets: the bridge has no registry credentials; it uses the "
	                "image already on the node (IfNotPresent), but a kubelet with "
	                "KubeletEnsureSecretPulledImages (on by default from 1.35) verifies an "
	                "image pulled with a Secret again and the bridge may fail with "
	                "ErrImagePull unless the node has its own credentials for the registry or "
	                "imagePullCredentialsVerificationPolicy allows the image");
}

static int cluster_dns(const json_t *spec, json_t *arr)
{
	const char *policy = spec_str(spec, "dnsPolicy");
	bool host_net = json_is_true(json_object_get(spec, "hostNetwork"));

	/* The apiserver defaults an absent dnsPolicy to ClusterFirst. */
	if (policy == NULL)
		policy = "ClusterFirst";
	if (strcmp(policy, "ClusterFirstWithHostNet") != 0 &&
	    (strcmp(policy, "ClusterFirst") != 0 || host_net))
		return 0;
	return add(arr,
	           "dnsPolicy %s%s: the bridge's resolv.conf names the cluster DNS Service, which "
	           "is unlikely to answer while the API is down",
	           policy, host_net ? "" : " without hostNetwork");
}

kc_code bridge_warnings(const json_t *pod, json_t **out, struct kc_error *err)
{
	const json_t *spec = json_object_get(pod, "spec");
	json_t *arr = json_array();

	*out = NULL;
	if (arr == NULL || runtime_class(spec, arr) != 0 || pull_secrets(spec, arr) != 0 ||
	    cluster_dns(spec, arr) != 0) {
		json_decref(arr);
		return kc_fail(err, KC_ENOMEM, "bridge warnings: out of memory");
	}
	*out = arr;
	return KC_OK;
}
