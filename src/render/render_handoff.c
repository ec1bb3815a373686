/*
 * render_handoff.c: what the bridge copy changes so that it hands the node
 * back to its parent quickly and without harm (issue 10; the README's
 * "Hand-off" section has the whole story).
 *
 * terminationGracePeriodSeconds is capped (render_opts.grace_cap, default
 * RENDER_DEFAULT_GRACE_CAP, the agent's --bridge-grace-period): when the
 * agent removes a bridge manifest the kubelet kills the static pod with that
 * grace, and until it is gone the returning parent cannot bind its ports
 * (hostNetwork) or be admitted (hostPort). A parent's own 30 s or 300 s
 * would keep it waiting that long.
 *
 * Resource requests of cpu, memory and ephemeral-storage become "0" in every
 * init and regular container and in pod-level spec.resources: the kubelet
 * admits a pod only if the requests of every pod it runs, static ones
 * included, plus the new pod's fit the node (pkg/kubelet/lifecycle/
 * predicate.go, generalFilter -> scheduler.AdmissionCheck -> noderesources
 * Fits), so during the overlap the bridge's requests would count twice with
 * the parent's: on a full node the parent is rejected OutOfcpu/OutOfmemory
 * (Failed for good), or, being critical, the kubelet evicts other pods to
 * admit it (pkg/kubelet/preemption). A request given as "0" stays 0: the
 * defaulting that copies limits into missing requests (SetDefaults_Pod) only
 * fills absent keys, so a key present only in limits is set to "0" too.
 * Limits stay, so the bridge remains bounded; it becomes Burstable (or
 * BestEffort) and gets the smallest CPU weight, which is the price of never
 * crowding the parent out. A static pod is critical, so the kubelet's
 * eviction manager does not evict it for that. Extended resources and
 * hugepages are left as they are: Kubernetes requires their requests to
 * equal their limits.
 */
#include <string.h>

#include "pod_spec.h"
#include "render_int.h"

static const char *const zeroed[] = {"cpu", "memory", "ephemeral-storage"};

/*
 * requests[key] = "0" for every zeroed key present in requests or limits of
 * owner.resources. The manifest shares unchanged values with the source pod
 * (render_cow.c): resources and requests are copied before they change.
 */
static kc_code zero_requests(json_t *owner, const char *path, struct kc_error *err)
{
	json_t *resources = json_object_get(owner, "resources"), *requests, *limits;
	bool needed = false;
	size_t i;

	if (resources == NULL || json_is_null(resources))
		return KC_OK;
	if (!json_is_object(resources))
		return kc_fail(err, KC_EINVAL, "%s.resources: must be a mapping", path);
	requests = json_object_get(resources, "requests");
	limits = json_object_get(resources, "limits");
	for (i = 0; i < sizeof(zeroed) / sizeof(zeroed[0]); i++)
		needed = needed || json_object_get(requests, zeroed[i]) != NULL ||
		         json_object_get(limits, zeroed[i]) != NULL;
	if (!needed)
		return KC_OK;
	if ((resources = rd_own_child(owner, "resources")) == NULL)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	if (json_is_object(requests))
		requests = rd_own_child(resources, "requests");
	else if ((requests = json_object()) != NULL &&
	         json_object_set_new(resources, "requests", requests) != 0)
		requests = NULL;
	if (requests == NULL)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	for (i = 0; i < sizeof(zeroed) / sizeof(zeroed[0]); i++) {
		if (json_object_get(requests, zeroed[i]) == NULL &&
		    json_object_get(limits, zeroed[i]) == NULL)
			continue;
		if (json_object_set_new(requests, zeroed[i], json_string("0")) != 0)
			return kc_fail(err, KC_ENOMEM, "out of memory");
	}
	return KC_OK;
}

static kc_code container_requests(json_t *container, const char *path, void *ctx,
                                  struct kc_error *err)
{
	return zero_requests(container, path, err);
}

kc_code render_handoff(json_t *spec, const struct render_opts *opts, struct kc_error *err)
{
	unsigned cap =
	    opts != NULL && opts->grace_cap_set ? opts->grace_cap : RENDER_DEFAULT_GRACE_CAP;
	json_t *grace = json_object_get(spec, "terminationGracePeriodSeconds");
	json_int_t want = cap;
	kc_code rc;

	/* Absent means the API default, 30 s, which is over any sane cap. */
	if (json_is_integer(grace) && json_integer_value(grace) >= 0 &&
	    json_integer_value(grace) < want)
		want = json_integer_value(grace);
	if (json_object_set_new(spec, "terminationGracePeriodSeconds", json_integer(want)) != 0)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	if ((rc = zero_requests(spec, "spec", err)) != KC_OK)
		return rc;
	return pod_spec_each_container(spec, container_requests, NULL, err);
}
