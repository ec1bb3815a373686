/*
 * render_int.h: pieces shared by render_*.c and volume_plan.c. Not a
 * public contract: the agent uses render.h, volume_plan.h and
 * manifest_check.h. The checker (manifest_check.c) does not include it: it
 * must not share the renderer's lists.
 */
#ifndef KC_RENDER_INTERNAL_H
#define KC_RENDER_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "kc_buf.h"
#include "kc_error.h"
#include "objects.h"
#include "render.h"

/*
 * The bytes of key in a Secret (data base64-decoded, stringData as given,
 * stringData winning as the apiserver merges it) or a ConfigMap (data, then,
 * when with_binary, binaryData base64-decoded: the kubelet's configMapKeyRef
 * reads data only). *found false when the key is absent; *data is
 * malloc'd (NUL-terminated for convenience) when found. Errors name the object
 * and the field ("Secret ns/name: data.key: invalid base64").
 */
kc_code rd_object_value(const json_t *obj, const char *key, bool with_binary, unsigned char **data,
                        size_t *len, bool *found, struct kc_error *err);

/*
 * Sorted keys of obj as a new JSON array of strings; ConfigMap binaryData
 * keys only when with_binary (envFrom reads data only, as the kubelet does).
 * Every key is validated as a data key.
 */
kc_code rd_object_keys(const json_t *obj, bool with_binary, json_t **keys, struct kc_error *err);

/* "Secret ns/name" for messages, in a caller buffer. */
const char *rd_object_desc(const json_t *obj, char *buf, size_t bufsz);

/*
 * Downward API file contents as the kubelet writes them, from the parent pod:
 * fieldRef (metadata.name/namespace/uid/labels/annotations and
 * labels['k']/annotations['k']) and resourceFieldRef (ceil(value/divisor));
 * an unset limit is KC_ENOTCHECKPOINTABLE (the kubelet would use the node's
 * allocatable, unknown offline). Messages are relative to the item.
 */
kc_code rd_downward_field(const json_t *pod, const json_t *field_ref, struct kc_buf *out,
                          struct kc_error *err);
kc_code rd_downward_resource(const json_t *pod, const json_t *resource_ref, struct kc_buf *out,
                             struct kc_error *err);

/* Go's strconv.Quote (the %q verb) of s[0..len). */
kc_code rd_go_quote(const char *s, size_t len, struct kc_buf *out, struct kc_error *err);

/*
 * Container rewrites, applied in place to a copy of a container; path is its
 * field path. render_env inlines valueFrom secret/configMap key refs and
 * expands envFrom; a Secret reference is KC_ENOTCHECKPOINTABLE unless
 * inline_secrets (the parent's KC_ANNOTATION_INLINE_SECRET_ENV annotation). render_ports rewrites
 * named probe/lifecycle ports to numbers and, on hostNetwork, removes ports.
 */
kc_code render_env(json_t *container, const char *path, const char *ns,
                   const struct kc_objects *objs, bool inline_secrets, struct kc_error *err);
kc_code render_ports(json_t *container, const char *path, bool host_network, struct kc_error *err);
/* The hand-off rules on the bridge's spec: grace period capped, requests zeroed. */
kc_code render_handoff(json_t *spec, const struct render_opts *opts, struct kc_error *err);

/*
 * The manifest's metadata from the pod's: name, namespace, labels and
 * annotations filtered, marker annotations added. triggers are the trigger
 * annotations to drop.
 */
kc_code render_metadata(const json_t *pod, const char *const *triggers, size_t ntriggers,
                        json_t **out, struct kc_error *err);

/*
 * render_cow.c: replace parent[key] by a shallow copy of it and return that
 * copy (NULL when absent or out of memory): the manifest shares the source
 * pod's unchanged values and copies a value before changing it.
 */
json_t *rd_own_child(json_t *parent, const char *key);

#endif
