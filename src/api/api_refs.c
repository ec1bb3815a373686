/*
 * api_refs.c: the reference channel of the api layer: the Secrets and
 * ConfigMaps of each tracked parent, fetched with GET when the caller asks
 * and refreshed on a jittered timer, a few parents at once and only while the
 * pods channel is healthy (see api_client.h for the policy).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "kc_log.h"

#define MAX_PARALLEL_FETCHES  4
#define PARENT_RETRY_FIRST_MS 5000
#define PARENT_RETRY_MAX_MS   300000
#define GET_TIMEOUT_MS        30000

static void get_done(struct api_client *c, struct request *r, CURLcode res);

static void parent_free(struct parent *p)
{
	api_request_free(p->req);
	for (size_t i = 0; i < p->nrefs; i++)
		free(p->refs[i].name);
	free(p->refs);
	free(p->uid);
	free(p->ns);
	json_decref(p->objects);
	free(p);
}

static struct parent *find_parent(struct api_client *c, const char *uid)
{
	for (size_t i = 0; i < c->nparents; i++)
		if (!c->parents[i]->removed && strcmp(c->parents[i]->uid, uid) == 0)
			return c->parents[i];
	return NULL;
}

static void parent_reset_fetch(struct parent *p)
{
	p->next_ref = 0;
	json_decref(p->objects);
	p->objects = NULL;
	p->have_missing = false;
	kc_error_clear(&p->missing);
}

static bool has_kind(const json_t *obj, const char *kind)
{
	const char *k = json_string_value(json_object_get(obj, "kind"));

	return k != NULL && strcmp(k, kind) == 0;
}

static const char *ref_resource(const struct tracked_ref *ref)
{
	return strcmp(ref->kind, "Secret") == 0 ? "secrets" : "configmaps";
}

static bool start_get(struct api_client *c, struct parent *p)
{
	const struct tracked_ref *ref = &p->refs[p->next_ref];
	char *ns = curl_easy_escape(NULL, p->ns, 0), *name = curl_easy_escape(NULL, ref->name, 0);
	char *path = NULL;

	if (ns == NULL || name == NULL ||
	    asprintf(&path, "/api/v1/namespaces/%s/%s/%s", ns, ref_resource(ref), name) < 0)
		path = NULL;
	curl_free(ns);
	curl_free(name);
	if (path == NULL)
		return false;
	p->req = api_request_start(
	    c, REQ_GET, "GET",
	    &(struct api_http){.method = "GET", .path = path, .timeout_ms = GET_TIMEOUT_MS},
	    get_done);
	free(path);
	if (p->req == NULL)
		return false;
	p->req->parent = p;
	c->stats.gets++;
	return true;
}

/* A transient failure (network, 5xx, 401/403): try again, slower each time. */
static void parent_retry_later(struct api_client *c, struct parent *p)
{
	parent_reset_fetch(p);
	p->failures++;
	p->next_fetch_ms = api_now_ms() + api_backoff_ms(c, p->failures, PARENT_RETRY_FIRST_MS,
	                                                 PARENT_RETRY_MAX_MS);
}

/* Every reference of p has an answer: report and schedule the refresh. */
static void parent_fetch_complete(struct api_client *c, struct parent *p)
{
	json_t *objects = p->objects ? json_incref(p->objects) : json_array();
	struct kc_error missing = p->missing;
	bool have_missing = p->have_missing;
	char *uid = strdup(p->uid);

	parent_reset_fetch(p);
	p->failures = 0;
	p->next_fetch_ms = api_now_ms() + api_jitter(c, (int64_t)API_REFS_REFRESH_MIN_S * 1000,
	                                             (int64_t)API_REFS_REFRESH_MAX_S * 1000);
	/* Last: the callback may untrack or retrack p. */
	if (uid != NULL && objects != NULL && c->cb.refs_fetched != NULL)
		c->cb.refs_fetched(c->cb.ctx, uid, objects, have_missing ? &missing : NULL);
	json_decref(objects);
	free(uid);
}

