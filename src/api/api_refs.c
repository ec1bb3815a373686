/*
 * api_refs.c: the reference channel of the api layer: the Secrets and
 * ConfigMaps referenced by tracked parents (see api_client.h for the policy).
 *
 * One entry per distinct object (kind, namespace, name), shared by every
 * parent that references it: kube-root-ca.crt is fetched once per node, not
 * once per pod. A parent is answered (refs_fetched) once each of its objects
 * has an answer recent enough for it; objects are refreshed on their own
 * jittered timer, and a refresh that brings a different object answers every
 * parent that uses it. Fetches run a few at a time and only while the pods
 * channel is healthy.
 *
 * Freshness is counted in fetch sequence numbers, not time: each GET gets
 * the next number when it starts, and a parent that needs answers newer than
 * "now" (api_client_refresh_refs: the pod changed, its checkpoint is damaged)
 * records the current number; only answers of later GETs satisfy it, however
 * many parents ask at once.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "kc_clock.h"
#include "kc_log.h"

#define MAX_PARALLEL_FETCHES 8 /* over HTTP/2: streams of one connection */
/* Over HTTP/1.1 (or before the first answer says): one connection each. */
#define MAX_PARALLEL_FETCHES_H1 (API_MAX_CONNECTIONS - 1)
#define OBJ_RETRY_FIRST_MS      5000
#define OBJ_RETRY_MAX_MS        300000
#define GET_TIMEOUT_MS          30000

/* One distinct referenced object. */
struct robj {
	const char *kind; /* "Secret" / "ConfigMap", static */
	char *ns;
	char *name;
	unsigned users; /* references from tracked parents */
	bool known;     /* answered at least once (object or 404) */
	/*
	 * The last object answered, as compact JSON (NULL when absent): a
	 * Jansson tree is several times larger, and the object is read only
	 * when a parent is answered.
	 */
	char *text;
	uint64_t done_seq;    /* sequence number of the fetch that answered */
	bool owed;            /* a parent needs an answer newer than owed_seq */
	uint64_t owed_seq;    /* the fetch sequence when it was owed */
	bool confirm;         /* a watch-cache 404: confirm with a quorum read */
	int64_t next_refresh; /* timer refresh due */
	int64_t next_try;     /* after a transient failure: not before */
	unsigned failures;    /* transient failures since the last answer */
	size_t bytes;         /* body bytes of the last answer (0: absent) */
	struct request *req;  /* the fetch in flight */
	uint64_t req_seq;
	bool req_quorum;
};

/* ---- objects ---- */

static struct robj *find_obj(const struct api_client *c, const char *kind, const char *ns,
                             const char *name)
{
	for (size_t i = 0; i < c->nobjs; i++) {
		struct robj *o = c->objs[i];

		if (o->kind == kind && strcmp(o->ns, ns) == 0 && strcmp(o->name, name) == 0)
			return o;
	}
	return NULL;
}

static void obj_free(struct robj *o)
{
	api_request_free(o->req);
	free(o->text);
	free(o->ns);
	free(o->name);
	free(o);
}

/* The object kind/ns/name with one more user, created unknown if new. */
static struct robj *obj_use(struct api_client *c, const char *kind, const char *ns,
                            const char *name)
{
	struct robj *o = find_obj(c, kind, ns, name), **grown;

	if (o != NULL) {
		o->users++;
		return o;
	}
	if (c->nobjs == c->objs_cap) {
		size_t ncap = c->objs_cap ? c->objs_cap * 2 : 16;

		if ((grown = realloc(c->objs, ncap * sizeof(*grown))) == NULL)
			return NULL;
		c->objs = grown;
		c->objs_cap = ncap;
	}
	if ((o = calloc(1, sizeof(*o))) == NULL || (o->ns = strdup(ns)) == NULL ||
	    (o->name = strdup(name)) == NULL) {
		if (o != NULL)
			free(o->ns);
		free(o);
		return NULL;
	}
	o->kind = kind;
	o->users = 1;
	c->objs[c->nobjs++] = o;
	return o;
}

/*
 * The refresh period of one object. The node's whole refresh traffic is
 * capped at API_REFS_REFRESH_BUDGET GETs an hour, so a node with many
 * distinct objects refreshes each less often instead of costing more; never
 * more often than API_REFS_REFRESH_MIN_S. Jittered in [p, 2p].
 */
