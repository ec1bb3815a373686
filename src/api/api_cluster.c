/*
 * api_cluster.c: which cluster the apiserver serves. The UID of the
 * kube-system Namespace is the cluster's identity: it is made once, when
 * the cluster's etcd is first populated, and a new or restored etcd (an
 * etcd bridge on an empty data dir, another cluster behind the same
 * address) has another one (issue 18; docs/design.md §6, "Cluster
 * identity"). The caller records it in checkpoints and trusts withdrawals
 * and collection only to an API of the same cluster. A stock Node
 * authorizer does not let a node read Namespaces, so the UID of the Service
 * default/kubernetes is read too: nodes may read Services
 * (plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go, NodeRules),
 * and the apiserver's bootstrap controller creates that Service when it is
 * missing (pkg/controlplane/controller/kubernetesservice), so a new etcd
 * gets a new one. decision.h says how the two are weighed.
 *
 * A round is GET /api/v1/namespaces/kube-system, then GET
 * /api/v1/namespaces/default/services/kubernetes (whatever the first
 * answered, 403 included), after each (re)list completes (the
 * API that answered may be another one than before) and on a slow jittered
 * timer (API_REFS_REFRESH_MIN_S to twice that: two GETs every 2-4 hours,
 * at most one an hour, inside the idle budget of api_client.h). Both reads
 * carry resourceVersion=0: the apiserver answers from its watch cache, no
 * etcd read while idle. A cached answer cannot be of another cluster: the
 * cache is filled from the apiserver's own etcd, and neither UID changes
 * while that etcd lives (a Service deleted by hand aside); staleness cannot
 * matter for an immutable field. Only while the pods channel is healthy, like the reference fetches
 * (except the probe at start, api_client_probe_now); a failed read is
 * retried with backoff (5 s doubling to 5 min), the Service's alone when it
 * fails (a 403'd Namespace is not asked again sooner than the next round).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "kc_clock.h"
#include "kc_log.h"
#include "pod_spec.h"

#define CLUSTER_PATH           "/api/v1/namespaces/kube-system?resourceVersion=0"
#define SERVICE_PATH           "/api/v1/namespaces/default/services/kubernetes?resourceVersion=0"
#define CLUSTER_TIMEOUT_MS     30000
#define CLUSTER_RETRY_FIRST_MS 5000
#define CLUSTER_RETRY_MAX_MS   300000

/* The slow refresh: API_REFS_REFRESH_MIN_S to twice that. */
static int64_t refresh_delay_ms(struct api_client *c)
{
	return api_jitter(c, (int64_t)API_REFS_REFRESH_MIN_S * 1000,
	                  (int64_t)API_REFS_REFRESH_MIN_S * 2000);
}

/* The round just ended; the next: at once if a list completed meanwhile. */
static void cluster_next(struct api_client *c, int64_t later_ms)
{
	struct api_cluster *k = &c->cluster;

	k->next_ms = k->reread ? 0 : later_ms;
	k->reread = false;
	k->service_next = false;
}

static void round_done(struct api_client *c)
{
	c->cluster.failures = 0;
	cluster_next(c, kc_clock_ms() + refresh_delay_ms(c));
}

/* The Namespace's GET is answered: the Service's, at once (a probe's too). */
static void service_now(struct api_client *c)
{
	struct api_cluster *k = &c->cluster;

	k->failures = 0;
	k->service_next = true;
	k->next_ms = 0;
	k->probe = k->probe_round;
}

/* The same GET again after a backoff; a list completed meanwhile restarts the round. */
static void cluster_retry_later(struct api_client *c)
{
	struct api_cluster *k = &c->cluster;

	k->failures++;
	k->next_ms = kc_clock_ms() +
	             api_backoff_ms(c, k->failures, CLUSTER_RETRY_FIRST_MS, CLUSTER_RETRY_MAX_MS);
	if (k->reread)
		cluster_next(c, 0);
}

/* The object's metadata.uid, or NULL when it is not the kind/namespace/name expected. */
static const char *object_uid(const json_t *o, const char *kind_want, const char *ns_want,
                              const char *name_want)
{
	const char *kind = json_string_value(json_object_get(o, "kind"));
	const char *name = pod_meta_string(o, "name");
	const char *ns = pod_meta_string(o, "namespace");
	const char *uid = pod_meta_string(o, "uid");

	if (kind == NULL || strcmp(kind, kind_want) != 0 || name == NULL ||
	    strcmp(name, name_want) != 0 ||
	    (ns_want != NULL && (ns == NULL || strcmp(ns, ns_want) != 0)) || uid == NULL ||
	    uid[0] == '\0' || strlen(uid) > API_CLUSTER_UID_MAX)
		return NULL;
	return uid;
}

/*
 * 403: the apiserver authenticated this node and its authorizer does not let
 * it read Namespaces. The kubelet's own identity may not by default: the Node
 * authorizer's rules (plugin/pkg/auth/authorizer/rbac/bootstrappolicy/
 * policy.go, NodeRules) cover nodes, pods, services, events, and the
 * secrets/configmaps of its pods, not namespaces; a grant of get on
 * namespaces/kube-system to the group system:nodes is needed
 * (packaging/cluster-identity-rbac.yaml). That is an answer about one
 * resource, not this node's identity refused (the pods channel says that):
 * a SUCCESS contact, the kube-system UID stays unknown (said once per
 * client), the Service's GET follows, and the Namespace is tried again at
 * the next round, when a grant may exist.
 */
