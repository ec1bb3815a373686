/*
 * manifest_check.c: the independent rule checker (see manifest_check.h).
 * It reads the manifest as the kubelet would and lists every broken rule.
 * It shares only the name validators (k8s_validate), the reader of a volume's
 * one source key (volume_source_kind) and the contract names with render:
 * its lists of controller labels and of the volume sources a
 * static pod may use are its own, taken from Kubernetes directly, so that a
 * mistake in the renderer's lists (render_meta.c, k8s/volume_source.c) is not
 * repeated by the checker that verifies its output.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s_validate.h"
#include "kc_names.h"
#include "kc_str.h"
#include "manifest_check.h"
#include "pod_spec.h"
#include "volume_source.h"

/*
 * Labels a controller adds to the pods it makes, each pinning a pod to one
 * revision (k8s.io/api apps/v1 types.go): DefaultDeploymentUniqueLabelKey,
 * ControllerRevisionHashLabelKey, DeprecatedTemplateGeneration.
 */
static const char *const controller_labels[] = {"pod-template-hash", "controller-revision-hash",
                                                "pod-template-generation"};

/*
 * The kubelet refuses a static pod that references an API object:
 * HasAPIObjectReference in kubernetes/kubernetes pkg/api/pod/util.go. These
 * are the volume sources it lets through ...
 */
static const char *const static_kinds[] = {
    "awsElasticBlockStore",
    "azureDisk",
    "cephfs",
    "cinder",
    "downwardAPI",
    "emptyDir",
    "fc",
    "flexVolume",
    "flocker",
    "gcePersistentDisk",
    "gitRepo",
    "hostPath",
    "image",
    "iscsi",
    "nfs",
    "photonPersistentDisk",
    "portworxVolume",
    "quobyte",
    "rbd",
    "scaleIO",
    "storageos",
    "vsphereVolume",
};

/* ... unless a secretRef names a Secret (VisitPodSecretNames, same file). */
static const char *const secret_ref_kinds[] = {"cephfs", "cinder",  "flexVolume", "iscsi",
                                               "rbd",    "scaleIO", "storageos"};

/* What becomes of a pod volume in a bridge manifest. */
enum mc_volume {
	MC_VOL_STATIC,       /* the kubelet takes it as it is */
	MC_VOL_MATERIALISED, /* its Secret/ConfigMap/token data becomes a hostPath */
	MC_VOL_REFUSED,      /* no static pod may have it; why says which part */
};

struct checker {
	struct mc_report *report;
	kc_code rc; /* KC_ENOMEM once an allocation failed */
};

static void problem(struct checker *ck, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(struct checker *ck, const char *fmt, ...)
{
	char line[KC_ERROR_MSG_MAX], **grown;
	va_list ap;

	if (ck->rc != KC_OK)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	grown = realloc(ck->report->problems, (ck->report->count + 1) * sizeof(*grown));
	if (grown == NULL) {
		ck->rc = KC_ENOMEM;
		return;
	}
	ck->report->problems = grown;
	if ((grown[ck->report->count] = strdup(line)) == NULL) {
		ck->rc = KC_ENOMEM;
		return;
	}
	ck->report->count++;
}

static void check_only_keys(struct checker *ck, const json_t *obj, const char *path,
                            const char *const *allowed, size_t nallowed)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)obj, key, v) if (!kc_str_in(key, allowed, nallowed))
	    problem(ck, "%s%s: must not be set", path, key);
}

/* A projected volume: downwardAPI alone is static; Secret, ConfigMap and token data are laid. */
static enum mc_volume classify_projected(const json_t *projected, char *why, size_t whysz)
{
	const json_t *sources = json_object_get(projected, "sources"), *src;
	enum mc_volume cls = MC_VOL_STATIC;
	const char *kind;
	size_t i;

	json_array_foreach(sources, i, src)
	{
		kind = volume_source_kind(src);
		if (kind != NULL && strcmp(kind, "downwardAPI") == 0)
			continue;
		if (kind != NULL &&
		    (strcmp(kind, "secret") == 0 || strcmp(kind, "configMap") == 0 ||
		     strcmp(kind, "serviceAccountToken") == 0)) {
			cls = MC_VOL_MATERIALISED;
			continue;
		}
		snprintf(why, whysz, "projected.sources[%zu].%s: needs the API", i,
		         kind ? kind : "(not one source)");
		return MC_VOL_REFUSED;
	}
	return cls;
}

