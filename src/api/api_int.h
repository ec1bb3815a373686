/*
 * api_int.h: the api layer's shared state and the functions its files call
 * in each other. Internal to src/api/; the rest of the program sees only
 * api_client.h.
 *
 * Files and who calls whom (one way, no circle):
 *   api_transport.c  URLs, TLS, tokens, easy handles, the connection pool
 *   api_request.c    one request's life: start, bytes in, the outcome
 *                    classified and reported for reachability; timers' jitter
 *   api_pods.c       the pods channel: LIST pages, then one long WATCH
 *   api_refs.c       the Secrets/ConfigMaps referenced by tracked parents
 *   api_events.c     the POST of one Kubernetes Event at a time
 *   api_mirror.c     the DELETE of bridges' mirror pods, just before their withdrawal
 *   api_cluster.c    the kube-system Namespace and default/kubernetes Service UIDs:
 *                    which cluster answers
 *   api_client.c     the public face: new/free, the loop's step and timers
 * api_client.c calls api_pods.c, api_refs.c, api_events.c and api_cluster.c
 * (api_pods.c tells api_cluster.c that a list completed), which call api_request.c, which calls
 * api_transport.c.
 */
#ifndef KC_API_INT_H
#define KC_API_INT_H

#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "api_client.h"
#include "api_transport.h"
#include "doc_stream.h"
#include "kc_buf.h"
#include "watch_stream.h"

struct api_client;
struct request;
struct parent;
struct robj;

/* What a request does when its transfer ends (called from api_client_step). */
typedef void (*request_done_fn)(struct api_client *c, struct request *r, CURLcode res);

enum req_kind { REQ_LIST, REQ_WATCH, REQ_GET, REQ_POST };

struct request {
	struct api_client *c;
	enum req_kind kind;
	CURL *easy;
	struct curl_slist *headers;
	char *desc;                   /* "GET /api/v1/..." for messages */
	struct kc_buf body;           /* GET body, or a failed request's Status */
	struct watch_stream ws;       /* WATCH with a 2xx status */
	struct doc_json_list_feed lf; /* LIST with a 2xx status: the items as they come */
	long error_event;             /* WATCH: the code of an ERROR event (-1: none) */
	int64_t last_event_ms;        /* WATCH: headers or the last event or bookmark */
	long status;                  /* HTTP status once headers are in, else 0 */
	bool headers_done;
	bool gone;        /* watch ERROR event 410 */
	kc_code abort_rc; /* why a callback aborted the transfer */
	struct kc_error abort_err;
	request_done_fn done;
	/* Called once the final status is known (not for 1xx); may be NULL. */
	void (*on_status)(struct request *r);
	struct robj *obj; /* GET: the object fetched */
	int64_t started_ms;
	char errbuf[CURL_ERROR_SIZE];
};

/* One reference of a tracked parent (api_refs.c). */
struct tracked_ref {
	const char *kind; /* "Secret" / "ConfigMap", static */
	char *name;
	bool optional;
	struct robj *obj; /* the shared object */
};

/* A tracked parent: its references and whether it is owed an answer. */
struct parent {
	char *uid;
	char *ns;
	struct tracked_ref *refs;
	size_t nrefs;
	bool removed;      /* untracked; reaped by the next step */
	bool pending;      /* owed a refs_fetched */
	uint64_t need_seq; /* only answers of fetches numbered above this will do (0: any) */
};

enum pods_state { PODS_IDLE, PODS_LISTING, PODS_WATCHING };

/* The read of the cluster's identity (api_cluster.c). */
struct api_cluster {
	struct request *req; /* the GET in flight */
	int64_t next_ms;     /* when the next GET is due (0: at once) */
	unsigned failures;
	bool probe;          /* api_client_probe_now: due at once, healthy channel or not */
	bool probe_round;    /* ... and this round was started by it */
	bool forbidden_said; /* a 403 was logged */
	bool reread;         /* a list completed while the GET was in flight: read again */
	/* The round's second GET, the Service default/kubernetes, is next. */
	bool service_next;
	bool service_forbidden_said; /* a 403 for it was logged */
};

struct api_client {
	struct api_transport t;
	struct api_callbacks cb;
	char *node;

	/* Pods channel. */
	enum pods_state pods_state;
	struct request *pods_req;
	int64_t pods_next_ms;
	bool want_list;
	bool relist_requested;
	char *rv;
	char *list_continue;
	json_t *list_items;
	char *list_rv;
	unsigned failures;     /* retries since the channel was last calm (client-go's backoff) */
	int64_t last_retry_ms; /* when the last retry was scheduled */
	int64_t watch_silence_ms; /* a watch silent this long is dead (API_WATCH_SILENCE_MS) */
	bool healthy;
	bool unreachable;
	bool awaiting_answer; /* api_client_set_awaiting_answer */
	bool retry_answered;  /* the pending retry follows an answer (refused, unreadable) */
	bool list_quorum;     /* the next LIST must come from etcd (after 410 Gone) */

