/*
 * checkpoint_store.c: Pod_<uid>.yaml files with a length + FNV-1a 64 header
 * line, written through fsutil and verified on every read (see
 * checkpoint_store.h for the format and the rules).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint_store.h"
#include "doc.h"
#include "fsutil.h"
#include "k8s_validate.h"
#include "kc_buf.h"
#include "kc_hash.h"
#include "kc_log.h"
#include "kc_names.h"
#include "kc_str.h"
#include "pod_spec.h"

#define CKPT_FILE_MODE 0600
#define CKPT_DIR_MODE  0700
/* "Pod_" + uuid + ".yaml" + NUL */
#define CKPT_NAME_MAX (sizeof(KC_CKPT_FILE_PREFIX) - 1 + CKPT_UID_LEN + sizeof(KC_CKPT_FILE_SUFFIX))

struct ckpt_store {
	char *pods_path;
	int pods_fd;
};

static void file_name(const char *uid, char out[CKPT_NAME_MAX])
{
	snprintf(out, CKPT_NAME_MAX, KC_CKPT_FILE_PREFIX "%s" KC_CKPT_FILE_SUFFIX, uid);
}

/* The uid in a file name "Pod_<uuid>.yaml", or false for any other name. */
static bool uid_from_name(const char *name, char uid[CKPT_UID_LEN + 1])
{
	size_t plen = strlen(KC_CKPT_FILE_PREFIX);

	if (strlen(name) != CKPT_NAME_MAX - 1 || strncmp(name, KC_CKPT_FILE_PREFIX, plen) != 0 ||
	    strcmp(name + plen + CKPT_UID_LEN, KC_CKPT_FILE_SUFFIX) != 0)
		return false;
	memcpy(uid, name + plen, CKPT_UID_LEN);
	uid[CKPT_UID_LEN] = '\0';
	return k8s_uuid_valid(uid);
}

kc_code ckpt_store_open(const char *state_dir, struct ckpt_store **out, struct kc_error *err)
{
	struct ckpt_store *store;
	kc_code rc;

	*out = NULL;
	if ((store = calloc(1, sizeof(*store))) == NULL)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	store->pods_fd = -1;
	if (asprintf(&store->pods_path, "%s/" KC_STATE_PODS_DIR, state_dir) < 0) {
		store->pods_path = NULL;
		ckpt_store_close(store);
		return kc_fail(err, KC_ENOMEM, "out of memory");
	}
	/* fs_mkdir_p keeps existing directories as they are: we fix no modes. */
	if ((rc = fs_mkdir_p(state_dir, CKPT_DIR_MODE, err)) != KC_OK ||
	    (rc = fs_mkdir_p(store->pods_path, CKPT_DIR_MODE, err)) != KC_OK ||
	    (rc = fs_open_dir(store->pods_path, &store->pods_fd, err)) != KC_OK) {
		ckpt_store_close(store);
		kc_error_prefix(err, "checkpoint store");
		return rc;
	}
	*out = store;
	return KC_OK;
}

void ckpt_store_close(struct ckpt_store *store)
{
	if (store == NULL)
		return;
	if (store->pods_fd >= 0)
		close(store->pods_fd);
	free(store->pods_path);
	free(store);
}

void ckpt_free(struct ckpt *c)
{
	if (c == NULL)
		return;
	json_decref(c->pod);
	json_decref(c->objects);
	kc_objects_free(c->index);
	memset(c, 0, sizeof(*c));
}