static int64_t refresh_delay_ms(struct api_client *c)
{
	int64_t p = (int64_t)API_REFS_REFRESH_MIN_S * 1000;
	int64_t by_budget = (int64_t)c->nobjs * 3600 * 1000 / API_REFS_REFRESH_BUDGET;

	if (by_budget > p)
		p = by_budget;
	return api_jitter(c, p, 2 * p);
}

/* ---- parents ---- */

static void refs_release(struct tracked_ref *refs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (refs[i].obj != NULL)
			refs[i].obj->users--;
		free(refs[i].name);
	}
	free(refs);
}

static void parent_free(struct parent *p)
{
	refs_release(p->refs, p->nrefs);
	free(p->uid);
	free(p->ns);
	free(p);
}

static struct parent *find_parent(struct api_client *c, const char *uid)
{
	for (size_t i = 0; i < c->nparents; i++)
		if (!c->parents[i]->removed && strcmp(c->parents[i]->uid, uid) == 0)
			return c->parents[i];
	return NULL;
}

/* Has every object of p an answer recent enough for p? */
static bool parent_ready(const struct parent *p)
{
	for (size_t i = 0; i < p->nrefs; i++) {
		const struct robj *o = p->refs[i].obj;

		if (!o->known || o->confirm || (p->need_seq > 0 && o->done_seq <= p->need_seq))
			return false;
	}
	return true;
}

/* Answer p from the shared objects: the ones that exist, in reference order. */
static void parent_answer(struct api_client *c, struct parent *p)
{
	json_t *objects = json_array();
	struct kc_error missing;
	bool have_missing = false;
	char *uid = strdup(p->uid);

	for (size_t i = 0; objects != NULL && i < p->nrefs; i++) {
		const struct tracked_ref *ref = &p->refs[i];

		if (ref->obj->text != NULL) {
			if (json_array_append_new(objects, json_loads(ref->obj->text, 0, NULL)) !=
			    0) {
				json_decref(objects);
				objects = NULL;
			}
		} else if (!ref->optional && !have_missing) {
			kc_fail(&missing, KC_ENOTFOUND, "%s %s/%s: not found", ref->kind, p->ns,
			        ref->name);
			have_missing = true;
		}
	}
	if (uid == NULL || objects == NULL) {
		/* Out of memory: stay pending, the next step tries again. */
		json_decref(objects);
		free(uid);
		return;
	}
	p->pending = false;
	p->need_seq = 0;
	c->refs_trim_owed = true;
	/* Last: the callback may untrack or retrack p, or track new parents. */
	if (c->cb.refs_fetched != NULL)
		c->cb.refs_fetched(c->cb.ctx, uid, objects, have_missing ? &missing : NULL);
	json_decref(objects);
	free(uid);
}

/* Answer every pending parent whose objects are all known (by index: callbacks may grow the array).
 */
static void answer_ready_parents(struct api_client *c)
{
	for (size_t i = 0; i < c->nparents; i++) {
		struct parent *p = c->parents[i];

		if (!p->removed && p->pending && parent_ready(p))
			parent_answer(c, p);
	}
}

/* Parents using o need an answer again (o changed). */
static void mark_users_pending(struct api_client *c, const struct robj *o)
{
	for (size_t i = 0; i < c->nparents; i++) {
		struct parent *p = c->parents[i];

		if (p->removed || p->pending)
			continue;
		for (size_t j = 0; j < p->nrefs; j++)
			if (p->refs[j].obj == o) {
				p->pending = true;
				break;
			}
	}
}

/* ---- fetching ---- */

static const char *kind_resource(const char *kind)
{
	return strcmp(kind, "Secret") == 0 ? "secrets" : "configmaps";
}

static bool has_kind(const json_t *obj, const char *kind)
{
	const char *k = json_string_value(json_object_get(obj, "kind"));

	return k != NULL && strcmp(k, kind) == 0;
}

static void get_done(struct api_client *c, struct request *r, CURLcode res);

/*
 * GET o. A read the agent must see at least as new as something it just
 * observed (quorum) goes to etcd; every other read carries resourceVersion=0,
 * which the apiserver answers from its watch cache, as the kubelet's own
 * Secret/ConfigMap reflectors do.
 */
