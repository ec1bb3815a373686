/*
 * engine_churn.c: the crash-safety driver. It drives the checkpoint store,
 * the volume materialiser and the bridge directory the way the agent does
 * (volumes before a manifest, a manifest removed before its volumes) with
 * synthetic pods, so tests/e2e/test_crash_churn.py can SIGKILL it at random
 * moments and check what is left on disk.
 *
 *   engine_churn churn    <root> <seed> [steps]   random churn (until killed)
 *   engine_churn converge <root> <seed>           reach the target state of seed
 *
 * <root>/state is the state dir, <root>/manifests the staticPodPath (it
 * must exist). The target state of a seed: pod i (0 <= i < CHURN_PODS) is
 * active iff (i + seed) % 3 != 0, at version seed % 1000. Everything the
 * driver writes is a pure function of (pod, version), so the test can check
 * any file it finds without asking the driver.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge_dir.h"
#include "checkpoint_store.h"
#include "doc.h"
#include "kc_log.h"
#include "kc_names.h"
#include "materialise.h"
#include "render.h"

#define CHURN_PODS       6
#define CHURN_NAMESPACE  "kube-system"
#define CHURN_VERSION_AN "kubelet-checkpoint.test/version"
#define CHURN_PAD_AN     "kubelet-checkpoint.test/padding"

struct churn {
	char state_dir[PATH_MAX];
	struct ckpt_store *store;
	struct bridge_dir *bd;
	uint64_t rng;
	unsigned long step;
};

/* xorshift64*: reproducible from the seed, no libc state. */
static uint64_t rnd(struct churn *c)
{
	c->rng ^= c->rng >> 12;
	c->rng ^= c->rng << 25;
	c->rng ^= c->rng >> 27;
	return c->rng * 0x2545F4914F6CDD1DULL;
}

static void pod_uid(int i, char out[CKPT_UID_LEN + 1])
{
	snprintf(out, CKPT_UID_LEN + 1, "00000000-0000-4000-8000-%012x", i + 1);
}

/* Sizes vary with the version so a kill often lands in the middle of a write. */
static size_t blob_len(int i, unsigned version)
{
	return ((size_t)version * 7919u + (size_t)i * 104729u) % 120000u;
}

static size_t pad_len(int i, unsigned version)
{
	return ((size_t)version * 4099u + (size_t)i * 31u) % 40000u;
}

static char *pattern(size_t len, char base)
{
	char *s = malloc(len + 1);

	if (s == NULL)
		return NULL;
	for (size_t k = 0; k < len; k++)
		s[k] = (char)(base + k % 26);
	s[len] = '\0';
	return s;
}

static json_t *make_pod(int i, unsigned version, const char *phase, unsigned rv)
{
	char uid[CKPT_UID_LEN + 1], name[32], image[32], secret[32], rvs[16];

	pod_uid(i, uid);
	snprintf(name, sizeof(name), "agent-%d", i);
	snprintf(image, sizeof(image), "agent:v%u", version);
	snprintf(secret, sizeof(secret), "conf-%d", i);
	snprintf(rvs, sizeof(rvs), "%u", rv);
	return json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s, s:{s:s}}, s:{s:s, s:[{s:s, s:s}],"
	                 " s:[{s:s, s:{s:s}}]}, s:{s:s}}",
	                 "apiVersion", "v1", "kind", "Pod", "metadata", "name", name, "namespace",
	                 CHURN_NAMESPACE, "uid", uid, "resourceVersion", rvs, "annotations",
	                 KC_DEFAULT_TRIGGER_ANNOTATION, "true", "spec", "nodeName", "node-1",
	                 "containers", "name", "agent", "image", image, "volumes", "name", "conf",
	                 "secret", "secretName", secret, "status", "phase", phase);
}

static json_t *make_objects(int i, unsigned version)
{
	char secret[32], token[32];

	snprintf(secret, sizeof(secret), "conf-%d", i);
	snprintf(token, sizeof(token), "v%u-%d", version, i);
	return json_pack("[{s:s, s:s, s:{s:s, s:s}, s:{s:s}}]", "apiVersion", "v1", "kind",
	                 "Secret", "metadata", "name", secret, "namespace", CHURN_NAMESPACE,
	                 "stringData", "token", token);
}