static const char *str_at(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* The checks shared by write (bad input) and load (corrupt file). */
static kc_code check_pod(const json_t *pod, struct kc_error *err)
{
	const char *uid;

	if (!json_is_object(pod) || !json_is_object(json_object_get(pod, "metadata")))
		return kc_fail(err, KC_EINVAL, "pod: not an object with metadata");
	if ((uid = pod_meta_or(pod, "uid", NULL)) == NULL || !k8s_uuid_valid(uid))
		return kc_fail(err, KC_EINVAL, "pod: metadata.uid: not a lowercase UUID");
	if (pod_meta_or(pod, "namespace", NULL) == NULL || pod_meta_or(pod, "name", NULL) == NULL)
		return kc_fail(err, KC_EINVAL,
		               "pod %s: metadata.namespace and metadata.name required", uid);
	return KC_OK;
}

static kc_code check_objects(const json_t *objects, const char *ns, struct kc_error *err)
{
	const json_t *obj;
	size_t i;

	if (!json_is_array(objects))
		return kc_fail(err, KC_EINVAL, "objects: not an array");
	json_array_foreach(objects, i, obj)
	{
		const char *kind = str_at(obj, "kind");
		const char *ons = pod_meta_or(obj, "namespace", NULL);

		if (kind == NULL || (strcmp(kind, "Secret") != 0 && strcmp(kind, "ConfigMap") != 0))
			return kc_fail(err, KC_EINVAL,
			               "objects[%zu]: kind is not Secret or ConfigMap", i);
		if (pod_meta_or(obj, "name", NULL) == NULL)
			return kc_fail(err, KC_EINVAL, "objects[%zu]: metadata.name required", i);
		if (ons == NULL || strcmp(ons, ns) != 0)
			return kc_fail(
			    err, KC_EINVAL,
			    "objects[%zu] %s %s: metadata.namespace is not the pod's (%s)", i, kind,
			    pod_meta_or(obj, "name", NULL), ns);
	}
	return KC_OK;
}

static int object_order(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	int c = strcmp(str_at(x, "kind"), str_at(y, "kind"));

	return c != 0 ? c : strcmp(pod_meta_or(x, "name", NULL), pod_meta_or(y, "name", NULL));
}

/* A deep copy of objects sorted by kind then name: fetch order is not content. */
static json_t *sorted_objects(const json_t *objects)
{
	size_t n = json_array_size(objects);
	json_t **v = calloc(n ? n : 1, sizeof(*v));
	json_t *out = json_array();

	if (v == NULL || out == NULL)
		goto fail;
	for (size_t i = 0; i < n; i++)
		v[i] = json_array_get(objects, i);
	qsort(v, n, sizeof(*v), object_order);
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(out, json_deep_copy(v[i])) != 0)
			goto fail;
	free(v);
	return out;
fail:
	free(v);
	json_decref(out);
	return NULL;
}

/* Drop the fields that change without changing what render or the plan use. */
static void strip_volatile_meta(json_t *obj)
{
	json_t *meta = json_object_get(obj, "metadata");

	json_object_del(meta, "resourceVersion");
	json_object_del(meta, "managedFields");
}

/*
 * {pod minus status, objects, cluster} minus volatile metadata: what a write
 * must change. The cluster is in it so that a file of an older agent gets
 * its kube-system UID at the next write.
 */
static json_t *relevant_view(const json_t *pod, const json_t *objects, const char *cluster_uid)
{
	json_t *view =
	    json_pack("{s:O, s:O, s:s}", "pod", pod, "objects", objects, "cluster", cluster_uid);
	json_t *copy = json_deep_copy(view);
	json_t *obj;
	size_t i;

	json_decref(view);
	if (copy == NULL)
		return NULL;
	json_object_del(json_object_get(copy, "pod"), "status");
	strip_volatile_meta(json_object_get(copy, "pod"));
	json_array_foreach(json_object_get(copy, "objects"), i, obj)
	{
		strip_volatile_meta(obj);
	}
	return copy;
}

/* Header line + canonical YAML body. */
static kc_code serialise(const json_t *pod, const json_t *objects, const char *cluster_uid,
                         struct kc_buf *out, struct kc_error *err)
{
	struct kc_buf body;
	json_t *doc;
	kc_code rc;

