/*
 * render_downward.c: downward API file contents for projected volumes that
 * also carry API sources (they become materialised directories, so render
 * must write what the kubelet would). Formats follow the kubelet:
 * fieldpath.FormatMap ('k="v"' lines, sorted, Go %q quoting, no final
 * newline) and resource.ExtractContainerResourceValue (ceil division).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s_quantity.h"
#include "pod_spec.h"
#include "kc_utf8.h"
#include "render_int.h"

/* Non-ASCII code points Go's unicode.IsPrint rejects (spaces, format, private). */
static const struct {
	unsigned lo, hi;
} unprintable[] = {
    {0x80, 0xa0},     {0xad, 0xad},     {0x600, 0x605},   {0x61c, 0x61c},     {0x6dd, 0x6dd},
    {0x70f, 0x70f},   {0x1680, 0x1680}, {0x180e, 0x180e}, {0x2000, 0x200f},   {0x2028, 0x202f},
    {0x205f, 0x2064}, {0x2066, 0x206f}, {0x3000, 0x3000}, {0xd800, 0xdfff},   {0xe000, 0xf8ff},
    {0xfeff, 0xfeff}, {0xfff0, 0xfffb}, {0xfffe, 0xffff}, {0xe0000, 0xe007f}, {0xf0000, 0x10ffff},
};

static bool is_print(uint32_t cp)
{
	size_t i;

	if (cp < 0x80)
		return cp >= 0x20 && cp < 0x7f;
	for (i = 0; i < sizeof(unprintable) / sizeof(unprintable[0]); i++)
		if (cp >= unprintable[i].lo && cp <= unprintable[i].hi)
			return false;
	return true;
}

