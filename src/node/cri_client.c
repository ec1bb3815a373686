/*
 * cri_client.c: gRPC over HTTP/2 (prior knowledge) on the container
 * runtime's unix socket, with libcurl for the transport and protobuf-c for
 * the messages (see cri_client.h for the wire format and why each call is
 * synchronous with a hard deadline).
 */
#include <curl/curl.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cri.pb-c.h"
#include "cri_client.h"
#include "kc_buf.h"
#include "kc_clock.h"
#include "kc_names.h"
#include "version.h"

#define CRI_UNIX_SCHEME "unix://"
/* sun_path of struct sockaddr_un. */
#define CRI_SOCKET_PATH_MAX 107
#define CRI_FRAME_HEADER    5
/*
 * libcurl's receive buffer (its default is 16 KiB). With the default, Debian's
 * libcurl 7.88 stalls about 200 ms on an HTTP/2 reply larger than the buffer
 * (and sometimes until the deadline): 110 sandboxes, ~20 KiB, took 200 ms per
 * call against 1 ms for 60. The curl tool uses 100 KiB; 512 KiB is
 * libcurl's ceiling.
 */
#define CRI_RECV_BUFFER 524288L

struct cri_client {
	char *socket;
	bool trust_any_owner; /* named by the user (cri_client_new) */
	CURL *easy;           /* one handle, a fresh connection per call (see grpc_call) */
	struct curl_slist *headers;
};

/* What one call received besides the body. */
struct call_state {
	struct kc_buf body;
	int grpc_status; /* -1 until seen */
	char grpc_message[160];
	bool too_big;
};

kc_code cri_client_new(const char *endpoint, bool trust_any_owner, struct cri_client **out,
                       struct kc_error *err)
{
	const char *path = endpoint;
	struct cri_client *c;

	*out = NULL;
	if (endpoint == NULL || endpoint[0] == '\0')
		return kc_fail(err, KC_EINVAL, "container runtime endpoint: empty");
	if (strncmp(path, CRI_UNIX_SCHEME, strlen(CRI_UNIX_SCHEME)) == 0)
		path += strlen(CRI_UNIX_SCHEME);
	else if (strstr(path, "://") != NULL)
		return kc_fail(err, KC_EINVAL,
		               "container runtime endpoint %s: only unix:// sockets are supported",
		               endpoint);
	if (path[0] != '/')
		return kc_fail(err, KC_EINVAL,
		               "container runtime endpoint %s: the socket path must be absolute",
		               endpoint);
	if (strlen(path) > CRI_SOCKET_PATH_MAX)
		return kc_fail(err, KC_EINVAL,
		               "container runtime endpoint %s: socket path too long", endpoint);
	c = calloc(1, sizeof(*c));
	if (c == NULL || (c->socket = strdup(path)) == NULL)
		goto nomem;
	c->trust_any_owner = trust_any_owner;
	c->headers = curl_slist_append(NULL, "content-type: application/grpc");
	if (c->headers != NULL)
		c->headers = curl_slist_append(c->headers, "te: trailers");
	if (c->headers != NULL)
		c->headers = curl_slist_append(c->headers, "Expect:");
	if (c->headers == NULL || (c->easy = curl_easy_init()) == NULL)
		goto nomem;
	*out = c;
	return KC_OK;
nomem:
	cri_client_free(c);
	return kc_fail(err, KC_ENOMEM, "container runtime client: out of memory");
}

void cri_client_free(struct cri_client *c)
{
	if (c == NULL)
		return;
	if (c->easy != NULL)
		curl_easy_cleanup(c->easy);
	curl_slist_free_all(c->headers);
	free(c->socket);
	free(c);
}

const char *cri_client_socket(const struct cri_client *c)
{
	return c->socket;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct call_state *st = ud;

	if (kc_buf_append(&st->body, p, size * n, NULL) != KC_OK) {
		st->too_big = true;
		return 0; /* aborts the transfer */
	}
	return size * n;
}