static enum mc_volume classify_volume(const json_t *v, char *why, size_t whysz)
{
	const char *kind = json_is_object(v) ? volume_source_kind(v) : NULL;
	const json_t *src = kind ? json_object_get(v, kind) : NULL;

	if (!json_is_object(src)) {
		snprintf(why, whysz, "must hold exactly one volume source (a mapping)");
		return MC_VOL_REFUSED;
	}
	if (KC_STR_IN(kind, secret_ref_kinds) && json_object_get(src, "secretRef") != NULL &&
	    !json_is_null(json_object_get(src, "secretRef"))) {
		snprintf(why, whysz, "%s.secretRef: references a Secret", kind);
		return MC_VOL_REFUSED;
	}
	if (KC_STR_IN(kind, static_kinds))
		return MC_VOL_STATIC;
	if (strcmp(kind, "secret") == 0 || strcmp(kind, "configMap") == 0)
		return MC_VOL_MATERIALISED;
	if (strcmp(kind, "projected") == 0)
		return classify_projected(src, why, whysz);
	snprintf(why, whysz, "%s: a static pod may not use it (HasAPIObjectReference)", kind);
	return MC_VOL_REFUSED;
}

static void check_name(struct checker *ck, const char *path, const char *value, bool label)
{
	struct kc_error e;

	if (value == NULL) {
		problem(ck, "%s: missing", path);
		return;
	}
	if ((label ? k8s_check_dns_label(value, &e) : k8s_check_dns_subdomain(value, &e)) != KC_OK)
		problem(ck, "%s: %s", path, e.msg);
}

static void check_markers(struct checker *ck, const json_t *annotations, const char *ns,
                          const char *name, const json_t *source)
{
	const char *of =
	    json_string_value(json_object_get(annotations, KC_ANNOTATION_CHECKPOINT_OF));
	const char *uid = json_string_value(json_object_get(annotations, KC_ANNOTATION_SOURCE_UID));
	const char *src_ns = pod_meta_string(source, "namespace");
	const char *src_name = pod_meta_string(source, "name");
	const char *src_uid = pod_meta_string(source, "uid");
	char want[320];
	struct kc_error e;

	snprintf(want, sizeof(want), "%s/%s", ns ? ns : "", name ? name : "");
	if (of == NULL)
		problem(ck, "metadata.annotations.%s: missing", KC_ANNOTATION_CHECKPOINT_OF);
	else if (strcmp(of, want) != 0)
		problem(ck, "metadata.annotations.%s: '%.300s' is not '%s'",
		        KC_ANNOTATION_CHECKPOINT_OF, of, want);
	if (uid == NULL)
		problem(ck, "metadata.annotations.%s: missing", KC_ANNOTATION_SOURCE_UID);
	else if (k8s_check_uuid(uid, &e) != KC_OK)
		problem(ck, "metadata.annotations.%s: %s", KC_ANNOTATION_SOURCE_UID, e.msg);
	if (source == NULL)
		return;
	if (src_ns == NULL || src_name == NULL || ns == NULL || name == NULL ||
	    strcmp(src_ns, ns) != 0 || strcmp(src_name, name) != 0)
		problem(ck, "metadata: does not name the source pod %s/%s", src_ns ? src_ns : "?",
		        src_name ? src_name : "?");
	if (uid != NULL && (src_uid == NULL || strcmp(uid, src_uid) != 0))
		problem(ck, "metadata.annotations.%s: '%.64s' is not the source pod's uid",
		        KC_ANNOTATION_SOURCE_UID, uid);
}

