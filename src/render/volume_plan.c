/*
 * volume_plan.c: the files of every materialised volume, decided once from
 * the checkpoint (see volume_plan.h). It follows the kubelet's secret,
 * configMap and projected volume plugins: items select and rename keys, a
 * missing key or object is an error unless optional, modes are item mode >
 * defaultMode > 0644, later projected sources override earlier ones, and
 * with an fsGroup the kubelet's SetVolumeOwnership adds group read (0440).
 * A serviceAccountToken source yields no file: a static pod gets no token.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s_validate.h"
#include "kc_names.h"
#include "pod_spec.h"
#include "render_int.h"
#include "volume_plan.h"
#include "volume_source.h"

#define DEFAULT_FILE_MODE 0644

struct build {
	const json_t *pod;
	const struct kc_objects *objs;
	const char *ns;
	struct vp_volume *vol;
	struct kc_error *err;
};

static void free_file(struct vp_file *f)
{
	free(f->path);
	free(f->data);
}

static void free_volume(struct vp_volume *v)
{
	size_t i;

	for (i = 0; i < v->nfiles; i++)
		free_file(&v->files[i]);
	free(v->files);
	free(v->name);
}

void volume_plan_free(struct vp_plan *plan)
{
	size_t i;

	if (plan == NULL)
		return;
	for (i = 0; i < plan->nvolumes; i++)
		free_volume(&plan->volumes[i]);
	free(plan->volumes);
	free(plan->uid);
	free(plan->selinux_level);
	memset(plan, 0, sizeof(*plan));
}

/* Add or replace path in the volume; takes data. */
static kc_code put_file(struct vp_volume *vol, const char *path, unsigned char *data, size_t len,
                        mode_t mode, struct kc_error *err)
{
	struct vp_file *grown;
	size_t i;

	for (i = 0; i < vol->nfiles; i++) {
		if (strcmp(vol->files[i].path, path) == 0) {
			free(vol->files[i].data);
			vol->files[i].data = data;
			vol->files[i].len = len;
			vol->files[i].mode = mode;
			return KC_OK;
		}
	}
	if ((grown = realloc(vol->files, (vol->nfiles + 1) * sizeof(*grown))) == NULL)
		goto nomem;
	vol->files = grown;
	if ((grown[vol->nfiles].path = strdup(path)) == NULL)
		goto nomem;
	grown[vol->nfiles].data = data;
	grown[vol->nfiles].len = len;
	grown[vol->nfiles].mode = mode;
	vol->nfiles++;
	return KC_OK;
nomem:
	free(data);
	return kc_fail(err, KC_ENOMEM, "out of memory planning volume %s", vol->name);
}

/* A mode field: absent keeps *mode; else an integer in 0..0777. */
static kc_code read_mode(const json_t *holder, const char *field, mode_t *mode,
                         struct kc_error *err)
{
	const json_t *m = json_object_get(holder, field);
	json_int_t v;

	if (m == NULL || json_is_null(m))
		return KC_OK;
	if (!json_is_integer(m))
		return kc_fail(err, KC_EINVAL, "%s: must be an integer", field);
	v = json_integer_value(m);
	if (v < 0 || v > 0777)
		return kc_fail(err, KC_EINVAL, "%s: %lld is not a file mode (0 to 0777)", field,
		               (long long)v);
	*mode = (mode_t)v;
	return KC_OK;
}

static kc_code read_optional(const json_t *holder, bool *optional, struct kc_error *err)
{
	const json_t *o = json_object_get(holder, "optional");

	*optional = false;
	if (o == NULL || json_is_null(o))
		return KC_OK;
	if (!json_is_boolean(o))
		return kc_fail(err, KC_EINVAL, "optional: must be true or false");
	*optional = json_is_true(o);
	return KC_OK;
}

/*
 * One secret/configMap source: src holds the name field, items, optional;
 * mode is the default for its files. Errors are relative to src.
 */
