/*
 * render_meta.c: the manifest's metadata. Only what identifies the pod and
 * what its containers may read back (labels, annotations) survives; anything
 * the apiserver or a controller owns is dropped, and the marker annotations
 * tie the file to its parent (docs/design.md §4, "Ownership").
 */
#include <stdio.h>
#include <string.h>

#include "kc_names.h"
#include "kc_str.h"
#include "pod_spec.h"
#include "render.h"
#include "render_int.h"

/* Labels the controllers add that would pin the manifest to one revision. */
static const char *const controller_labels[] = {"controller-revision-hash",
                                                "pod-template-generation", "pod-template-hash"};

static bool drop_annotation(const char *key, const char *const *triggers, size_t ntriggers)
{
	/* The default trigger goes even when other triggers are configured. */
	return strncmp(key, "kubernetes.io/config.", 21) == 0 ||
	       strncmp(key, KC_ANNOTATION_PREFIX, strlen(KC_ANNOTATION_PREFIX)) == 0 ||
	       strcmp(key, KC_DEFAULT_TRIGGER_ANNOTATION) == 0 ||
	       kc_str_in(key, triggers, ntriggers);
}

/* Copy of map (labels or annotations) without the keys drop() rejects. */
static kc_code filtered_map(const json_t *map, const char *field, const char *const *triggers,
                            size_t ntriggers, bool labels, json_t **out, struct kc_error *err)
{
	const char *key;
	json_t *v;

	*out = json_object();
	if (*out == NULL)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	if (map == NULL || json_is_null(map))
		return KC_OK;
	if (!json_is_object(map))
		return kc_fail(err, KC_EINVAL, "metadata.%s: must be a mapping", field);
	json_object_foreach((json_t *)map, key, v)
	{
		if (!json_is_string(v))
			return kc_fail(err, KC_EINVAL, "metadata.%s.%s: must be a string", field,
			               key);
		if (labels ? KC_STR_IN(key, controller_labels)
		           : drop_annotation(key, triggers, ntriggers))
			continue;
		if (json_object_set(*out, key, v) != 0)
			return kc_fail(err, KC_ENOMEM, "out of memory");
	}
	return KC_OK;
}

kc_code render_metadata(const json_t *pod, const char *const *triggers, size_t ntriggers,
                        json_t **out, struct kc_error *err)
{
	const json_t *meta = json_object_get(pod, "metadata");
	const char *name = pod_meta_string(pod, "name"), *ns = pod_meta_string(pod, "namespace");
	const char *uid = pod_meta_string(pod, "uid");
	json_t *labels = NULL, *annotations = NULL;
	char of[320];
	kc_code rc;

	*out = NULL;
	if ((rc = filtered_map(json_object_get(meta, "labels"), "labels", triggers, ntriggers, true,
	                       &labels, err)) != KC_OK ||
	    (rc = filtered_map(json_object_get(meta, "annotations"), "annotations", triggers,
	                       ntriggers, false, &annotations, err)) != KC_OK)
		goto out;
	snprintf(of, sizeof(of), "%s/%s", ns, name);
	if (json_object_set_new(annotations, KC_ANNOTATION_CHECKPOINT_OF, json_string(of)) != 0 ||
	    json_object_set_new(annotations, KC_ANNOTATION_SOURCE_UID, json_string(uid)) != 0 ||
	    (*out = json_pack("{s:s, s:s, s:O}", "name", name, "namespace", ns, "annotations",
	                      annotations)) == NULL ||
	    (json_object_size(labels) > 0 && json_object_set(*out, "labels", labels) != 0)) {
		rc = kc_fail(err, KC_ENOMEM, "out of memory");
		json_decref(*out);
		*out = NULL;
	}
out:
	json_decref(labels);
	json_decref(annotations);
	return rc;
}
