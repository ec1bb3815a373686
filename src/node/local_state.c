/*
 * local_state.c: the pods running on this node, from the container runtime
 * first and the pod cgroups second (see local_state.h for the rules and the
 * back-off).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc_clock.h"
#include "local_state.h"

kc_code local_state_init(struct local_state *ls, const char *endpoint, bool endpoint_named,
                         const char *cgroup_mount, const char *cgroup_root,
                         const char *cgroup_driver, bool per_qos, struct kc_error *err)
{
	struct kc_error why;

	memset(ls, 0, sizeof(*ls));
	if ((ls->cgroup_mount = strdup(cgroup_mount)) == NULL)
		return kc_fail(err, KC_ENOMEM, "local state: out of memory");
	if (endpoint != NULL && cri_client_new(endpoint, endpoint_named, &ls->cri, &why) != KC_OK) {
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

/* The names of the READY sandboxes into ls->sandbox_names. */
static kc_code take_sandboxes(struct local_state *ls, const struct cri_sandboxes *sb,
                              struct kc_error *err)
{
	size_t i, n = 0;

	free_names(ls);
	if (sb->count > 0 && (ls->sandbox_names = calloc(sb->count, sizeof(char *))) == NULL)
		return kc_fail(err, KC_ENOMEM, "local state: out of memory");
	for (i = 0; i < sb->count; i++) {
		const struct cri_sandbox *s = &sb->items[i];

		if (!s->ready)
			continue;
		if (asprintf(&ls->sandbox_names[n], "%s/%s", s->namespace, s->name) < 0) {
			ls->sandbox_names[n] = NULL;
			return kc_fail(err, KC_ENOMEM, "local state: out of memory");
		}
		ls->nsandbox_names = ++n;
	}
	if (n > 1)
		qsort(ls->sandbox_names, n, sizeof(char *), cmp_str);
	return KC_OK;
}

/* created_at (nanoseconds) as wall-clock milliseconds; -1 when the runtime gave none. */
static int64_t created_ms(int64_t created_ns)
{
	return created_ns > 0 ? created_ns / 1000000 : -1;
}

kc_code local_pods_from_containers(const struct cri_containers *cs, struct local_pods *out,
                                   struct kc_error *err)
{
	size_t i;
	kc_code rc;

	local_pods_reset(out);
	for (i = 0; i < cs->count; i++) {
		const struct cri_container *ct = &cs->items[i];
		struct local_pod p;

		if (ct->uid[0] == '\0' || strlen(ct->uid) > LOCAL_POD_UID_MAX)
			continue;
		p = local_pod_blank(ct->uid);
		p.newest_created_ms = created_ms(ct->created_ns);
		p.running = ct->regular && ct->state == CRI_CONTAINER_RUNNING;
		if (p.running)
			p.running_since_ms = p.newest_created_ms;
		if ((rc = local_pods_add(out, &p, err)) != KC_OK)
			return rc;
	}
	local_pods_finish(out);
	out->state = LOCAL_PODS_KNOWN;
	out->containers_known = true;
	return KC_OK;
}

/* An answer refused for what it says, not for how it came: the runtime lies. */
static bool answer_refused(kc_code rc)
{
	return rc == KC_ETOOBIG || rc == KC_ECORRUPT;
}

/*
 * Both lists by one deadline. KC_OK when the runtime answered; otherwise
 * ls->cri_error says why.
 */
static kc_code ask_runtime(struct local_state *ls, int64_t now_ms)
{
	struct cri_sandboxes sb = {0};
	struct cri_containers cs = {0};
	int64_t deadline = kc_clock_ms() + CRI_TIMEOUT_MS;
	struct kc_error err;
	kc_code rc;

	if (ls->cri == NULL)
		return KC_EINVAL; /* cri_error was set at init */
	if (now_ms < ls->cri_retry_ms)
		return KC_EAGAIN; /* cri_error still holds the failure that started the back-off */
	ls->cri_calls++;
	rc = cri_list_sandboxes(ls->cri, deadline, &sb, NULL, &err);
	if (rc == KC_OK)
		rc = cri_list_containers(ls->cri, deadline, &cs, NULL, &err);
	if (rc == KC_OK && (rc = take_sandboxes(ls, &sb, &err)) == KC_OK)
		rc = local_pods_from_containers(&cs, &ls->pods, &err);
	cri_sandboxes_free(&sb);
	cri_containers_free(&cs);
	ls->cri_lying = answer_refused(rc);
	if (rc == KC_OK) {
		ls->cri_error[0] = '\0';
		ls->cri_retry_ms = 0;
		return KC_OK;
	}
	ls->cri_failures++;
	ls->cri_refused += ls->cri_lying;
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
	if (ls->cri_lying) {
		/* The cgroups would say less than the runtime, and the runtime lies. */
		local_pods_reset(&ls->pods);
		ls->source = LOCAL_SOURCE_NONE;
		snprintf(ls->why, sizeof(ls->why),
		         "container runtime: %s (a runtime that lies is not replaced by the pod "
		         "cgroups)",
		         ls->cri_error);
		return NULL;
	}
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