/* The volume plan the test expects: conf/token and conf/nested/dir/blob. */
static kc_code materialise(struct churn *c, int i, unsigned version, struct kc_error *err)
{
	char uid[CKPT_UID_LEN + 1], token[32];
	char *blob = pattern(blob_len(i, version), 'a');
	struct vp_file files[2] = {
	    {.path = "nested/dir/blob",
	     .data = (unsigned char *)blob,
	     .len = blob_len(i, version),
	     .mode = 0600},
	    {.path = "token", .data = (unsigned char *)token, .mode = 0644},
	};
	struct vp_volume vol = {.name = "conf", .files = files, .nfiles = 2};
	struct vp_plan plan = {
	    .uid = uid, .volumes = &vol, .nvolumes = 1, .uid_owner = -1, .gid_owner = -1};
	kc_code rc;

	if (blob == NULL)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	pod_uid(i, uid);
	files[1].len = (size_t)snprintf(token, sizeof(token), "v%u-%d", version, i);
	rc = materialise_plan(c->state_dir, &plan, NULL, err);
	free(blob);
	return rc;
}

static void manifest_name(int i, char *out, size_t outsz)
{
	snprintf(out, outsz, KC_MANIFEST_PREFIX CHURN_NAMESPACE "_agent-%d.yaml", i);
}

static kc_code write_manifest(struct churn *c, int i, unsigned version, struct kc_error *err)
{
	char uid[CKPT_UID_LEN + 1], name[64], of[64], image[32], ver[16], vpath[PATH_MAX + 64];
	char file[NAME_MAX + 1];
	char *pad = pattern(pad_len(i, version), 'A');
	struct kc_buf out;
	json_t *m;
	kc_code rc;

	if (pad == NULL)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	pod_uid(i, uid);
	snprintf(name, sizeof(name), "agent-%d", i);
	snprintf(of, sizeof(of), CHURN_NAMESPACE "/agent-%d", i);
	snprintf(image, sizeof(image), "agent:v%u", version);
	snprintf(ver, sizeof(ver), "%u", version);
	snprintf(vpath, sizeof(vpath), "%s/volumes/%s/conf", c->state_dir, uid);
	m = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s, s:s, s:s, s:s}}, s:{s:[{s:s, s:s}],"
	              " s:[{s:s, s:{s:s, s:s}}]}}",
	              "apiVersion", "v1", "kind", "Pod", "metadata", "name", name, "namespace",
	              CHURN_NAMESPACE, "annotations", KC_ANNOTATION_CHECKPOINT_OF, of,
	              KC_ANNOTATION_SOURCE_UID, uid, CHURN_VERSION_AN, ver, CHURN_PAD_AN, pad,
	              "spec", "containers", "name", "agent", "image", image, "volumes", "name",
	              "conf", "hostPath", "path", vpath, "type", "Directory");
	free(pad);
	if (m == NULL)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	kc_buf_init(&out, RENDER_MAX_MANIFEST);
	rc = doc_emit_yaml(m, DOC_EMIT_SORT_KEYS, &out, err);
	manifest_name(i, file, sizeof(file));
	/* Both entry points: bytes checked by parsing, or by their manifest object. */
	if (rc == KC_OK && version % 2 == 0)
		rc = bridge_dir_write(c->bd, file, out.data, out.len, NULL, err);
	else if (rc == KC_OK)
		rc = bridge_dir_write_manifest(c->bd, file, m, out.data, out.len, NULL, err);
	json_decref(m);
	kc_buf_free(&out);
	return rc;
}

/* Checkpoint, then volumes, then the manifest: the agent's activation order. */
static kc_code activate(struct churn *c, int i, unsigned version, struct kc_error *err)
{
	json_t *pod = make_pod(i, version, "Running", version);
	json_t *objs = make_objects(i, version);
	kc_code rc = pod && objs ? ckpt_store_write(c->store, pod, objs, NULL, err)
	                         : kc_fail(err, KC_ENOMEM, "out of memory");

	json_decref(pod);
	json_decref(objs);
	if (rc == KC_OK)
		rc = materialise(c, i, version, err);
	if (rc == KC_OK)
		rc = write_manifest(c, i, version, err);
	return rc;
}

