/*
 * k8s_quantity.h: Kubernetes resource quantities ("100m", "128Mi", "1.5",
 * "2e3"), exactly as resource.Quantity scales them, for the downward API's
 * resourceFieldRef.
 */
#ifndef KC_K8S_QUANTITY_H
#define KC_K8S_QUANTITY_H

#include <stdint.h>

#include "kc_error.h"

/*
 * *out = ceil(q * 10^scale) for scale 0 (Value) or 3 (MilliValue), as the
 * kubelet's Quantity.Value()/MilliValue() round. Negative or over int64 is
 * KC_EINVAL.
 */
kc_code k8s_quantity_scaled(const char *q, int scale, int64_t *out, struct kc_error *err);

#endif