static kc_code plan_object(struct build *b, const char *kind, const json_t *src,
                           const char *name_field, mode_t default_mode, struct kc_error *err)
{
	const char *name = json_string_value(json_object_get(src, name_field)), *key, *path;
	const json_t *obj, *items = json_object_get(src, "items"), *item;
	json_t *keys = NULL;
	unsigned char *data;
	size_t len, i;
	bool optional, found;
	mode_t mode;
	kc_code rc;

	if (name == NULL)
		return kc_fail(err, KC_EINVAL, "%s: missing", name_field);
	if ((rc = k8s_check_dns_subdomain(name, err)) != KC_OK)
		return kc_error_prefix(err, "%s", name_field);
	if ((rc = read_optional(src, &optional, err)) != KC_OK)
		return rc;
	obj = kc_objects_find(b->objs, kind, b->ns, name);
	if (obj == NULL) {
		if (optional)
			return KC_OK;
		return kc_fail(err, KC_ENOTFOUND, "%s %s/%s: not found in the input", kind, b->ns,
		               name);
	}
	if (items != NULL && !json_is_null(items) && !json_is_array(items))
		return kc_fail(err, KC_EINVAL, "items: must be a list");
	if (items == NULL || json_is_null(items) || json_array_size(items) == 0) {
		if ((rc = rd_object_keys(obj, true, &keys, err)) != KC_OK)
			return rc;
		items = keys;
	}
	json_array_foreach(items, i, item)
	{
		mode = default_mode;
		if (keys != NULL) {
			key = path = json_string_value(item);
		} else {
			key = json_string_value(json_object_get(item, "key"));
			path = json_string_value(json_object_get(item, "path"));
			if (key == NULL || path == NULL) {
				rc = kc_fail(err, KC_EINVAL,
				             "items[%zu]: key and path are required", i);
				break;
			}
			if ((rc = k8s_check_config_key(key, err)) != KC_OK ||
			    (rc = k8s_check_relative_path(path, err)) != KC_OK ||
			    (rc = read_mode(item, "mode", &mode, err)) != KC_OK) {
				kc_error_prefix(err, "items[%zu]", i);
				break;
			}
		}
		if ((rc = rd_object_value(obj, key, true, &data, &len, &found, err)) != KC_OK)
			break;
		if (!found) {
			if (optional)
				continue;
			rc = kc_fail(err, KC_ENOTFOUND, "items[%zu]: %s %s/%s has no key '%s'", i,
			             kind, b->ns, name, key);
			break;
		}
		if ((rc = put_file(b->vol, path, data, len, mode, err)) != KC_OK)
			break;
	}
	json_decref(keys);
	return rc;
}

static kc_code plan_downward(struct build *b, const json_t *src, mode_t default_mode,
                             struct kc_error *err)
{
	const json_t *items = json_object_get(src, "items"), *item, *ref;
	const char *path;
	struct kc_buf content;
	mode_t mode;
	size_t i;
	kc_code rc = KC_OK;

	if (items != NULL && !json_is_null(items) && !json_is_array(items))
		return kc_fail(err, KC_EINVAL, "items: must be a list");
	json_array_foreach(items, i, item)
	{
		mode = default_mode;
		path = json_string_value(json_object_get(item, "path"));
		if (path == NULL)
			return kc_fail(err, KC_EINVAL, "items[%zu].path: missing", i);
		if ((rc = k8s_check_relative_path(path, err)) != KC_OK ||
		    (rc = read_mode(item, "mode", &mode, err)) != KC_OK)
			return kc_error_prefix(err, "items[%zu]", i);
		kc_buf_init(&content, 0);
		if ((ref = json_object_get(item, "fieldRef")) != NULL && !json_is_null(ref))
			rc = rd_downward_field(b->pod, ref, &content, err);
		else if ((ref = json_object_get(item, "resourceFieldRef")) != NULL &&
		         !json_is_null(ref))
			rc = rd_downward_resource(b->pod, ref, &content, err);
		else
			rc = kc_fail(err, KC_EINVAL, "needs fieldRef or resourceFieldRef");
		if (rc == KC_OK && content.data == NULL)
			rc = kc_buf_append(&content, "", 0, err);
		if (rc != KC_OK) {
			kc_buf_free(&content);
			return kc_error_prefix(err, "items[%zu]", i);
		}
		rc = put_file(b->vol, path, (unsigned char *)content.data, content.len, mode, err);
		if (rc != KC_OK)
			return rc;
	}
	return KC_OK;
}

static kc_code plan_projected(struct build *b, const json_t *projected, struct kc_error *err)
{
	const json_t *src;
	mode_t mode = DEFAULT_FILE_MODE;
	size_t i;
	kc_code rc;

	if ((rc = read_mode(projected, "defaultMode", &mode, err)) != KC_OK)
		return rc;
	json_array_foreach(json_object_get(projected, "sources"), i, src)
	{
		const char *kind = volume_source_kind(src);

		if (strcmp(kind, "secret") == 0)
			rc =
			    plan_object(b, "Secret", json_object_get(src, kind), "name", mode, err);
		else if (strcmp(kind, "configMap") == 0)
			rc = plan_object(b, "ConfigMap", json_object_get(src, kind), "name", mode,
			                 err);
		else if (strcmp(kind, "downwardAPI") == 0)
			rc = plan_downward(b, json_object_get(src, kind), mode, err);
		else
			rc = KC_OK; /* serviceAccountToken: deliberately no token file */
		if (rc != KC_OK)
			return kc_error_prefix(err, "sources[%zu].%s", i, kind);
	}
	return KC_OK;
}

