/*
 * pod_spec.h: walking a pod's containers the same way everywhere. Init
 * containers (native sidecars included) and regular containers are treated
 * alike by every rule; ephemeral containers are never visited (render drops
 * them).
 */
#ifndef KC_POD_SPEC_H
#define KC_POD_SPEC_H

#include <jansson.h>
#include <stdbool.h>

#include "kc_error.h"

/* path is the container's field path, e.g. "spec.initContainers[0]". */
typedef kc_code (*pod_container_fn)(json_t *container, const char *path, void *ctx,
                                    struct kc_error *err);

/*
 * Call fn for spec.initContainers[*] then spec.containers[*]. A list or
 * element of the wrong type is KC_EINVAL naming it; fn's failure stops the
 * walk.
 */
kc_code pod_spec_each_container(const json_t *spec, pod_container_fn fn, void *ctx,
                                struct kc_error *err);

/*
 * Does a pod with this spec hold host ports on the node: not hostNetwork,
 * and a port of an init or regular container with hostPort > 0? That is
 * what the kubelet's admission checks against the pods it runs (the
 * NodePorts filter in pkg/kubelet/lifecycle/predicate.go's generalFilter),
 * so a bridge with host ports gets its returning parent rejected.
 */
bool pod_spec_holds_host_ports(const json_t *spec);

/* metadata.<key> of obj when it is a string, else NULL. */
const char *pod_meta_string(const json_t *obj, const char *key);

/* metadata.<key> of obj when it is a non-empty string, else fallback. */
const char *pod_meta_or(const json_t *obj, const char *key, const char *fallback);

#endif