/* Answer for the current ref arrived; go on to the next one (or finish). */
static void parent_advance(struct api_client *c, struct parent *p)
{
	p->next_ref++;
	if (p->next_ref < p->nrefs) {
		if (!start_get(c, p))
			parent_retry_later(c, p);
		return;
	}
	parent_fetch_complete(c, p);
}

static void get_done(struct api_client *c, struct request *r, CURLcode res)
{
	struct parent *p = r->parent;
	const struct tracked_ref *ref;
	json_error_t jerr;
	json_t *obj;

	p->req = NULL;
	if (p->removed)
		return;
	if (p->stale) {
		/* The reference set changed under us: start over with the new one. */
		p->stale = false;
		parent_reset_fetch(p);
		p->next_fetch_ms = api_now_ms();
		return;
	}
	ref = &p->refs[p->next_ref];
	if (res == CURLE_OK && r->status == 404) {
		api_report_request(c, API_CONTACT_SUCCESS, "%s: HTTP 404", r->desc);
		if (!ref->optional && !p->have_missing) {
			kc_fail(&p->missing, KC_ENOTFOUND, "%s %s/%s: not found", ref->kind, p->ns,
			        ref->name);
			p->have_missing = true;
		}
		parent_advance(c, p);
		return;
	}
	if (res == CURLE_OK && r->status / 100 == 2) {
		obj = json_loadb(r->body.data ? r->body.data : "", r->body.len,
		                 JSON_REJECT_DUPLICATES, &jerr);
		if (obj == NULL || !json_is_object(obj) || !has_kind(obj, ref->kind)) {
			api_report_request(c, API_CONTACT_FAILURE, "%s: not a %s object%s%s",
			                   r->desc, ref->kind, obj ? "" : ": ",
			                   obj ? "" : jerr.text);
			json_decref(obj);
			parent_retry_later(c, p);
			return;
		}
		api_report_request(c, API_CONTACT_SUCCESS, "%s: HTTP %ld", r->desc, r->status);
		if (p->objects == NULL)
			p->objects = json_array();
		if (p->objects == NULL || json_array_append_new(p->objects, obj) != 0) {
			parent_retry_later(c, p);
			return;
		}
		parent_advance(c, p);
		return;
	}
	api_report_unusable(c, r, res);
	parent_retry_later(c, p);
}

static size_t fetches_running(const struct api_client *c)
{
	size_t n = 0;

	for (size_t i = 0; i < c->nparents; i++)
		n += c->parents[i]->req != NULL;
	return n;
}

void api_refs_start_due(struct api_client *c, int64_t now)
{
	size_t running = fetches_running(c);

	/* While the pods channel fails, one failing connection per retry is enough. */
	if (!c->healthy)
		return;
	for (size_t i = 0; i < c->nparents && running < MAX_PARALLEL_FETCHES; i++) {
		struct parent *p = c->parents[i];

		if (p->removed || p->req != NULL || p->next_fetch_ms > now)
			continue;
		parent_reset_fetch(p);
		if (p->nrefs == 0) {
			parent_fetch_complete(c, p);
			continue;
		}
		if (!start_get(c, p)) {
			parent_retry_later(c, p);
			continue;
		}
		running++;
	}
}