static void check_metadata(struct checker *ck, const json_t *manifest, const json_t *source)
{
	static const char *const allowed[] = {"name", "namespace", "labels", "annotations"};
	const json_t *meta = json_object_get(manifest, "metadata");
	const json_t *labels = json_object_get(meta, "labels");
	const json_t *annotations = json_object_get(meta, "annotations");
	const char *key;
	json_t *v;

	if (!json_is_object(meta)) {
		problem(ck, "metadata: missing");
		return;
	}
	check_only_keys(ck, meta, "metadata.", allowed, sizeof(allowed) / sizeof(allowed[0]));
	check_name(ck, "metadata.name", pod_meta_string(manifest, "name"), false);
	check_name(ck, "metadata.namespace", pod_meta_string(manifest, "namespace"), true);
	json_object_foreach((json_t *)labels, key, v) if (KC_STR_IN(key, controller_labels))
	    problem(ck, "metadata.labels.%s: controller label must be dropped", key);
	json_object_foreach((json_t *)annotations, key, v)
	{
		if (strncmp(key, "kubernetes.io/config.", 21) == 0)
			problem(ck, "metadata.annotations.%s: kubelet-owned annotation", key);
		if (strcmp(key, KC_DEFAULT_TRIGGER_ANNOTATION) == 0)
			problem(ck, "metadata.annotations.%s: trigger annotation must be dropped",
			        key);
	}
	check_markers(ck, annotations, pod_meta_string(manifest, "namespace"),
	              pod_meta_string(manifest, "name"), source);
}

struct container_check {
	struct checker *ck;
	bool host_network;
};

static void check_named_ports(struct checker *ck, const json_t *handler, const char *path)
{
	static const char *const actions[] = {"httpGet", "tcpSocket", "grpc"};
	size_t i;

	for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (json_is_string(json_object_get(json_object_get(handler, actions[i]), "port")))
			problem(ck, "%s.%s.port: named port on a hostNetwork pod without ports",
			        path, actions[i]);
}

/* A quantity that is zero: "0" (any spelling render writes) or the integer 0. */
static bool is_zero_quantity(const json_t *q)
{
	return (json_is_string(q) && strcmp(json_string_value(q), "0") == 0) ||
	       (json_is_integer(q) && json_integer_value(q) == 0);
}

/*
 * The hand-off rule on requests (render_handoff.c): cpu, memory and
 * ephemeral-storage requests are 0, and present whenever the limit is (else
 * the kubelet's defaulting copies the limit into the request).
 */
static void check_requests(struct checker *ck, const json_t *resources, const char *path)
{
	static const char *const keys[] = {"cpu", "memory", "ephemeral-storage"};
	const json_t *req = json_object_get(resources, "requests");
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const json_t *q = json_object_get(req, keys[i]);

		if (q != NULL && !is_zero_quantity(q))
			problem(ck,
			        "%s.resources.requests.%s: must be 0 (the bridge must not count "
			        "against its parent's admission)",
			        path, keys[i]);
		else if (q == NULL &&
		         json_object_get(json_object_get(resources, "limits"), keys[i]) != NULL)
			problem(ck,
			        "%s.resources.requests.%s: must be set to 0 (a limit alone is "
			        "defaulted into the request)",
			        path, keys[i]);
	}
}

static kc_code check_container(json_t *c, const char *path, void *arg, struct kc_error *err)
{
	static const char *const probes[] = {"livenessProbe", "readinessProbe", "startupProbe"};
	static const char *const hooks[] = {"postStart", "preStop"};
	struct container_check *cc = arg;
	struct checker *ck = cc->ck;
	const char *policy = json_string_value(json_object_get(c, "imagePullPolicy"));
	const json_t *e, *from;
	char hpath[256];
	size_t i;

	json_array_foreach(json_object_get(c, "env"), i, e)
	{
		from = json_object_get(e, "valueFrom");
		if (json_object_get(from, "secretKeyRef") != NULL)
			problem(ck, "%s.env[%zu].valueFrom.secretKeyRef: references a Secret", path,
			        i);
		if (json_object_get(from, "configMapKeyRef") != NULL)
			problem(ck, "%s.env[%zu].valueFrom.configMapKeyRef: references a ConfigMap",
			        path, i);
	}
	if (json_object_get(c, "envFrom") != NULL)
		problem(ck, "%s.envFrom: references Secrets/ConfigMaps", path);
	if (policy != NULL && strcmp(policy, "Always") == 0)
		problem(ck, "%s.imagePullPolicy: Always needs a reachable registry", path);
	check_requests(ck, json_object_get(c, "resources"), path);
	if (!cc->host_network)
		return KC_OK;
	if (json_object_get(c, "ports") != NULL)
		problem(ck, "%s.ports: a hostNetwork bridge pod must declare no ports", path);
	for (i = 0; i < 3; i++) {
		snprintf(hpath, sizeof(hpath), "%s.%s", path, probes[i]);
		check_named_ports(ck, json_object_get(c, probes[i]), hpath);
	}
	for (i = 0; i < 2; i++) {
		snprintf(hpath, sizeof(hpath), "%s.lifecycle.%s", path, hooks[i]);
		check_named_ports(ck, json_object_get(json_object_get(c, "lifecycle"), hooks[i]),
		                  hpath);
	}
	return KC_OK;
}