kc_code rd_go_quote(const char *str, size_t len, struct kc_buf *out, struct kc_error *err)
{
	static const char named[] = "\a\b\f\n\r\t\v", letters[] = "abfnrtv";
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, n;
	uint32_t cp;
	const char *e;
	kc_code rc = kc_buf_puts(out, "\"", err);

	while (rc == KC_OK && i < len) {
		n = kc_utf8_next(s + i, len - i, &cp);
		if (n == 0) {
			rc = kc_buf_printf(out, err, "\\x%02x", s[i]);
			i++;
			continue;
		}
		if (cp == '"' || cp == '\\')
			rc = kc_buf_printf(out, err, "\\%c", (char)cp);
		else if (is_print(cp))
			rc = kc_buf_append(out, s + i, n, err);
		else if (cp != 0 && (e = strchr(named, (int)cp)) != NULL)
			rc = kc_buf_printf(out, err, "\\%c", letters[e - named]);
		else if (cp < 0x20 || cp == 0x7f)
			rc = kc_buf_printf(out, err, "\\x%02x", cp);
		else if (cp < 0x10000)
			rc = kc_buf_printf(out, err, "\\u%04x", cp);
		else
			rc = kc_buf_printf(out, err, "\\U%08x", cp);
		i += n;
	}
	return rc == KC_OK ? kc_buf_puts(out, "\"", err) : rc;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* fieldpath.FormatMap: sorted 'k="v"' lines joined by '\n'. */
static kc_code format_map(const json_t *map, const char *field, struct kc_buf *out,
                          struct kc_error *err)
{
	const char **keys, *key;
	json_t *v;
	size_t n = 0, i;
	kc_code rc = KC_OK;

	if (map == NULL || json_is_null(map))
		return KC_OK;
	if (!json_is_object(map))
		return kc_fail(err, KC_EINVAL, "parent %s: must be a mapping", field);
	if ((keys = malloc((json_object_size(map) + 1) * sizeof(*keys))) == NULL)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	json_object_foreach((json_t *)map, key, v) keys[n++] = key;
	qsort(keys, n, sizeof(*keys), str_cmp);
	for (i = 0; i < n && rc == KC_OK; i++) {
		v = json_object_get(map, keys[i]);
		if (!json_is_string(v)) {
			rc = kc_fail(err, KC_EINVAL, "parent %s.%s: must be a string", field,
			             keys[i]);
			break;
		}
		if (i > 0)
			rc = kc_buf_puts(out, "\n", err);
		if (rc == KC_OK)
			rc = kc_buf_printf(out, err, "%s=", keys[i]);
		if (rc == KC_OK)
			rc = rd_go_quote(json_string_value(v), json_string_length(v), out, err);
	}
	free(keys);
	return rc;
}

/* "metadata.labels['key']" -> map "labels", key. */
static bool split_subscript(const char *path, const char *prefix, const char **key, size_t *keylen)
{
	size_t plen = strlen(prefix), n = strlen(path);

	if (strncmp(path, prefix, plen) != 0 || n < plen + 4)
		return false;
	if (path[plen] != '[' || path[plen + 1] != '\'' || path[n - 2] != '\'' ||
	    path[n - 1] != ']')
		return false;
	*key = path + plen + 2;
	*keylen = n - plen - 4;
	return true;
}

kc_code rd_downward_field(const json_t *pod, const json_t *field_ref, struct kc_buf *out,
                          struct kc_error *err)
{
	static const char *const scalars[] = {"name", "namespace", "uid"};
	const json_t *meta = json_object_get(pod, "metadata"), *map, *v;
	const char *path = json_string_value(json_object_get(field_ref, "fieldPath")), *key;
	char keybuf[320];
	size_t i, keylen;

	if (path == NULL)
		return kc_fail(err, KC_EINVAL, "fieldRef.fieldPath: missing");
	for (i = 0; i < sizeof(scalars) / sizeof(scalars[0]); i++) {
		if (strncmp(path, "metadata.", 9) != 0 || strcmp(path + 9, scalars[i]) != 0)
			continue;
		v = json_object_get(meta, scalars[i]);
		if (!json_is_string(v))
			return kc_fail(err, KC_EINVAL, "parent metadata.%s: missing", scalars[i]);
		return kc_buf_append(out, json_string_value(v), json_string_length(v), err);
	}
	if (strcmp(path, "metadata.labels") == 0)
		return format_map(json_object_get(meta, "labels"), "metadata.labels", out, err);
	if (strcmp(path, "metadata.annotations") == 0)
		return format_map(json_object_get(meta, "annotations"), "metadata.annotations", out,
		                  err);
	if (split_subscript(path, "metadata.labels", &key, &keylen))
		map = json_object_get(meta, "labels");
	else if (split_subscript(path, "metadata.annotations", &key, &keylen))
		map = json_object_get(meta, "annotations");
	else
		return kc_fail(err, KC_EINVAL,
		               "fieldRef.fieldPath: '%.80s' is not supported in a volume", path);
	if (keylen == 0 || keylen >= sizeof(keybuf))
		return kc_fail(err, KC_EINVAL, "fieldRef.fieldPath: bad key in '%.80s'", path);
	memcpy(keybuf, key, keylen);
	keybuf[keylen] = '\0';
	v = json_object_get(map, keybuf);
	if (v == NULL || json_is_null(v))
		return KC_OK; /* the kubelet writes an empty file */
	if (!json_is_string(v))
		return kc_fail(err, KC_EINVAL, "parent label/annotation '%s': must be a string",
		               keybuf);
	return kc_buf_append(out, json_string_value(v), json_string_length(v), err);
}

static const json_t *find_container(const json_t *pod, const char *name)
{
	static const char *const lists[] = {"containers", "initContainers"};
	const json_t *spec = json_object_get(pod, "spec"), *c;
	size_t l, i;

	for (l = 0; l < 2; l++) {
		json_array_foreach(json_object_get(spec, lists[l]), i, c)
		{
			const char *n = json_string_value(json_object_get(c, "name"));

			if (n != NULL && strcmp(n, name) == 0)
				return c;
		}
	}
	return NULL;
}

/* A quantity as text: the API writes strings, hand-written input may use numbers. */
static bool quantity_text(const json_t *v, char *buf, size_t bufsz)
{
	if (json_is_string(v)) {
		snprintf(buf, bufsz, "%s", json_string_value(v));
		return json_string_length(v) < bufsz;
	}
	if (json_is_integer(v)) {
		snprintf(buf, bufsz, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return true;
	}
	if (json_is_real(v)) {
		snprintf(buf, bufsz, "%.17g", json_real_value(v));
		return true;
	}
	return false;
}

kc_code rd_downward_resource(const json_t *pod, const json_t *resource_ref, struct kc_buf *out,
                             struct kc_error *err)
{
	const char *cname = json_string_value(json_object_get(resource_ref, "containerName"));
	const char *resource = json_string_value(json_object_get(resource_ref, "resource"));
	const json_t *c, *divisor_json, *value_json;
	char value[128], divisor[128], section[16];
	const char *dot, *name;
	int64_t v, d, result;
	int scale;
	kc_code rc;

	if (cname == NULL || cname[0] == '\0')
		return kc_fail(err, KC_EINVAL, "resourceFieldRef.containerName: missing");
	if (resource == NULL)
		return kc_fail(err, KC_EINVAL, "resourceFieldRef.resource: missing");
	if ((c = find_container(pod, cname)) == NULL)
		return kc_fail(err, KC_EINVAL, "resourceFieldRef.containerName: no container '%s'",
		               cname);
	dot = strchr(resource, '.');
	if (dot == NULL || (size_t)(dot - resource) >= sizeof(section))
		return kc_fail(err, KC_EINVAL, "resourceFieldRef.resource: '%.80s' unsupported",
		               resource);
	memcpy(section, resource, (size_t)(dot - resource));
	section[dot - resource] = '\0';
	name = dot + 1;
	if ((strcmp(section, "limits") != 0 && strcmp(section, "requests") != 0) ||
	    (strcmp(name, "cpu") != 0 && strcmp(name, "memory") != 0 &&
	     strcmp(name, "ephemeral-storage") != 0 && strncmp(name, "hugepages-", 10) != 0))
		return kc_fail(err, KC_EINVAL, "resourceFieldRef.resource: '%.80s' unsupported",
		               resource);
	value_json =
	    json_object_get(json_object_get(json_object_get(c, "resources"), section), name);
	if (value_json == NULL || json_is_null(value_json)) {
		if (strcmp(section, "limits") == 0)
			return kc_fail(err, KC_ENOTCHECKPOINTABLE,
			               "resourceFieldRef: %s of container '%s' is unset (the "
			               "kubelet would use the node's allocatable, unknown offline)",
			               resource, cname);
		return kc_buf_puts(out, "0", err);
	}
	if (!quantity_text(value_json, value, sizeof(value)))
		return kc_fail(err, KC_EINVAL, "container '%s' resources.%s: not a quantity", cname,
		               resource);
	divisor_json = json_object_get(resource_ref, "divisor");
	if (divisor_json == NULL || json_is_null(divisor_json))
		snprintf(divisor, sizeof(divisor), "1");
	else if (!quantity_text(divisor_json, divisor, sizeof(divisor)))
		return kc_fail(err, KC_EINVAL, "resourceFieldRef.divisor: not a quantity");
	scale = strcmp(name, "cpu") == 0 ? 3 : 0;
	if ((rc = k8s_quantity_scaled(value, scale, &v, err)) != KC_OK)
		return kc_error_prefix(err, "container '%s' resources.%s", cname, resource);
	if ((rc = k8s_quantity_scaled(divisor, scale, &d, err)) != KC_OK)
		return kc_error_prefix(err, "resourceFieldRef.divisor");
	if (d <= 0)
		return kc_fail(err, KC_EINVAL, "resourceFieldRef.divisor: must be positive");
	result = v / d + (v % d != 0);
	return kc_buf_printf(out, err, "%" PRId64, result);
}
