/*
 * pod_refs.c: the Secrets and ConfigMaps a pod needs (see pod_refs.h). Names
 * are validated here because the agent turns them into API URLs and render
 * into lookups: a hostile name stops at the first module that sees it.
 */
#include <stdlib.h>
#include <string.h>

#include "k8s_validate.h"
#include "pod_refs.h"
#include "pod_spec.h"
#include "volume_source.h"

static kc_code add_ref(struct pod_refs *out, const char *kind, const char *name, bool optional,
                       struct kc_error *err)
{
	struct pod_ref *grown;
	size_t i;

	for (i = 0; i < out->count; i++) {
		if (out->refs[i].kind == kind && strcmp(out->refs[i].name, name) == 0) {
			out->refs[i].optional = out->refs[i].optional && optional;
			return KC_OK;
		}
	}
	grown = realloc(out->refs, (out->count + 1) * sizeof(*grown));
	if (grown == NULL)
		return kc_fail(err, KC_ENOMEM, "out of memory collecting references");
	out->refs = grown;
	out->refs[out->count].kind = kind;
	out->refs[out->count].optional = optional;
	if ((out->refs[out->count].name = strdup(name)) == NULL)
		return kc_fail(err, KC_ENOMEM, "out of memory collecting references");
	out->count++;
	return KC_OK;
}

/* ref is a mapping holding name_field and optional "optional". */
static kc_code add_from(struct pod_refs *out, const char *kind, const json_t *ref,
                        const char *name_field, const char *path, struct kc_error *err)
{
	const json_t *name = json_object_get(ref, name_field);
	const json_t *optional = json_object_get(ref, "optional");

	if (!json_is_object(ref))
		return kc_fail(err, KC_EINVAL, "%s: must be a mapping", path);
	if (!json_is_string(name))
		return kc_fail(err, KC_EINVAL, "%s.%s: missing %s name", path, name_field, kind);
	if (optional != NULL && !json_is_null(optional) && !json_is_boolean(optional))
		return kc_fail(err, KC_EINVAL, "%s.optional: must be true or false", path);
	if (k8s_check_dns_subdomain(json_string_value(name), err) != KC_OK)
		return kc_error_prefix(err, "%s.%s", path, name_field);
	return add_ref(out, kind, json_string_value(name), json_is_true(optional), err);
}

static kc_code collect_projected(struct pod_refs *out, const json_t *projected, const char *path,
                                 struct kc_error *err)
{
	const json_t *src;
	char p[160];
	size_t i;
	kc_code rc;

	json_array_foreach(json_object_get(projected, "sources"), i, src)
	{
		if (json_object_get(src, "secret") != NULL) {
			snprintf(p, sizeof(p), "%s.sources[%zu].secret", path, i);
			rc =
			    add_from(out, "Secret", json_object_get(src, "secret"), "name", p, err);
		} else if (json_object_get(src, "configMap") != NULL) {
			snprintf(p, sizeof(p), "%s.sources[%zu].configMap", path, i);
			rc = add_from(out, "ConfigMap", json_object_get(src, "configMap"), "name",
			              p, err);
		} else {
			rc = KC_OK;
		}
		if (rc != KC_OK)
			return rc;
	}
	return KC_OK;
}

static kc_code collect_volumes(struct pod_refs *out, const json_t *spec, struct kc_error *err)
{
	const json_t *volumes = json_object_get(spec, "volumes"), *v;
	const char *kind;
	char path[64];
	size_t i;
	kc_code rc = KC_OK;

	if (volumes != NULL && !json_is_null(volumes) && !json_is_array(volumes))
		return kc_fail(err, KC_EINVAL, "spec.volumes: must be a list");
	json_array_foreach(volumes, i, v)
	{
		kind = volume_source_kind(v);
		if (kind == NULL)
			continue;
		if (strcmp(kind, "secret") == 0) {
			snprintf(path, sizeof(path), "spec.volumes[%zu].secret", i);
			rc = add_from(out, "Secret", json_object_get(v, kind), "secretName", path,
			              err);
		} else if (strcmp(kind, "configMap") == 0) {
			snprintf(path, sizeof(path), "spec.volumes[%zu].configMap", i);
			rc =
			    add_from(out, "ConfigMap", json_object_get(v, kind), "name", path, err);
		} else if (strcmp(kind, "projected") == 0) {
			snprintf(path, sizeof(path), "spec.volumes[%zu].projected", i);
			rc = collect_projected(out, json_object_get(v, kind), path, err);
		}
		if (rc != KC_OK)
			return rc;
	}
	return KC_OK;
}

