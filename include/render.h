/*
 * render.h: from an API pod (plus the Secrets/ConfigMaps it references) to a
 * self-contained static-pod manifest a stock kubelet (1.34+ included) runs
 * with no apiserver. Pure: no I/O. docs/design.md §5 is the rule book.
 */
#ifndef KC_RENDER_H
#define KC_RENDER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "kc_buf.h"
#include "kc_error.h"
#include "objects.h"

#define RENDER_MAX_MANIFEST (10u * 1024 * 1024)
/* The bridge's terminationGracePeriodSeconds is at most this (render_handoff.c). */
#define RENDER_DEFAULT_GRACE_CAP 5

struct render_opts {
	const char *node_name;          /* NULL: do not check spec.nodeName */
	const char *state_dir;          /* where hostPath volumes point */
	const char *const *annotations; /* trigger annotations; NULL = the default */
	size_t nannotations;
	const char *const *namespaces; /* allow-list, "*" = all; NULL = all */
	size_t nnamespaces;
	/* Cap of the bridge's terminationGracePeriodSeconds; only when grace_cap_set,
	 * else RENDER_DEFAULT_GRACE_CAP. */
	bool grace_cap_set;
	unsigned grace_cap;
};

/*
 * Is pod an eligible parent? KC_OK, or KC_EINELIGIBLE with the reason
 * (not annotated, mirror pod, other node, namespace not allowed, being
 * deleted, finished).
 */
kc_code render_check_eligible(const json_t *pod, const struct render_opts *opts,
                              struct kc_error *err);

/*
 * Convert an eligible pod. KC_ENOTCHECKPOINTABLE names the field that cannot
 * be made self-contained (PVC, CSI, ephemeral, unknown volume type,
 * resourceClaims...); KC_EINVAL/KC_ENOTFOUND name the bad field or the missing
 * referenced object. *manifest is a new reference.
 */
kc_code render_pod(const json_t *pod, const struct kc_objects *objs, const struct render_opts *opts,
                   json_t **manifest, struct kc_error *err);

/* Canonical YAML bytes of a manifest (sorted keys); over 10 MiB is KC_ETOOBIG. */
kc_code render_manifest_bytes(const json_t *manifest, struct kc_buf *out, struct kc_error *err);

#endif
