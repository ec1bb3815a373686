/*
 * handoff_file.c: <state-dir>/handoff.json, the hand-off records and the
 * bridge-quiet clock of a running agent, read back by the next one (see
 * handoff_file.h). Strict on reading: anything this module would not have
 * written is refused as a whole, and the agent then assumes the
 * conservative state instead (agent_effects.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "handoff_file.h"
#include "k8s_validate.h"

#define BOOT_ID_PATH "/proc/sys/kernel/random/boot_id"

void handoff_doc_free(struct handoff_doc *d)
{
	free(d->recs);
	memset(d, 0, sizeof(*d));
	d->last_bridge_ms = -1;
}

kc_code handoff_boot_id(char out[HANDOFF_BOOT_ID_MAX + 1], struct kc_error *err)
{
	struct kc_buf b;
	kc_code rc;

	kc_buf_init(&b, 64);
	if ((rc = kc_buf_read_file(&b, BOOT_ID_PATH, err)) != KC_OK) {
		kc_buf_free(&b);
		return rc;
	}
	if (b.len > 0 && b.data[b.len - 1] == '\n')
		b.data[--b.len] = '\0';
	if (b.len != HANDOFF_BOOT_ID_MAX || !k8s_uuid_valid(b.data)) {
		kc_buf_free(&b);
		return kc_fail(err, KC_EINVAL, "%s: not a boot id", BOOT_ID_PATH);
	}
	memcpy(out, b.data, HANDOFF_BOOT_ID_MAX + 1);
	kc_buf_free(&b);
	return KC_OK;
}

/* Does o hold only the keys of allowed (NULL-terminated)? Names the first other one. */
static kc_code only_fields(const char *path, const char *where, const json_t *o,
                           const char *const *allowed, struct kc_error *err)
{
	const char *key;
	json_t *v;
	size_t i;

	json_object_foreach((json_t *)o, key, v)
	{
		for (i = 0; allowed[i] != NULL && strcmp(allowed[i], key) != 0; i++)
			;
		if (allowed[i] == NULL)
			return kc_fail(err, KC_EINVAL, "%s: %sunknown field \"%.64s\"", path, where,
			               key);
	}
	return KC_OK;
}

static kc_code get_int(const char *path, const char *where, const json_t *o, const char *field,
                       int64_t min, int64_t max, int64_t *out, struct kc_error *err)
{
	const json_t *v = json_object_get(o, field);
	json_int_t n;

	if (!json_is_integer(v))
		return kc_fail(err, KC_EINVAL, "%s: %s%s: missing or not an integer", path, where,
		               field);
	n = json_integer_value(v);
	if (n < min || n > max)
		return kc_fail(err, KC_EINVAL, "%s: %s%s: %lld is out of range [%lld, %lld]", path,
		               where, field, (long long)n, (long long)min, (long long)max);
	*out = (int64_t)n;
	return KC_OK;
}

/* A monotonic time of this boot: -1 (none) or at most now (never in the future). */
static kc_code get_time(const char *path, const char *where, const json_t *o, const char *field,
                        int64_t now_ms, int64_t *out, struct kc_error *err)
{
	kc_code rc = get_int(path, where, o, field, -1, INT64_MAX, out, err);

	if (rc == KC_OK && *out > now_ms)
		return kc_fail(
		    err, KC_EINVAL,
		    "%s: %s%s: %lld ms is in the future (this boot's clock is at %lld ms)", path,
		    where, field, (long long)*out, (long long)now_ms);
	return rc;
}

static kc_code get_bool(const char *path, const char *where, const json_t *o, const char *field,
                        bool *out, struct kc_error *err)
{
	const json_t *v = json_object_get(o, field);

	if (!json_is_boolean(v))
		return kc_fail(err, KC_EINVAL, "%s: %s%s: missing or not a boolean", path, where,
		               field);
	*out = json_is_true(v);
	return KC_OK;
}

static const char *const REC_FIELDS[] = {"handedOffMs", "watchdogFires", "watchdogLastMs",
                                         "since",       "timedOut",      NULL};

static kc_code parse_rec(const char *path, const char *uid, const json_t *o, int64_t now_ms,
                         struct handoff_rec *r, struct kc_error *err)
{
	char where[96];
	int64_t fires;
	kc_code rc;

