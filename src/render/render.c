/*
 * render.c: API pod -> self-contained static-pod manifest (docs/design.md §5).
 * The steps: check identity (names, uid) before anything else; let the
 * volume plan resolve every volume reference (one source of truth for the
 * files); then build the manifest from a copy of the spec with every API
 * reference replaced; finally run the independent rule checker on the
 * result, so a rendering bug fails closed instead of reaching the kubelet.
 */
#include <stdio.h>
#include <string.h>

#include "doc.h"
#include "k8s_validate.h"
#include "kc_names.h"
#include "manifest_check.h"
#include "pod_spec.h"
#include "render.h"
#include "render_int.h"
#include "volume_plan.h"
#include "volume_source.h"

static const char *const default_triggers[] = {KC_DEFAULT_TRIGGER_ANNOTATION};

/* Spec fields that tie a pod to the scheduler, the API or one node object. */
static const char *const dropped_spec_fields[] = {
    "nodeName",           "nodeSelector",        "affinity",
    "schedulingGates",    "ephemeralContainers", "resourceClaims",
    "serviceAccountName", "serviceAccount",      "imagePullSecrets",
};

static void triggers_of(const struct render_opts *opts, const char *const **list, size_t *n)
{
	if (opts != NULL && opts->annotations != NULL && opts->nannotations > 0) {
		*list = opts->annotations;
		*n = opts->nannotations;
	} else {
		*list = default_triggers;
		*n = 1;
	}
}

static bool namespace_allowed(const char *ns, const struct render_opts *opts)
{
	size_t i;

	if (opts == NULL || opts->namespaces == NULL)
		return true;
	for (i = 0; i < opts->nnamespaces; i++)
		if (strcmp(opts->namespaces[i], "*") == 0 || strcmp(opts->namespaces[i], ns) == 0)
			return true;
	return false;
}

static kc_code check_trigger(const json_t *annotations, const struct render_opts *opts,
                             struct kc_error *err)
{
	const char *const *triggers;
	const json_t *v;
	size_t n, i;

	triggers_of(opts, &triggers, &n);
	for (i = 0; i < n; i++) {
		v = json_object_get(annotations, triggers[i]);
		if (json_is_string(v) && strcmp(json_string_value(v), "true") == 0)
			return KC_OK;
	}
	for (i = 0; i < n; i++) {
		v = json_object_get(annotations, triggers[i]);
		if (v != NULL)
			return kc_fail(err, KC_EINELIGIBLE,
			               "metadata.annotations.%s: not exactly \"true\": not "
			               "selected for checkpointing",
			               triggers[i]);
	}
	return kc_fail(err, KC_EINELIGIBLE,
	               "metadata.annotations: no %s: \"true\": not selected for checkpointing",
	               triggers[0]);
}

kc_code render_check_eligible(const json_t *pod, const struct render_opts *opts,
                              struct kc_error *err)
{
	const json_t *meta = json_object_get(pod, "metadata");
	const json_t *annotations = json_object_get(meta, "annotations");
	const json_t *deletion = json_object_get(meta, "deletionTimestamp");
	const char *ns = pod_meta_string(pod, "namespace");
	const char *phase =
	    json_string_value(json_object_get(json_object_get(pod, "status"), "phase"));
	const char *node =
	    json_string_value(json_object_get(json_object_get(pod, "spec"), "nodeName"));
	kc_code rc;