/* Errors are relative to the volume source ("items[0]: ..."). */
static kc_code plan_volume(struct build *b, const json_t *volume, struct kc_error *err)
{
	const char *kind = volume_source_kind(volume);
	const json_t *src = json_object_get(volume, kind);
	mode_t mode = DEFAULT_FILE_MODE;
	kc_code rc;

	if (strcmp(kind, "projected") == 0)
		return plan_projected(b, src, err);
	if ((rc = read_mode(src, "defaultMode", &mode, err)) != KC_OK)
		return rc;
	if (strcmp(kind, "secret") == 0)
		return plan_object(b, "Secret", src, "secretName", mode, err);
	return plan_object(b, "ConfigMap", src, "name", mode, err);
}

static int file_cmp(const void *a, const void *b)
{
	return strcmp(((const struct vp_file *)a)->path, ((const struct vp_file *)b)->path);
}

/*
 * Sort, and refuse "a" beside "a/b": one cannot be both a file and a
 * directory. Every directory prefix of every path is looked up, not only the
 * sorted neighbour: "a", "a-b", "a/b" sort with "a-b" between the other two.
 */
static kc_code finish_volume(struct vp_volume *vol, mode_t group_read, struct kc_error *err)
{
	struct vp_file key;
	char *prefix, *slash;
	size_t i;

	if (vol->nfiles > 1)
		qsort(vol->files, vol->nfiles, sizeof(*vol->files), file_cmp);
	for (i = 0; i < vol->nfiles; i++) {
		vol->files[i].mode |= group_read;
		if (strchr(vol->files[i].path, '/') == NULL)
			continue;
		if ((prefix = strdup(vol->files[i].path)) == NULL)
			return kc_fail(err, KC_ENOMEM, "out of memory");
		for (slash = strchr(prefix, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
			*slash = '\0';
			key.path = prefix;
			if (bsearch(&key, vol->files, vol->nfiles, sizeof(*vol->files), file_cmp) !=
			    NULL) {
				kc_fail(err, KC_EINVAL,
				        "path '%s' is both a file and a directory (of '%s')",
				        prefix, vol->files[i].path);
				free(prefix);
				return KC_EINVAL;
			}
			*slash = '/';
		}
		free(prefix);
	}
	return KC_OK;
}

static long long security_id(const json_t *sc, const char *field)
{
	const json_t *v = json_object_get(sc, field);

	return json_is_integer(v) && json_integer_value(v) >= 0 ? (long long)json_integer_value(v)
	                                                        : -1;
}

static kc_code check_volume_names(const json_t *volumes, struct kc_error *err)
{
	const json_t *v, *w;
	const char *name;
	size_t i, j;

	json_array_foreach(volumes, i, v)
	{
		name = json_string_value(json_object_get(v, "name"));
		if (name == NULL)
			return kc_fail(err, KC_EINVAL, "spec.volumes[%zu].name: missing", i);
		if (k8s_check_dns_label(name, err) != KC_OK)
			return kc_error_prefix(err, "spec.volumes[%zu].name", i);
		for (j = 0; j < i; j++) {
			w = json_array_get(volumes, j);
			if (strcmp(name, json_string_value(json_object_get(w, "name"))) == 0)
				return kc_fail(err, KC_EINVAL,
				               "spec.volumes[%zu].name: duplicate '%s'", i, name);
		}
	}
	return KC_OK;
}

/*
 * The pod's seLinuxOptions.level when it looks like one: sensitivity and
 * categories ("s0", "s0:c1,c2", "s0-s0:c0.c1023"). Anything else (a colon
 * would add a field to the context) is not used: the volumes get the
 * shared "s0".
 */
static const char *selinux_level(const json_t *sc)
{
	const char *s =
	    json_string_value(json_object_get(json_object_get(sc, "seLinuxOptions"), "level"));
	size_t n;

	if (s == NULL || s[0] != 's' || (n = strlen(s)) > 255)
		return NULL;
	if (strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:,.-") != n)
		return NULL;
	return s;
}

static kc_code plan_init(const json_t *pod, struct vp_plan *out, const char **ns,
                         struct kc_error *err)
{
	const char *uid = pod_meta_string(pod, "uid");
	const json_t *sc = json_object_get(json_object_get(pod, "spec"), "securityContext");
	const char *level;

	*ns = pod_meta_string(pod, "namespace");
	if (uid == NULL)
		return kc_fail(err, KC_EINVAL, "metadata.uid: missing");
	if (k8s_check_uuid(uid, err) != KC_OK)
		return kc_error_prefix(err, "metadata.uid");
	if (*ns == NULL)
		return kc_fail(err, KC_EINVAL, "metadata.namespace: missing");
	if (k8s_check_dns_label(*ns, err) != KC_OK)
		return kc_error_prefix(err, "metadata.namespace");
	if ((out->uid = strdup(uid)) == NULL)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	if ((level = selinux_level(sc)) != NULL && (out->selinux_level = strdup(level)) == NULL)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	out->uid_owner = security_id(sc, "runAsUser");
	out->gid_owner = security_id(sc, "fsGroup");
	if (out->gid_owner < 0)
		out->gid_owner = security_id(sc, "runAsGroup");
	return KC_OK;
}

kc_code volume_plan_build(const json_t *pod, const struct kc_objects *objs, struct vp_plan *out,
                          struct kc_error *err)
{
	const json_t *volumes = json_object_get(json_object_get(pod, "spec"), "volumes"), *v;
	struct build b = {.pod = pod, .objs = objs, .err = err};
	struct vp_volume *grown;
	enum vs_class cls;
	mode_t group_read;
	size_t i;
	kc_code rc;

	memset(out, 0, sizeof(*out));
	if ((rc = plan_init(pod, out, &b.ns, err)) != KC_OK)
		goto fail;
	if (volumes != NULL && !json_is_null(volumes) && !json_is_array(volumes)) {
		rc = kc_fail(err, KC_EINVAL, "spec.volumes: must be a list");
		goto fail;
	}
	if ((rc = check_volume_names(volumes, err)) != KC_OK)
		goto fail;
	group_read = security_id(json_object_get(json_object_get(pod, "spec"), "securityContext"),
	                         "fsGroup") >= 0
	                 ? 0440
	                 : 0;
	json_array_foreach(volumes, i, v)
	{
		if ((rc = volume_source_classify(v, &cls, err)) != KC_OK) {
			kc_error_prefix(err, "spec.volumes[%zu]", i);
			goto fail;
		}
		if (cls != VS_MATERIALISE)
			continue;
		grown = realloc(out->volumes, (out->nvolumes + 1) * sizeof(*grown));
		if (grown == NULL) {
			rc = kc_fail(err, KC_ENOMEM, "out of memory");
			goto fail;
		}
		out->volumes = grown;
		b.vol = &grown[out->nvolumes];
		memset(b.vol, 0, sizeof(*b.vol));
		out->nvolumes++;
		if ((b.vol->name = strdup(json_string_value(json_object_get(v, "name")))) == NULL) {
			rc = kc_fail(err, KC_ENOMEM, "out of memory");
			goto fail;
		}
		if ((rc = plan_volume(&b, v, err)) != KC_OK ||
		    (rc = finish_volume(b.vol, group_read, err)) != KC_OK) {
			kc_error_prefix(err, "spec.volumes[%zu].%s", i, volume_source_kind(v));
			goto fail;
		}
	}
	return KC_OK;
fail:
	volume_plan_free(out);
	return rc;
}

static kc_code join(char *out, size_t outsz, struct kc_error *err, const char *a, const char *b,
                    const char *c)
{
	int n = c != NULL ? snprintf(out, outsz, "%s/" KC_STATE_VOLUMES_DIR "/%s/%s", a, b, c)
	                  : snprintf(out, outsz, "%s/" KC_STATE_VOLUMES_DIR "/%s", a, b);

	if (n < 0 || (size_t)n >= outsz)
		return kc_fail(err, KC_ETOOBIG, "volume path under %s too long", a);
	return KC_OK;
}

kc_code volume_plan_pod_dir(const char *state_dir, const char *uid, char *out, size_t outsz,
                            struct kc_error *err)
{
	if (k8s_check_uuid(uid, err) != KC_OK)
		return kc_error_prefix(err, "pod uid");
	return join(out, outsz, err, state_dir, uid, NULL);
}

kc_code volume_plan_volume_dir(const char *state_dir, const char *uid, const char *volume,
                               char *out, size_t outsz, struct kc_error *err)
{
	if (k8s_check_uuid(uid, err) != KC_OK)
		return kc_error_prefix(err, "pod uid");
	if (k8s_check_dns_label(volume, err) != KC_OK)
		return kc_error_prefix(err, "volume name");
	return join(out, outsz, err, state_dir, uid, volume);
}