	doc = json_pack("{s:s, s:s, s:O, s:O}", "apiVersion", CKPT_API_VERSION, "kind", CKPT_KIND,
	                "objects", objects, "pod", pod);
	if (doc != NULL && cluster_uid[0] != '\0' &&
	    json_object_set_new(doc, "clusterUID", json_string(cluster_uid)) != 0) {
		json_decref(doc);
		doc = NULL;
	}
	if (doc == NULL)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	kc_buf_init(&body, CKPT_MAX_FILE);
	rc = doc_emit_yaml(doc, DOC_EMIT_SORT_KEYS, &body, err);
	json_decref(doc);
	if (rc == KC_OK)
		rc = kc_buf_printf(out, err, CKPT_HEADER_TAG " fnv1a64=%016" PRIx64 " length=%zu\n",
		                   kc_fnv1a64(body.data, body.len), body.len);
	if (rc == KC_OK)
		rc = kc_buf_append(out, body.data, body.len, err);
	kc_buf_free(&body);
	return rc;
}

kc_code ckpt_store_write(struct ckpt_store *store, const json_t *pod, const json_t *objects,
                         bool *written, struct kc_error *err)
{
	return ckpt_store_write_cluster(store, pod, objects, NULL, written, err);
}

kc_code ckpt_store_write_cluster(struct ckpt_store *store, const json_t *pod, const json_t *objects,
                                 const char *cluster_uid, bool *written, struct kc_error *err)
{
	char name[CKPT_NAME_MAX], cluster[CKPT_UID_LEN + 1] = "";
	struct ckpt old = {0};
	struct kc_error lerr;
	struct kc_buf out;
	json_t *sorted = NULL, *empty = NULL, *newview = NULL, *oldview = NULL;
	const char *uid;
	kc_code rc, lrc;

	if (written != NULL)
		*written = false;
	if (objects == NULL)
		objects = empty = json_array();
	if ((rc = check_pod(pod, err)) != KC_OK ||
	    (rc = check_objects(objects, pod_meta_or(pod, "namespace", NULL), err)) != KC_OK) {
		json_decref(empty);
		kc_error_prefix(err, "checkpoint");
		return rc;
	}
	if (cluster_uid != NULL && cluster_uid[0] != '\0') {
		if (!k8s_uuid_valid(cluster_uid)) {
			json_decref(empty);
			return kc_fail(err, KC_EINVAL, "checkpoint: cluster UID %.64s: not a UUID",
			               cluster_uid);
		}
		snprintf(cluster, sizeof(cluster), "%s", cluster_uid);
	}
	uid = pod_meta_or(pod, "uid", NULL);
	file_name(uid, name);
	sorted = sorted_objects(objects);
	json_decref(empty);
	lrc = ckpt_store_load(store, uid, &old, &lerr);
	/* Unknown now: keep the cluster the file recorded. */
	if (lrc == KC_OK && cluster[0] == '\0')
		memcpy(cluster, old.cluster_uid, sizeof(cluster));
	if (sorted == NULL || (newview = relevant_view(pod, sorted, cluster)) == NULL) {
		if (lrc == KC_OK)
			ckpt_free(&old);
		rc = kc_fail(err, KC_ENOMEM, "out of memory");
		goto out;
	}
	if (lrc == KC_OK) {
		oldview = relevant_view(old.pod, old.objects, old.cluster_uid);
		ckpt_free(&old);
		if (oldview == NULL) {
			rc = kc_fail(err, KC_ENOMEM, "out of memory");
			goto out;
		}
		if (json_equal(oldview, newview))
			goto out; /* rc is KC_OK: nothing relevant changed */
	} else if (lrc == KC_ECORRUPT) {
		kc_log(KC_LOG_WARNING, "replacing corrupt checkpoint with a verified one: %s",
		       lerr.msg);
	} else if (lrc != KC_ENOTFOUND) {
		kc_log(KC_LOG_WARNING, "rewriting unreadable checkpoint: %s", lerr.msg);
	}
	kc_buf_init(&out, CKPT_MAX_FILE);
	rc = serialise(pod, sorted, cluster, &out, err);
	if (rc == KC_OK)
		rc = fs_write_atomic_at(store->pods_fd, store->pods_path, name, out.data, out.len,
		                        CKPT_FILE_MODE, written, err);
	kc_buf_free(&out);
	if (rc != KC_OK && err != NULL)
		kc_error_prefix(err, "checkpoint %s/%s", pod_meta_or(pod, "namespace", NULL),
		                pod_meta_or(pod, "name", NULL));
out:
	json_decref(sorted);
	json_decref(newview);
	json_decref(oldview);
	return rc;
}

