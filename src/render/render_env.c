/*
 * render_env.c: container environment without API references. The kubelet
 * builds the environment as: envFrom sources in order (prefix applied,
 * invalid names skipped, later sources overriding), then env entries in
 * order, each overriding and able to reference earlier ones as $(VAR). The
 * rendered env list reproduces that: the merged envFrom variables first
 * (sorted, for determinism), then the original env with secret/configMap key
 * references inlined. Inlined values are escaped ('$' -> '$$') because the
 * kubelet expands $(VAR) in literal values but never in referenced ones.
 *
 * Secret values are only inlined when the pod's owner said so (annotation
 * kubelet-checkpoint/inline-secret-env: "true"): the kubelet publishes every
 * static pod as a mirror pod as soon as the API answers
 * (pkg/kubelet/pod/mirror_client.go, CreateMirrorPod copies the static pod's
 * spec), so an inlined value would be readable by everyone who may get pods,
 * land in etcd outside Secret encryption at rest and in audit logs. Without
 * the annotation such a pod is not checkpointable.
 */
#include <stdlib.h>
#include <string.h>

#include "k8s_validate.h"
#include "kc_names.h"
#include "kc_utf8.h"
#include "render.h"
#include "render_int.h"

struct env_ctx {
	const char *path; /* container field path */
	const char *ns;
	const struct kc_objects *objs;
	bool inline_secrets; /* the parent carries KC_ANNOTATION_INLINE_SECRET_ENV: "true" */
};

/* A Secret referenced from the environment of a pod whose owner did not allow it. */
static kc_code secret_env_refused(const char *field, struct kc_error *err)
{
	return kc_fail(err, KC_ENOTCHECKPOINTABLE,
	               "%s: a Secret value in the environment would be written into the "
	               "manifest and published by the kubelet in the mirror pod (readable by "
	               "everyone who may get pods, stored outside Secret encryption); mount "
	               "the Secret as a volume, or allow it with the "
	               "annotation " KC_ANNOTATION_INLINE_SECRET_ENV ": \"true\" on the pod",
	               field);
}

/* value with every '$' doubled, as a new JSON string. */
static json_t *escaped_string(const unsigned char *s, size_t len)
{
	size_t i, n = 0;
	char *buf;
	json_t *j;

	for (i = 0; i < len; i++)
		n += s[i] == '$' ? 2 : 1;
	if ((buf = malloc(n + 1)) == NULL)
		return NULL;
	for (i = 0, n = 0; i < len; i++) {
		buf[n++] = (char)s[i];
		if (s[i] == '$')
			buf[n++] = '$';
	}
	j = json_stringn(buf, n);
	free(buf);
	return j;
}

/* The text of key in obj as an escaped JSON string; NULL *out when absent. */
static kc_code inline_value(const json_t *obj, const char *key, json_t **out, struct kc_error *err)
{
	unsigned char *data;
	size_t len;
	bool found;
	char desc[400];
	kc_code rc;

	*out = NULL;
	if ((rc = rd_object_value(obj, key, false, &data, &len, &found, err)) != KC_OK || !found)
		return rc;
	if (!kc_utf8_is_text(data, len))
		rc = kc_fail(err, KC_EINVAL, "%s: key '%s' is not UTF-8 text, cannot be inlined",
		             rd_object_desc(obj, desc, sizeof(desc)), key);
	else if ((*out = escaped_string(data, len)) == NULL)
		rc = kc_fail(err, KC_ENOMEM, "out of memory");
	free(data);
	return rc;
}

/* ref: {name, optional} (+ key); *obj NULL when optional and absent. */
static kc_code find_object(const struct env_ctx *c, const char *kind, const json_t *ref,
                           const json_t **obj, bool *optional, struct kc_error *err)
{
	const char *name = json_string_value(json_object_get(ref, "name"));

	*optional = json_is_true(json_object_get(ref, "optional"));
	if (name == NULL)
		return kc_fail(err, KC_EINVAL, "name: missing");
	if (k8s_check_dns_subdomain(name, err) != KC_OK)
		return kc_error_prefix(err, "name");
	*obj = kc_objects_find(c->objs, kind, c->ns, name);
	if (*obj == NULL && !*optional)
		return kc_fail(err, KC_ENOTFOUND, "%s %s/%s: not found in the input", kind, c->ns,
		               name);
	return KC_OK;
}

static kc_code merge_env_from(const struct env_ctx *c, const json_t *source, json_t *merged,
                              struct kc_error *err)
{
	const char *kind, *field, *prefix = json_string_value(json_object_get(source, "prefix"));
	const json_t *obj, *key;
	json_t *keys = NULL, *value;
	char name[1024];
	bool optional;
	size_t i;
	kc_code rc;