/* The manifest goes before its volumes; the checkpoint last, when asked. */
static kc_code withdraw(struct churn *c, int i, bool forget, struct kc_error *err)
{
	char uid[CKPT_UID_LEN + 1], file[NAME_MAX + 1];
	kc_code rc;

	pod_uid(i, uid);
	manifest_name(i, file, sizeof(file));
	rc = bridge_dir_remove(c->bd, file, NULL, err);
	if (rc == KC_OK)
		rc = materialise_remove(c->state_dir, uid, err);
	if (rc == KC_OK && forget)
		rc = ckpt_store_delete(c->store, uid, err);
	return rc;
}

/* Status and resourceVersion churn: must never rewrite the checkpoint. */
static kc_code status_only(struct churn *c, int i, struct kc_error *err)
{
	char uid[CKPT_UID_LEN + 1];
	const char *image;
	unsigned version;
	struct ckpt ck;
	bool written = false;
	kc_code rc;

	pod_uid(i, uid);
	rc = ckpt_store_load(c->store, uid, &ck, err);
	if (rc == KC_ENOTFOUND)
		return KC_OK;
	if (rc != KC_OK)
		return rc;
	image = json_string_value(json_object_get(
	    json_array_get(json_object_get(json_object_get(ck.pod, "spec"), "containers"), 0),
	    "image"));
	if (image == NULL || sscanf(image, "agent:v%u", &version) != 1) {
		ckpt_free(&ck);
		return kc_fail(err, KC_EINTERNAL, "pod %d: checkpoint holds no version", i);
	}
	ckpt_free(&ck);
	json_t *pod =
	    make_pod(i, version, rnd(c) % 2 ? "Pending" : "Running", (unsigned)(rnd(c) % 100000));
	json_t *objs = make_objects(i, version);
	rc = ckpt_store_write(c->store, pod, objs, &written, err);
	json_decref(pod);
	json_decref(objs);
	if (rc == KC_OK && written)
		return kc_fail(err, KC_EINTERNAL,
		               "pod %d: status-only change rewrote the checkpoint", i);
	return rc;
}

/* Hostile operations on files that are not ours: each must be refused. */
static kc_code poke_foreign(struct churn *c, struct kc_error *err)
{
	static const char *const names[] = {"kube-apiserver.yaml", "etcd.yaml", "evil.yaml",
	                                    ".keep",
	                                    KC_MANIFEST_PREFIX CHURN_NAMESPACE "_impostor.yaml"};
	const char *name = names[rnd(c) % (sizeof(names) / sizeof(names[0]))];
	struct kc_error refused;
	bool removed = false;

	/* Refused (not ours) or absent are both fine; a removal never is. */
	bridge_dir_remove(c->bd, name, &removed, &refused);
	if (removed)
		return kc_fail(err, KC_EINTERNAL, "foreign %s was removed", name);
	return KC_OK;
}

static kc_code churn_step(struct churn *c, struct kc_error *err)
{
	int i = (int)(rnd(c) % CHURN_PODS);
	unsigned op = (unsigned)(rnd(c) % 100);
	size_t removed;

	if (op < 45)
		return activate(c, i, (unsigned)(rnd(c) % 1000), err);
	if (op < 65)
		return status_only(c, i, err);
	if (op < 80)
		return withdraw(c, i, false, err);
	if (op < 90)
		return withdraw(c, i, true, err);
	if (op < 95)
		return poke_foreign(c, err);
	return bridge_dir_clean_temps(c->bd, &removed, err);
}

static bool target_active(int i, uint64_t seed)
{
	return (i + seed) % 3 != 0;
}

static int pod_of_uid(const char *uid)
{
	char want[CKPT_UID_LEN + 1];

	for (int i = 0; i < CHURN_PODS; i++) {
		pod_uid(i, want);
		if (strcmp(uid, want) == 0)
			return i;
	}
	return -1;
}

static int pod_of_manifest(const char *file)
{
	char want[NAME_MAX + 1];

	for (int i = 0; i < CHURN_PODS; i++) {
		manifest_name(i, want, sizeof(want));
		if (strcmp(file, want) == 0)
			return i;
	}
	return -1;
}