static bool start_get(struct api_client *c, struct robj *o, bool quorum)
{
	char *path = api_object_path(o->ns, kind_resource(o->kind), o->name,
	                             quorum ? "" : "?resourceVersion=0");

	if (path == NULL)
		return false;
	o->req = api_request_start(
	    c, REQ_GET, "GET",
	    &(struct api_http){.method = "GET", .path = path, .timeout_ms = GET_TIMEOUT_MS},
	    get_done);
	free(path);
	if (o->req == NULL)
		return false;
	o->req->obj = o;
	o->req_seq = ++c->fetch_seq;
	o->req_quorum = quorum;
	c->stats.gets++;
	if (quorum)
		c->stats.quorum_reads++;
	return true;
}

/* A transient failure (network, 5xx, 401/403, garbage): try again, slower each time. */
static void obj_retry_later(struct api_client *c, struct robj *o)
{
	o->failures++;
	o->next_try =
	    kc_clock_ms() + api_backoff_ms(c, o->failures, OBJ_RETRY_FIRST_MS, OBJ_RETRY_MAX_MS);
}

/* Does obj (NULL: absent) differ from the answer o holds? */
static bool obj_differs(const struct robj *o, const json_t *obj)
{
	json_t *old;
	bool differs;

	if (o->text == NULL || obj == NULL)
		return o->text != NULL || obj != NULL;
	old = json_loads(o->text, 0, NULL);
	differs = old == NULL || !json_equal(old, obj);
	json_decref(old);
	return differs;
}

/*
 * o has a new answer (obj, or NULL for 404) from the fetch numbered seq;
 * obj's reference is taken.
 */
static void obj_answered(struct api_client *c, struct robj *o, json_t *obj, uint64_t seq)
{
	bool changed = o->known && obj_differs(o, obj);
	/* Key order kept: the object reads back as the API sent it. */
	char *text = obj != NULL ? json_dumps(obj, JSON_COMPACT) : NULL;

	json_decref(obj);
	if (obj != NULL && text == NULL) {
		/* Out of memory: as a failed fetch, tried again later. */
		obj_retry_later(c, o);
		return;
	}
	free(o->text);
	o->text = text;
	o->known = true;
	o->done_seq = seq;
	o->failures = 0;
	o->next_try = 0;
	if (o->owed && seq > o->owed_seq)
		o->owed = false;
	o->next_refresh = kc_clock_ms() + refresh_delay_ms(c);
	if (changed)
		mark_users_pending(c, o);
}

static bool required_by_someone(const struct api_client *c, const struct robj *o)
{
	for (size_t i = 0; i < c->nparents; i++) {
		const struct parent *p = c->parents[i];

		for (size_t j = 0; !p->removed && j < p->nrefs; j++)
			if (p->refs[j].obj == o && !p->refs[j].optional)
				return true;
	}
	return false;
}

static void get_done(struct api_client *c, struct request *r, CURLcode res)
{
	struct robj *o = r->obj;
	json_error_t jerr;
	json_t *obj;

	o->req = NULL;
	if (res == CURLE_OK && r->status == 404) {
		api_report_request(c, API_CONTACT_SUCCESS, "%s: HTTP 404", r->desc);
		/*
		 * The watch cache may lag a Secret created a moment ago: a required
		 * object is declared missing only once etcd agrees.
		 */
		if (!o->req_quorum && !(o->known && o->text == NULL) && required_by_someone(c, o)) {
			o->confirm = true;
			return;
		}
		o->confirm = false;
		o->bytes = 0;
		obj_answered(c, o, NULL, o->req_seq);
		return;
	}
	if (res == CURLE_OK && r->status / 100 == 2) {
		obj = json_loadb(r->body.data ? r->body.data : "", r->body.len,
		                 JSON_REJECT_DUPLICATES, &jerr);
		if (obj == NULL || !json_is_object(obj) || !has_kind(obj, o->kind)) {
			c->stats.requests_ok++;
			api_sync_error(c, "%s: not a %s object%s%s", r->desc, o->kind,
			               obj ? "" : ": ", obj ? "" : jerr.text);
			json_decref(obj);
			obj_retry_later(c, o);
			return;
		}
		api_report_request(c, API_CONTACT_SUCCESS, "%s: HTTP %ld", r->desc, r->status);
		o->confirm = false;
		o->bytes = r->body.len;
		obj_answered(c, o, obj, o->req_seq);
		return;
	}
	api_report_unusable(c, r, res);
	obj_retry_later(c, o);
}

