/*
 * objects.h: an index of the Secrets and ConfigMaps a set of pods reference,
 * keyed by kind, namespace and name. The checkpoint file and render input both
 * carry these objects beside the pod.
 */
#ifndef KC_OBJECTS_H
#define KC_OBJECTS_H

#include <jansson.h>

#include "kc_error.h"

struct kc_objects;

struct kc_objects *kc_objects_new(void);
void kc_objects_free(struct kc_objects *objs);

/*
 * Add a Secret or ConfigMap. Steals the caller's reference to obj, also on failure
 * (json_incref first to keep one). Anything else is KC_EINVAL; a second object
 * with the same kind/namespace/name replaces the first.
 */
kc_code kc_objects_add(struct kc_objects *objs, json_t *obj, struct kc_error *err);

/* kind is "Secret" or "ConfigMap"; NULL when absent. Borrowed reference. */
json_t *kc_objects_find(const struct kc_objects *objs, const char *kind, const char *ns,
                        const char *name);

#endif
