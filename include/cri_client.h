/*
 * cri_client.h: ask the container runtime which pod sandboxes and which
 * containers exist on this node, through the kubelet's own Container Runtime
 * Interface (CRI, runtime.v1.RuntimeService) on the runtime's unix socket.
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
 * synchronous with a hard deadline (an absolute instant on kc_clock_ms, so
 * that the calls of one refresh share CRI_TIMEOUT_MS, connect included). A
 * local runtime answers in about a millisecond; a hung one costs at most the
 * deadline, and the caller (local_state.c) then backs off instead of calling
 * again at every pass. The runtime is an input like any other: a reply is
 * capped in bytes (CRI_MAX_REPLY), in items (CRI_MAX_ITEMS, counted on the
 * wire before anything is decoded) and in the memory its decoding may take
 * (CRI_MAX_DECODE_BYTES); an answer that completes after the deadline is a
 * timeout like one that never came. Going through the API client's curl
 * multi handle instead would tie the node layer to the API layer for a call
 * that is local and short.
 *
 * Trust: the agent runs as root and believes the socket's answer about what
 * runs. A socket found from the kubelet's settings (or the default) must be
 * a socket owned by root in a directory that only root can change
 * (cri_client_new, trust_any_owner false); a socket the user named
 * explicitly is taken as given.
 */
#ifndef KC_CRI_CLIENT_H
#define KC_CRI_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kc_error.h"

/* Connect plus the whole exchange. */
#define CRI_TIMEOUT_MS 1000L
/* Largest reply accepted: the kubelet's own gRPC receive limit (16 MiB). */
#define CRI_MAX_REPLY (16u * 1024 * 1024)
/*
 * Most sandboxes or containers in one reply: a node runs at most a few
 * hundred pods (the kubelet's maxPods, 110 by default) with a few containers
 * each, plus the exited ones the kubelet keeps. 4 million empty sandboxes fit
 * in 8 MB and took 1.55 GB to decode (issue 19 finding 11).
 */
#define CRI_MAX_ITEMS 16384
/*
 * Most memory the decoding of one reply may allocate: twice the byte cap
 * (16,384 containers of a real kubelet, ~14 labels and annotations each,
 * take ~23 MiB); a reply of empty map entries (2 bytes on the wire, ~48 in
 * memory each) stops here.
 */
#define CRI_MAX_DECODE_BYTES (32u * 1024 * 1024)
/* The label the kubelet puts on every sandbox and container it creates. */
#define CRI_LABEL_POD_UID "io.kubernetes.pod.uid"
/*
 * The annotation that tells a pod's regular containers from its init and
 * ephemeral ones ("container", "init", "ephemeral"): the kubelet's
 * newContainerAnnotations (pkg/kubelet/kuberuntime/labels.go).
 */
#define CRI_ANNOTATION_CONTAINER_TYPE "io.kubernetes.container.type"

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

enum cri_container_state {
	CRI_CONTAINER_CREATED = 0,
	CRI_CONTAINER_RUNNING = 1,
	CRI_CONTAINER_EXITED = 2,
	CRI_CONTAINER_UNKNOWN = 3, /* also any value the CRI does not define */
};

struct cri_container {
	char *id;
	char *uid;  /* label io.kubernetes.pod.uid; "" if absent */
	char *name; /* metadata.name */
	enum cri_container_state state;
	int64_t created_ns; /* created_at: nanoseconds since the epoch (0: not given) */
	/* Annotation io.kubernetes.container.type is "container", or absent (a kubelet too old
	 * to write it): not an init or ephemeral container. */
	bool regular;
};

struct cri_containers {
	struct cri_container *items;
	size_t count;
};

struct cri_client;

/*
 * endpoint: "unix:///path" or "/path" (as the kubelet's
 * containerRuntimeEndpoint). Any other scheme is KC_EINVAL. Nothing is
 * connected yet. trust_any_owner: the user named this endpoint; otherwise
 * each call first checks that the socket and its directory belong to root
 * (KC_EINVAL naming the owner when not).
 */
kc_code cri_client_new(const char *endpoint, bool trust_any_owner, struct cri_client **out,
                       struct kc_error *err);
void cri_client_free(struct cri_client *c);
/* The socket path. */
const char *cri_client_socket(const struct cri_client *c);

/*
 * RuntimeService/ListPodSandbox with no filter: every sandbox, READY or not,
 * by deadline_ms (kc_clock_ms; 0: CRI_TIMEOUT_MS from now). Errors:
 * KC_ENOTFOUND (no socket at the path), KC_ENET (refused, timed out or
 * answered after the deadline, cut, not HTTP/2), KC_EINVAL (a gRPC error
 * status, a socket not owned by root), and for a reply no honest runtime
 * sends: KC_ETOOBIG (over CRI_MAX_REPLY bytes, CRI_MAX_ITEMS items or
 * CRI_MAX_DECODE_BYTES to decode), KC_ECORRUPT (not a
 * ListPodSandboxResponse); KC_ENOMEM.
 * *grpc_status (may be NULL) is the gRPC status when one was received, else
 * -1.
 */
kc_code cri_list_sandboxes(struct cri_client *c, int64_t deadline_ms, struct cri_sandboxes *out,
                           int *grpc_status, struct kc_error *err);

/* RuntimeService/ListContainers with no filter: every container in any state; as above. */
kc_code cri_list_containers(struct cri_client *c, int64_t deadline_ms, struct cri_containers *out,
                            int *grpc_status, struct kc_error *err);

/* RuntimeService/Version: "<runtime_name> <runtime_version> (CRI <runtime_api_version>)". */
kc_code cri_version(struct cri_client *c, char **out, int *grpc_status, struct kc_error *err);

void cri_sandboxes_free(struct cri_sandboxes *s);
void cri_containers_free(struct cri_containers *s);

#endif
