/*
 * api_probe.c: test driver for api_client. Runs the client against an
 * apiserver (the fake one in tests/fakeapi) and prints every callback it gets
 * as one JSON line on stdout, so tests/e2e/test_api_client.py can check the
 * protocol, the fault classification and the retry timing from outside.
 *
 *   api_probe --server URL --node NAME [--ca F] [--ca-data F] [--cert F]
 *             [--cert-data F] [--key F] [--key-data F] [--token T]
 *             [--token-file F] [--tls-server-name N] [--insecure]
 *             [--unreachable-after-ms MS] [--duration-ms MS] [--watch-silence-ms MS]
 *
 * --*-data F reads F and hands the bytes to the client as an in-memory blob
 * (the kubeconfig *-data path). Commands on stdin, one per line (stdin is one
 * of the extra fds api_client_wait polls):
 *
 *   track UID NS [Secret/NAME[?]|ConfigMap/NAME[?]]...   '?' = optional
 *   untrack UID | refresh UID | relist | unreachable 0|1 | stats | quit
 *   event NS      POST a minimal core/v1 Event into NS (answer: a "posted" line)
 *   awaiting 0|1  api_client_set_awaiting_answer
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api_client.h"
#include "kc_buf.h"
#include "kc_log.h"
#include "kubeconfig.h"

struct probe {
	struct api_client *client;
	int64_t unreachable_after_ms; /* 0: the probe never declares unreachable */
	int64_t fail_since_ms;        /* -1: not failing */
	bool unreachable;
	bool quit;
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Print one event line: obj gets "ev" and "t" (monotonic ms) and is consumed. */
static void emit(const char *ev, json_t *obj)
{
	char *s;

	json_object_set_new(obj, "ev", json_string(ev));
	json_object_set_new(obj, "t", json_integer(mono_ms()));
	s = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
	if (s != NULL)
		printf("%s\n", s);
	fflush(stdout);
	free(s);
	json_decref(obj);
}

static json_t *pod_key(const json_t *pod)
{
	const json_t *meta = json_object_get(pod, "metadata");
	const char *ns = json_string_value(json_object_get(meta, "namespace"));
	const char *name = json_string_value(json_object_get(meta, "name"));

	return json_sprintf("%s/%s", ns ? ns : "?", name ? name : "?");
}

static void on_listed(void *ctx, json_t *pods)
{
	json_t *names = json_array(), *pod;
	size_t i;

	json_array_foreach(pods, i, pod)
	{
		json_array_append_new(names, pod_key(pod));
		if (json_object_get(pod, "kind") == NULL)
			json_array_append_new(names, json_string("!missing kind"));
		if (json_object_get(pod, API_POD_UNREADABLE) != NULL)
			json_array_append_new(names, json_sprintf("!unreadable: %s",
			                                          json_string_value(json_object_get(
			                                              pod, API_POD_UNREADABLE))));
	}
	emit("listed", json_pack("{s:o, s:I}", "pods", names, "count", (json_int_t)i));
}

static void on_changed(void *ctx, json_t *pod)
{
	const char *rv =
	    json_string_value(json_object_get(json_object_get(pod, "metadata"), "resourceVersion"));

	emit("changed", json_pack("{s:o, s:s?}", "pod", pod_key(pod), "rv", rv));
}

static void on_deleted(void *ctx, json_t *pod)
{
	emit("deleted", json_pack("{s:o}", "pod", pod_key(pod)));
}

static void on_refs(void *ctx, const char *uid, json_t *objects, const struct kc_error *missing)
{
	json_t *names = json_array(), *obj;
	size_t i;

	json_array_foreach(objects, i, obj)
	{
		const json_t *meta = json_object_get(obj, "metadata");

		json_array_append_new(
		    names, json_sprintf("%s %s/%s", json_string_value(json_object_get(obj, "kind")),
		                        json_string_value(json_object_get(meta, "namespace")),
		                        json_string_value(json_object_get(meta, "name"))));
	}
	emit("refs", json_pack("{s:s, s:o, s:s?}", "uid", uid, "objects", names, "missing",
	                       missing ? missing->msg : NULL));
}

static void on_contact(void *ctx, enum api_contact outcome, const char *detail)
{
	struct probe *p = ctx;
	int64_t now = mono_ms();

	emit("contact",
	     json_pack("{s:s, s:s}", "outcome", api_contact_name(outcome), "detail", detail));
	/* A minimal reachability tracker, enough to exercise the backoff switch. */
	if (outcome != API_CONTACT_FAILURE) {
		p->fail_since_ms = -1;
		if (p->unreachable) {
			p->unreachable = false;
			api_client_set_unreachable(p->client, false);
			emit("reachable", json_object());
		}
		return;
	}
	if (p->fail_since_ms < 0)
		p->fail_since_ms = now;
	if (p->unreachable_after_ms > 0 && !p->unreachable &&
	    now - p->fail_since_ms >= p->unreachable_after_ms) {
		p->unreachable = true;
		api_client_set_unreachable(p->client, true);
		emit("unreachable", json_object());
	}
}