/* Headers and trailers arrive here alike: grpc-status may be in either. */
static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct call_state *st = ud;
	size_t len = size * n, vlen;
	const char *v;

	if (len > 12 && strncasecmp(p, "grpc-status:", 12) == 0) {
		st->grpc_status = atoi(p + 12);
	} else if (len > 13 && strncasecmp(p, "grpc-message:", 13) == 0) {
		for (v = p + 13; v < p + len && *v == ' '; v++)
			;
		vlen = (size_t)(p + len - v);
		while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n'))
			vlen--;
		if (vlen >= sizeof(st->grpc_message))
			vlen = sizeof(st->grpc_message) - 1;
		memcpy(st->grpc_message, v, vlen);
		st->grpc_message[vlen] = '\0';
	}
	return len;
}

/*
 * May the agent believe what answers on this socket? A missing socket is "no
 * runtime here" (KC_ENOTFOUND), not a network failure. Unless the user named
 * the endpoint, the socket must belong to root (issue 19 finding 13: a socket
 * of `nobody` in a 0777 directory was used and its answer held a bridge
 * back), and so must its directory, with no write access for anyone else:
 * whoever may write the directory may unlink root's socket and put their own
 * in its place between this check and libcurl's connect. A sticky directory
 * (like /tmp) is accepted when root owns it: there nobody but root may
 * remove or rename root's entry. The directories above are not walked: the
 * runtime's socket lives under /run, which only root may change on any
 * system the kubelet runs on.
 */
static kc_code check_socket(const struct cri_client *c, struct kc_error *err)
{
	char dir[PATH_MAX];
	struct stat sb, db;

	/* Named: followed as given (a symbolic link, a user's socket). Found: the entry itself. */
	if ((c->trust_any_owner ? stat(c->socket, &sb) : lstat(c->socket, &sb)) != 0)
		return kc_fail_errno(err, errno == ENOENT ? KC_ENOTFOUND : KC_ENET, errno,
		                     "container runtime %s", c->socket);
	if (c->trust_any_owner)
		return KC_OK;
	if (!S_ISSOCK(sb.st_mode))
		return kc_fail(err, KC_EINVAL, "container runtime %s: not a socket", c->socket);
	if (sb.st_uid != 0)
		return kc_fail(err, KC_EINVAL,
		               "container runtime %s: the socket is owned by uid %u, not root: "
		               "refused (name it with --container-runtime-endpoint to use it)",
		               c->socket, (unsigned)sb.st_uid);
	snprintf(dir, sizeof(dir), "%s", c->socket);
	if (stat(dirname(dir), &db) != 0)
		return kc_fail_errno(err, KC_ENET, errno, "container runtime %s: its directory",
		                     c->socket);
	if (db.st_uid != 0 || ((db.st_mode & (S_IWGRP | S_IWOTH)) && !(db.st_mode & S_ISVTX)))
		return kc_fail(err, KC_EINVAL,
		               "container runtime %s: its directory is %s: refused (name the "
		               "socket with --container-runtime-endpoint to use it)",
		               c->socket,
		               db.st_uid != 0 ? "not owned by root"
		                              : "writable by others than root");
	return KC_OK;
}

/* Milliseconds left until deadline_ms (0: CRI_TIMEOUT_MS from now); at most CRI_TIMEOUT_MS. */
static long time_left(int64_t deadline_ms)
{
	int64_t left;

	if (deadline_ms == 0)
		return CRI_TIMEOUT_MS;
	left = deadline_ms - kc_clock_ms();
	return left > CRI_TIMEOUT_MS ? CRI_TIMEOUT_MS : (long)left;
}

/*
 * One unary call by deadline_ms: request message in (already packed), the
 * reply message's bytes out in st->body (frame header stripped).
 */
static kc_code grpc_call(struct cri_client *c, const char *method, int64_t deadline_ms,
                         const uint8_t *req, size_t reqlen, struct call_state *st,
                         struct kc_error *err)
{
	char url[128];
	uint8_t *frame;
	long http = 0, left = time_left(deadline_ms);
	CURLcode cc;
	uint32_t mlen;
	CURL *e = c->easy;
	kc_code rc;

