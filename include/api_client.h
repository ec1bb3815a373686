/*
 * api_client.h: everything kubelet-checkpoint says to the Kubernetes API, on
 * libcurl's multi interface so that the agent's single poll loop drives it.
 *
 * Pods channel: LIST /api/v1/pods?fieldSelector=spec.nodeName=<node> (paged
 * with limit/continue), then WATCH from the list's resourceVersion with
 * bookmarks and a jittered timeoutSeconds (300-600 s). A watch that ends
 * normally is resumed from the last resourceVersion seen (events and
 * bookmarks advance it); 410 Gone, as an HTTP status or as an ERROR event,
 * means relist. Steady state is one long watch re-established every 5-10 min.
 *
 * Reference channel: the Secrets and ConfigMaps of each tracked parent. One
 * fetch per distinct object (kind, namespace, name), shared by every parent
 * that references it (kube-root-ca.crt: once per node). A new parent is
 * answered from the objects already known and a GET of the others; a changed
 * reference set fetches the new objects at once; api_client_refresh_refs (the
 * pod changed, its checkpoint is damaged) fetches each of its objects again,
 * one GET per object however many parents ask. Each object is then refreshed
 * on its own jittered timer (at least API_REFS_REFRESH_MIN_S, stretched so the
 * whole node stays within API_REFS_REFRESH_BUDGET GETs an hour), which only
 * catches a Secret/ConfigMap edited in place; a refresh that brings a changed
 * object answers every parent using it. So an idle node makes 6-12 watch
 * renewals plus at most API_REFS_REFRESH_BUDGET GETs an hour, whatever its
 * size. Fetches only run while the pods channel is healthy, so an outage costs
 * one failing connection per retry, not one per object; a failing fetch is
 * retried with exponential backoff (5 s doubling to 5 min).
 *
 * Cluster identity (api_cluster.c): GET /api/v1/namespaces/kube-system, then
 * GET /api/v1/namespaces/default/services/kubernetes (both resourceVersion=0)
 * after each completed (re)list and every 2-4 hours; their metadata.uid go to
 * the cluster_uid and cluster_service_uid callbacks.
 *
 * Which reads reach etcd: reads that may be a little stale are answered by
 * the apiserver's watch cache (resourceVersion=0): the first LIST (as the
 * kubelet's reflectors do; the WATCH that follows from its resourceVersion
 * catches up), the first GET of an object and timer refreshes. Quorum reads
 * (no resourceVersion: etcd) are kept for what must be at least as new as
 * something the agent just saw: the LIST after 410 Gone, the GETs owed to a
 * changed parent, and a 404 from the cache for a required object, confirmed
 * before the parent is declared not checkpointable. An idle node makes none.
 *
 * Every contact with the apiserver is classified for the caller's
 * reachability tracker: SUCCESS (2xx, 404/410 answers, a watch connecting,
 * watch events, and every answer this node cannot use: other 4xx, a body
 * over its cap, malformed JSON, a bad watch line, which are also reported
 * as sync errors: "up, cannot sync", loud but never an outage), FAILURE
 * (refused/reset, timeouts, TLS failure including a local certificate
 * problem, 5xx, 429, a cut stream, a watch silent for API_WATCH_SILENCE_MS),
 * AUTH_ERROR (401/403: the API is up, our credentials are not accepted).
 * Events are no contacts (api_client_post_event).
 *
 * Timeouts: connect (TCP + TLS) API_CONNECT_TIMEOUT_MS; LIST and GET fail when
 * no byte arrives for API_RESPONSE_TIMEOUT_MS, a WATCH when its response
 * headers do not; a watch is dead when it outlives timeoutSeconds by
 * API_WATCH_MARGIN_S; TCP keepalive (15 s idle, 5 s interval, 3 probes).
 *
 * Retry: after a network failure the pods channel is retried within a second
 * (a watch that broke after a calm while: at once); once the caller says the
 * API is unreachable (api_client_set_unreachable) retries back off
 * exponentially with jitter up to API_RETRY_MAX_MS (unless the caller awaits
 * the API's answer: api_client_set_awaiting_answer). After an answer (401/403,
 * an answer this node cannot use, a watch that fails at once, 410 Gone) the
 * channel backs off as client-go's reflector does (API_BACKOFF_FIRST_MS),
 * whatever the caller says: the API is up, asking faster only loads it.
 *
 * Credentials: file paths are read by libcurl on every new connection, so the
 * kubelet's rotating client certificate (kubelet-client-current.pem) is picked
 * up without a restart; a token file is re-read when its inode, size or mtime
 * changes. Blobs (kubeconfig *-data) are handed to libcurl in memory, never via
 * temporary files. TLS sessions are not resumed (a resumed session would keep
 * a rotated-away certificate) and the CA file is not cached across connections.
 *
 * The program calls curl_global_init() once before the first api_client_new.
 * Single-threaded: every function runs on the loop's thread, except
 * api_client_wakeup.
 */
