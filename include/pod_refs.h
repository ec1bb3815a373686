/*
 * pod_refs.h: the Secrets and ConfigMaps a pod references, from volumes,
 * projected sources, env valueFrom and envFrom of every container kind
 * (init, regular, ephemeral excluded: they are dropped). The API side GETs
 * exactly these; render and the volume plan resolve exactly these.
 */
#ifndef KC_POD_REFS_H
#define KC_POD_REFS_H

#include <jansson.h>
#include <stdbool.h>

#include "kc_error.h"

struct pod_ref {
	const char *kind; /* "Secret" or "ConfigMap" (static strings) */
	char *name;
	bool optional; /* every reference to it is optional */
};

struct pod_refs {
	char *namespace;
	struct pod_ref *refs; /* deduplicated, sorted by kind then name */
	size_t count;
};

kc_code pod_refs_collect(const json_t *pod, struct pod_refs *out, struct kc_error *err);
void pod_refs_free(struct pod_refs *refs);

#endif