	st->grpc_status = -1;
	st->grpc_message[0] = '\0';
	st->too_big = false;
	kc_buf_init(&st->body, CRI_MAX_REPLY + CRI_FRAME_HEADER);
	if ((rc = check_socket(c, err)) != KC_OK)
		return rc;
	if (left <= 0)
		return kc_fail(err, KC_ENET,
		               "container runtime %s: %s: no time left (%ld ms in all)", c->socket,
		               method, CRI_TIMEOUT_MS);
	frame = malloc(reqlen + CRI_FRAME_HEADER);
	if (frame == NULL)
		return kc_fail(err, KC_ENOMEM, "container runtime: out of memory");
	frame[0] = 0; /* not compressed */
	frame[1] = (uint8_t)(reqlen >> 24);
	frame[2] = (uint8_t)(reqlen >> 16);
	frame[3] = (uint8_t)(reqlen >> 8);
	frame[4] = (uint8_t)reqlen;
	if (reqlen > 0)
		memcpy(frame + CRI_FRAME_HEADER, req, reqlen);
	snprintf(url, sizeof(url), "http://localhost/runtime.v1.RuntimeService/%s", method);
	curl_easy_reset(e);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, c->socket);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->headers);
	curl_easy_setopt(e, CURLOPT_USERAGENT, KC_USER_AGENT_NAME KC_VERSION);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, (char *)frame);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)(reqlen + CRI_FRAME_HEADER));
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	/*
	 * A fresh connection per call: Debian's libcurl 7.88 fails a second
	 * request on a reused prior-knowledge HTTP/2 connection ("Error in the
	 * HTTP2 framing layer", also with the curl tool against grpcio), and a
	 * local connect costs microseconds at one call per pass.
	 */
	curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(e, CURLOPT_BUFFERSIZE, CRI_RECV_BUFFER);
	curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, left);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, left);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, st);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, st);
	cc = curl_easy_perform(e);
	free(frame);
	if (st->too_big)
		return kc_fail(err, KC_ETOOBIG,
		               "container runtime %s: %s: reply over %u bytes (the cap)", c->socket,
		               method, CRI_MAX_REPLY);
	if (cc != CURLE_OK)
		return kc_fail(err, KC_ENET, "container runtime %s: %s: %s", c->socket, method,
		               curl_easy_strerror(cc));
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &http);
	if (http != 200)
		return kc_fail(err, KC_ENET,
		               "container runtime %s: %s: HTTP %ld (not a gRPC server?)", c->socket,
		               method, http);
	if (st->grpc_status < 0)
		return kc_fail(err, KC_EINVAL, "container runtime %s: %s: no grpc-status",
		               c->socket, method);
	if (st->grpc_status != CRI_GRPC_OK)
		return kc_fail(err, KC_EINVAL, "container runtime %s: %s: gRPC status %d%s%s",
		               c->socket, method, st->grpc_status, st->grpc_message[0] ? ": " : "",
		               st->grpc_message);
	if (st->body.len < CRI_FRAME_HEADER)
		return kc_fail(err, KC_EINVAL, "container runtime %s: %s: reply without a message",
		               c->socket, method);
	if (st->body.data[0] != 0)
		return kc_fail(err, KC_EINVAL, "container runtime %s: %s: compressed reply",
		               c->socket, method);
	mlen = (uint32_t)(uint8_t)st->body.data[1] << 24 |
	       (uint32_t)(uint8_t)st->body.data[2] << 16 |
	       (uint32_t)(uint8_t)st->body.data[3] << 8 | (uint32_t)(uint8_t)st->body.data[4];
	if ((size_t)mlen != st->body.len - CRI_FRAME_HEADER)
		return kc_fail(err, KC_EINVAL,
		               "container runtime %s: %s: frame says %u bytes, %zu received",
		               c->socket, method, mlen, st->body.len - CRI_FRAME_HEADER);
	return KC_OK;
}

static const uint8_t *reply_bytes(const struct call_state *st)
{
	return (const uint8_t *)st->body.data + CRI_FRAME_HEADER;
}

static size_t reply_len(const struct call_state *st)
{
	return st->body.len - CRI_FRAME_HEADER;
}

static bool read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	unsigned shift;

	*v = 0;
	for (shift = 0; shift < 64 && *p < end; shift += 7) {
		uint8_t b = *(*p)++;

		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return true;
	}
	return false;
}