/* Check the header line; on success the body is what follows it. */
static kc_code verify_header(const char *data, size_t len, const char **body, size_t *body_len,
                             struct kc_error *err)
{
	static const char tag[] = CKPT_HEADER_TAG " fnv1a64=";
	const char *nl = memchr(data, '\n', len), *p;
	char *end;
	uint64_t want, got;
	unsigned long long n;

	if (nl == NULL)
		return kc_fail(err, KC_ECORRUPT, "no header line (truncated?)");
	if ((size_t)(nl - data) < sizeof(tag) - 1 || memcmp(data, tag, sizeof(tag) - 1) != 0)
		return kc_fail(err, KC_ECORRUPT, "header line is not \"%s...\"", CKPT_HEADER_TAG);
	p = data + sizeof(tag) - 1;
	for (int i = 0; i < 16; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return kc_fail(err, KC_ECORRUPT, "header line: bad fnv1a64 value");
	want = strtoull(p, NULL, 16);
	p += 16;
	if (strncmp(p, " length=", 8) != 0 || !(p[8] >= '0' && p[8] <= '9'))
		return kc_fail(err, KC_ECORRUPT, "header line: bad length field");
	errno = 0;
	n = strtoull(p + 8, &end, 10);
	if (errno != 0 || end != nl)
		return kc_fail(err, KC_ECORRUPT, "header line: bad length field");
	*body = nl + 1;
	*body_len = len - (size_t)(nl + 1 - data);
	if (n != *body_len)
		return kc_fail(err, KC_ECORRUPT, "body is %zu bytes, header says %llu (truncated?)",
		               *body_len, n);
	got = kc_fnv1a64(*body, *body_len);
	if (got != want)
		return kc_fail(err, KC_ECORRUPT,
		               "checksum mismatch: fnv1a64 is %016" PRIx64
		               ", header says %016" PRIx64,
		               got, want);
	return KC_OK;
}

/* Parse a verified body and check its shape; fills c->pod/objects/index. */
static kc_code decode_body(const char *body, size_t len, const char *uid, struct ckpt *c,
                           struct kc_error *err)
{
	json_t *docs = NULL, *doc, *obj;
	struct kc_error e;
	const char *kind;
	kc_code rc;
	size_t i;

	if ((rc = doc_parse_yaml(body, len, "body", &docs, &e)) != KC_OK)
		return kc_fail(err, rc == KC_ENOMEM ? rc : KC_ECORRUPT, "%s", e.msg);
	if (json_array_size(docs) != 1) {
		json_decref(docs);
		return kc_fail(err, KC_ECORRUPT, "body: expected one document");
	}
	doc = json_array_get(docs, 0);
	kind = str_at(doc, "kind");
	if (!json_is_string(json_object_get(doc, "apiVersion")) ||
	    strcmp(str_at(doc, "apiVersion"), CKPT_API_VERSION) != 0 || kind == NULL ||
	    strcmp(kind, CKPT_KIND) != 0) {
		json_decref(docs);
		return kc_fail(err, KC_ECORRUPT, "body: not a %s %s", CKPT_API_VERSION, CKPT_KIND);
	}
	c->pod = json_incref(json_object_get(doc, "pod"));
	c->objects = json_incref(json_object_get(doc, "objects"));
	c->cluster_uid[0] = '\0';
	if (json_object_get(doc, "clusterUID") != NULL) {
		const char *cl = str_at(doc, "clusterUID");

		if (cl == NULL || !k8s_uuid_valid(cl)) {
			json_decref(docs);
			return kc_fail(err, KC_ECORRUPT, "body: clusterUID is not a UUID");
		}
		snprintf(c->cluster_uid, sizeof(c->cluster_uid), "%s", cl);
	}
	json_decref(docs);
	if (check_pod(c->pod, &e) != KC_OK ||
	    check_objects(c->objects, pod_meta_or(c->pod, "namespace", NULL), &e) != KC_OK)
		return kc_fail(err, KC_ECORRUPT, "body: %s", e.msg);
	if (strcmp(pod_meta_or(c->pod, "uid", NULL), uid) != 0)
		return kc_fail(err, KC_ECORRUPT, "body: pod uid %s does not match the file name",
		               pod_meta_or(c->pod, "uid", NULL));
	if ((c->index = kc_objects_new()) == NULL)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	json_array_foreach(c->objects, i, obj)
	{
		if ((rc = kc_objects_add(c->index, json_incref(obj), &e)) != KC_OK)
			return kc_fail(err, rc == KC_ENOMEM ? rc : KC_ECORRUPT, "objects[%zu]: %s",
			               i, e.msg);
	}
	memcpy(c->uid, uid, sizeof(c->uid));
	c->namespace = pod_meta_or(c->pod, "namespace", NULL);
	c->name = pod_meta_or(c->pod, "name", NULL);
	c->creation_timestamp = pod_meta_or(c->pod, "creationTimestamp", NULL);
	if (c->creation_timestamp == NULL)
		c->creation_timestamp = "";
	return KC_OK;
}

kc_code ckpt_store_load(struct ckpt_store *store, const char *uid, struct ckpt *out,
                        struct kc_error *err)
{
	char name[CKPT_NAME_MAX];
	struct kc_buf b;
	kc_code rc;