static void on_sync_error(void *ctx, const char *detail)
{
	emit("sync", json_pack("{s:s?}", "error", detail));
}

static const char *const post_results[] = {"done", "rejected", "failed", "not_found"};

static void on_posted(void *ctx, uint64_t id, enum api_post_result res, const char *detail)
{
	emit("posted", json_pack("{s:I, s:s, s:s}", "id", (json_int_t)id, "result",
	                         post_results[res], "detail", detail));
}

/* "event NS": one Event about a Pod, enough for the fake apiserver to accept. */
static void cmd_event(struct probe *p, const char *ns)
{
	static uint64_t next_id;
	struct kc_error err;
	char name[64], *body;
	json_t *ev;

	snprintf(name, sizeof(name), "probe.%llu", (unsigned long long)++next_id);
	ev = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s}, s:s, s:s, s:s}", "apiVersion",
	               "v1", "kind", "Event", "metadata", "name", name, "namespace", ns,
	               "involvedObject", "kind", "Pod", "namespace", ns, "name", "probe", "reason",
	               "Probe", "message", "probe", "type", "Normal");
	body = ev != NULL ? json_dumps(ev, JSON_COMPACT) : NULL;
	if (body == NULL || api_client_post_event(p->client, ns, body, next_id, &err) != KC_OK)
		emit("error", json_pack("{s:s}", "msg", body ? err.msg : "out of memory"));
	free(body);
	json_decref(ev);
}

static void print_stats(struct probe *p)
{
	struct api_stats st;

	api_client_get_stats(p->client, &st);
	emit("stats",
	     json_pack(
	         "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:s}",
	         "requests_ok", (json_int_t)st.requests_ok, "requests_failure",
	         (json_int_t)st.requests_failure, "requests_auth_error",
	         (json_int_t)st.requests_auth_error, "lists", (json_int_t)st.lists, "watches",
	         (json_int_t)st.watches, "watch_events", (json_int_t)st.watch_events, "gets",
	         (json_int_t)st.gets, "quorum_reads", (json_int_t)st.quorum_reads, "connections",
	         (json_int_t)st.connections, "tls_handshakes", (json_int_t)st.tls_handshakes,
	         "event_failures", (json_int_t)st.event_failures, "sync_errors",
	         (json_int_t)st.sync_errors, "pods_too_big", (json_int_t)st.pods_too_big,
	         "sync_error", st.sync_error, "last_error", st.last_error));
}

/* "track UID NS Kind/name[?]..." */
static void cmd_track(struct probe *p, char *args)
{
	struct pod_ref refs[64];
	struct pod_refs set = {.refs = refs, .count = 0};
	struct kc_error err;
	char *save = NULL, *uid = strtok_r(args, " ", &save), *tok;

	set.namespace = strtok_r(NULL, " ", &save);
	if (uid == NULL || set.namespace == NULL) {
		emit("error", json_pack("{s:s}", "msg", "track UID NS [Kind/name[?]]..."));
		return;
	}
	while ((tok = strtok_r(NULL, " ", &save)) != NULL && set.count < 64) {
		char *slash = strchr(tok, '/');
		size_t n;

		if (slash == NULL)
			continue;
		*slash = '\0';
		refs[set.count].kind = strcmp(tok, "Secret") == 0 ? "Secret" : "ConfigMap";
		refs[set.count].name = slash + 1;
		n = strlen(slash + 1);
		refs[set.count].optional = n > 0 && slash[n] == '?';
		if (refs[set.count].optional)
			slash[n] = '\0';
		set.count++;
	}
	if (api_client_track_refs(p->client, uid, &set, &err) != KC_OK)
		emit("error", json_pack("{s:s}", "msg", err.msg));
}

static void run_command(struct probe *p, char *line)
{
	struct kc_error err;

	if (strncmp(line, "track ", 6) == 0) {
		cmd_track(p, line + 6);
	} else if (strncmp(line, "untrack ", 8) == 0) {
		api_client_untrack_refs(p->client, line + 8);
	} else if (strncmp(line, "refresh ", 8) == 0) {
		if (api_client_refresh_refs(p->client, line + 8, &err) != KC_OK)
			emit("error", json_pack("{s:s}", "msg", err.msg));
	} else if (strncmp(line, "event ", 6) == 0) {
		cmd_event(p, line + 6);
	} else if (strcmp(line, "relist") == 0) {
		api_client_relist(p->client);
	} else if (strncmp(line, "unreachable ", 12) == 0) {
		p->unreachable = line[12] == '1';
		api_client_set_unreachable(p->client, p->unreachable);
	} else if (strncmp(line, "awaiting ", 9) == 0) {
		api_client_set_awaiting_answer(p->client, line[9] == '1');
	} else if (strcmp(line, "stats") == 0) {
		print_stats(p);
	} else if (strcmp(line, "quit") == 0) {
		p->quit = true;
	} else if (line[0] != '\0') {
		emit("error", json_pack("{s:s, s:s}", "msg", "unknown command", "line", line));
	}
}

