/*
 * cri_client.h: ask the container runtime which pod sandboxes exist on this
 * node, through the kubelet's own Container Runtime Interface (CRI,
 * runtime.v1.RuntimeService) on the runtime's unix socket.
 *
 * gRPC is HTTP/2 with prior knowledge: one POST to
 * /runtime.v1.RuntimeService/<Method> with content-type application/grpc
 * and te: trailers, a body of one length-prefixed message (1 byte
 * "compressed" flag, 4 bytes big-endian length, the protobuf bytes), and the
 * status in the grpc-status trailer (or header, for a trailers-only reply).
 * libcurl (Debian's is built with nghttp2) carries it; protobuf-c encodes the
 * messages of proto/cri.proto (field numbers as the CRI defines them).
 *
 * Bounded: the agent has one thread and one poll loop, so every call is
 * synchronous with a hard deadline (CRI_TIMEOUT_MS, connect included). A
 * local runtime answers ListPodSandbox in about a millisecond; a hung one
 * costs at most the deadline, and the caller (local_state.c) then backs off
 * instead of calling again at every pass. Going through the API client's
 * curl multi handle instead would tie the node layer to the API layer for a
 * call that is local and short.
 */
#ifndef KC_CRI_CLIENT_H
#define KC_CRI_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "kc_error.h"

/* Connect plus the whole exchange. */
#define CRI_TIMEOUT_MS 1000L
/* Largest reply accepted: the kubelet's own gRPC receive limit (16 MiB). */
#define CRI_MAX_REPLY (16u * 1024 * 1024)
/* The label the kubelet puts on every sandbox it creates. */
#define CRI_LABEL_POD_UID "io.kubernetes.pod.uid"

/* gRPC status codes the agent tells apart. */
#define CRI_GRPC_OK            0
#define CRI_GRPC_UNIMPLEMENTED 12

struct cri_sandbox {
	char *id;
	char *uid; /* label io.kubernetes.pod.uid, else metadata.uid; "" if neither */
	char *name;
	char *namespace;
	bool ready; /* SANDBOX_READY */
};

struct cri_sandboxes {
	struct cri_sandbox *items;
	size_t count;
};

struct cri_client;

/*
 * endpoint: "unix:///path" or "/path" (as the kubelet's
 * containerRuntimeEndpoint). Any other scheme is KC_EINVAL. Nothing is
 * connected yet.
 */
kc_code cri_client_new(const char *endpoint, struct cri_client **out, struct kc_error *err);
void cri_client_free(struct cri_client *c);
/* The socket path. */
const char *cri_client_socket(const struct cri_client *c);

/*
 * RuntimeService/ListPodSandbox with no filter: every sandbox, READY or not.
 * Errors: KC_ENOTFOUND (no socket at the path), KC_ENET (refused, timed
 * out, cut, not HTTP/2), KC_EINVAL (a gRPC error status, or a reply that is
 * not a valid ListPodSandboxResponse), KC_ETOOBIG, KC_ENOMEM. *grpc_status
 * (may be NULL) is the gRPC status when one was received, else -1.
 */
kc_code cri_list_sandboxes(struct cri_client *c, struct cri_sandboxes *out, int *grpc_status,
                           struct kc_error *err);

/* RuntimeService/Version: "<runtime_name> <runtime_version> (CRI <runtime_api_version>)". */
kc_code cri_version(struct cri_client *c, char **out, int *grpc_status, struct kc_error *err);

void cri_sandboxes_free(struct cri_sandboxes *s);

#endif