	memset(out, 0, sizeof(*out));
	if (!k8s_uuid_valid(uid))
		return kc_fail(err, KC_EINVAL, "checkpoint: %s: not a lowercase UUID", uid);
	file_name(uid, name);
	kc_buf_init(&b, CKPT_MAX_FILE);
	rc = fs_read_at(store->pods_fd, store->pods_path, name, &b, err);
	if (rc == KC_ETOOBIG) {
		rc = kc_fail(err, KC_ECORRUPT, "%s/%s: larger than %u bytes", store->pods_path,
		             name, CKPT_MAX_FILE);
	} else if (rc == KC_OK) {
		rc = ckpt_parse(b.data, b.len, uid, out, err);
		if (rc != KC_OK)
			kc_error_prefix(err, "%s/%s", store->pods_path, name);
	}
	kc_buf_free(&b);
	return rc;
}

kc_code ckpt_parse(const char *data, size_t len, const char *uid, struct ckpt *out,
                   struct kc_error *err)
{
	const char *body = NULL;
	size_t body_len = 0;
	kc_code rc;

	memset(out, 0, sizeof(*out));
	rc = verify_header(data, len, &body, &body_len, err);
	if (rc == KC_OK)
		rc = decode_body(body, body_len, uid, out, err);
	if (rc != KC_OK)
		ckpt_free(out);
	return rc;
}

/* "Gone_<uid>": the API last showed the parent gone (ckpt_store_mark_gone). */
#define CKPT_GONE_PREFIX   "Gone_"
#define CKPT_GONE_NAME_MAX (sizeof(CKPT_GONE_PREFIX) + CKPT_UID_LEN)
#define CKPT_GONE_TEXT     "the API last showed this parent gone or no longer eligible\n"

static void gone_name(const char *uid, char out[CKPT_GONE_NAME_MAX])
{
	snprintf(out, CKPT_GONE_NAME_MAX, CKPT_GONE_PREFIX "%s", uid);
}

kc_code ckpt_store_mark_gone(struct ckpt_store *store, const char *uid, bool gone,
                             struct kc_error *err)
{
	char name[CKPT_GONE_NAME_MAX];

