/*
 * render_cow.c: copy on write for the manifest. The pod is the caller's
 * (const): the manifest shares its unchanged parts and owns private shallow
 * copies of whatever it changes. Deep-copying the whole spec cost as much as
 * rendering it. A module of its own so that render.c and the container
 * rewrites it calls (render_ports.c) both use it without calling each other.
 */
#include "render_int.h"

json_t *rd_own_child(json_t *parent, const char *key)
{
	json_t *copy = json_copy(json_object_get(parent, key));

	if (copy == NULL || json_object_set_new(parent, key, copy) != 0)
		return NULL;
	return copy;
}