	if (json_object_get(source, "secretRef") != NULL) {
		if (!c->inline_secrets)
			return secret_env_refused("secretRef", err);
		kind = "Secret", field = "secretRef";
	} else if (json_object_get(source, "configMapRef") != NULL)
		kind = "ConfigMap", field = "configMapRef";
	else
		return kc_fail(err, KC_EINVAL, "needs secretRef or configMapRef");
	if ((rc = find_object(c, kind, json_object_get(source, field), &obj, &optional, err)) !=
	    KC_OK)
		return kc_error_prefix(err, "%s", field);
	if (obj == NULL)
		return KC_OK;
	if ((rc = rd_object_keys(obj, false, &keys, err)) != KC_OK)
		return rc;
	json_array_foreach(keys, i, key)
	{
		if (snprintf(name, sizeof(name), "%s%s", prefix ? prefix : "",
		             json_string_value(key)) >= (int)sizeof(name))
			continue;
		if (!k8s_is_env_var_name(name))
			continue; /* the kubelet skips these too (and records an event) */
		if ((rc = inline_value(obj, json_string_value(key), &value, err)) != KC_OK)
			break;
		if (json_object_set_new(merged, name, value) != 0) {
			rc = kc_fail(err, KC_ENOMEM, "out of memory");
			break;
		}
	}
	json_decref(keys);
	return rc;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static kc_code append_var(json_t *env, const char *name, json_t *value, struct kc_error *err)
{
	json_t *var = json_pack("{s:s, s:O}", "name", name, "value", value);

	if (var == NULL || json_array_append_new(env, var) != 0)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	return KC_OK;
}

/* Append the envFrom variables, sorted by name. */
static kc_code expand_env_from(const struct env_ctx *c, const json_t *env_from, json_t *env,
                               struct kc_error *err)
{
	json_t *merged = json_object(), *v;
	const char **names = NULL, *name;
	size_t i, n = 0;
	kc_code rc = KC_OK;

	if (merged == NULL)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	json_array_foreach(env_from, i, v)
	{
		if ((rc = merge_env_from(c, v, merged, err)) != KC_OK) {
			kc_error_prefix(err, "%s.envFrom[%zu]", c->path, i);
			goto out;
		}
	}
	if ((names = malloc((json_object_size(merged) + 1) * sizeof(*names))) == NULL) {
		rc = kc_fail(err, KC_ENOMEM, "out of memory");
		goto out;
	}
	json_object_foreach(merged, name, v) names[n++] = name;
	qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n && rc == KC_OK; i++)
		rc = append_var(env, names[i], json_object_get(merged, names[i]), err);
out:
	free(names);
	json_decref(merged);
	return rc;
}

/* One env entry: copied, inlined, or dropped (optional reference missing). */
static kc_code render_var(const struct env_ctx *c, const json_t *var, json_t *env,
                          struct kc_error *err)
{
	const json_t *from = json_object_get(var, "valueFrom"), *ref, *obj;
	const char *name = json_string_value(json_object_get(var, "name")), *kind, *field, *key;
	json_t *value;
	bool optional;
	kc_code rc;

	if (name == NULL)
		return kc_fail(err, KC_EINVAL, "name: missing");
	if ((ref = json_object_get(from, "secretKeyRef")) != NULL) {
		if (!c->inline_secrets)
			return secret_env_refused("valueFrom.secretKeyRef", err);
		kind = "Secret", field = "secretKeyRef";
	} else if ((ref = json_object_get(from, "configMapKeyRef")) != NULL)
		kind = "ConfigMap", field = "configMapKeyRef";
	else
		return json_array_append(env, (json_t *)var) == 0
		           ? KC_OK
		           : kc_fail(err, KC_ENOMEM, "out of memory");
	if ((rc = find_object(c, kind, ref, &obj, &optional, err)) != KC_OK)
		return kc_error_prefix(err, "valueFrom.%s", field);
	if (obj == NULL)
		return KC_OK;
	if ((key = json_string_value(json_object_get(ref, "key"))) == NULL)
		return kc_fail(err, KC_EINVAL, "valueFrom.%s.key: missing", field);
	if ((rc = inline_value(obj, key, &value, err)) != KC_OK)
		return kc_error_prefix(err, "valueFrom.%s", field);
	if (value == NULL) {
		if (optional)
			return KC_OK;
		return kc_fail(err, KC_ENOTFOUND, "valueFrom.%s: %s %s/%s has no key '%s'", field,
		               kind, c->ns, json_string_value(json_object_get(ref, "name")), key);
	}
	rc = append_var(env, name, value, err);
	json_decref(value);
	return rc;
}

kc_code render_env(json_t *container, const char *path, const char *ns,
                   const struct kc_objects *objs, bool inline_secrets, struct kc_error *err)
{
	struct env_ctx c = {.path = path, .ns = ns, .objs = objs, .inline_secrets = inline_secrets};
	json_t *env_in = json_object_get(container, "env");
	json_t *env_from = json_object_get(container, "envFrom"), *env, *var;
	size_t i;
	kc_code rc = KC_OK;

	if (env_in != NULL && !json_is_null(env_in) && !json_is_array(env_in))
		return kc_fail(err, KC_EINVAL, "%s.env: must be a list", path);
	if (env_from != NULL && !json_is_null(env_from) && !json_is_array(env_from))
		return kc_fail(err, KC_EINVAL, "%s.envFrom: must be a list", path);
	if ((env = json_array()) == NULL)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	if ((rc = expand_env_from(&c, env_from, env, err)) != KC_OK)
		goto out;
	json_array_foreach(env_in, i, var)
	{
		if ((rc = render_var(&c, var, env, err)) != KC_OK) {
			kc_error_prefix(err, "%s.env[%zu]", path, i);
			goto out;
		}
	}
	json_object_del(container, "envFrom");
	if (json_array_size(env) == 0)
		json_object_del(container, "env");
	else if (json_object_set(container, "env", env) != 0)
		rc = kc_fail(err, KC_ENOMEM, "out of memory");
out:
	json_decref(env);
	return rc;
}
