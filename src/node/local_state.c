/*
 * local_state.c: the pods running on this node, from the container runtime
 * first and the pod cgroups second (see local_state.h for the rules and the
 * back-off).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "local_state.h"

kc_code local_state_init(struct local_state *ls, const char *endpoint, const char *cgroup_mount,
                         const char *cgroup_root, const char *cgroup_driver, bool per_qos,
                         struct kc_error *err)
{
	struct kc_error why;

	memset(ls, 0, sizeof(*ls));
	if ((ls->cgroup_mount = strdup(cgroup_mount)) == NULL)
		return kc_fail(err, KC_ENOMEM, "local state: out of memory");
	if (endpoint != NULL && cri_client_new(endpoint, &ls->cri, &why) != KC_OK) {
		if (why.code == KC_ENOMEM) {
			local_state_free(ls);
			return kc_fail(err, KC_ENOMEM, "local state: out of memory");
		}
		snprintf(ls->cri_error, sizeof(ls->cri_error), "%s", why.msg);
	}
	if (local_pods_layout_parse(cgroup_root, cgroup_driver, per_qos, &ls->layout, &why) ==
	    KC_OK)
		ls->layout_ok = true;
	else
		snprintf(ls->why, sizeof(ls->why), "kubelet cgroup settings: %s", why.msg);
	return KC_OK;
}

static void free_names(struct local_state *ls)
{
	size_t i;

	for (i = 0; i < ls->nsandbox_names; i++)
		free(ls->sandbox_names[i]);
	free(ls->sandbox_names);
	ls->sandbox_names = NULL;
	ls->nsandbox_names = 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * READY sandboxes into ls->pods and ls->sandbox_names. Until the runtime's
 * containers are read, a READY sandbox stands for "runs" (no container
 * detail: containers_known stays false).
 */
static kc_code take_sandboxes(struct local_state *ls, const struct cri_sandboxes *sb,
                              struct kc_error *err)
{
	size_t i, n = 0;
	kc_code rc;

	local_pods_reset(&ls->pods);
	free_names(ls);
	if (sb->count > 0 && (ls->sandbox_names = calloc(sb->count, sizeof(char *))) == NULL)
		return kc_fail(err, KC_ENOMEM, "local state: out of memory");
	for (i = 0; i < sb->count; i++) {
		const struct cri_sandbox *s = &sb->items[i];

		if (!s->ready)
			continue;
		if (s->uid[0] != '\0' && strlen(s->uid) <= LOCAL_POD_UID_MAX) {
			struct local_pod p = local_pod_blank(s->uid);

			p.running = true;
			if ((rc = local_pods_add(&ls->pods, &p, err)) != KC_OK)
				return rc;
		}
		if (asprintf(&ls->sandbox_names[n], "%s/%s", s->namespace, s->name) < 0) {
			ls->sandbox_names[n] = NULL;
			return kc_fail(err, KC_ENOMEM, "local state: out of memory");
		}
		ls->nsandbox_names = ++n;
	}
	local_pods_finish(&ls->pods);
	if (n > 1)
		qsort(ls->sandbox_names, n, sizeof(char *), cmp_str);
	ls->pods.state = LOCAL_PODS_KNOWN;
	return KC_OK;
}

/* KC_OK when the runtime answered; otherwise ls->cri_error says why. */
static kc_code ask_runtime(struct local_state *ls, int64_t now_ms)
{
	struct cri_sandboxes sb = {0};
	struct kc_error err;
	kc_code rc;

	if (ls->cri == NULL)
		return KC_EINVAL; /* cri_error was set at init */
	if (now_ms < ls->cri_retry_ms)
		return KC_EAGAIN; /* cri_error still holds the failure that started the back-off */
	ls->cri_calls++;
	rc = cri_list_sandboxes(ls->cri, &sb, NULL, &err);
	if (rc == KC_OK)
		rc = take_sandboxes(ls, &sb, &err);
	cri_sandboxes_free(&sb);
	if (rc == KC_OK) {
		ls->cri_error[0] = '\0';
		ls->cri_retry_ms = 0;
		return KC_OK;
	}
	ls->cri_failures++;
	snprintf(ls->cri_error, sizeof(ls->cri_error), "%s", err.msg);
	/* A missing socket costs nothing to look for again; anything else does. */
	if (rc != KC_ENOTFOUND)
		ls->cri_retry_ms = now_ms + LOCAL_CRI_BACKOFF_MS;
	return rc;
}

const struct local_pods *local_state_refresh(struct local_state *ls, int64_t now_ms)
{
	struct kc_error err;

	if (ask_runtime(ls, now_ms) == KC_OK) {
		ls->source = LOCAL_SOURCE_CRI;
		ls->why[0] = '\0';
		return &ls->pods;
	}
	free_names(ls);
	if (ls->layout_ok &&
	    local_pods_scan_layout(ls->cgroup_mount, &ls->layout, &ls->pods, &err) == KC_OK) {
		ls->source = LOCAL_SOURCE_CGROUPS;
		snprintf(ls->why, sizeof(ls->why), "container runtime: %s", ls->cri_error);
		return &ls->pods;
	}
	ls->pods.state = LOCAL_PODS_UNKNOWN;
	ls->pods.count = 0;
	ls->source = LOCAL_SOURCE_NONE;
	if (ls->layout_ok)
		snprintf(ls->why, sizeof(ls->why), "container runtime: %s; pod cgroups: %s",
		         ls->cri_error, err.msg);
	else
		snprintf(ls->why, sizeof(ls->why), "container runtime: %s; pod cgroups: %s",
		         ls->cri_error, "the kubelet's cgroup settings are unusable");
	return NULL;
}

bool local_state_sandbox_ready(const struct local_state *ls, const char *namespace,
                               const char *name, bool *known)
{
	char key[512];
	const char *k = key;

	*known = ls->source == LOCAL_SOURCE_CRI;
	if (!*known || ls->nsandbox_names == 0)
		return false;
	snprintf(key, sizeof(key), "%s/%s", namespace, name);
	return bsearch(&k, ls->sandbox_names, ls->nsandbox_names, sizeof(char *), cmp_str) != NULL;
}

const char *local_source_name(enum local_source s)
{
	return s == LOCAL_SOURCE_CRI ? "cri" : s == LOCAL_SOURCE_CGROUPS ? "cgroups" : "unknown";
}

void local_state_free(struct local_state *ls)
{
	cri_client_free(ls->cri);
	free(ls->cgroup_mount);
	free_names(ls);
	local_pods_free(&ls->pods);
	memset(ls, 0, sizeof(*ls));
}