static void check_volumes(struct checker *ck, const json_t *spec)
{
	const json_t *v;
	char why[256];
	size_t i;

	json_array_foreach(json_object_get(spec, "volumes"), i, v)
	{
		switch (classify_volume(v, why, sizeof(why))) {
		case MC_VOL_STATIC:
			break;
		case MC_VOL_MATERIALISED:
			problem(ck, "spec.volumes[%zu].%s: references the API", i,
			        volume_source_kind(v));
			break;
		case MC_VOL_REFUSED:
			problem(ck, "spec.volumes[%zu]: %s", i, why);
			break;
		}
		check_name(ck, "spec.volumes[].name", json_string_value(json_object_get(v, "name")),
		           true);
	}
}

/* Mounts of volume name in every container are read-only. */
static kc_code check_mount_ro(json_t *c, const char *path, void *arg, struct kc_error *err)
{
	const char **ctx = arg; /* [0] volume name, [1] unused */
	const json_t *m;
	size_t i;

	json_array_foreach(json_object_get(c, "volumeMounts"), i, m)
	{
		const char *n = json_string_value(json_object_get(m, "name"));

		if (n != NULL && strcmp(n, ctx[0]) == 0 &&
		    !json_is_true(json_object_get(m, "readOnly")))
			return kc_fail(err, KC_EINVAL, "%s.volumeMounts[%zu]: must be readOnly",
			               path, i);
	}
	return KC_OK;
}

static const json_t *volume_named(const json_t *spec, const char *name)
{
	const json_t *v;
	size_t i;

	json_array_foreach(json_object_get(spec, "volumes"), i, v)
	{
		const char *n = json_string_value(json_object_get(v, "name"));

		if (n != NULL && strcmp(n, name) == 0)
			return v;
	}
	return NULL;
}

static void check_against_source(struct checker *ck, const json_t *spec, const json_t *source)
{
	static const char *const kept[] = {"tolerations", "priority", "priorityClassName",
	                                   "preemptionPolicy"};
	const json_t *src_spec = json_object_get(source, "spec"), *v, *out, *hp;
	const char *name, *path, *uid = pod_meta_string(source, "uid");
	enum mc_volume cls;
	char suffix[320], why[256];
	struct kc_error e;
	size_t i, n;

	for (i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
		const json_t *a = json_object_get(spec, kept[i]),
		             *b = json_object_get(src_spec, kept[i]);

		if ((a == NULL) != (b == NULL) || (a != NULL && !json_equal(a, b)))
			problem(ck, "spec.%s: differs from the source pod", kept[i]);
	}
	json_array_foreach(json_object_get(src_spec, "volumes"), i, v)
	{
		name = json_string_value(json_object_get(v, "name"));
		if (name == NULL || (cls = classify_volume(v, why, sizeof(why))) == MC_VOL_REFUSED)
			continue; /* the renderer refuses such a pod: nothing to compare */
		if ((out = volume_named(spec, name)) == NULL) {
			problem(ck, "spec.volumes: volume '%s' of the source pod is missing", name);
			continue;
		}
		if (cls != MC_VOL_MATERIALISED)
			continue;
		hp = json_object_get(out, "hostPath");
		path = json_string_value(json_object_get(hp, "path"));
		snprintf(suffix, sizeof(suffix), "/volumes/%s/%s", uid ? uid : "", name);
		n = strlen(suffix);
		if (path == NULL || strlen(path) < n ||
		    strcmp(path + strlen(path) - n, suffix) != 0 ||
		    !json_is_string(json_object_get(hp, "type")) ||
		    strcmp(json_string_value(json_object_get(hp, "type")), "Directory") != 0)
			problem(ck, "spec.volumes '%s': must be a hostPath Directory at .../%s",
			        name, suffix + 1);
		if (pod_spec_each_container(spec, check_mount_ro, (void *)&name, &e) != KC_OK)
			problem(ck, "%s", e.msg);
	}
}

