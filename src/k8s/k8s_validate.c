/*
 * k8s_validate.c: apiserver name rules, checked before a name from a pod
 * becomes part of a path, a file name or a URL (see k8s_validate.h).
 */
#include <string.h>

#include "k8s_validate.h"

#define K8S_PATH_MAX 4096

static bool is_alnum_lower(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Lowercase only: see k8s_uuid_valid. */
static bool is_lower_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f');
}

/* One RFC 1123 label in s[0..n): lower alphanumerics and inner '-'. */
static bool is_label(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > K8S_DNS_LABEL_MAX)
		return false;
	if (!is_alnum_lower(s[0]) || !is_alnum_lower(s[n - 1]))
		return false;
	for (i = 1; i + 1 < n; i++)
		if (!is_alnum_lower(s[i]) && s[i] != '-')
			return false;
	return true;
}

kc_code k8s_check_dns_label(const char *s, struct kc_error *err)
{
	size_t n = strlen(s);

	if (n == 0)
		return kc_fail(err, KC_EINVAL, "must not be empty");
	if (n > K8S_DNS_LABEL_MAX)
		return kc_fail(err, KC_EINVAL, "must be no more than %d characters (has %zu)",
		               K8S_DNS_LABEL_MAX, n);
	if (!is_label(s, n))
		return kc_fail(err, KC_EINVAL,
		               "'%.*s' is not a DNS label (lower-case alphanumerics and '-', "
		               "starting and ending with an alphanumeric)",
		               64, s);
	return KC_OK;
}

kc_code k8s_check_dns_subdomain(const char *s, struct kc_error *err)
{
	size_t n = strlen(s), start = 0, i;

	if (n == 0)
		return kc_fail(err, KC_EINVAL, "must not be empty");
	if (n > K8S_DNS_SUBDOMAIN_MAX)
		return kc_fail(err, KC_EINVAL, "must be no more than %d characters (has %zu)",
		               K8S_DNS_SUBDOMAIN_MAX, n);
	for (i = 0; i <= n; i++) {
		if (i < n && s[i] != '.')
			continue;
		if (!is_label(s + start, i - start))
			return kc_fail(err, KC_EINVAL,
			               "'%.*s' is not a DNS subdomain (lower-case alphanumerics, "
			               "'-' and '.', each part starting and ending with an "
			               "alphanumeric)",
			               64, s);
		start = i + 1;
	}
	return KC_OK;
}

bool k8s_uuid_valid(const char *s)
{
	static const size_t groups[] = {8, 4, 4, 4, 12};
	const char *p = s;
	size_t g, i;

	for (g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		for (i = 0; i < groups[g]; i++, p++)
			if (!is_lower_hex(*p))
				return false;
		if (g + 1 < sizeof(groups) / sizeof(groups[0]) && *p++ != '-')
			return false;
	}
	return *p == '\0';
}

kc_code k8s_check_uuid(const char *s, struct kc_error *err)
{
	if (k8s_uuid_valid(s))
		return KC_OK;
	return kc_fail(err, KC_EINVAL,
	               "'%.*s' is not a UUID as the apiserver writes it (8-4-4-4-12 lowercase "
	               "hexadecimal digits)",
	               64, s);
}

kc_code k8s_check_config_key(const char *s, struct kc_error *err)
{
	size_t n = strlen(s), i;

	if (n == 0)
		return kc_fail(err, KC_EINVAL, "key must not be empty");
	if (n > K8S_DNS_SUBDOMAIN_MAX)
		return kc_fail(err, KC_EINVAL, "key must be no more than %d characters (has %zu)",
		               K8S_DNS_SUBDOMAIN_MAX, n);
	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return kc_fail(err, KC_EINVAL, "key must not be '%s'", s);
	/*
	 * As the apiserver (IsConfigMapKey in k8s.io/apimachinery
	 * pkg/util/validation/validation.go: "must not start with '..'"): the
	 * kubelet's atomic writer keeps its ..data and ..<timestamp> entries
	 * there, so such a key would collide with them.
	 */
	if (strncmp(s, "..", 2) == 0)
		return kc_fail(err, KC_EINVAL, "key '%.*s' must not start with '..'", 64, s);
	for (i = 0; i < n; i++)
		if (!is_alpha(s[i]) && !is_digit(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return kc_fail(err, KC_EINVAL,
			               "key '%.*s' may only hold alphanumerics, '-', '_' and '.'",
			               64, s);
	return KC_OK;
}

kc_code k8s_check_relative_path(const char *s, struct kc_error *err)
{
	size_t n = strlen(s), start = 0, i;

	if (n == 0)
		return kc_fail(err, KC_EINVAL, "path must not be empty");
	if (n > K8S_PATH_MAX)
		return kc_fail(err, KC_EINVAL, "path must be no more than %d characters",
		               K8S_PATH_MAX);
	if (s[0] == '/')
		return kc_fail(err, KC_EINVAL, "path '%.*s' must be relative", 64, s);
	for (i = 0; i <= n; i++) {
		if (i < n && s[i] != '/')
			continue;
		if (i - start == 2 && s[start] == '.' && s[start + 1] == '.')
			return kc_fail(err, KC_EINVAL, "path '%.*s' must not contain '..'", 64, s);
		/* Stricter than the apiserver, so one path names one file. */
		if (i == start || (i - start == 1 && s[start] == '.'))
			return kc_fail(err, KC_EINVAL,
			               "path '%.*s' must not hold empty or '.' elements", 64, s);
		start = i + 1;
	}
	/* The materialiser joins paths; control bytes in names help nobody. */
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return kc_fail(err, KC_EINVAL, "path holds a control character");
	return KC_OK;
}

bool k8s_is_env_var_name(const char *s)
{
	size_t i;

	if (s[0] == '\0' || is_digit(s[0]))
		return false;
	for (i = 0; s[i] != '\0'; i++)
		if (!is_alpha(s[i]) && !is_digit(s[i]) && s[i] != '-' && s[i] != '.' && s[i] != '_')
			return false;
	return true;
}

kc_code k8s_check_static_pod_name(const char *name, const char *node, struct kc_error *err)
{
	size_t n = strlen(name) + 1 + strlen(node);

	if (n > K8S_DNS_SUBDOMAIN_MAX)
		return kc_fail(err, KC_EINVAL,
		               "the kubelet would name the static pod '<name>-%s', %zu characters "
		               "(at most %d)",
		               node, n, K8S_DNS_SUBDOMAIN_MAX);
	return KC_OK;
}