#ifndef KC_API_CLIENT_H
#define KC_API_CLIENT_H

#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kc_error.h"
#include "kubeconfig.h"
#include "pod_refs.h"

#define API_CONNECT_TIMEOUT_MS  3000
#define API_RESPONSE_TIMEOUT_MS 10000 /* no response headers / no bytes: hung */
#define API_WATCH_MIN_S         300
#define API_WATCH_MAX_S         600
#define API_WATCH_MARGIN_S      30    /* a watch silent past timeoutSeconds+margin is dead */
#define API_RETRY_FAST_MS       1000  /* retry period while not yet unreachable */
#define API_RETRY_MAX_MS        10000 /* backoff ceiling once unreachable */
/*
 * After an answer the agent cannot use (a refusal, an unreadable body, a
 * watch that fails at once, 410 Gone) the pods channel backs off as
 * client-go's reflector does (tools/cache/reflector.go,
 * NewReflectorWithOptions: wait.NewExponentialBackoffManager(800ms, 30s,
 * 2min, 2.0, 1.0)): 800 ms doubling to 30 s, each wait jittered in [d, 2d],
 * and the count starts over only after 2 minutes without a retry (apimachinery
 * wait/backoff.go, exponentialBackoffManagerImpl.getNextBackoff). A watch
 * that connects does not reset it.
 */
#define API_BACKOFF_FIRST_MS 800
#define API_BACKOFF_MAX_MS   30000
#define API_BACKOFF_RESET_MS 120000
/*
 * A watch that brings no event and no bookmark for this long is dead (a load
 * balancer keeping the connection of a dead apiserver open): a failure, and
 * the agent reconnects. kube-apiserver sends a bookmark about every minute.
 */
#define API_WATCH_SILENCE_MS    150000
#define API_REFS_REFRESH_MIN_S  7200
#define API_REFS_REFRESH_BUDGET 10 /* refresh GETs per hour per node, at most */
#define API_LIST_PAGE           500
#define API_MAX_CONNECTIONS     3    /* HTTP/1.1: the watch's and two for the rest */
#define API_CONN_MAX_LIFE_S     3600 /* a connection is not reused after an hour */
#define API_MAX_OBJECT_BODY     (4u * 1024 * 1024)
#define API_CLUSTER_UID_MAX     64 /* a UID is 36 characters */
/*
 * A LIST body is read item by item as it arrives, whatever its size (a
 * resourceVersion=0 LIST comes whole from the watch cache, which ignores
 * limit): memory holds one item of at most API_MAX_LIST_ITEM bytes plus the
 * wanted pods. A longer item is named and reported not checkpointable.
 */
#define API_MAX_LIST_ITEM (API_MAX_OBJECT_BODY - 1)
/* What marks a pod of pods_listed that was too big to read (see pods_listed). */
#define API_POD_UNREADABLE "kubeletCheckpointUnreadable"
/*
 * Most bytes (response bodies) of one parent's referenced objects: past it
 * the parent is answered not checkpointable and its objects no longer
 * fetched, before all of them are held in memory (issue 9).
 */
#define API_MAX_PARENT_REFS_BYTES (16u * 1024 * 1024)