	if (!json_is_object(meta))
		return kc_fail(err, KC_EINVAL, "metadata: missing or not a mapping");
	if (annotations != NULL && !json_is_null(annotations) && !json_is_object(annotations))
		return kc_fail(err, KC_EINVAL, "metadata.annotations: must be a mapping");
	if (json_object_get(annotations, "kubernetes.io/config.mirror") != NULL)
		return kc_fail(err, KC_EINELIGIBLE,
		               "metadata.annotations.kubernetes.io/config.mirror: a mirror pod "
		               "(the kubelet already runs it from a static manifest)");
	if ((rc = check_trigger(annotations, opts, err)) != KC_OK)
		return rc;
	if (phase != NULL && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0))
		return kc_fail(err, KC_EINELIGIBLE, "status.phase: the pod has finished (%s)",
		               phase);
	if (deletion != NULL && !json_is_null(deletion))
		return kc_fail(err, KC_EINELIGIBLE,
		               "metadata.deletionTimestamp: the pod is being deleted");
	if (opts != NULL && opts->node_name != NULL) {
		if (node == NULL)
			return kc_fail(err, KC_EINELIGIBLE,
			               "spec.nodeName: not bound to a node (want %s)",
			               opts->node_name);
		if (strcmp(node, opts->node_name) != 0)
			return kc_fail(err, KC_EINELIGIBLE,
			               "spec.nodeName: bound to %.253s, not to this node (%s)",
			               node, opts->node_name);
	}
	if (ns == NULL)
		return kc_fail(err, KC_EINVAL, "metadata.namespace: missing");
	if (!namespace_allowed(ns, opts))
		return kc_fail(err, KC_EINELIGIBLE,
		               "metadata.namespace: %.63s is not an allowed namespace", ns);
	return KC_OK;
}

/* metadata.<key> as a string checked by check; errors name the field. */
static kc_code identity_field(const json_t *pod, const char *key,
                              kc_code (*check)(const char *, struct kc_error *), const char **out,
                              struct kc_error *err)
{
	const json_t *v = json_object_get(json_object_get(pod, "metadata"), key);

	if (v == NULL || json_is_null(v))
		return kc_fail(err, KC_EINVAL, "metadata.%s: missing", key);
	if (!json_is_string(v))
		return kc_fail(err, KC_EINVAL, "metadata.%s: must be a string", key);
	*out = json_string_value(v);
	if (check(*out, err) != KC_OK)
		return kc_error_prefix(err, "metadata.%s", key);
	return KC_OK;
}

/* Names, uid and the kubelet's "<name>-<node>" before anything uses them. */
static kc_code check_identity(const json_t *pod, const struct render_opts *opts,
                              struct kc_error *err)
{
	const json_t *spec = json_object_get(pod, "spec");
	const char *name, *ns, *uid, *node;
	kc_code rc;

	if ((rc = identity_field(pod, "name", k8s_check_dns_subdomain, &name, err)) != KC_OK ||
	    (rc = identity_field(pod, "namespace", k8s_check_dns_label, &ns, err)) != KC_OK ||
	    (rc = identity_field(pod, "uid", k8s_check_uuid, &uid, err)) != KC_OK)
		return rc;
	if (!json_is_object(spec))
		return kc_fail(err, KC_EINVAL, "spec: missing or not a mapping");
	if (opts != NULL && opts->node_name != NULL)
		node = opts->node_name;
	else
		node = json_string_value(json_object_get(spec, "nodeName"));
	if (node != NULL && k8s_check_static_pod_name(name, node, err) != KC_OK)
		return kc_error_prefix(err, "metadata.name");
	if (json_array_size(json_object_get(spec, "containers")) == 0)
		return kc_fail(err, KC_EINVAL, "spec.containers: missing or empty");
	if (json_array_size(json_object_get(spec, "resourceClaims")) > 0)
		return kc_fail(err, KC_ENOTCHECKPOINTABLE,
		               "spec.resourceClaims: dynamic resource claims need the API, cannot "
		               "be made self-contained");
	return KC_OK;
}

struct container_ctx {
	const char *ns;
	const struct kc_objects *objs;
	const json_t *materialised; /* volume name -> true */
	bool host_network;
	bool inline_secrets; /* KC_ANNOTATION_INLINE_SECRET_ENV: "true" */
};

/* Mounts of materialised volumes are read-only, as the kubelet mounts them. */
static kc_code mark_mounts(json_t *c, const char *path, const json_t *materialised,
                           struct kc_error *err)
{
	json_t *mounts = json_object_get(c, "volumeMounts"), *m;
	const char *name;
	size_t i;