/*
 * How many items (field 1, the repeated field of every List*Response) the
 * reply holds, counted on the wire before anything is decoded: protobuf-c
 * would allocate all of them first. KC_ETOOBIG as soon as the count passes
 * CRI_MAX_ITEMS, KC_ECORRUPT for bytes that are not protobuf.
 */
static kc_code count_items(const uint8_t *p, size_t len, size_t *n)
{
	const uint8_t *end = p + len;
	uint64_t key, v;

	*n = 0;
	while (p < end) {
		if (!read_varint(&p, end, &key))
			return KC_ECORRUPT;
		switch (key & 7) {
		case 0:
			if (!read_varint(&p, end, &v))
				return KC_ECORRUPT;
			break;
		case 1:
		case 5:
			if ((size_t)(end - p) < ((key & 7) == 1 ? 8u : 4u))
				return KC_ECORRUPT;
			p += (key & 7) == 1 ? 8 : 4;
			break;
		case 2:
			if (!read_varint(&p, end, &v) || v > (uint64_t)(end - p))
				return KC_ECORRUPT;
			p += v;
			if ((key >> 3) == 1 && ++*n > CRI_MAX_ITEMS)
				return KC_ETOOBIG;
			break;
		default:
			return KC_ECORRUPT;
		}
	}
	return KC_OK;
}

/* protobuf-c's allocations for one reply, refused past CRI_MAX_DECODE_BYTES. */
struct decode_budget {
	size_t used;
	bool over;
};

static void *budget_alloc(void *data, size_t size)
{
	struct decode_budget *b = data;

	if (size > CRI_MAX_DECODE_BYTES - b->used) {
		b->over = true;
		return NULL;
	}
	b->used += size;
	return malloc(size);
}

static void budget_free(void *data, void *p)
{
	(void)data;
	free(p);
}

/*
 * The reply of method as a desc message, decoded within the caps (see
 * cri_client.h); free it with protobuf_c_message_free_unpacked(msg, NULL).
 */
static kc_code decode_reply(const struct cri_client *c, const char *method,
                            const ProtobufCMessageDescriptor *desc, const struct call_state *st,
                            ProtobufCMessage **out, struct kc_error *err)
{
	struct decode_budget b = {0};
	ProtobufCAllocator alloc = {budget_alloc, budget_free, &b};
	size_t n;
	kc_code rc;

	*out = NULL;
	if ((rc = count_items(reply_bytes(st), reply_len(st), &n)) == KC_ETOOBIG)
		return kc_fail(err, rc,
		               "container runtime %s: %s: more than %u items in the reply (the "
		               "cap): refused",
		               c->socket, method, CRI_MAX_ITEMS);
	if (rc == KC_OK)
		*out = protobuf_c_message_unpack(desc, &alloc, reply_len(st), reply_bytes(st));
	if (*out == NULL && b.over)
		return kc_fail(err, KC_ETOOBIG,
		               "container runtime %s: %s: the reply takes more than %u bytes to "
		               "decode (the cap): refused",
		               c->socket, method, CRI_MAX_DECODE_BYTES);
	if (*out == NULL)
		return kc_fail(err, KC_ECORRUPT, "container runtime %s: %s: reply is not a %s",
		               c->socket, method, desc->short_name);
	return KC_OK;
}

/* A reply that came, or was decoded, after the deadline is a timeout all the same. */
static kc_code check_deadline(const struct cri_client *c, const char *method, int64_t deadline_ms,
                              int64_t t0, struct kc_error *err)
{
	int64_t now = kc_clock_ms();

	if (now <= (deadline_ms != 0 ? deadline_ms : t0 + CRI_TIMEOUT_MS))
		return KC_OK;
	return kc_fail(err, KC_ENET,
	               "container runtime %s: %s: answered in %lld ms, past the deadline",
	               c->socket, method, (long long)(now - t0));
}

static char *dup_or_empty(const char *s)
{
	return strdup(s != NULL ? s : "");
}

/* The value of key in a protobuf map (protoc-c gives each map its own entry type). */
#define DEFINE_MAP_GET(fn, entry_type)                                                             \
	static const char *fn(entry_type *const *entries, size_t n, const char *key)               \
	{                                                                                          \
		for (size_t i = 0; i < n; i++)                                                     \
			if (entries[i]->key != NULL && strcmp(entries[i]->key, key) == 0)          \
				return entries[i]->value;                                          \
		return NULL;                                                                       \
	}
