/*
 * k8s_validate.h: the apiserver's name rules (apimachinery validation), as
 * needed before a name becomes part of a path, a file name or a URL.
 * Each returns KC_OK or KC_EINVAL with a message saying what is wrong (the
 * caller prefixes the field path).
 */
#ifndef KC_K8S_VALIDATE_H
#define KC_K8S_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

#include "kc_error.h"

#define K8S_DNS_LABEL_MAX     63
#define K8S_DNS_SUBDOMAIN_MAX 253

/* RFC 1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63. */
kc_code k8s_check_dns_label(const char *s, struct kc_error *err);
/* RFC 1123 subdomain: labels joined by '.', at most 253. */
kc_code k8s_check_dns_subdomain(const char *s, struct kc_error *err);
/*
 * metadata.uid as the apiserver writes it: 8-4-4-4-12 lowercase hexadecimal
 * digits. The apiserver assigns every object's uid itself (k8s.io/apiserver
 * pkg/registry/rest/meta.go, FillObjectMetaSystemFields: uuid.NewUUID(),
 * google/uuid's lowercase String()), so anything else did not come from it.
 * The one UUID rule of the program: it also names files in the state dir.
 */
bool k8s_uuid_valid(const char *s);
/* k8s_uuid_valid with a message. */
kc_code k8s_check_uuid(const char *s, struct kc_error *err);
/* Secret/ConfigMap data key: [-._a-zA-Z0-9]+, at most 253, not "." or "..". */
kc_code k8s_check_config_key(const char *s, struct kc_error *err);
/*
 * items[].path: not empty, relative, no ".." element, at most 4096; stricter
 * than the apiserver: no empty or "." element, no control character.
 */
kc_code k8s_check_relative_path(const char *s, struct kc_error *err);
/* The kubelet's IsEnvVarName: [-._a-zA-Z][-._a-zA-Z0-9]*. */
bool k8s_is_env_var_name(const char *s);
/* Pod name as the kubelet will call the static pod: "<name>-<node>" fits 253. */
kc_code k8s_check_static_pod_name(const char *name, const char *node, struct kc_error *err);

#endif