	if (mounts == NULL || json_is_null(mounts))
		return KC_OK;
	if (!json_is_array(mounts))
		return kc_fail(err, KC_EINVAL, "%s.volumeMounts: must be a list", path);
	if ((mounts = rd_own_child(c, "volumeMounts")) == NULL)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	json_array_foreach(mounts, i, m)
	{
		name = json_string_value(json_object_get(m, "name"));
		if (name == NULL)
			return kc_fail(err, KC_EINVAL, "%s.volumeMounts[%zu].name: missing", path,
			               i);
		if (json_object_get(materialised, name) == NULL)
			continue;
		if ((m = json_copy(m)) == NULL || json_array_set_new(mounts, i, m) != 0 ||
		    json_object_set_new(m, "readOnly", json_true()) != 0)
			return kc_fail(err, KC_ENOMEM, "out of memory");
	}
	return KC_OK;
}

static kc_code render_container(json_t *c, const char *path, void *arg, struct kc_error *err)
{
	struct container_ctx *ctx = arg;
	const char *policy = json_string_value(json_object_get(c, "imagePullPolicy"));
	kc_code rc;

	if ((rc = render_env(c, path, ctx->ns, ctx->objs, ctx->inline_secrets, err)) != KC_OK ||
	    (rc = render_ports(c, path, ctx->host_network, err)) != KC_OK ||
	    (rc = mark_mounts(c, path, ctx->materialised, err)) != KC_OK)
		return rc;
	/* The image that ran is on the node; the registry may be unreachable. */
	if ((policy == NULL || strcmp(policy, "Always") == 0) &&
	    json_object_set_new(c, "imagePullPolicy", json_string("IfNotPresent")) != 0)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	return KC_OK;
}

/* Private copies of the container lists and of every container in them. */
static int own_containers(json_t *spec)
{
	static const char *const lists[] = {"initContainers", "containers"};
	json_t *list, *c;
	size_t l, i;

	for (l = 0; l < 2; l++) {
		if (!json_is_array(json_object_get(spec, lists[l])))
			continue;
		if ((list = rd_own_child(spec, lists[l])) == NULL)
			return -1;
		json_array_foreach(list, i, c)
		{
			if (json_is_object(c) && json_array_set_new(list, i, json_copy(c)) != 0)
				return -1;
		}
	}
	return 0;
}

/* Volumes in the plan become hostPath directories under the state dir. */
static kc_code render_volumes(json_t *spec, const struct vp_plan *plan, const char *state_dir,
                              json_t *materialised, struct kc_error *err)
{
	json_t *volumes = NULL, *v;
	char dir[4096];
	size_t i, k;
	kc_code rc;

	if (plan->nvolumes > 0 && (volumes = rd_own_child(spec, "volumes")) == NULL)
		return kc_fail(err, KC_ENOMEM, "out of memory");

	for (k = 0; k < plan->nvolumes; k++) {
		if ((rc = volume_plan_volume_dir(state_dir, plan->uid, plan->volumes[k].name, dir,
		                                 sizeof(dir), err)) != KC_OK)
			return rc;
		json_array_foreach(volumes, i, v)
		{
			if (strcmp(json_string_value(json_object_get(v, "name")),
			           plan->volumes[k].name) != 0)
				continue;
			v = json_pack("{s:s, s:{s:s, s:s}}", "name", plan->volumes[k].name,
			              "hostPath", "path", dir, "type", "Directory");
			if (v == NULL || json_array_set_new(volumes, i, v) != 0 ||
			    json_object_set_new(materialised, plan->volumes[k].name, json_true()) !=
			        0)
				return kc_fail(err, KC_ENOMEM, "out of memory");
			break;
		}
	}
	return KC_OK;
}

static kc_code render_spec(const json_t *pod, const struct kc_objects *objs,
                           const struct render_opts *opts, const struct vp_plan *plan, json_t **out,
                           struct kc_error *err)
{
	struct container_ctx ctx = {.ns = pod_meta_string(pod, "namespace"), .objs = objs};
	const char *state_dir =
	    opts != NULL && opts->state_dir != NULL ? opts->state_dir : KC_DEFAULT_STATE_DIR;
	json_t *spec = json_copy(json_object_get(pod, "spec"));
	json_t *materialised = json_object();
	size_t i;
	kc_code rc;

