/*
 * bridge_name.h: the bridge manifest's file name (docs/design.md §4).
 */
#ifndef KC_BRIDGE_NAME_H
#define KC_BRIDGE_NAME_H

#include <stddef.h>

#include "kc_error.h"

/*
 * "kubelet-checkpoint_<namespace>_<name>.yaml" into out. The namespace must
 * be a DNS label and the name a DNS subdomain (KC_EINVAL naming which); over
 * KC_MANIFEST_NAME_MAX bytes is KC_ENOTCHECKPOINTABLE saying so.
 */
kc_code bridge_manifest_name(const char *ns, const char *name, char *out, size_t outsz,
                             struct kc_error *err);

#endif
