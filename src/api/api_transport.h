/*
 * api_transport.h: how the api layer reaches the apiserver, behind one small
 * struct: the base URL (with tls-server-name routed through CONNECT_TO), the
 * TLS material and bearer token of the kubeconfig, and the libcurl multi
 * handle whose connection pool every request shares.
 *
 * Connections: every request goes through one pool. When the apiserver
 * speaks HTTP/2 (ALPN; Debian's libcurl has nghttp2) all requests, the
 * long watch included, are streams of one long-lived connection
 * (CURLPIPE_MULTIPLEX, and CURLOPT_PIPEWAIT so a request waits for that
 * connection rather than opening a second one). Over HTTP/1.1 a connection
 * carries one request at a time: the api layer keeps at most
 * API_MAX_CONNECTIONS requests in flight, the watch holding one connection
 * and the others sharing the rest (a limit of our own: libcurl 7.88's
 * CURLMOPT_MAX_HOST_CONNECTIONS can leave queued transfers stuck). A
 * connection idle between requests is kept (not libcurl's 118 s), and one is
 * not reused past API_CONN_MAX_LIFE_S, so a rotated client
 * certificate is presented within that time (the apiserver checks the
 * certificate of each request against the clock, not only at the
 * handshake), and a 401/403 makes the next request open a fresh connection. api_transport_easy
 * turns (method, path, body) into a ready easy handle; what the response means is the caller's
 * business (api_request.c, the pods channel, the references).
 *
 * Internal to src/api/: the rest of the program talks to api_client.h.
 */
#ifndef KC_API_TRANSPORT_H
#define KC_API_TRANSPORT_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "kc_error.h"
#include "kubeconfig.h"

struct api_transport {
	CURLM *multi;
	char *base_url;                /* server URL, host replaced by tls-server-name if set */
	struct curl_slist *connect_to; /* "name:port:host:port" for tls-server-name */
	struct kubeconfig *kc;         /* owned copy */
	/* Token file cache: re-read when the file changes. */
	char *token_cached;
	struct stat token_st;
	bool token_st_valid;
	bool tls;                       /* https */
	bool fresh_next;                /* the next request opens a new connection */
	bool multiplexed;               /* the last answer came over HTTP/2 */
	unsigned long long connections; /* TCP connections opened (attempts included) */
};

/* One HTTP request to start. */
struct api_http {
	const char *method;       /* "GET", "POST", ... */
	const char *path;         /* already escaped, "/api/v1/...", query included */
	const char *body;         /* NULL: none; copied, so it may be freed at once */
	size_t body_len;          /* bytes of body */
	const char *content_type; /* of body; NULL: application/json */
	long timeout_ms;          /* whole transfer */
	bool stream;              /* a watch: silence is normal, no low-speed limit */
};

/*
 * Validate kc's server URL (https or http, no query or fragment), copy kc
 * and set up the multi handle. On failure t is cleaned up.
 */
kc_code api_transport_init(struct api_transport *t, const struct kubeconfig *kc,
                           struct kc_error *err);
void api_transport_cleanup(struct api_transport *t);

/* The API refused our credentials: do not reuse the connection that carried them. */
void api_transport_auth_failed(struct api_transport *t);

/*
 * A configured easy handle for req: URL, method and body, Accept, bearer
 * token (tokenFile re-read when it changed), TLS, proxy, connect and
 * low-speed timeouts, TCP keepalive. Not yet added to the multi handle: the
 * caller sets CURLOPT_PRIVATE and its write/header callbacks, then adds it.
 * *headers belongs to the caller and must outlive the transfer
 * (api_transport_free_headers after curl_easy_cleanup).
 */
kc_code api_transport_easy(struct api_transport *t, const struct api_http *req, CURL **easy,
                           struct curl_slist **headers, struct kc_error *err);

/* Free headers of api_transport_easy; they may carry the token, so each is cleared first. */
void api_transport_free_headers(struct curl_slist *headers);

#endif
