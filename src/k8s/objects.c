/*
 * objects.c: the Secrets and ConfigMaps beside a pod, indexed by
 * kind/namespace/name (see objects.h). '/' cannot occur in a validated
 * namespace or name, so the joined key is unambiguous.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s_validate.h"
#include "objects.h"

struct kc_objects {
	json_t *index; /* "<kind>/<namespace>/<name>" -> object */
};

struct kc_objects *kc_objects_new(void)
{
	struct kc_objects *objs = calloc(1, sizeof(*objs));

	if (objs == NULL)
		return NULL;
	if ((objs->index = json_object()) == NULL) {
		free(objs);
		return NULL;
	}
	return objs;
}

void kc_objects_free(struct kc_objects *objs)
{
	if (objs == NULL)
		return;
	json_decref(objs->index);
	free(objs);
}

static bool make_key(char *out, size_t outsz, const char *kind, const char *ns, const char *name)
{
	int n = snprintf(out, outsz, "%s/%s/%s", kind, ns, name);

	return n > 0 && (size_t)n < outsz;
}

kc_code kc_objects_add(struct kc_objects *objs, json_t *obj, struct kc_error *err)
{
	char key[16 + K8S_DNS_LABEL_MAX + K8S_DNS_SUBDOMAIN_MAX];
	const char *kind, *ns, *name;
	json_t *meta;
	kc_code rc = KC_EINVAL;

	kind = json_string_value(json_object_get(obj, "kind"));
	meta = json_object_get(obj, "metadata");
	ns = json_string_value(json_object_get(meta, "namespace"));
	name = json_string_value(json_object_get(meta, "name"));
	if (kind == NULL || (strcmp(kind, "Secret") != 0 && strcmp(kind, "ConfigMap") != 0)) {
		kc_fail(err, KC_EINVAL, "kind: must be Secret or ConfigMap");
		goto out;
	}
	if (name == NULL) {
		kc_fail(err, KC_EINVAL, "%s: metadata.name: missing", kind);
		goto out;
	}
	if (k8s_check_dns_subdomain(name, err) != KC_OK) {
		kc_error_prefix(err, "%s: metadata.name", kind);
		goto out;
	}
	if (ns == NULL) {
		kc_fail(err, KC_EINVAL, "%s %s: metadata.namespace: missing", kind, name);
		goto out;
	}
	if (k8s_check_dns_label(ns, err) != KC_OK) {
		kc_error_prefix(err, "%s %s: metadata.namespace", kind, name);
		goto out;
	}
	if (!make_key(key, sizeof(key), kind, ns, name)) {
		rc = kc_fail(err, KC_EINTERNAL, "object key too long");
		goto out;
	}
	if (json_object_set(objs->index, key, obj) != 0) {
		rc = kc_fail(err, KC_ENOMEM, "out of memory indexing %s %s/%s", kind, ns, name);
		goto out;
	}
	rc = KC_OK;
out:
	json_decref(obj);
	return rc;
}

json_t *kc_objects_find(const struct kc_objects *objs, const char *kind, const char *ns,
                        const char *name)
{
	char key[16 + K8S_DNS_LABEL_MAX + K8S_DNS_SUBDOMAIN_MAX];

	if (objs == NULL || kind == NULL || ns == NULL || name == NULL)
		return NULL;
	if (!make_key(key, sizeof(key), kind, ns, name))
		return NULL;
	return json_object_get(objs->index, key);
}