enum api_contact {
	API_CONTACT_SUCCESS,
	API_CONTACT_FAILURE,
	API_CONTACT_AUTH_ERROR,
};

const char *api_contact_name(enum api_contact outcome); /* "success", "failure", "auth_error" */

/* What a quorum read answered (api_client_confirm_pod / _node). */
enum api_confirm_result {
	API_CONFIRM_UNKNOWN, /* no usable answer (network, 5xx, 401/403, garbage) */
	API_CONFIRM_PRESENT, /* 200 with an object */
	API_CONFIRM_ABSENT,  /* 404 */
};

/* How the POST of a Kubernetes Event ended (api_client_post_event). */
enum api_post_result {
	API_POST_DONE,      /* 2xx */
	API_POST_REJECTED,  /* the API answered and refused it (4xx other than 429): drop it */
	API_POST_FAILED,    /* network, timeout, 5xx, 429: try again later */
	API_POST_NOT_FOUND, /* 404: for a PATCH, the Event expired; for a POST, the namespace is
	                       gone */
};

/*
 * What the client reports. json_t arguments are borrowed for the duration of
 * the call (json_incref to keep). Any callback may be NULL. Callbacks must not
 * call api_client_free; they may call api_client_track_refs & co.
 */
struct api_callbacks {
	void *ctx;
	/*
	 * Should a listed pod be kept until the list completes? NULL keeps all.
	 * A node can hold thousands of pods the caller never looks at; dropping
	 * them page by page bounds a relist's memory by one page, not the list.
	 */
	bool (*pod_wanted)(void *ctx, const json_t *pod);
	/*
	 * A (re)list finished: pods is the complete array of the wanted Pods on
	 * this node. A pod over API_MAX_LIST_ITEM bytes is in it as
	 * {"kind", "apiVersion", "metadata", API_POD_UNREADABLE: "why"}: it
	 * exists, and nothing else of it is known (not checkpointable).
	 */
	void (*pods_listed)(void *ctx, json_t *pods);
	/* Watch ADDED or MODIFIED. */
	void (*pod_changed)(void *ctx, json_t *pod);
	/* Watch DELETED (the last state of the pod). */
	void (*pod_deleted)(void *ctx, json_t *pod);
	/*
	 * A fetch of the references tracked for uid completed: objects is an
	 * array of the Secrets/ConfigMaps that exist. missing is NULL when every
	 * required reference exists, else a KC_ENOTFOUND error naming the first
	 * required one that does not ("Secret kube-system/foo: not found").
	 * Transient failures (network, 5xx, 401/403) are not reported here: the
	 * fetch is retried and the caller keeps what it had.
	 */
	void (*refs_fetched)(void *ctx, const char *uid, json_t *objects,
	                     const struct kc_error *missing);
	/*
	 * One classified contact. SUCCESS is reported when a request completes
	 * 2xx, when a watch connects, and for watch events at most once per
	 * second; a quiet healthy watch reports nothing (the last outcome stands).
	 * detail says what happened ("GET /api/v1/...: HTTP 503").
	 */
	void (*contact)(void *ctx, enum api_contact outcome, const char *detail);
	/*
	 * GET /api/v1/namespaces/kube-system answered (after each completed
	 * (re)list, and every 2-4 hours): uid (at most API_CLUSTER_UID_MAX
	 * bytes, never empty) is its metadata.uid, the cluster's identity. A
	 * new or restored etcd serves another one. Not called when the answer is
	 * not that Namespace (logged).
	 */
	void (*cluster_uid)(void *ctx, const char *uid);
	/*
	 * The API answered and the answer cannot be used (too big, malformed,
	 * refused by a 4xx): detail says which request and why. NULL detail: in
	 * sync again. Never a reachability failure (contact says SUCCESS).
	 */
	void (*sync_error)(void *ctx, const char *detail);
	/*
	 * GET /api/v1/namespaces/default/services/kubernetes answered, on the
	 * same schedule: uid (as above) is its metadata.uid, the identity a node
	 * may read by default (the Node authorizer grants Services, not
	 * Namespaces); the apiserver's bootstrap controller creates the Service
	 * in a new etcd.
	 */
	void (*cluster_service_uid)(void *ctx, const char *uid);
	/* The POST of Event id ended (see api_client_post_event). */
	void (*event_posted)(void *ctx, uint64_t id, enum api_post_result res, const char *detail);
	/* A quorum read of pod uid answered; pod is the object when PRESENT
	 * (the caller checks its UID and eligibility), else NULL. */
	void (*pod_confirmed)(void *ctx, const char *uid, enum api_confirm_result res,
	                      const json_t *pod);
	/* GET nodes/<self> answered. */
	void (*node_confirmed)(void *ctx, enum api_confirm_result res);
};