static kc_code copy_refs(struct parent *p, const struct pod_refs *refs, struct kc_error *err)
{
	struct tracked_ref *copy = NULL;
	char *ns;

	if (refs->namespace == NULL || refs->namespace[0] == '\0')
		return kc_fail(err, KC_EINVAL, "references without a namespace");
	if ((ns = strdup(refs->namespace)) == NULL ||
	    (refs->count > 0 && (copy = calloc(refs->count, sizeof(*copy))) == NULL)) {
		free(ns);
		return kc_fail(err, KC_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < refs->count; i++) {
		const char *kind = refs->refs[i].kind;

		copy[i].kind = kind && strcmp(kind, "Secret") == 0      ? "Secret"
		               : kind && strcmp(kind, "ConfigMap") == 0 ? "ConfigMap"
		                                                        : NULL;
		copy[i].optional = refs->refs[i].optional;
		copy[i].name = refs->refs[i].name ? strdup(refs->refs[i].name) : NULL;
		if (copy[i].kind == NULL || copy[i].name == NULL) {
			for (size_t j = 0; j <= i; j++)
				free(copy[j].name);
			free(copy);
			free(ns);
			return kc_fail(err, KC_EINVAL, "reference %zu: bad kind or name", i);
		}
	}
	for (size_t i = 0; i < p->nrefs; i++)
		free(p->refs[i].name);
	free(p->refs);
	free(p->ns);
	p->refs = copy;
	p->nrefs = refs->count;
	p->ns = ns;
	return KC_OK;
}

static bool same_refs(const struct parent *p, const struct pod_refs *refs)
{
	if (p->ns == NULL || refs->namespace == NULL || strcmp(p->ns, refs->namespace) != 0 ||
	    p->nrefs != refs->count)
		return false;
	for (size_t i = 0; i < p->nrefs; i++) {
		const struct pod_ref *r = &refs->refs[i];

		if (r->kind == NULL || r->name == NULL || strcmp(p->refs[i].kind, r->kind) != 0 ||
		    strcmp(p->refs[i].name, r->name) != 0 || p->refs[i].optional != r->optional)
			return false;
	}
	return true;
}

kc_code api_client_track_refs(struct api_client *c, const char *uid, const struct pod_refs *refs,
                              struct kc_error *err)
{
	struct parent *p = find_parent(c, uid), **grown;
	kc_code rc;

	if (p != NULL) {
		if (same_refs(p, refs))
			return KC_OK; /* the refresh timer covers it */
		if ((rc = copy_refs(p, refs, err)) != KC_OK)
			return kc_error_prefix(err, "pod %s", uid);
		p->stale = p->req != NULL;
		p->next_fetch_ms = api_now_ms();
		return KC_OK;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL || (p->uid = strdup(uid)) == NULL) {
		free(p);
		return kc_fail(err, KC_ENOMEM, "out of memory");
	}
	if ((rc = copy_refs(p, refs, err)) != KC_OK) {
		parent_free(p);
		return kc_error_prefix(err, "pod %s", uid);
	}
	if (c->nparents == c->parents_cap) {
		size_t ncap = c->parents_cap ? c->parents_cap * 2 : 16;

		if ((grown = realloc(c->parents, ncap * sizeof(*grown))) == NULL) {
			parent_free(p);
			return kc_fail(err, KC_ENOMEM, "out of memory");
		}
		c->parents = grown;
		c->parents_cap = ncap;
	}
	p->next_fetch_ms = api_now_ms();
	c->parents[c->nparents++] = p;
	return KC_OK;
}

kc_code api_client_refresh_refs(struct api_client *c, const char *uid, struct kc_error *err)
{
	struct parent *p = find_parent(c, uid);

	if (p == NULL)
		return kc_fail(err, KC_ENOTFOUND, "pod %s: references not tracked", uid);
	if (p->req == NULL)
		p->next_fetch_ms = api_now_ms();
	return KC_OK;
}

void api_client_untrack_refs(struct api_client *c, const char *uid)
{
	struct parent *p = find_parent(c, uid);

	if (p != NULL)
		p->removed = true; /* reaped outside libcurl callbacks */
}

void api_refs_reap(struct api_client *c)
{
	size_t kept = 0;

	for (size_t i = 0; i < c->nparents; i++) {
		if (c->parents[i]->removed)
			parent_free(c->parents[i]);
		else
			c->parents[kept++] = c->parents[i];
	}
	c->nparents = kept;
}

bool api_refs_next_due(const struct api_client *c, int64_t *due)
{
	if (c->healthy && fetches_running(c) < MAX_PARALLEL_FETCHES)
		for (size_t i = 0; i < c->nparents; i++)
			if (!c->parents[i]->removed && c->parents[i]->req == NULL &&
			    c->parents[i]->next_fetch_ms < *due)
				*due = c->parents[i]->next_fetch_ms;
	for (size_t i = 0; i < c->nparents; i++)
		if (c->parents[i]->removed)
			return true;
	return false;
}

void api_refs_free(struct api_client *c)
{
	for (size_t i = 0; i < c->nparents; i++)
		parent_free(c->parents[i]);
	free(c->parents);
	c->parents = NULL;
	c->nparents = c->parents_cap = 0;
}