/*
 * terminationGracePeriodSeconds is set (capped by render_handoff.c) and,
 * with the source, never longer than the parent's (30 s when it had none).
 */
static void check_grace(struct checker *ck, const json_t *spec, const json_t *source)
{
	const json_t *g = json_object_get(spec, "terminationGracePeriodSeconds");
	const json_t *sg =
	    json_object_get(json_object_get(source, "spec"), "terminationGracePeriodSeconds");
	json_int_t limit = json_is_integer(sg) ? json_integer_value(sg) : 30;

	if (!json_is_integer(g) || json_integer_value(g) < 0) {
		problem(ck, "spec.terminationGracePeriodSeconds: must be set (the bridge's grace "
		            "is capped)");
		return;
	}
	if (source != NULL && json_integer_value(g) > limit)
		problem(ck,
		        "spec.terminationGracePeriodSeconds: %lld is longer than the source "
		        "pod's %lld",
		        (long long)json_integer_value(g), (long long)limit);
}

static void check_spec(struct checker *ck, const json_t *manifest, const json_t *source)
{
	static const char *const forbidden[] = {
	    "nodeName",           "nodeSelector",        "affinity",
	    "schedulingGates",    "ephemeralContainers", "resourceClaims",
	    "serviceAccountName", "serviceAccount",      "imagePullSecrets",
	};
	const json_t *spec = json_object_get(manifest, "spec");
	struct container_check cc = {.ck = ck};
	struct kc_error e;
	size_t i;

	if (!json_is_object(spec)) {
		problem(ck, "spec: missing");
		return;
	}
	for (i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++)
		if (json_object_get(spec, forbidden[i]) != NULL)
			problem(ck, "spec.%s: must be dropped", forbidden[i]);
	if (!json_is_false(json_object_get(spec, "automountServiceAccountToken")))
		problem(ck, "spec.automountServiceAccountToken: must be false");
	check_volumes(ck, spec);
	check_requests(ck, json_object_get(spec, "resources"), "spec");
	check_grace(ck, spec, source);
	cc.host_network = json_is_true(json_object_get(spec, "hostNetwork"));
	if (pod_spec_each_container(spec, check_container, &cc, &e) != KC_OK)
		problem(ck, "%s", e.msg);
	if (source != NULL)
		check_against_source(ck, spec, source);
}

kc_code manifest_check(const json_t *manifest, const json_t *source, struct mc_report *out,
                       struct kc_error *err)
{
	static const char *const top[] = {"apiVersion", "kind", "metadata", "spec"};
	struct checker ck = {.report = out, .rc = KC_OK};
	const char *api = json_string_value(json_object_get(manifest, "apiVersion"));
	const char *kind = json_string_value(json_object_get(manifest, "kind"));

	memset(out, 0, sizeof(*out));
	if (!json_is_object(manifest)) {
		problem(&ck, "manifest: not a mapping");
		goto out;
	}
	if (api == NULL || strcmp(api, "v1") != 0)
		problem(&ck, "apiVersion: must be v1");
	if (kind == NULL || strcmp(kind, "Pod") != 0)
		problem(&ck, "kind: must be Pod");
	check_only_keys(&ck, manifest, "", top, sizeof(top) / sizeof(top[0]));
	check_metadata(&ck, manifest, source);
	check_spec(&ck, manifest, source);
out:
	if (ck.rc != KC_OK) {
		mc_report_free(out);
		return kc_fail(err, ck.rc, "out of memory checking a manifest");
	}
	return KC_OK;
}

void mc_report_free(struct mc_report *report)
{
	size_t i;

	if (report == NULL)
		return;
	for (i = 0; i < report->count; i++)
		free(report->problems[i]);
	free(report->problems);
	memset(report, 0, sizeof(*report));
}

kc_code manifest_verify(const json_t *manifest, const json_t *source, struct kc_error *err)
{
	struct mc_report report;
	kc_code rc;

	if ((rc = manifest_check(manifest, source, &report, err)) != KC_OK)
		return rc;
	if (report.count > 0)
		rc = kc_fail(err, KC_EINTERNAL, "manifest breaks %zu rule(s), first: %s",
		             report.count, report.problems[0]);
	mc_report_free(&report);
	return rc;
}
