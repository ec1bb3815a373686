/*
 * checkpoint_store.h: the durable, verified copy of each parent pod.
 *
 * One file per parent, <state-dir>/pods/Pod_<uid>.yaml (0600, in 0700 dirs):
 *
 *   # kubelet-checkpoint checkpoint v1 fnv1a64=<16 hex> length=<n>
 *   apiVersion: kubelet-checkpoint/v1
 *   kind: Checkpoint
 *   clusterUID: <uid>   (the kube-system Namespace UID; absent when unknown)
 *   objects: [...the referenced Secrets/ConfigMaps, sorted...]
 *   pod: {...the API Pod as received, status included...}
 *
 * The header line covers the body that follows it: its exact byte length (so
 * truncation is caught) and its FNV-1a 64 hash (so any changed byte is). A
 * file that fails verification is reported as corrupt with the reason, never
 * activated and never deleted by the store: only a new good write for the same
 * uid replaces it (atomically, and logged). Names in pods/ that are not
 * Pod_<uuid>.yaml or Gone_<uuid> are ignored and never touched.
 *
 * Writes skip when nothing "relevant" changed: the pod minus status,
 * resourceVersion and managedFields, plus the objects minus their
 * resourceVersion and managedFields. So status churn never rewrites a file,
 * but the file always stores the pod as last received when it is written.
 */
#ifndef KC_CHECKPOINT_STORE_H
#define KC_CHECKPOINT_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kc_error.h"
#include "objects.h"

#define CKPT_API_VERSION "kubelet-checkpoint/v1"
#define CKPT_KIND        "Checkpoint"
#define CKPT_HEADER_TAG  "# kubelet-checkpoint checkpoint v1"
/* Largest checkpoint file read or written (pod + every referenced object). */
#define CKPT_MAX_FILE (32u * 1024 * 1024)
/* A canonical lowercase UUID: 8-4-4-4-12 hex digits. */
#define CKPT_UID_LEN 36

struct ckpt_store;

/* A verified checkpoint. Strings point into pod (valid while it lives). */
struct ckpt {
	char uid[CKPT_UID_LEN + 1];
	const char *namespace;
	const char *name;
	const char *creation_timestamp;     /* "" when the pod carries none */
	json_t *pod;                        /* the API Pod as received */
	json_t *objects;                    /* JSON array of Secrets/ConfigMaps */
	struct kc_objects *index;           /* the same objects, for render/volume plan */
	char cluster_uid[CKPT_UID_LEN + 1]; /* kube-system UID it was taken from; "" unknown */
};

enum ckpt_state {
	CKPT_OK,
	CKPT_CORRUPT,
};

/* One Pod_<uid>.yaml as found by ckpt_store_list (metadata only, owned copies). */
struct ckpt_entry {
	char uid[CKPT_UID_LEN + 1];
	enum ckpt_state state;
	char *reason;                       /* why it is corrupt; NULL when ok */
	char *namespace;                    /* NULL when corrupt */
	char *name;                         /* NULL when corrupt */
	char *creation_timestamp;           /* NULL when corrupt; "" when absent */
	char cluster_uid[CKPT_UID_LEN + 1]; /* "" when unknown or corrupt */
	bool gone; /* ckpt_store_mark_gone: the API last showed the parent gone */
};

struct ckpt_list {
	struct ckpt_entry *entries; /* sorted by uid */
	size_t count;
};

/* Open (creating <state_dir> and <state_dir>/pods with 0700 when missing). */
kc_code ckpt_store_open(const char *state_dir, struct ckpt_store **out, struct kc_error *err);
void ckpt_store_close(struct ckpt_store *store);

/*
 * Store pod (an API Pod with a UUID metadata.uid, namespace and name) with
 * objects (a JSON array of Secrets/ConfigMaps, may be NULL = none). *written
 * (may be NULL) tells whether the file changed. Bad input is KC_EINVAL and
 * touches nothing.
 */
kc_code ckpt_store_write(struct ckpt_store *store, const json_t *pod, const json_t *objects,
                         bool *written, struct kc_error *err);
/*
 * The same, recording cluster_uid (the kube-system Namespace UID the API
 * answered; NULL or "": unknown, the file keeps the one it has). A changed
 * cluster rewrites the file. KC_EINVAL for a cluster_uid that is no UUID.
 */
kc_code ckpt_store_write_cluster(struct ckpt_store *store, const json_t *pod, const json_t *objects,
                                 const char *cluster_uid, bool *written, struct kc_error *err);

/*
 * Read and verify Pod_<uid>.yaml into *out (free with ckpt_free).
 * KC_ENOTFOUND when absent, KC_ECORRUPT with the reason when it fails
 * verification, KC_EIO when it cannot be read.
 */
kc_code ckpt_store_load(struct ckpt_store *store, const char *uid, struct ckpt *out,
                        struct kc_error *err);
void ckpt_free(struct ckpt *c);
/*
 * Verify and decode the bytes of a checkpoint file that should hold uid: what
 * ckpt_store_load does after reading. KC_ECORRUPT with the reason, KC_ENOMEM.
 */
kc_code ckpt_parse(const char *data, size_t len, const char *uid, struct ckpt *out,
                   struct kc_error *err);

/* Every Pod_<uuid>.yaml, verified, each ok or corrupt with the reason. */
kc_code ckpt_store_list(struct ckpt_store *store, struct ckpt_list *out, struct kc_error *err);
void ckpt_list_free(struct ckpt_list *list);

/*
 * Record (gone) or forget that the API last showed the parent of uid
 * deleted, opted out, finished or terminating: <state-dir>/pods/Gone_<uid>,
 * so that an agent restarted during an outage still never bridges it
 * (decision.h, "eligible as last seen"). ckpt_store_list reports it.
 */
kc_code ckpt_store_mark_gone(struct ckpt_store *store, const char *uid, bool gone,
                             struct kc_error *err);

/* Remove Pod_<uid>.yaml and its Gone_ mark (durably); a missing file is not an error. */
kc_code ckpt_store_delete(struct ckpt_store *store, const char *uid, struct kc_error *err);

#endif
