/*
 * render_ports.c: ports of a hostNetwork pod. The bridge pod and the
 * returning API pod share the node's network namespace; declared ports
 * (hostPort is implied on hostNetwork) would make the API pod lose the
 * port fight (bootkube #646, #986), so they go. Probes and lifecycle handlers
 * that name a port must then carry the number instead.
 */
#include <stdio.h>
#include <string.h>

#include "render_int.h"

static const char *const handler_holders[] = {"livenessProbe", "readinessProbe", "startupProbe"};
static const char *const lifecycle_hooks[] = {"postStart", "preStop"};
/* grpc.port is a number in the API; a hand-written name is resolved too. */
static const char *const port_actions[] = {"httpGet", "tcpSocket", "grpc"};

static kc_code port_by_name(const json_t *container, const char *name, json_t **number)
{
	const json_t *p;
	size_t i;

	json_array_foreach(json_object_get(container, "ports"), i, p)
	{
		const char *n = json_string_value(json_object_get(p, "name"));
		const json_t *num = json_object_get(p, "containerPort");

		if (n != NULL && strcmp(n, name) == 0 && json_is_integer(num)) {
			*number = json_integer(json_integer_value(num));
			return *number != NULL ? KC_OK : KC_ENOMEM;
		}
	}
	return KC_ENOTFOUND;
}

/*
 * holder[key] is a handler holding httpGet/tcpSocket actions; path names it.
 * holder is the manifest's own; the handler and action are copied before the
 * port changes (they are shared with the source pod).
 */
static kc_code resolve_handler(const json_t *container, json_t *holder, const char *key,
                               const char *path, struct kc_error *err)
{
	json_t *handler = json_object_get(holder, key), *action, *port, *number;
	size_t i;
	kc_code rc;

	if (handler == NULL || !json_is_object(handler))
		return KC_OK;
	for (i = 0; i < sizeof(port_actions) / sizeof(port_actions[0]); i++) {
		action = json_object_get(handler, port_actions[i]);
		port = json_object_get(action, "port");
		if (!json_is_string(port))
			continue;
		rc = port_by_name(container, json_string_value(port), &number);
		if (rc == KC_ENOMEM)
			return kc_fail(err, rc, "out of memory");
		if (rc != KC_OK)
			return kc_fail(err, KC_EINVAL,
			               "%s.%s.port: no container port named '%.80s'", path,
			               port_actions[i], json_string_value(port));
		if ((handler = rd_own_child(holder, key)) == NULL ||
		    (action = rd_own_child(handler, port_actions[i])) == NULL ||
		    json_object_set_new(action, "port", number) != 0)
			return kc_fail(err, KC_ENOMEM, "out of memory");
	}
	return KC_OK;
}

kc_code render_ports(json_t *container, const char *path, bool host_network, struct kc_error *err)
{
	char hpath[256];
	json_t *lifecycle;
	size_t i;
	kc_code rc;

	if (!host_network)
		return KC_OK;
	for (i = 0; i < sizeof(handler_holders) / sizeof(handler_holders[0]); i++) {
		snprintf(hpath, sizeof(hpath), "%s.%s", path, handler_holders[i]);
		rc = resolve_handler(container, container, handler_holders[i], hpath, err);
		if (rc != KC_OK)
			return rc;
	}
	lifecycle = json_object_get(container, "lifecycle");
	if (json_is_object(lifecycle) && (lifecycle = rd_own_child(container, "lifecycle")) == NULL)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	for (i = 0; i < sizeof(lifecycle_hooks) / sizeof(lifecycle_hooks[0]); i++) {
		snprintf(hpath, sizeof(hpath), "%s.lifecycle.%s", path, lifecycle_hooks[i]);
		rc = resolve_handler(container, lifecycle, lifecycle_hooks[i], hpath, err);
		if (rc != KC_OK)
			return rc;
	}
	json_object_del(container, "ports");
	return KC_OK;
}