DEFINE_MAP_GET(sandbox_label, Runtime__V1__PodSandbox__LabelsEntry)
DEFINE_MAP_GET(container_label, Runtime__V1__Container__LabelsEntry)
DEFINE_MAP_GET(container_annotation, Runtime__V1__Container__AnnotationsEntry)

static kc_code convert_sandboxes(const Runtime__V1__ListPodSandboxResponse *resp,
                                 struct cri_sandboxes *out, struct kc_error *err)
{
	size_t i;

	if (resp->n_items == 0)
		return KC_OK;
	out->items = calloc(resp->n_items, sizeof(*out->items));
	if (out->items == NULL)
		return kc_fail(err, KC_ENOMEM, "container runtime: out of memory");
	for (i = 0; i < resp->n_items; i++) {
		const Runtime__V1__PodSandbox *sb = resp->items[i];
		const Runtime__V1__PodSandboxMetadata *md = sb->metadata;
		struct cri_sandbox *o = &out->items[out->count++];
		const char *uid = sandbox_label(sb->labels, sb->n_labels, CRI_LABEL_POD_UID);

		if (uid == NULL && md != NULL)
			uid = md->uid;
		o->id = dup_or_empty(sb->id);
		o->uid = dup_or_empty(uid);
		o->name = dup_or_empty(md != NULL ? md->name : NULL);
		o->namespace = dup_or_empty(md != NULL ? md->namespace_ : NULL);
		o->ready = sb->state == RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY;
		if (o->id == NULL || o->uid == NULL || o->name == NULL || o->namespace == NULL)
			return kc_fail(err, KC_ENOMEM, "container runtime: out of memory");
	}
	return KC_OK;
}

static enum cri_container_state container_state(Runtime__V1__ContainerState s)
{
	switch (s) {
	case RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED:
		return CRI_CONTAINER_CREATED;
	case RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING:
		return CRI_CONTAINER_RUNNING;
	case RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED:
		return CRI_CONTAINER_EXITED;
	default:
		return CRI_CONTAINER_UNKNOWN;
	}
}

static kc_code convert_containers(const Runtime__V1__ListContainersResponse *resp,
                                  struct cri_containers *out, struct kc_error *err)
{
	size_t i;

	if (resp->n_containers == 0)
		return KC_OK;
	out->items = calloc(resp->n_containers, sizeof(*out->items));
	if (out->items == NULL)
		return kc_fail(err, KC_ENOMEM, "container runtime: out of memory");
	for (i = 0; i < resp->n_containers; i++) {
		const Runtime__V1__Container *ct = resp->containers[i];
		struct cri_container *o = &out->items[out->count++];
		const char *type = container_annotation(ct->annotations, ct->n_annotations,
		                                        CRI_ANNOTATION_CONTAINER_TYPE);

		o->id = dup_or_empty(ct->id);
		o->uid = dup_or_empty(container_label(ct->labels, ct->n_labels, CRI_LABEL_POD_UID));
		o->name = dup_or_empty(ct->metadata != NULL ? ct->metadata->name : NULL);
		o->state = container_state(ct->state);
		o->created_ns = ct->created_at;
		o->regular = type == NULL || strcmp(type, "container") == 0;
		if (o->id == NULL || o->uid == NULL || o->name == NULL)
			return kc_fail(err, KC_ENOMEM, "container runtime: out of memory");
	}
	return KC_OK;
}

/*
 * A List call of the runtime service: its request is empty (both requests
 * pack to 0 bytes: no filter, every item), its reply is decoded with desc
 * and handed to convert; the answer counts only if it came within the
 * deadline. *resp is freed here.
 */
typedef kc_code (*cri_convert_fn)(const ProtobufCMessage *resp, void *out, struct kc_error *err);