struct api_stats {
	unsigned long long requests_ok;
	unsigned long long requests_failure;
	unsigned long long requests_auth_error;
	unsigned long long lists;
	unsigned long long watches;
	unsigned long long watch_events;
	unsigned long long gets;
	unsigned long long quorum_reads;   /* LISTs and GETs without resourceVersion (etcd) */
	unsigned long long connections;    /* TCP connections opened, failed attempts included */
	unsigned long long tls_handshakes; /* new TLS connections that carried an answer */
	unsigned long long event_failures; /* Event POST/PATCH: network, timeout, 5xx, 429 */
	unsigned long long sync_errors;    /* answers that could not be used (api_sync_error) */
	unsigned long long pods_too_big;   /* listed pods over API_MAX_LIST_ITEM */
	unsigned long long
	    mirror_deletes; /* bridges' mirror pods deleted (api_client_delete_mirrors) */
	unsigned long long mirror_delete_failures; /* ... that failed (network, 5xx, 401/403) */
	char sync_error[256]; /* why this node cannot sync now; empty when in sync */
	char last_error[256]; /* empty when none yet */
};

struct api_client;

/*
 * Validate kc's server URL, set up the multi handle; kc (from kubeconfig.h:
 * server, CA, client cert/key, token/tokenFile, tls-server-name, proxy-url,
 * insecure-skip-tls-verify) is copied. The first LIST starts on the first
 * api_client_step. node is this node's name.
 */
kc_code api_client_new(const struct kubeconfig *kc, const char *node,
                       const struct api_callbacks *cb, struct api_client **out,
                       struct kc_error *err);
void api_client_free(struct api_client *c);

/*
 * Milliseconds until api_client_step has work to do (curl timers and the
 * client's own retry/refresh timers); never negative, at most 60000.
 */
long api_client_timeout_ms(struct api_client *c);

/*
 * Wait for network activity of the client or any of the extra fds (their
 * revents are filled in), for at most min(max_ms, api_client_timeout_ms).
 * Wraps curl_multi_poll. max_ms < 0 means no extra cap.
 */
kc_code api_client_wait(struct api_client *c, struct curl_waitfd *extra, unsigned nextra,
                        int max_ms, struct kc_error *err);

/* Interrupt an api_client_wait from another thread. */
void api_client_wakeup(struct api_client *c);

/*
 * Do all pending work: drive transfers, process completed responses (calling
 * the callbacks), start due requests. Errors are only internal ones (out of
 * memory, a curl multi failure); network trouble is reported through contact.
 */
kc_code api_client_step(struct api_client *c, struct kc_error *err);

/*
 * The caller's reachability verdict: true once the API is considered
 * unreachable (retries then back off up to API_RETRY_MAX_MS), false again
 * once it is reachable (retries within a second).
 */
void api_client_set_unreachable(struct api_client *c, bool unreachable);

/*
 * While true, network failures (refused, timeouts, TLS, 5xx, 429) are retried
 * within a second even when unreachable: the agent holds a bridge that must
 * go at the API's first answer (decision.h, awaits_api_answer). It costs an
 * outage one refused connection a second; the apiserver sees one LIST from
 * this node within a second of its return, the LIST it would see later.
 */
void api_client_set_awaiting_answer(struct api_client *c, bool awaiting);

/*
 * Track the references of parent uid (copied). A new uid or a changed set is
 * fetched as soon as the API is healthy; an unchanged set is left to the
 * refresh timer. A set with no references reports an empty array at once.
 */