	struct parent **parents;
	size_t nparents, parents_cap;
	struct robj **objs; /* distinct referenced objects */
	size_t nobjs, objs_cap;
	uint64_t fetch_seq;  /* number of the last GET started */
	bool refs_trim_owed; /* parents were answered since the heap was last trimmed */

	struct api_cluster cluster;

	/* The Event POST in flight (api_events.c). */
	struct request *event_req;
	uint64_t event_id;

	/* The quorum read in flight (api_confirm.c); confirm_uid NULL: the Node. */
	struct request *confirm_req;
	char *confirm_uid;

	/* Contact reporting. */
	bool reported_any;
	enum api_contact last_outcome;
	int64_t last_success_report_ms;

	uint64_t rng;
	struct api_stats stats;
};

/* ---- api_request.c ---- */

/* Uniform in [lo, hi] (jitter only, no security role). */
int64_t api_jitter(struct api_client *c, int64_t lo, int64_t hi);
/* Delay before retry number failures: first, doubling up to cap, jittered in [d/2, d]. */
int64_t api_backoff_ms(struct api_client *c, unsigned failures, int64_t first, int64_t cap);
/*
 * client-go's reflector backoff for retry number failures: 800 ms doubling
 * up to 30 s, jittered in [d, 2d] (see API_BACKOFF_FIRST_MS).
 */
int64_t api_answer_backoff_ms(struct api_client *c, unsigned failures);

/*
 * Create and start a request; verb names it in messages ("LIST", "WATCH",
 * "GET"), http says what goes on the wire. NULL when out of memory.
 */
struct request *api_request_start(struct api_client *c, enum req_kind kind, const char *verb,
                                  const struct api_http *http, request_done_fn done);
void api_request_free(struct request *r);

/* A contact that is not a finished request: a watch connecting, an event. */
void api_report(struct api_client *c, enum api_contact outcome, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The outcome of a finished request: counted for metrics, then reported. */
void api_report_request(struct api_client *c, enum api_contact outcome, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/*
 * Classify, log and report a request that brought nothing usable. An answer
 * that cannot be used (a 4xx other than 401/403, a body over its cap, bad
 * content) is an api_sync_error and reported as SUCCESS: the API is up.
 */
enum api_contact api_report_unusable(struct api_client *c, const struct request *r, CURLcode res);
/*
 * The API answered and this node cannot sync with the answer (too big,
 * malformed, refused): a success contact (the API is up, never an outage),
 * logged as an error, counted, and kept in the stats until api_sync_ok.
 */
void api_sync_error(struct api_client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* An answer was used: the node is in sync again (logged once). */
void api_sync_ok(struct api_client *c);
/*
 * "/api/v1/namespaces/<ns>/<resource>/<name><query>" with ns and name
 * escaped (query, "" or "?...", as given; name NULL: the collection,
 * ".../<resource><query>"; ns NULL: cluster-scoped, "/api/v1/<resource>...");
 * NULL when out of memory. Free it.
 */
char *api_object_path(const char *ns, const char *resource, const char *name, const char *query);

/* ---- api_pods.c ---- */

/* Start the next LIST page or the WATCH (the pods channel is idle and due). */
void api_pods_start(struct api_client *c);
/* Drop the watch or list in flight and LIST again. */
void api_pods_relist_now(struct api_client *c);
/*
 * Deadline of the watch: its response headers, then its next event or
 * bookmark (silence past watch_silence_ms is a dead backend); INT64_MAX if none.
 */
int64_t api_pods_watch_header_deadline(const struct api_client *c);
/* Fail a watch whose headers, or whose next event, did not come by its deadline. */
void api_pods_check_watch_deadline(struct api_client *c, int64_t now);
void api_pods_free(struct api_client *c);

/* ---- api_refs.c ---- */

/* Start the reference fetches that are due (only while the pods channel is healthy). */
void api_refs_start_due(struct api_client *c, int64_t now);
/* The earliest fetch due before *due, into *due; true if a removed parent awaits reaping. */
bool api_refs_next_due(const struct api_client *c, int64_t *due);
/* Free the parents untracked since the last step (outside libcurl callbacks). */
void api_refs_reap(struct api_client *c);
void api_refs_free(struct api_client *c);

/* ---- api_events.c ---- */

/* Drop the Event POST in flight, without a callback. */
void api_events_free(struct api_client *c);

/* ---- api_confirm.c ---- */

/* Drop the quorum read in flight, without a callback. */
void api_confirm_free(struct api_client *c);

/* ---- api_cluster.c ---- */

/* A (re)list completed: read the cluster's identity again, at once. */
void api_cluster_listed(struct api_client *c);
/* Start the GET if it is due (only while the pods channel is healthy). */
void api_cluster_start_due(struct api_client *c, int64_t now);
/* Lower *due to when the GET is next due. */
void api_cluster_next_due(const struct api_client *c, int64_t *due);
/* Drop the GET in flight, without a callback. */
void api_cluster_free(struct api_client *c);

#endif