	snprintf(where, sizeof(where), "handoffs.%.40s.", uid);
	if (!k8s_uuid_valid(uid) || strlen(uid) >= sizeof(r->uid))
		return kc_fail(err, KC_EINVAL, "%s: handoffs: \"%.64s\" is not a pod UID", path,
		               uid);
	if (!json_is_object(o))
		return kc_fail(err, KC_EINVAL, "%s: handoffs.%s: not an object", path, uid);
	memset(r, 0, sizeof(*r));
	strcpy(r->uid, uid);
	if ((rc = only_fields(path, where, o, REC_FIELDS, err)) != KC_OK ||
	    (rc = get_time(path, where, o, "handedOffMs", now_ms, &r->handed_off_ms, err)) !=
	        KC_OK ||
	    (rc = get_int(path, where, o, "watchdogFires", 0, HANDOFF_FIRES_MAX, &fires, err)) !=
	        KC_OK ||
	    (rc = get_time(path, where, o, "watchdogLastMs", now_ms, &r->watchdog_last_ms, err)) !=
	        KC_OK ||
	    (rc = get_int(path, where, o, "since", 0, INT64_MAX, &r->since_wall, err)) != KC_OK ||
	    (rc = get_bool(path, where, o, "timedOut", &r->timed_out, err)) != KC_OK)
		return rc;
	r->watchdog_fires = (unsigned)fires;
	/* Re-activations without the time of the last one would skip the backoff. */
	if ((fires > 0) != (r->watchdog_last_ms >= 0))
		return kc_fail(err, KC_EINVAL,
		               "%s: %swatchdogLastMs: %lld does not go with watchdogFires %lld",
		               path, where, (long long)r->watchdog_last_ms, (long long)fires);
	return KC_OK;
}

static kc_code parse_recs(const char *path, const json_t *recs, int64_t now_ms,
                          struct handoff_doc *out, struct kc_error *err)
{
	const char *uid;
	json_t *v;
	kc_code rc;

	if (!json_is_object(recs))
		return kc_fail(err, KC_EINVAL, "%s: handoffs: missing or not an object", path);
	if (json_object_size(recs) > HANDOFF_RECS_MAX)
		return kc_fail(err, KC_EINVAL, "%s: handoffs: %zu records, more than %d", path,
		               json_object_size(recs), HANDOFF_RECS_MAX);
	out->recs = calloc(json_object_size(recs) ? json_object_size(recs) : 1, sizeof(*out->recs));
	if (out->recs == NULL)
		return kc_fail(err, KC_ENOMEM, "%s: out of memory", path);
	json_object_foreach((json_t *)recs, uid, v)
	{
		if ((rc = parse_rec(path, uid, v, now_ms, &out->recs[out->count], err)) != KC_OK)
			return rc;
		out->count++;
	}
	return KC_OK;
}

static const char *const TOP_FIELDS[] = {"version",      "bootID",   "bridgeOn",
                                         "lastBridgeMs", "handoffs", NULL};

static kc_code parse_top(const char *path, const json_t *top, const char *boot_id, int64_t now_ms,
                         struct handoff_doc *out, bool *other_boot, struct kc_error *err)
{
	const json_t *boot;
	int64_t version;
	kc_code rc;

	if (!json_is_object(top))
		return kc_fail(err, KC_EINVAL, "%s: not a JSON object", path);
	if ((rc = get_int(path, "", top, "version", HANDOFF_FILE_VERSION, HANDOFF_FILE_VERSION,
	                  &version, err)) != KC_OK)
		return rc;
	boot = json_object_get(top, "bootID");
	if (!json_is_string(boot) || !k8s_uuid_valid(json_string_value(boot)))
		return kc_fail(err, KC_EINVAL, "%s: bootID: missing or not a boot id", path);
	if (strcmp(json_string_value(boot), boot_id) != 0) {
		*other_boot = true;
		return KC_OK; /* its times are of another clock: nothing else is read */
	}
	if ((rc = only_fields(path, "", top, TOP_FIELDS, err)) != KC_OK ||
	    (rc = get_bool(path, "", top, "bridgeOn", &out->bridge_on, err)) != KC_OK ||
	    (rc = get_time(path, "", top, "lastBridgeMs", now_ms, &out->last_bridge_ms, err)) !=
	        KC_OK)
		return rc;
	return parse_recs(path, json_object_get(top, "handoffs"), now_ms, out, err);
}

