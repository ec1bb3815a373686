/*
 * api_cluster.c: which cluster the apiserver serves. The UID of the
 * kube-system Namespace is the cluster's identity: it is made once, when
 * the cluster's etcd is first populated, and a new or restored etcd (an
 * etcd bridge on an empty data dir, another cluster behind the same
 * address) has another one (issue 18; docs/design.md §6, "Cluster
 * identity"). The caller records it in checkpoints and trusts withdrawals
 * and collection only to an API of the same cluster.
 *
 * GET /api/v1/namespaces/kube-system after each (re)list completes (the
 * API that answered may be another one than before) and on a slow jittered
 * timer (API_REFS_REFRESH_MIN_S to twice that: well under one request an
 * hour, inside the idle budget of api_client.h). The read carries
 * resourceVersion=0: the apiserver answers from its watch cache, no etcd
 * read while idle. A cached answer cannot be of another cluster: the cache
 * is filled from the apiserver's own etcd, and the UID of kube-system never
 * changes while that etcd lives; staleness cannot matter for an immutable
 * field. Only while the pods channel is healthy, like the reference fetches
 * (except the probe at start, api_client_probe_now); a failed read is
 * retried with backoff (5 s doubling to 5 min).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "kc_clock.h"
#include "kc_log.h"
#include "pod_spec.h"

#define CLUSTER_PATH           "/api/v1/namespaces/kube-system?resourceVersion=0"
#define CLUSTER_TIMEOUT_MS     30000
#define CLUSTER_RETRY_FIRST_MS 5000
#define CLUSTER_RETRY_MAX_MS   300000

/* The slow refresh: API_REFS_REFRESH_MIN_S to twice that. */
static int64_t refresh_delay_ms(struct api_client *c)
{
	return api_jitter(c, (int64_t)API_REFS_REFRESH_MIN_S * 1000,
	                  (int64_t)API_REFS_REFRESH_MIN_S * 2000);
}

/* When the GET just finished is followed by another: at once if a list completed meanwhile. */
static void cluster_next(struct api_client *c, int64_t later_ms)
{
	struct api_cluster *k = &c->cluster;

	k->next_ms = k->reread ? 0 : later_ms;
	k->reread = false;
}

static void cluster_retry_later(struct api_client *c)
{
	struct api_cluster *k = &c->cluster;

	k->failures++;
	cluster_next(c, kc_clock_ms() + api_backoff_ms(c, k->failures, CLUSTER_RETRY_FIRST_MS,
	                                               CLUSTER_RETRY_MAX_MS));
}

/* The Namespace's metadata.uid, or NULL when body is not the kube-system Namespace. */
static const char *namespace_uid(const json_t *ns)
{
	const char *kind = json_string_value(json_object_get(ns, "kind"));
	const char *name = pod_meta_string(ns, "name");
	const char *uid = pod_meta_string(ns, "uid");

	if (kind == NULL || strcmp(kind, "Namespace") != 0 || name == NULL ||
	    strcmp(name, "kube-system") != 0 || uid == NULL || uid[0] == '\0' ||
	    strlen(uid) > API_CLUSTER_UID_MAX)
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
 * a SUCCESS contact, the identity stays unknown (said once per client), and
 * the read is tried again at the slow refresh, when a grant may exist.
 */
static void cluster_forbidden(struct api_client *c, struct request *r)
{
	struct api_cluster *k = &c->cluster;

	api_report_request(c, API_CONTACT_SUCCESS, "%s: HTTP 403 (not allowed to read it)",
	                   r->desc);
	if (!k->forbidden_said)
		kc_log(KC_LOG_WARNING,
		       "apiserver: %s: HTTP 403: this node may not read the kube-system Namespace, "
		       "so the cluster's identity is unknown and nothing is withdrawn or collected "
		       "on a quorum read (grant get on namespaces/kube-system to system:nodes: "
		       "cluster-identity-rbac.yaml)",
		       r->desc);
	k->forbidden_said = true;
	k->failures = 0;
	cluster_next(c, kc_clock_ms() + refresh_delay_ms(c));
}

static void cluster_done(struct api_client *c, struct request *r, CURLcode res)
{
	struct api_cluster *k = &c->cluster;
	json_t *ns;
	const char *uid;

	k->req = NULL;
	if (res == CURLE_OK && r->status == 403) {
		cluster_forbidden(c, r);
		return;
	}
	if (res != CURLE_OK || r->status / 100 != 2) {
		api_report_unusable(c, r, res);
		cluster_retry_later(c);
		return;
	}
	/* The API answered: whatever the body, it is up. */
	api_report_request(c, API_CONTACT_SUCCESS, "%s: HTTP %ld", r->desc, r->status);
	ns =
	    json_loadb(r->body.data ? r->body.data : "", r->body.len, JSON_REJECT_DUPLICATES, NULL);
	uid = ns != NULL ? namespace_uid(ns) : NULL;
	if (uid == NULL) {
		kc_log(KC_LOG_WARNING,
		       "apiserver: %s: not the kube-system Namespace with a metadata.uid: the "
		       "cluster's identity is not known",
		       r->desc);
		json_decref(ns);
		cluster_retry_later(c);
		return;
	}
	k->failures = 0;
	cluster_next(c, kc_clock_ms() + refresh_delay_ms(c));
	if (c->cb.cluster_uid != NULL)
		c->cb.cluster_uid(c->cb.ctx, uid);
	json_decref(ns);
}

void api_cluster_listed(struct api_client *c)
{
	c->cluster.next_ms = 0;
	c->cluster.failures = 0;
	/* A GET in flight may have been answered by the API before this list's. */
	c->cluster.reread = c->cluster.req != NULL;
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
	int64_t due;

	if (!cluster_due(c, &due) || due > now)
		return;
	c->cluster.probe = false;
	c->cluster.req = api_request_start(c, REQ_GET, "GET",
	                                   &(struct api_http){.method = "GET",
	                                                      .path = CLUSTER_PATH,
	                                                      .timeout_ms = CLUSTER_TIMEOUT_MS},
	                                   cluster_done);
	if (c->cluster.req == NULL) {
		kc_log(KC_LOG_ERR, "apiserver: cannot start GET " CLUSTER_PATH " (out of memory?)");
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