static kc_code collect_container(json_t *c, const char *cpath, void *ctx, struct kc_error *err)
{
	struct pod_refs *out = ctx;
	const json_t *e, *from;
	char path[160];
	size_t i;
	kc_code rc = KC_OK;

	json_array_foreach(json_object_get(c, "env"), i, e)
	{
		from = json_object_get(e, "valueFrom");
		if (json_object_get(from, "secretKeyRef") != NULL) {
			snprintf(path, sizeof(path), "%s.env[%zu].valueFrom.secretKeyRef", cpath,
			         i);
			rc = add_from(out, "Secret", json_object_get(from, "secretKeyRef"), "name",
			              path, err);
		} else if (json_object_get(from, "configMapKeyRef") != NULL) {
			snprintf(path, sizeof(path), "%s.env[%zu].valueFrom.configMapKeyRef", cpath,
			         i);
			rc = add_from(out, "ConfigMap", json_object_get(from, "configMapKeyRef"),
			              "name", path, err);
		}
		if (rc != KC_OK)
			return rc;
	}
	json_array_foreach(json_object_get(c, "envFrom"), i, e)
	{
		if (json_object_get(e, "secretRef") != NULL) {
			snprintf(path, sizeof(path), "%s.envFrom[%zu].secretRef", cpath, i);
			rc = add_from(out, "Secret", json_object_get(e, "secretRef"), "name", path,
			              err);
		} else if (json_object_get(e, "configMapRef") != NULL) {
			snprintf(path, sizeof(path), "%s.envFrom[%zu].configMapRef", cpath, i);
			rc = add_from(out, "ConfigMap", json_object_get(e, "configMapRef"), "name",
			              path, err);
		}
		if (rc != KC_OK)
			return rc;
	}
	return KC_OK;
}

static int ref_cmp(const void *a, const void *b)
{
	const struct pod_ref *x = a, *y = b;
	int c = strcmp(x->kind, y->kind);

	return c != 0 ? c : strcmp(x->name, y->name);
}

kc_code pod_refs_collect(const json_t *pod, struct pod_refs *out, struct kc_error *err)
{
	const json_t *spec = json_object_get(pod, "spec");
	const char *ns = pod_meta_string(pod, "namespace");
	kc_code rc;

	memset(out, 0, sizeof(*out));
	if (ns == NULL)
		return kc_fail(err, KC_EINVAL, "metadata.namespace: missing");
	if (k8s_check_dns_label(ns, err) != KC_OK)
		return kc_error_prefix(err, "metadata.namespace");
	if (!json_is_object(spec))
		return kc_fail(err, KC_EINVAL, "spec: missing or not a mapping");
	if ((out->namespace = strdup(ns)) == NULL)
		return kc_fail(err, KC_ENOMEM, "out of memory collecting references");
	if ((rc = collect_volumes(out, spec, err)) != KC_OK ||
	    (rc = pod_spec_each_container(spec, collect_container, out, err)) != KC_OK) {
		pod_refs_free(out);
		return rc;
	}
	if (out->count > 1)
		qsort(out->refs, out->count, sizeof(*out->refs), ref_cmp);
	return KC_OK;
}

void pod_refs_free(struct pod_refs *refs)
{
	size_t i;

	if (refs == NULL)
		return;
	for (i = 0; i < refs->count; i++)
		free(refs->refs[i].name);
	free(refs->refs);
	free(refs->namespace);
	memset(refs, 0, sizeof(*refs));
}
