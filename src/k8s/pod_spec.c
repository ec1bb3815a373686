/*
 * pod_spec.c: the one container walk (see pod_spec.h).
 */
#include <stdio.h>

#include "pod_spec.h"

static const char *const container_lists[] = {"initContainers", "containers"};

kc_code pod_spec_each_container(const json_t *spec, pod_container_fn fn, void *ctx,
                                struct kc_error *err)
{
	char path[64];
	json_t *list, *c;
	size_t l, i;
	kc_code rc;

	for (l = 0; l < sizeof(container_lists) / sizeof(container_lists[0]); l++) {
		list = json_object_get(spec, container_lists[l]);
		if (list == NULL || json_is_null(list))
			continue;
		if (!json_is_array(list))
			return kc_fail(err, KC_EINVAL, "spec.%s: must be a list",
			               container_lists[l]);
		json_array_foreach(list, i, c)
		{
			snprintf(path, sizeof(path), "spec.%s[%zu]", container_lists[l], i);
			if (!json_is_object(c))
				return kc_fail(err, KC_EINVAL, "%s: must be a mapping", path);
			if ((rc = fn(c, path, ctx, err)) != KC_OK)
				return rc;
		}
	}
	return KC_OK;
}

static kc_code has_host_port(json_t *container, const char *path, void *ctx, struct kc_error *err)
{
	json_t *ports = json_object_get(container, "ports"), *p;
	size_t i;

	json_array_foreach(ports, i, p) if (json_integer_value(json_object_get(p, "hostPort")) > 0)
	{
		*(bool *)ctx = true;
		return KC_EAGAIN; /* found: stop the walk */
	}
	return KC_OK;
}

bool pod_spec_holds_host_ports(const json_t *spec)
{
	bool found = false;

	if (!json_is_object(spec) || json_is_true(json_object_get(spec, "hostNetwork")))
		return false;
	pod_spec_each_container(spec, has_host_port, &found, NULL);
	return found;
}

const char *pod_meta_string(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(json_object_get(obj, "metadata"), key));
}

const char *pod_meta_or(const json_t *obj, const char *key, const char *fallback)
{
	const char *s = pod_meta_string(obj, key);

	return s != NULL && s[0] != '\0' ? s : fallback;
}