	if (!k8s_uuid_valid(uid))
		return kc_fail(err, KC_EINVAL, "checkpoint: %s: not a lowercase UUID", uid);
	gone_name(uid, name);
	if (!gone)
		return fs_unlink_at(store->pods_fd, store->pods_path, name, err);
	return fs_write_atomic_at(store->pods_fd, store->pods_path, name, CKPT_GONE_TEXT,
	                          strlen(CKPT_GONE_TEXT), CKPT_FILE_MODE, NULL, err);
}

/* A regular file (never a symlink) Gone_<uid>. */
static bool marked_gone(struct ckpt_store *store, const char *uid)
{
	char name[CKPT_GONE_NAME_MAX];
	struct stat st;

	gone_name(uid, name);
	return fstatat(store->pods_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

kc_code ckpt_store_delete(struct ckpt_store *store, const char *uid, struct kc_error *err)
{
	char name[CKPT_NAME_MAX];
	kc_code rc;

	if (!k8s_uuid_valid(uid))
		return kc_fail(err, KC_EINVAL, "checkpoint: %s: not a lowercase UUID", uid);
	file_name(uid, name);
	if ((rc = fs_unlink_at(store->pods_fd, store->pods_path, name, err)) != KC_OK)
		return rc;
	return ckpt_store_mark_gone(store, uid, false, err);
}

/* Fill e from loading uid; KC_ENOTFOUND (vanished meanwhile) and ENOMEM pass up. */
static kc_code list_entry(struct ckpt_store *store, const char *uid, struct ckpt_entry *e,
                          struct kc_error *err)
{
	struct ckpt c;
	struct kc_error lerr;
	bool oom = false;
	kc_code rc;

	memset(e, 0, sizeof(*e));
	memcpy(e->uid, uid, sizeof(e->uid));
	e->gone = marked_gone(store, uid);
	rc = ckpt_store_load(store, uid, &c, &lerr);
	if (rc == KC_ENOTFOUND || rc == KC_ENOMEM) {
		if (err != NULL)
			*err = lerr;
		return rc;
	}
	if (rc == KC_OK) {
		e->state = CKPT_OK;
		e->namespace = kc_strdup_opt(c.namespace, &oom);
		e->name = kc_strdup_opt(c.name, &oom);
		e->creation_timestamp = kc_strdup_opt(c.creation_timestamp, &oom);
		memcpy(e->cluster_uid, c.cluster_uid, sizeof(e->cluster_uid));
		ckpt_free(&c);
	} else {
		/* Unreadable (EIO, not a regular file) is as unusable as corrupt. */
		e->state = CKPT_CORRUPT;
		e->reason = kc_strdup_opt(lerr.msg, &oom);
	}
	return oom ? kc_fail(err, KC_ENOMEM, "out of memory") : KC_OK;
}

static void entry_free(struct ckpt_entry *e)
{
	free(e->reason);
	free(e->namespace);
	free(e->name);
	free(e->creation_timestamp);
}

static int entry_order(const void *a, const void *b)
{
	return strcmp(((const struct ckpt_entry *)a)->uid, ((const struct ckpt_entry *)b)->uid);
}

kc_code ckpt_store_list(struct ckpt_store *store, struct ckpt_list *out, struct kc_error *err)
{
	char uid[CKPT_UID_LEN + 1];
	struct dirent *de;
	size_t cap = 0;
	kc_code rc = KC_OK;
	DIR *d;

	out->entries = NULL;
	out->count = 0;
	if ((rc = fs_dir_stream(store->pods_fd, store->pods_path, &d, err)) != KC_OK)
		return rc;
	while ((de = readdir(d)) != NULL) {
		if (!uid_from_name(de->d_name, uid))
			continue;
		if (out->count == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct ckpt_entry *n = realloc(out->entries, ncap * sizeof(*n));

			if (n == NULL) {
				rc = kc_fail(err, KC_ENOMEM, "out of memory");
				break;
			}
			out->entries = n;
			cap = ncap;
		}
		rc = list_entry(store, uid, &out->entries[out->count], err);
		if (rc == KC_ENOTFOUND) {
			rc = KC_OK;
			continue;
		}
		out->count++;
		if (rc != KC_OK)
			break;
	}
	closedir(d);
	if (rc != KC_OK) {
		ckpt_list_free(out);
		return rc;
	}
	if (out->count > 1)
		qsort(out->entries, out->count, sizeof(*out->entries), entry_order);
	return KC_OK;
}

void ckpt_list_free(struct ckpt_list *list)
{
	for (size_t i = 0; i < list->count; i++)
		entry_free(&list->entries[i]);
	free(list->entries);
	list->entries = NULL;
	list->count = 0;
}