static void cluster_forbidden(struct api_client *c, struct request *r)
{
	struct api_cluster *k = &c->cluster;

	api_report_request(c, API_CONTACT_SUCCESS, "%s: HTTP 403 (not allowed to read it)",
	                   r->desc);
	if (!k->forbidden_said)
		kc_log(KC_LOG_WARNING,
		       "apiserver: %s: HTTP 403: this node may not read the kube-system Namespace, "
		       "so the cluster is known by its Service default/kubernetes alone (grant get "
		       "on namespaces/kube-system to system:nodes for the stronger identity: "
		       "cluster-identity-rbac.yaml)",
		       r->desc);
	k->forbidden_said = true;
	service_now(c);
}

/* A 403 for the Service too: nothing tells this cluster from another; said once. */
static void service_forbidden(struct api_client *c, struct request *r)
{
	struct api_cluster *k = &c->cluster;

	api_report_request(c, API_CONTACT_SUCCESS, "%s: HTTP 403 (not allowed to read it)",
	                   r->desc);
	if (!k->service_forbidden_said)
		kc_log(KC_LOG_WARNING,
		       "apiserver: %s: HTTP 403: this node may not read the Service "
		       "default/kubernetes either (the Node authorizer allows it by default)",
		       r->desc);
	k->service_forbidden_said = true;
	round_done(c);
}

/*
 * One identity GET answered 2xx (or not): the UID read from it, or NULL
 * (said, a retry planned). The API answered: whatever the body, it is up.
 * *doc is to be freed by the caller.
 */
static const char *answered_uid(struct api_client *c, struct request *r, CURLcode res, json_t **doc,
                                const char *kind, const char *ns, const char *name)
{
	const char *uid;

	*doc = NULL;
	if (res != CURLE_OK || r->status / 100 != 2) {
		api_report_unusable(c, r, res);
		cluster_retry_later(c);
		return NULL;
	}
	api_report_request(c, API_CONTACT_SUCCESS, "%s: HTTP %ld", r->desc, r->status);
	*doc =
	    json_loadb(r->body.data ? r->body.data : "", r->body.len, JSON_REJECT_DUPLICATES, NULL);
	uid = *doc != NULL ? object_uid(*doc, kind, ns, name) : NULL;
	if (uid == NULL) {
		kc_log(KC_LOG_WARNING,
		       "apiserver: %s: not the %s %s with a metadata.uid: the cluster's identity "
		       "is not known",
		       r->desc, kind, name);
		cluster_retry_later(c);
	}
	return uid;
}

static void cluster_done(struct api_client *c, struct request *r, CURLcode res)
{
	json_t *ns;
	const char *uid;

	c->cluster.req = NULL;
	if (res == CURLE_OK && r->status == 403) {
		cluster_forbidden(c, r);
		return;
	}
	uid = answered_uid(c, r, res, &ns, "Namespace", NULL, "kube-system");
	if (uid != NULL) {
		service_now(c);
		if (c->cb.cluster_uid != NULL)
			c->cb.cluster_uid(c->cb.ctx, uid);
	}
	json_decref(ns);
}

static void service_done(struct api_client *c, struct request *r, CURLcode res)
{
	json_t *svc;
	const char *uid;

	c->cluster.req = NULL;
	if (res == CURLE_OK && r->status == 403) {
		service_forbidden(c, r);
		return;
	}
	uid = answered_uid(c, r, res, &svc, "Service", "default", "kubernetes");
	if (uid != NULL) {
		round_done(c);
		if (c->cb.cluster_service_uid != NULL)
			c->cb.cluster_service_uid(c->cb.ctx, uid);
	}
	json_decref(svc);
}

void api_cluster_listed(struct api_client *c)
{
	c->cluster.next_ms = 0;
	c->cluster.failures = 0;
	/* A GET in flight may have been answered by the API before this list's. */
	c->cluster.reread = c->cluster.req != NULL;
	if (c->cluster.req == NULL)
		c->cluster.service_next = false;
}

void api_client_probe_now(struct api_client *c)
{
	c->cluster.probe = true;
}

static bool cluster_due(const struct api_client *c, int64_t *due)
{
	if (c->cluster.req != NULL || !(c->healthy || c->cluster.probe))
		return false;
	*due = c->cluster.probe ? 0 : c->cluster.next_ms;
	return true;
}

void api_cluster_start_due(struct api_client *c, int64_t now)
{
	struct api_cluster *k = &c->cluster;
	const char *path = k->service_next ? SERVICE_PATH : CLUSTER_PATH;
	int64_t due;

	if (!cluster_due(c, &due) || due > now)
		return;
	if (!k->service_next)
		k->probe_round = k->probe;
	k->probe = false;
	k->req = api_request_start(
	    c, REQ_GET, "GET",
	    &(struct api_http){.method = "GET", .path = path, .timeout_ms = CLUSTER_TIMEOUT_MS},
	    k->service_next ? service_done : cluster_done);
	if (k->req == NULL) {
		kc_log(KC_LOG_ERR, "apiserver: cannot start GET %s (out of memory?)", path);
		cluster_retry_later(c);
		return;
	}
	c->stats.gets++;
}

void api_cluster_next_due(const struct api_client *c, int64_t *due)
{
	int64_t t;

	if (cluster_due(c, &t) && t < *due)
		*due = t;
}

void api_cluster_free(struct api_client *c)
{
	api_request_free(c->cluster.req);
	c->cluster.req = NULL;
}
