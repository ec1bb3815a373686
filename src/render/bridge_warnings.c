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

/* The first image of pod a ServiceAccount-token provider covers, and that rule. */
static const char *token_pulled_image(const json_t *spec, const struct bridge_node *node,
                                      const struct image_credential_rule **rule)
{
	static const char *const lists[] = {"initContainers", "containers"};
	char repo[IMAGE_REF_MAX + 64];
	const json_t *c;
	const char *image;
	size_t l, i, r;

	for (l = 0; node != NULL && l < sizeof(lists) / sizeof(lists[0]); l++)
		json_array_foreach(json_object_get(spec, lists[l]), i, c)
		{
			image = json_string_value(json_object_get(c, "image"));
			/* An image the kubelet could not parse is not pulled at all. */
			if (image == NULL ||
			    image_ref_repository(image, repo, sizeof(repo), NULL) != KC_OK)
				continue;
			for (r = 0; r < node->n_sa_token_rules; r++)
				if (image_ref_glob_matches(node->sa_token_rules[r].match_image,
				                           repo)) {
					*rule = &node->sa_token_rules[r];
					return image;
				}
		}
	return NULL;
}

static int private_images(const json_t *spec, const struct bridge_node *node, json_t *arr)
{
	bool secrets = json_array_size(json_object_get(spec, "imagePullSecrets")) > 0;
	const struct image_credential_rule *rule = NULL;
	const char *image = token_pulled_image(spec, node, &rule);
	char what[256];

	if (!secrets && image == NULL)
		return 0;
	if (image != NULL)
		snprintf(what, sizeof(what),
		         "%simage \"%.80s\" comes through credential provider \"%.40s\", which "
		         "sends the pod's ServiceAccount token",
		         secrets ? "imagePullSecrets, and " : "", image, rule->provider);
	else
		snprintf(what, sizeof(what), "imagePullSecrets");
	return add(arr,
	           "%s: the bridge has no registry credentials (no Secret, no ServiceAccount); it "
	           "uses the image already on the node (IfNotPresent), but a kubelet with "
	           "KubeletEnsureSecretPulledImages (on by default from 1.35) pulls again an image "
	           "it pulled with a Secret or a ServiceAccount for a pod that presents neither: "
	           "offline the bridge fails with ErrImagePull unless the node has its own "
	           "credentials for the registry or imagePullCredentialsVerificationPolicy allows "
	           "the image",
	           what);
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

/*
 * An extended resource name as the kubelet tells it (pkg/apis/core/v1/
 * helper/helpers.go, IsExtendedResourceName): not native (native names have
 * no '/' or a "kubernetes.io/" domain, hugepages-* included) and not a
 * quota name ("requests.").
 */
static bool is_extended_resource(const char *name)
{
	return strchr(name, '/') != NULL && strstr(name, "kubernetes.io/") == NULL &&
	       strncmp(name, "requests.", strlen("requests.")) != 0;
}

/* Does the parent's status map (container, resource) to a DRA claim (KEP-5004)? */
static bool dra_backed(const json_t *pod, const char *container, const char *resource)
{
	const json_t *maps = json_object_get(
	    json_object_get(json_object_get(pod, "status"), "extendedResourceClaimStatus"),
	    "requestMappings");
	const json_t *m;
	size_t i;

	json_array_foreach(maps, i, m)
	{
		const char *c = json_string_value(json_object_get(m, "containerName"));
		const char *r = json_string_value(json_object_get(m, "resourceName"));

		if (c != NULL && r != NULL && strcmp(c, container) == 0 && strcmp(r, resource) == 0)
			return true;
	}
	return false;
}

struct extended_seen {
	const char *dra, *plugin; /* the first name of each kind, NULL: none */
};

static void scan_section(const json_t *pod, const char *cname, json_t *list,
                         struct extended_seen *seen)
{
	const char *key, **slot;
	json_t *v;

	json_object_foreach(list, key, v)
	{
		if (!is_extended_resource(key))
			continue;
		slot = dra_backed(pod, cname, key) ? &seen->dra : &seen->plugin;
		if (*slot == NULL)
			*slot = key;
	}
}

static void scan_extended(const json_t *pod, const json_t *containers, struct extended_seen *seen)
{
	const json_t *c, *res;
	const char *cname;
	size_t i;

	json_array_foreach(containers, i, c)
	{
		if ((cname = json_string_value(json_object_get(c, "name"))) == NULL)
			continue;
		res = json_object_get(c, "resources");
		scan_section(pod, cname, json_object_get(res, "requests"), seen);
		scan_section(pod, cname, json_object_get(res, "limits"), seen);
	}
}

static int extended_resources(const json_t *pod, const json_t *spec, json_t *arr)
{
	struct extended_seen seen = {NULL, NULL};

	scan_extended(pod, json_object_get(spec, "initContainers"), &seen);
	scan_extended(pod, json_object_get(spec, "containers"), &seen);
	if (seen.plugin != NULL &&
	    add(arr,
	        "extended resource \"%.100s\": the kubelet allocates it from a device plugin "
	        "at admission; a kubelet restarted in the outage knows no healthy device until "
	        "the plugin registers again and rejects the bridge (UnexpectedAdmissionError); "
	        "served by DRA instead, it has no device plugin and the bridge runs without "
	        "the device",
	        seen.plugin) != 0)
		return -1;
	if (seen.dra != NULL &&
	    add(arr,
	        "extended resource \"%.100s\" comes from a DRA ResourceClaim "
	        "(status.extendedResourceClaimStatus): the bridge has no claim, the kubelet "
	        "drops the request at admission and the bridge runs without the device (or is "
	        "rejected if a device plugin serves that name)",
	        seen.dra) != 0)
		return -1;
	return 0;
}

kc_code bridge_warnings_on(const json_t *pod, const struct bridge_node *node, json_t **out,
                           struct kc_error *err)
{
	const json_t *spec = json_object_get(pod, "spec");
	json_t *arr = json_array();

	*out = NULL;
	if (arr == NULL || runtime_class(spec, arr) != 0 || private_images(spec, node, arr) != 0 ||
	    cluster_dns(spec, arr) != 0 || extended_resources(pod, spec, arr) != 0) {
		json_decref(arr);
		return kc_fail(err, KC_ENOMEM, "bridge warnings: out of memory");
	}
	*out = arr;
	return KC_OK;
}

kc_code bridge_warnings(const json_t *pod, json_t **out, struct kc_error *err)
{
	return bridge_warnings_on(pod, NULL, out, err);
}
