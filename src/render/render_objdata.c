/*
 * render_objdata.c: reading keys out of Secrets and ConfigMaps (see
 * render_int.h). Secret data and ConfigMap binaryData are base64 in the
 * API's JSON (decoded by base64.c, as Go's encoding/json does).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "k8s_validate.h"
#include "render_int.h"

const char *rd_object_desc(const json_t *obj, char *buf, size_t bufsz)
{
	const json_t *meta = json_object_get(obj, "metadata");
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	const char *ns = json_string_value(json_object_get(meta, "namespace"));
	const char *name = json_string_value(json_object_get(meta, "name"));

	snprintf(buf, bufsz, "%s %s/%s", kind ? kind : "object", ns ? ns : "?", name ? name : "?");
	return buf;
}

static bool is_secret(const json_t *obj)
{
	const char *kind = json_string_value(json_object_get(obj, "kind"));

	return kind != NULL && strcmp(kind, "Secret") == 0;
}

/* Map field of obj: absent/null -> NULL, a mapping, else an error. */
static kc_code data_map(const json_t *obj, const char *field, const json_t **out,
                        struct kc_error *err)
{
	const json_t *m = json_object_get(obj, field);
	char desc[400];

	*out = NULL;
	if (m == NULL || json_is_null(m))
		return KC_OK;
	if (!json_is_object(m))
		return kc_fail(err, KC_EINVAL, "%s: %s: must be a mapping",
		               rd_object_desc(obj, desc, sizeof(desc)), field);
	*out = m;
	return KC_OK;
}

static kc_code copy_string(const json_t *obj, const char *field, const char *key, const json_t *v,
                           bool base64, unsigned char **data, size_t *len, struct kc_error *err)
{
	char desc[400];

	if (!json_is_string(v))
		return kc_fail(err, KC_EINVAL, "%s: %s.%s: must be a string",
		               rd_object_desc(obj, desc, sizeof(desc)), field, key);
	if (base64) {
		if (base64_decode(json_string_value(v), json_string_length(v), data, len, err) !=
		    KC_OK)
			return kc_error_prefix(err, "%s: %s.%s",
			                       rd_object_desc(obj, desc, sizeof(desc)), field, key);
		return KC_OK;
	}
	*len = json_string_length(v);
	if ((*data = malloc(*len + 1)) == NULL)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	memcpy(*data, json_string_value(v), *len);
	(*data)[*len] = '\0';
	return KC_OK;
}

kc_code rd_object_value(const json_t *obj, const char *key, bool with_binary, unsigned char **data,
                        size_t *len, bool *found, struct kc_error *err)
{
	/* Secret: stringData overrides data (apiserver merge order). */
	static const struct {
		const char *field;
		bool base64;
	} secret_fields[] = {{"stringData", false}, {"data", true}},
	  configmap_fields[] = {{"data", false}, {"binaryData", true}};
	const json_t *m, *v;
	bool secret = is_secret(obj);
	size_t i;
	kc_code rc;

	*found = false;
	*data = NULL;
	*len = 0;
	for (i = 0; i < (secret || with_binary ? 2 : 1); i++) {
		const char *field = secret ? secret_fields[i].field : configmap_fields[i].field;
		bool base64 = secret ? secret_fields[i].base64 : configmap_fields[i].base64;

		if ((rc = data_map(obj, field, &m, err)) != KC_OK)
			return rc;
		if (m == NULL || (v = json_object_get(m, key)) == NULL)
			continue;
		if ((rc = copy_string(obj, field, key, v, base64, data, len, err)) != KC_OK)
			return rc;
		*found = true;
		return KC_OK;
	}
	return KC_OK;
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

kc_code rd_object_keys(const json_t *obj, bool with_binary, json_t **keys, struct kc_error *err)
{
	const char *fields[2], *key, **sorted = NULL;
	const json_t *m, *v;
	json_t *seen = json_object();
	size_t nfields, f, n = 0, i;
	char desc[400];
	kc_code rc = KC_OK;

	*keys = NULL;
	if (seen == NULL)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	if (is_secret(obj)) {
		fields[0] = "data";
		fields[1] = "stringData";
		nfields = 2;
	} else {
		fields[0] = "data";
		fields[1] = "binaryData";
		nfields = with_binary ? 2 : 1;
	}
	for (f = 0; f < nfields && rc == KC_OK; f++) {
		if ((rc = data_map(obj, fields[f], &m, err)) != KC_OK || m == NULL)
			continue;
		json_object_foreach((json_t *)m, key, v)
		{
			if ((rc = k8s_check_config_key(key, err)) != KC_OK) {
				kc_error_prefix(err, "%s: %s",
				                rd_object_desc(obj, desc, sizeof(desc)), fields[f]);
				break;
			}
			if (json_object_set_new(seen, key, json_true()) != 0) {
				rc = kc_fail(err, KC_ENOMEM, "out of memory");
				break;
			}
		}
	}
	if (rc != KC_OK)
		goto out;
	if ((sorted = malloc((json_object_size(seen) + 1) * sizeof(*sorted))) == NULL ||
	    (*keys = json_array()) == NULL) {
		rc = kc_fail(err, KC_ENOMEM, "out of memory");
		goto out;
	}
	json_object_foreach(seen, key, v) sorted[n++] = key;
	qsort(sorted, n, sizeof(*sorted), key_cmp);
	for (i = 0; i < n; i++) {
		if (json_array_append_new(*keys, json_string(sorted[i])) != 0) {
			rc = kc_fail(err, KC_ENOMEM, "out of memory");
			break;
		}
	}
out:
	if (rc != KC_OK) {
		json_decref(*keys);
		*keys = NULL;
	}
	free(sorted);
	json_decref(seen);
	return rc;
}