	*out = NULL;
	if (spec == NULL || materialised == NULL || own_containers(spec) != 0) {
		rc = kc_fail(err, KC_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < sizeof(dropped_spec_fields) / sizeof(dropped_spec_fields[0]); i++)
		json_object_del(spec, dropped_spec_fields[i]);
	if (json_object_set_new(spec, "automountServiceAccountToken", json_false()) != 0) {
		rc = kc_fail(err, KC_ENOMEM, "out of memory");
		goto out;
	}
	ctx.host_network = json_is_true(json_object_get(spec, "hostNetwork"));
	ctx.materialised = materialised;
	{
		const json_t *ann =
		    json_object_get(json_object_get(pod, "metadata"), "annotations");
		const json_t *allow = json_object_get(ann, KC_ANNOTATION_INLINE_SECRET_ENV);

		/* Exactly "true", like the trigger annotation. */
		ctx.inline_secrets =
		    json_is_string(allow) && strcmp(json_string_value(allow), "true") == 0;
	}
	if ((rc = render_volumes(spec, plan, state_dir, materialised, err)) != KC_OK ||
	    (rc = pod_spec_each_container(spec, render_container, &ctx, err)) != KC_OK ||
	    (rc = render_handoff(spec, opts, err)) != KC_OK)
		goto out;
	*out = spec;
	spec = NULL;
out:
	json_decref(spec);
	json_decref(materialised);
	return rc;
}

kc_code render_pod(const json_t *pod, const struct kc_objects *objs, const struct render_opts *opts,
                   json_t **manifest, struct kc_error *err)
{
	const char *const *triggers;
	struct vp_plan plan;
	json_t *meta = NULL, *spec = NULL;
	size_t ntriggers;
	kc_code rc;

	*manifest = NULL;
	if ((rc = check_identity(pod, opts, err)) != KC_OK)
		return rc;
	if ((rc = volume_plan_build(pod, objs, &plan, err)) != KC_OK)
		return rc;
	triggers_of(opts, &triggers, &ntriggers);
	if ((rc = render_spec(pod, objs, opts, &plan, &spec, err)) != KC_OK ||
	    (rc = render_metadata(pod, triggers, ntriggers, &meta, err)) != KC_OK)
		goto out;
	*manifest = json_pack("{s:s, s:s, s:O, s:O}", "apiVersion", "v1", "kind", "Pod", "metadata",
	                      meta, "spec", spec);
	if (*manifest == NULL) {
		rc = kc_fail(err, KC_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = manifest_verify(*manifest, pod, err)) != KC_OK) {
		json_decref(*manifest);
		*manifest = NULL;
	}
out:
	json_decref(meta);
	json_decref(spec);
	volume_plan_free(&plan);
	return rc;
}

kc_code render_manifest_bytes(const json_t *manifest, struct kc_buf *out, struct kc_error *err)
{
	size_t start = out->len, limit = out->limit;
	kc_code rc;

	/*
	 * Written in place (no buffer of its own grown and copied per pod), at
	 * most RENDER_MAX_MANIFEST bytes of it; doc_emit_yaml leaves out as it
	 * was when it fails. A limit of out's own that comes first is out's.
	 */
	if (limit == 0 || limit - start >= RENDER_MAX_MANIFEST)
		out->limit = start + RENDER_MAX_MANIFEST;
	rc = doc_emit_yaml(manifest, DOC_EMIT_SORT_KEYS, out, err);
	out->limit = limit;
	if (rc == KC_ETOOBIG && (limit == 0 || limit - start >= RENDER_MAX_MANIFEST))
		rc = kc_fail(err, KC_ETOOBIG,
		             "manifest is over the kubelet's %u MiB static pod file limit",
		             RENDER_MAX_MANIFEST / (1024 * 1024));
	return rc;
}