kc_code api_client_track_refs(struct api_client *c, const char *uid, const struct pod_refs *refs,
                              struct kc_error *err);
/* Fetch the references of uid again as soon as possible (KC_ENOTFOUND if untracked). */
kc_code api_client_refresh_refs(struct api_client *c, const char *uid, struct kc_error *err);
/* Stop tracking uid (a request in flight is dropped silently). */
void api_client_untrack_refs(struct api_client *c, const char *uid);

/*
 * Start-up spread: the first LIST (and so the GETs that follow it) waits a
 * random 0..spread_ms, so that agents restarted at once (a fleet-wide package
 * upgrade) reach the apiserver spread over the window. Only before the first
 * request; call right after api_client_new.
 */
void api_client_spread_start(struct api_client *c, long spread_ms);

/*
 * The first contact at start, now: GET the kube-system Namespace (the
 * cluster_uid read of api_cluster.c) at the next step, whatever the start-up
 * spread and the pods channel's state. The agent awaits its outcome (a
 * contact) for a few seconds before it tells systemd it is ready, so that a
 * stale bridge is dealt with before the kubelet, ordered after the agent,
 * reads the staticPodPath. One read from the watch cache per start: a fleet
 * restarting at once costs the apiserver that, the LISTs stay spread.
 */
void api_client_probe_now(struct api_client *c);

/*
 * How long a connected watch may bring no event and no bookmark before it
 * counts as dead (default API_WATCH_SILENCE_MS; <= 0 restores it). For tests.
 */
void api_client_set_watch_silence(struct api_client *c, long silence_ms);

/* Throw the watch away and LIST again (e.g. after the caller lost state). */
void api_client_relist(struct api_client *c);

/*
 * POST body (a core/v1 Event, JSON) to /api/v1/namespaces/<ns>/events; the
 * outcome comes back through event_posted with id. One POST at a time:
 * KC_EAGAIN while one is in flight. The outcome is never a contact (no
 * reachability): a 429 from EventRateLimit, a 5xx from a webhook or a
 * timeout are logged and reported as API_POST_FAILED only; 401/403 are
 * rejections of the Event, not an API that refuses our credentials (a node
 * whose RBAC lacks events still bridges). Dropped without a callback by
 * api_client_free.
 */
kc_code api_client_post_event(struct api_client *c, const char *ns, const char *body, uint64_t id,
                              struct kc_error *err);
/* The same for PATCH /api/v1/namespaces/<ns>/events/<name> with a merge patch. */
kc_code api_client_patch_event(struct api_client *c, const char *ns, const char *name,
                               const char *body, uint64_t id, struct kc_error *err);

/*
 * Quorum reads (no resourceVersion: etcd), for the decision's confirmations
 * (decision.h W3 and collection): GET the pod ns/name, remembered as uid, or
 * GET nodes/<node>. One at a time: KC_EAGAIN while one is in flight. The
 * answer comes through pod_confirmed / node_confirmed.
 */
kc_code api_client_confirm_pod(struct api_client *c, const char *ns, const char *name,
                               const char *uid, struct kc_error *err);
kc_code api_client_confirm_node(struct api_client *c, struct kc_error *err);

/* A bridge's mirror pod: where it is, and the UID the agent saw. */
struct api_mirror_ref {
	const char *ns;
	const char *name;
	const char *uid;
};

/*
 * DELETE the mirror pods refs[0..n) of bridges about to be withdrawn, all at
 * once, with grace 0 and each uid as precondition, as the kubelet's
 * housekeeping would later (api_mirror.c says why early), and wait for the
 * answers at most timeout_ms. Best effort: outcomes are logged and counted
 * (stats mirror_deletes, mirror_delete_failures), never a contact, and run
 * no callback. Fails only when out of memory.
 */
kc_code api_client_delete_mirrors(struct api_client *c, const struct api_mirror_ref *refs, size_t n,
                                  long timeout_ms, struct kc_error *err);

void api_client_get_stats(const struct api_client *c, struct api_stats *out);

#endif