/* The watch keeps one connection; over HTTP/1.1 each fetch needs another. */
static size_t max_fetches(const struct api_client *c)
{
	return c->t.multiplexed ? MAX_PARALLEL_FETCHES : MAX_PARALLEL_FETCHES_H1;
}

static size_t fetches_running(const struct api_client *c)
{
	size_t n = c->cluster.req != NULL; /* api_cluster.c's GET shares the connections */

	for (size_t i = 0; i < c->nobjs; i++)
		n += c->objs[i]->req != NULL;
	return n;
}

/* When o wants a fetch (INT64_MAX: not wanted), and whether it must be a quorum read. */
static int64_t obj_due(const struct robj *o, bool *quorum)
{
	int64_t due;

	*quorum = o->owed || o->confirm;
	if (o->users == 0 || o->req != NULL)
		return INT64_MAX;
	due = (!o->known || o->owed || o->confirm) ? 0 : o->next_refresh;
	return due > o->next_try ? due : o->next_try;
}

/* Bytes of p's objects answered so far. */
static size_t parent_bytes(const struct parent *p)
{
	size_t n = 0;

	for (size_t i = 0; i < p->nrefs; i++)
		if (p->refs[i].obj->known)
			n += p->refs[i].obj->bytes;
	return n;
}

/*
 * A pending parent whose objects already hold more than
 * API_MAX_PARENT_REFS_BYTES can never be checkpointed: answered so at once,
 * and its references dropped, so the rest of its objects are not fetched
 * (one pod naming dozens of 1 MB ConfigMaps must not make the agent hold
 * them all). A change of the pod tracks its references again.
 */
static void refuse_over_cap(struct api_client *c)
{
	for (size_t i = 0; i < c->nparents; i++) {
		struct parent *p = c->parents[i];
		struct kc_error why;
		json_t *none;
		size_t bytes;
		char *uid;

		if (p->removed || !p->pending ||
		    (bytes = parent_bytes(p)) <= API_MAX_PARENT_REFS_BYTES)
			continue;
		if ((uid = strdup(p->uid)) == NULL || (none = json_array()) == NULL) {
			free(uid);
			continue; /* out of memory: the next step tries again */
		}
		kc_fail(&why, KC_ENOTCHECKPOINTABLE,
		        "the Secrets and ConfigMaps it references are over %u bytes (%zu fetched "
		        "when the agent stopped)",
		        API_MAX_PARENT_REFS_BYTES, bytes);
		refs_release(p->refs, p->nrefs);
		p->refs = NULL;
		p->nrefs = 0;
		p->pending = false;
		p->need_seq = 0;
		/* Last: the callback may untrack or retrack p. */
		if (c->cb.refs_fetched != NULL)
			c->cb.refs_fetched(c->cb.ctx, uid, none, &why);
		json_decref(none);
		free(uid);
	}
}

void api_refs_start_due(struct api_client *c, int64_t now)
{
	size_t running = fetches_running(c);
	bool quorum;

	refuse_over_cap(c);

	/* While the pods channel fails, one failing connection per retry is enough. */
	if (c->healthy) {
		for (size_t i = 0; i < c->nobjs && running < max_fetches(c); i++) {
			struct robj *o = c->objs[i];

			if (obj_due(o, &quorum) > now)
				continue;
			if (!start_get(c, o, quorum)) {
				obj_retry_later(c, o);
				continue;
			}
			running++;
		}
	}
	answer_ready_parents(c);
	/*
	 * A round of answers is over (start-up: every parent rendered and
	 * checkpointed from fetched bodies): glibc keeps the freed heap unless
	 * asked, ~0.5 MiB of it with 110 parents, so give it back.
	 */
	if (c->refs_trim_owed && running == 0) {
		c->refs_trim_owed = false;
		malloc_trim(0);
	}
}

/* ---- tracking ---- */

static kc_code copy_refs(struct api_client *c, struct parent *p, const struct pod_refs *refs,
                         struct kc_error *err)
{
	struct tracked_ref *copy = NULL;
	size_t i;
	char *ns;