/* Read what stdin has; run each complete line. Returns false at EOF. */
static bool read_commands(struct probe *p, struct kc_buf *pending)
{
	char chunk[4096], *nl;
	ssize_t n = read(STDIN_FILENO, chunk, sizeof(chunk));

	if (n <= 0)
		return n < 0 && errno == EINTR;
	if (kc_buf_append(pending, chunk, (size_t)n, NULL) != KC_OK)
		return false;
	while ((nl = memchr(pending->data, '\n', pending->len)) != NULL) {
		size_t used = (size_t)(nl - pending->data) + 1;

		*nl = '\0';
		run_command(p, pending->data);
		memmove(pending->data, pending->data + used, pending->len - used + 1);
		pending->len -= used;
	}
	return true;
}

static int slurp(const char *path, struct kubeconfig_pem *pem)
{
	struct kc_buf b;
	struct kc_error err;

	kc_buf_init(&b, 1 << 20);
	if (kc_buf_read_file(&b, path, &err) != KC_OK) {
		fprintf(stderr, "api_probe: %s\n", err.msg);
		return -1;
	}
	pem->data = (unsigned char *)b.data;
	pem->len = b.len;
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: api_probe --server URL --node NAME [options] (see source)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct kubeconfig kc = {0};
	struct probe p = {.fail_since_ms = -1};
	struct api_callbacks cb = {
	    .ctx = &p,
	    .pods_listed = on_listed,
	    .pod_changed = on_changed,
	    .pod_deleted = on_deleted,
	    .refs_fetched = on_refs,
	    .contact = on_contact,
	    .event_posted = on_posted,
	    .sync_error = on_sync_error,
	};
	long watch_silence_ms = 0;
	const char *node = NULL;
	int64_t duration_ms = 0, end;
	struct kc_error err;
	struct kc_buf pending;
	bool stdin_open = true;
	int status = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--insecure") == 0) {
			kc.insecure_skip_tls_verify = true;
			continue;
		}
		if (v == NULL)
			usage();
		i++;
		if (strcmp(a, "--server") == 0)
			kc.server = (char *)v;
		else if (strcmp(a, "--node") == 0)
			node = v;
		else if (strcmp(a, "--ca") == 0)
			kc.ca.path = (char *)v;
		else if (strcmp(a, "--cert") == 0)
			kc.client_cert.path = (char *)v;
		else if (strcmp(a, "--key") == 0)
			kc.client_key.path = (char *)v;
		else if (strcmp(a, "--ca-data") == 0 && slurp(v, &kc.ca) == 0)
			;
		else if (strcmp(a, "--cert-data") == 0 && slurp(v, &kc.client_cert) == 0)
			;
		else if (strcmp(a, "--key-data") == 0 && slurp(v, &kc.client_key) == 0)
			;
		else if (strcmp(a, "--token") == 0)
			kc.token = (char *)v;
		else if (strcmp(a, "--token-file") == 0)
			kc.token_file = (char *)v;
		else if (strcmp(a, "--tls-server-name") == 0)
			kc.tls_server_name = (char *)v;
		else if (strcmp(a, "--unreachable-after-ms") == 0)
			p.unreachable_after_ms = atoll(v);
		else if (strcmp(a, "--watch-silence-ms") == 0)
			watch_silence_ms = atol(v);
		else if (strcmp(a, "--duration-ms") == 0)
			duration_ms = atoll(v);
		else
			usage();
	}
	kc_log_init(getenv("API_PROBE_DEBUG") != NULL);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (api_client_new(&kc, node, &cb, &p.client, &err) != KC_OK) {
		fprintf(stderr, "api_probe: %s\n", err.msg);
		return kc_exit_status(err.code);
	}
	api_client_set_watch_silence(p.client, watch_silence_ms);
	kc_buf_init(&pending, 1 << 20);
	end = duration_ms > 0 ? mono_ms() + duration_ms : INT64_MAX;
	emit("started", json_object());
	while (!p.quit && mono_ms() < end) {
		struct curl_waitfd in = {.fd = STDIN_FILENO, .events = CURL_WAIT_POLLIN};
		int64_t left = end - mono_ms();

		if (api_client_wait(p.client, &in, stdin_open ? 1 : 0,
		                    left < 1000000 ? (int)left : -1, &err) != KC_OK ||
		    api_client_step(p.client, &err) != KC_OK) {
			fprintf(stderr, "api_probe: %s\n", err.msg);
			status = 1;
			break;
		}
		if (stdin_open && (in.revents & CURL_WAIT_POLLIN))
			stdin_open = read_commands(&p, &pending);
	}
	print_stats(&p);
	api_client_free(p.client);
	kc_buf_free(&pending);
	free(kc.ca.data);
	free(kc.client_cert.data);
	free(kc.client_key.data);
	curl_global_cleanup();
	return status;
}