/* What a restarted agent does: clean up, withdraw what is not wanted, activate the rest. */
static kc_code converge(struct churn *c, uint64_t seed, struct kc_error *err)
{
	struct bridge_list bl;
	struct ckpt_list cl;
	struct mat_uid_list ul;
	size_t removed;
	kc_code rc;

	if ((rc = bridge_dir_clean_temps(c->bd, &removed, err)) != KC_OK)
		return rc;
	if ((rc = bridge_dir_list(c->bd, &bl, err)) != KC_OK)
		return rc;
	for (size_t k = 0; rc == KC_OK && k < bl.count; k++) {
		int i = pod_of_manifest(bl.manifests[k].file);

		if (i < 0 || !target_active(i, seed))
			rc = bridge_dir_remove(c->bd, bl.manifests[k].file, NULL, err);
	}
	bridge_list_free(&bl);
	if (rc == KC_OK && (rc = materialise_list_uids(c->state_dir, &ul, err)) == KC_OK) {
		for (size_t k = 0; rc == KC_OK && k < ul.count; k++) {
			int i = pod_of_uid(ul.uids[k]);

			if (i < 0 || !target_active(i, seed))
				rc = materialise_remove(c->state_dir, ul.uids[k], err);
		}
		mat_uid_list_free(&ul);
	}
	if (rc == KC_OK && (rc = ckpt_store_list(c->store, &cl, err)) == KC_OK) {
		for (size_t k = 0; rc == KC_OK && k < cl.count; k++) {
			int i = pod_of_uid(cl.entries[k].uid);

			if (cl.entries[k].state != CKPT_OK)
				rc = kc_fail(err, KC_ECORRUPT,
				             "corrupt checkpoint after a crash: %s",
				             cl.entries[k].reason);
			else if (i < 0 || !target_active(i, seed))
				rc = ckpt_store_delete(c->store, cl.entries[k].uid, err);
		}
		ckpt_list_free(&cl);
	}
	for (int i = 0; rc == KC_OK && i < CHURN_PODS; i++)
		if (target_active(i, seed))
			rc = activate(c, i, (unsigned)(seed % 1000), err);
	return rc;
}

static int usage(void)
{
	fprintf(stderr, "usage: engine_churn churn|converge <root> <seed> [steps]\n");
	return 2;
}

int main(int argc, char **argv)
{
	char manifests[PATH_MAX];
	struct churn c;
	struct kc_error err;
	unsigned long steps = 0;
	uint64_t seed;
	kc_code rc;

	if (argc < 4 || argc > 5)
		return usage();
	kc_log_init(0);
	memset(&c, 0, sizeof(c));
	kc_error_clear(&err);
	seed = strtoull(argv[3], NULL, 10);
	if (argc == 5)
		steps = strtoul(argv[4], NULL, 10);
	c.rng = seed * 0x9E3779B97F4A7C15ULL + 1;
	if ((size_t)snprintf(c.state_dir, sizeof(c.state_dir), "%s/state", argv[2]) >=
	        sizeof(c.state_dir) ||
	    (size_t)snprintf(manifests, sizeof(manifests), "%s/manifests", argv[2]) >=
	        sizeof(manifests))
		return usage();
	/* The staticPodPath first: when it is missing, nothing is created at all. */
	if ((rc = bridge_dir_open(manifests, &c.bd, &err)) != KC_OK ||
	    (rc = ckpt_store_open(c.state_dir, &c.store, &err)) != KC_OK)
		goto out;
	if (strcmp(argv[1], "converge") == 0) {
		rc = converge(&c, seed, &err);
	} else if (strcmp(argv[1], "churn") == 0) {
		for (c.step = 0; rc == KC_OK && (steps == 0 || c.step < steps); c.step++)
			rc = churn_step(&c, &err);
	} else {
		bridge_dir_close(c.bd);
		ckpt_store_close(c.store);
		return usage();
	}
out:
	if (rc != KC_OK)
		fprintf(stderr, "engine_churn %s: step %lu: %s\n", argv[1], c.step, err.msg);
	bridge_dir_close(c.bd);
	ckpt_store_close(c.store);
	return rc == KC_OK ? 0 : 1;
}