	if (refs->namespace == NULL || refs->namespace[0] == '\0')
		return kc_fail(err, KC_EINVAL, "references without a namespace");
	if ((ns = strdup(refs->namespace)) == NULL ||
	    (refs->count > 0 && (copy = calloc(refs->count, sizeof(*copy))) == NULL)) {
		free(ns);
		return kc_fail(err, KC_ENOMEM, "out of memory");
	}
	for (i = 0; i < refs->count; i++) {
		const char *kind = refs->refs[i].kind;

		copy[i].kind = kind && strcmp(kind, "Secret") == 0      ? "Secret"
		               : kind && strcmp(kind, "ConfigMap") == 0 ? "ConfigMap"
		                                                        : NULL;
		copy[i].optional = refs->refs[i].optional;
		if (copy[i].kind == NULL || refs->refs[i].name == NULL) {
			kc_fail(err, KC_EINVAL, "reference %zu: bad kind or name", i);
			goto fail;
		}
		if ((copy[i].name = strdup(refs->refs[i].name)) == NULL ||
		    (copy[i].obj = obj_use(c, copy[i].kind, ns, copy[i].name)) == NULL) {
			kc_fail(err, KC_ENOMEM, "out of memory");
			goto fail;
		}
	}
	refs_release(p->refs, p->nrefs);
	free(p->ns);
	p->refs = copy;
	p->nrefs = refs->count;
	p->ns = ns;
	return KC_OK;
fail:
	refs_release(copy, i + 1);
	free(ns);
	return err->code;
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
			return KC_OK; /* the objects' refresh timers cover it */
		if ((rc = copy_refs(c, p, refs, err)) != KC_OK)
			return kc_error_prefix(err, "pod %s", uid);
		/* New references are fetched at once; known ones answer from memory. */
		p->pending = true;
		return KC_OK;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL || (p->uid = strdup(uid)) == NULL) {
		free(p);
		return kc_fail(err, KC_ENOMEM, "out of memory");
	}
	if ((rc = copy_refs(c, p, refs, err)) != KC_OK) {
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
	p->pending = true;
	c->parents[c->nparents++] = p;
	return KC_OK;
}

kc_code api_client_refresh_refs(struct api_client *c, const char *uid, struct kc_error *err)
{
	struct parent *p = find_parent(c, uid);

	if (p == NULL)
		return kc_fail(err, KC_ENOTFOUND, "pod %s: references not tracked", uid);
	/* Answers of GETs started from now on, one per object however many ask. */
	p->pending = true;
	p->need_seq = c->fetch_seq;
	for (size_t i = 0; i < p->nrefs; i++) {
		struct robj *o = p->refs[i].obj;

		if (!o->owed || o->owed_seq < c->fetch_seq) {
			o->owed = true;
			o->owed_seq = c->fetch_seq;
		}
		o->next_try = 0;
	}
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
	kept = 0;
	for (size_t i = 0; i < c->nobjs; i++) {
		if (c->objs[i]->users == 0)
			obj_free(c->objs[i]);
		else
			c->objs[kept++] = c->objs[i];
	}
	c->nobjs = kept;
}

bool api_refs_next_due(const struct api_client *c, int64_t *due)
{
	bool quorum;
	int64_t t;

	for (size_t i = 0; i < c->nparents; i++)
		if (c->parents[i]->removed ||
		    (c->parents[i]->pending && parent_ready(c->parents[i])))
			return true;
	for (size_t i = 0; i < c->nobjs; i++)
		if (c->objs[i]->users == 0)
			return true;
	if (!c->healthy || fetches_running(c) >= max_fetches(c))
		return false;
	for (size_t i = 0; i < c->nobjs; i++)
		if ((t = obj_due(c->objs[i], &quorum)) < *due)
			*due = t;
	return false;
}

void api_refs_free(struct api_client *c)
{
	for (size_t i = 0; i < c->nparents; i++)
		parent_free(c->parents[i]);
	free(c->parents);
	c->parents = NULL;
	c->nparents = c->parents_cap = 0;
	for (size_t i = 0; i < c->nobjs; i++)
		obj_free(c->objs[i]);
	free(c->objs);
	c->objs = NULL;
	c->nobjs = c->objs_cap = 0;
}