kc_code handoff_doc_parse(const char *path, const char *text, size_t len, const char *boot_id,
                          int64_t now_ms, struct handoff_doc *out, bool *other_boot,
                          struct kc_error *err)
{
	json_error_t jerr;
	json_t *top;
	kc_code rc;

	memset(out, 0, sizeof(*out));
	out->last_bridge_ms = -1;
	*other_boot = false;
	if (len > HANDOFF_FILE_MAX)
		return kc_fail(err, KC_EINVAL, "%s: %zu bytes, more than %d", path, len,
		               HANDOFF_FILE_MAX);
	if ((top = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		return kc_fail(err, KC_EINVAL, "%s: not JSON: %s (line %d)", path, jerr.text,
		               jerr.line);
	rc = parse_top(path, top, boot_id, now_ms, out, other_boot, err);
	json_decref(top);
	if (rc != KC_OK || *other_boot)
		handoff_doc_free(out);
	return rc;
}

static json_t *rec_json(const struct handoff_rec *r)
{
	return json_pack("{sIsIsIsIsb}", "handedOffMs", (json_int_t)r->handed_off_ms,
	                 "watchdogFires", (json_int_t)r->watchdog_fires, "watchdogLastMs",
	                 (json_int_t)r->watchdog_last_ms, "since", (json_int_t)r->since_wall,
	                 "timedOut", r->timed_out);
}

kc_code handoff_doc_dump(const struct handoff_doc *d, const char *boot_id, struct kc_buf *out,
                         struct kc_error *err)
{
	json_t *top, *recs;
	char *text = NULL;
	kc_code rc;
	size_t i;

	/* While a bridge is on, its time moves at every pass: not written (bridgeOn says it). */
	top = json_pack("{sisssbsIso}", "version", HANDOFF_FILE_VERSION, "bootID", boot_id,
	                "bridgeOn", d->bridge_on, "lastBridgeMs",
	                (json_int_t)(d->bridge_on ? -1 : d->last_bridge_ms), "handoffs",
	                recs = json_object());
	for (i = 0; top != NULL && i < d->count; i++)
		if (json_object_set_new(recs, d->recs[i].uid, rec_json(&d->recs[i])) != 0)
			break;
	if (top == NULL || i < d->count || (text = json_dumps(top, JSON_INDENT(1))) == NULL) {
		json_decref(top);
		return kc_fail(err, KC_ENOMEM, HANDOFF_FILE_NAME ": out of memory");
	}
	json_decref(top);
	kc_buf_reset(out);
	if ((rc = kc_buf_puts(out, text, err)) == KC_OK)
		rc = kc_buf_puts(out, "\n", err);
	free(text);
	return rc;
}

/* Crash leftovers of earlier writes (each write has a temp name of its own). */
static void remove_temps(const char *state_dir)
{
	struct kc_error err;
	int dfd;

	if (fs_open_dir(state_dir, &dfd, &err) != KC_OK)
		return;
	fs_remove_temps_at(dfd, state_dir, HANDOFF_FILE_NAME, NULL, &err);
	close(dfd);
}

/* The file's bytes, if it is a file this agent could have written. */
static enum handoff_load read_bytes(const char *path, struct kc_buf *b, struct kc_error *err)
{
	struct stat st;
	int fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0 && errno == ENOENT)
		return HANDOFF_LOAD_MISSING;
	if (fd < 0) {
		kc_fail_errno(err, KC_EIO, errno, "%s%s", path,
		              errno == ELOOP ? ": is a symlink" : "");
		return HANDOFF_LOAD_BROKEN;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		kc_fail(err, KC_EINVAL, "%s: not a regular file", path);
	else if (st.st_uid != geteuid())
		kc_fail(err, KC_EINVAL, "%s: owned by uid %ld, not %ld (this agent)", path,
		        (long)st.st_uid, (long)geteuid());
	else if ((st.st_mode & 022) != 0)
		kc_fail(err, KC_EINVAL, "%s: mode %04o is writable by group or others", path,
		        (unsigned)(st.st_mode & 07777));
	else if (kc_buf_read_fd(b, fd, path, err) == KC_OK) {
		close(fd);
		return HANDOFF_LOAD_OK;
	}
	close(fd);
	return HANDOFF_LOAD_BROKEN;
}

enum handoff_load handoff_file_read(const char *state_dir, const char *boot_id, int64_t now_ms,
                                    struct handoff_doc *out, struct kc_error *err)
{
	enum handoff_load res;
	char path[4096];
	bool other = false;
	struct kc_buf b;

	memset(out, 0, sizeof(*out));
	out->last_bridge_ms = -1;
	remove_temps(state_dir);
	snprintf(path, sizeof(path), "%s/" HANDOFF_FILE_NAME, state_dir);
	kc_buf_init(&b, HANDOFF_FILE_MAX);
	res = read_bytes(path, &b, err);
	if (res == HANDOFF_LOAD_OK &&
	    handoff_doc_parse(path, b.data, b.len, boot_id, now_ms, out, &other, err) != KC_OK)
		res = HANDOFF_LOAD_BROKEN;
	else if (res == HANDOFF_LOAD_OK && other)
		res = HANDOFF_LOAD_OTHER_BOOT;
	kc_buf_free(&b);
	return res;
}

kc_code handoff_file_write(const char *state_dir, const struct kc_buf *bytes, struct kc_error *err)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/" HANDOFF_FILE_NAME, state_dir);
	return fs_write_atomic(path, bytes->data, bytes->len, 0600, NULL, err);
}

static bool worth_keeping(const struct parent_rec *r)
{
	return r->ckpt != PARENT_CKPT_NONE &&
	       (r->handed_off_ms >= 0 || r->watchdog_fires > 0 || r->handoff_timed_out);
}

kc_code handoff_doc_from_table(const struct parent_table *t, bool bridge_on, int64_t last_bridge_ms,
                               struct handoff_doc *out, struct kc_error *err)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	out->bridge_on = bridge_on;
	out->last_bridge_ms = last_bridge_ms;
	if ((out->recs = calloc(t->count ? t->count : 1, sizeof(*out->recs))) == NULL)
		return kc_fail(err, KC_ENOMEM, HANDOFF_FILE_NAME ": out of memory");
	for (i = 0; i < t->count; i++) {
		const struct parent_rec *r = &t->recs[i];
		struct handoff_rec *h = &out->recs[out->count];

		if (!worth_keeping(r))
			continue;
		strcpy(h->uid, r->uid);
		h->handed_off_ms = r->handed_off_ms;
		h->watchdog_fires = r->watchdog_fires;
		h->watchdog_last_ms = r->watchdog_fires > 0 ? r->watchdog_last_ms : -1;
		h->since_wall = r->handoff_wall > 0 ? (int64_t)r->handoff_wall : 0;
		h->timed_out = r->handoff_timed_out;
		out->count++;
	}
	return KC_OK;
}

size_t handoff_doc_to_table(const struct handoff_doc *d, struct parent_table *t)
{
	size_t i, n = 0;

	for (i = 0; i < d->count; i++) {
		const struct handoff_rec *h = &d->recs[i];
		struct parent_rec *r = parent_table_find(t, h->uid);

		if (r == NULL || r->ckpt == PARENT_CKPT_NONE)
			continue; /* its checkpoint is gone: so is its hand-off */
		r->handed_off_ms = h->handed_off_ms;
		r->watchdog_fires = h->watchdog_fires;
		r->watchdog_last_ms = h->watchdog_last_ms;
		r->handoff_wall = (time_t)h->since_wall;
		r->handoff_timed_out = h->timed_out;
		n++;
	}
	return n;
}

size_t handoff_assume_under_way(struct parent_table *t, int64_t now_ms, time_t now_wall)
{
	size_t i, n = 0;

	for (i = 0; i < t->count; i++) {
		struct parent_rec *r = &t->recs[i];

		if (r->ckpt == PARENT_CKPT_NONE)
			continue;
		r->handed_off_ms = now_ms;
		r->handoff_assumed = true;
		r->handoff_wall = now_wall;
		n++;
	}
	return n;
}