static kc_code list_call(struct cri_client *c, const char *method,
                         const ProtobufCMessageDescriptor *desc, int64_t deadline_ms,
                         cri_convert_fn convert, void *out, int *grpc_status, struct kc_error *err)
{
	ProtobufCMessage *resp;
	int64_t t0 = kc_clock_ms();
	struct call_state st;
	kc_code rc;

	rc = grpc_call(c, method, deadline_ms, NULL, 0, &st, err);
	if (grpc_status != NULL)
		*grpc_status = st.grpc_status;
	if (rc == KC_OK)
		rc = decode_reply(c, method, desc, &st, &resp, err);
	if (rc == KC_OK) {
		rc = convert(resp, out, err);
		protobuf_c_message_free_unpacked(resp, NULL);
	}
	if (rc == KC_OK)
		rc = check_deadline(c, method, deadline_ms, t0, err);
	kc_buf_free(&st.body);
	return rc;
}

static kc_code sandboxes_of(const ProtobufCMessage *resp, void *out, struct kc_error *err)
{
	return convert_sandboxes((const Runtime__V1__ListPodSandboxResponse *)resp, out, err);
}

static kc_code containers_of(const ProtobufCMessage *resp, void *out, struct kc_error *err)
{
	return convert_containers((const Runtime__V1__ListContainersResponse *)resp, out, err);
}

kc_code cri_list_sandboxes(struct cri_client *c, int64_t deadline_ms, struct cri_sandboxes *out,
                           int *grpc_status, struct kc_error *err)
{
	kc_code rc;

	memset(out, 0, sizeof(*out));
	rc = list_call(c, "ListPodSandbox", &runtime__v1__list_pod_sandbox_response__descriptor,
	               deadline_ms, sandboxes_of, out, grpc_status, err);
	if (rc != KC_OK)
		cri_sandboxes_free(out);
	return rc;
}

kc_code cri_list_containers(struct cri_client *c, int64_t deadline_ms, struct cri_containers *out,
                            int *grpc_status, struct kc_error *err)
{
	kc_code rc;

	memset(out, 0, sizeof(*out));
	rc = list_call(c, "ListContainers", &runtime__v1__list_containers_response__descriptor,
	               deadline_ms, containers_of, out, grpc_status, err);
	if (rc != KC_OK)
		cri_containers_free(out);
	return rc;
}

kc_code cri_version(struct cri_client *c, char **out, int *grpc_status, struct kc_error *err)
{
	Runtime__V1__VersionRequest req = RUNTIME__V1__VERSION_REQUEST__INIT;
	Runtime__V1__VersionResponse *resp;
	uint8_t buf[32];
	struct call_state st;
	size_t len;
	kc_code rc;
	int n;

	*out = NULL;
	req.version = (char *)"v1";
	len = runtime__v1__version_request__pack(&req, buf);
	rc = grpc_call(c, "Version", 0, buf, len, &st, err);
	if (grpc_status != NULL)
		*grpc_status = st.grpc_status;
	if (rc != KC_OK)
		goto out;
	resp = runtime__v1__version_response__unpack(NULL, st.body.len - CRI_FRAME_HEADER,
	                                             reply_bytes(&st));
	if (resp == NULL) {
		rc = kc_fail(err, KC_EINVAL,
		             "container runtime %s: Version: reply is not a VersionResponse",
		             c->socket);
		goto out;
	}
	n = asprintf(out, "%s %s (CRI %s)", resp->runtime_name, resp->runtime_version,
	             resp->runtime_api_version);
	runtime__v1__version_response__free_unpacked(resp, NULL);
	if (n < 0) {
		*out = NULL;
		rc = kc_fail(err, KC_ENOMEM, "container runtime: out of memory");
	}
out:
	kc_buf_free(&st.body);
	return rc;
}

void cri_sandboxes_free(struct cri_sandboxes *s)
{
	size_t i;

	for (i = 0; i < s->count; i++) {
		free(s->items[i].id);
		free(s->items[i].uid);
		free(s->items[i].name);
		free(s->items[i].namespace);
	}
	free(s->items);
	memset(s, 0, sizeof(*s));
}

void cri_containers_free(struct cri_containers *s)
{
	size_t i;

	for (i = 0; i < s->count; i++) {
		free(s->items[i].id);
		free(s->items[i].uid);
		free(s->items[i].name);
	}
	free(s->items);
	memset(s, 0, sizeof(*s));
}
