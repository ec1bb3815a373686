/*
 * test_handoff_file.c: the hand-off records file. What the agent saves reads
 * back into the parent table exactly (records of UIDs without a checkpoint
 * dropped); a file of another boot carries nothing; every hostile or broken
 * file (bad JSON, wrong types, unknown fields, times in the future, absurd
 * counts, a watchdog count without its time, too big, a symlink, not ours,
 * writable by others) is refused naming the file and field; the
 * conservative fallback takes every checkpoint as handed off now.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "handoff_file.h"
#include "testutil.h"

#define BOOT  "0f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a00"
#define OTHER "11111111-2222-4333-8444-555555555555"
#define UID1  "00000000-0000-4000-8000-000000000001"
#define UID2  "00000000-0000-4000-8000-000000000002"
#define UID3  "00000000-0000-4000-8000-000000000003"
#define NOW   100000

static struct parent_rec *add(struct parent_table *t, const char *uid, enum parent_ckpt ckpt)
{
	struct parent_rec *r = parent_table_get(t, uid);

	assert_non_null(r);
	r->ckpt = ckpt;
	return r;
}

static void dump_table(const struct parent_table *t, bool on, int64_t last, struct kc_buf *b)
{
	struct handoff_doc d;
	struct kc_error err;

	assert_int_equal(handoff_doc_from_table(t, on, last, &d, &err), KC_OK);
	kc_buf_init(b, HANDOFF_FILE_MAX);
	assert_int_equal(handoff_doc_dump(&d, BOOT, b, &err), KC_OK);
	handoff_doc_free(&d);
}

static void test_round_trip(void **state)
{
	struct parent_table t, back;
	struct parent_rec *r;
	struct handoff_doc d;
	struct kc_error err;
	struct kc_buf b;
	bool other;

	(void)state;
	parent_table_init(&t);
	r = add(&t, UID1, PARENT_CKPT_OK); /* handed off, not yet re-activated */
	r->handed_off_ms = 90000;
	r->handoff_wall = 1765000000;
	r = add(&t, UID2, PARENT_CKPT_OK); /* re-activated twice: the backoff's state */
	r->watchdog_fires = 2;
	r->watchdog_last_ms = 95000;
	r->handoff_timed_out = true;
	add(&t, UID3, PARENT_CKPT_OK); /* nothing to keep: not written */
	dump_table(&t, false, 80000, &b);
	assert_null(strstr(b.data, UID3));

	assert_int_equal(handoff_doc_parse("f", b.data, b.len, BOOT, NOW, &d, &other, &err), KC_OK);
	assert_false(other);
	assert_false(d.bridge_on);
	assert_int_equal(d.last_bridge_ms, 80000);
	assert_int_equal(d.count, 2);

	parent_table_init(&back); /* the next agent: UID2's checkpoint is gone */
	add(&back, UID1, PARENT_CKPT_OK);
	add(&back, UID3, PARENT_CKPT_CORRUPT);
	parent_table_get(&back, UID2); /* known from the API only: no checkpoint */
	assert_int_equal(handoff_doc_to_table(&d, &back), 1);
	r = parent_table_find(&back, UID1);
	assert_int_equal(r->handed_off_ms, 90000);
	assert_int_equal(r->watchdog_fires, 0);
	assert_int_equal(r->watchdog_last_ms, -1);
	assert_int_equal((long)r->handoff_wall, 1765000000);
	assert_int_equal(parent_table_find(&back, UID2)->watchdog_fires, 0);
	assert_int_equal(parent_table_find(&back, UID2)->handed_off_ms, -1);
	handoff_doc_free(&d);

	/* All three with checkpoints: the watchdog's backoff state comes back. */
	add(&back, UID2, PARENT_CKPT_OK);
	assert_int_equal(handoff_doc_parse("f", b.data, b.len, BOOT, NOW, &d, &other, &err), KC_OK);
	assert_int_equal(handoff_doc_to_table(&d, &back), 2);
	r = parent_table_find(&back, UID2);
	assert_int_equal(r->watchdog_fires, 2);
	assert_int_equal(r->watchdog_last_ms, 95000);
	assert_true(r->handoff_timed_out);
	handoff_doc_free(&d);
	kc_buf_free(&b);
	parent_table_free(&t);
	parent_table_free(&back);
}

/* While a bridge is on, the moving last-bridge time is not in the bytes. */
static void test_bridge_on_is_stable(void **state)
{
	struct parent_table t;
	struct handoff_doc d;
	struct kc_error err;
	struct kc_buf a, b;
	bool other;

	(void)state;
	parent_table_init(&t);
	dump_table(&t, true, 50000, &a);
	dump_table(&t, true, 51000, &b);
	assert_string_equal(a.data, b.data);
	assert_int_equal(handoff_doc_parse("f", a.data, a.len, BOOT, NOW, &d, &other, &err), KC_OK);
	assert_true(d.bridge_on);
	handoff_doc_free(&d);
	kc_buf_free(&a);
	kc_buf_free(&b);
}

static void test_other_boot(void **state)
{
	const char *text = "{\"version\":1,\"bootID\":\"" OTHER "\",\"bridgeOn\":false,"
	                   "\"lastBridgeMs\":99999999999,\"handoffs\":{\"" UID1 "\":"
	                   "{\"handedOffMs\":99999999999,\"watchdogFires\":0,"
	                   "\"watchdogLastMs\":-1,\"since\":0,\"timedOut\":false}}}";
	struct handoff_doc d;
	struct kc_error err;
	bool other;

	(void)state;
	/* Its times (in the future of this boot's clock) are of another clock. */
	assert_int_equal(handoff_doc_parse("f", text, strlen(text), BOOT, NOW, &d, &other, &err),
	                 KC_OK);
	assert_true(other);
	assert_int_equal(d.count, 0);
	assert_int_equal(d.last_bridge_ms, -1);
}

#define REC(fields)                                                                                \
	"{\"version\":1,\"bootID\":\"" BOOT "\",\"bridgeOn\":false,"                               \
	"\"lastBridgeMs\":-1,\"handoffs\":{\"" UID1 "\":{" fields "}}}"
#define GOOD_REC                                                                                   \
	"\"handedOffMs\":-1,\"watchdogFires\":0,\"watchdogLastMs\":-1,\"since\":0,\"timedOut\":"   \
	"false"

static const struct {
	const char *text;
	const char *says; /* in the message, with the file's name */
} HOSTILE[] = {
    {"{\"version\":1,", "not JSON"},
    {"[]", "not a JSON object"},
    {"{\"version\":2,\"bootID\":\"" BOOT "\"}", "version"},
    {"{\"version\":\"1\",\"bootID\":\"" BOOT "\"}", "version: missing or not an integer"},
    {"{\"version\":1,\"bootID\":7}", "bootID"},
    {"{\"version\":1,\"bootID\":\"../../etc\"}", "bootID"},
    {"{\"version\":1,\"bootID\":\"" BOOT "\",\"bridgeOn\":\"no\",\"lastBridgeMs\":-1,"
     "\"handoffs\":{}}",
     "bridgeOn: missing or not a boolean"},
    {"{\"version\":1,\"bootID\":\"" BOOT "\",\"bridgeOn\":false,\"lastBridgeMs\":100001,"
     "\"handoffs\":{}}",
     "lastBridgeMs: 100001 ms is in the future"},
    {"{\"version\":1,\"bootID\":\"" BOOT "\",\"bridgeOn\":false,\"lastBridgeMs\":-5,"
     "\"handoffs\":{}}",
     "lastBridgeMs: -5 is out of range"},
    {"{\"version\":1,\"bootID\":\"" BOOT "\",\"bridgeOn\":false,\"lastBridgeMs\":1.5,"
     "\"handoffs\":{}}",
     "lastBridgeMs: missing or not an integer"},
    {"{\"version\":1,\"bootID\":\"" BOOT "\",\"bridgeOn\":false,\"lastBridgeMs\":-1,"
     "\"handoffs\":[]}",
     "handoffs: missing or not an object"},
    {"{\"version\":1,\"bootID\":\"" BOOT "\",\"bridgeOn\":false,\"lastBridgeMs\":-1,"
     "\"handoffs\":{},\"trustMe\":true}",
     "unknown field \"trustMe\""},
    {"{\"version\":1,\"bootID\":\"" BOOT "\",\"bridgeOn\":false,\"bridgeOn\":true,"
     "\"lastBridgeMs\":-1,\"handoffs\":{}}",
     "duplicate"},
    {"{\"version\":1,\"bootID\":\"" BOOT "\",\"bridgeOn\":false,\"lastBridgeMs\":-1,"
     "\"handoffs\":{\"../x\":{" GOOD_REC "}}}",
     "is not a pod UID"},
    {REC("\"handedOffMs\":100001,\"watchdogFires\":0,\"watchdogLastMs\":-1,\"since\":0,"
         "\"timedOut\":false"),
     "handoffs." UID1 ".handedOffMs: 100001 ms is in the future"},
    {REC("\"handedOffMs\":-1,\"watchdogFires\":4294967297,\"watchdogLastMs\":5,\"since\":0,"
         "\"timedOut\":false"),
     "watchdogFires: 4294967297 is out of range"},
    {REC("\"handedOffMs\":-1,\"watchdogFires\":-1,\"watchdogLastMs\":-1,\"since\":0,"
         "\"timedOut\":false"),
     "watchdogFires: -1 is out of range"},
    {REC("\"handedOffMs\":-1,\"watchdogFires\":3,\"watchdogLastMs\":-1,\"since\":0,"
         "\"timedOut\":false"),
     "watchdogLastMs: -1 does not go with watchdogFires 3"},
    {REC("\"handedOffMs\":-1,\"watchdogFires\":0,\"watchdogLastMs\":-1,\"since\":0,"
         "\"timedOut\":0"),
     "timedOut: missing or not a boolean"},
    {REC("\"handedOffMs\":-1,\"watchdogFires\":0,\"watchdogLastMs\":-1,\"since\":0"),
     "timedOut: missing"},
    {REC(GOOD_REC ",\"extra\":1"), "handoffs." UID1 ".unknown field \"extra\""},
};

static void test_hostile_refused(void **state)
{
	struct handoff_doc d;
	struct kc_error err;
	bool other;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(HOSTILE) / sizeof(HOSTILE[0]); i++) {
		const char *text = HOSTILE[i].text;

		memset(&err, 0, sizeof(err));
		if (handoff_doc_parse("/s/handoff.json", text, strlen(text), BOOT, NOW, &d, &other,
		                      &err) != KC_EINVAL ||
		    strstr(err.msg, HOSTILE[i].says) == NULL ||
		    strncmp(err.msg, "/s/handoff.json: ", 17) != 0)
			fail_msg("case %zu: %s -> \"%s\"", i, text, err.msg);
		assert_int_equal(d.count, 0);
		assert_null(d.recs);
	}
	/* The well-formed record the cases above spoil is accepted. */
	assert_int_equal(handoff_doc_parse("f", REC(GOOD_REC), strlen(REC(GOOD_REC)), BOOT, NOW, &d,
	                                   &other, &err),
	                 KC_OK);
	assert_int_equal(d.count, 1);
	handoff_doc_free(&d);
}

static void test_too_many_or_too_big(void **state)
{
	struct handoff_doc d;
	struct kc_error err;
	struct kc_buf b;
	bool other;
	unsigned i;

	(void)state;
	kc_buf_init(&b, 0);
	assert_int_equal(kc_buf_printf(&b, &err,
	                               "{\"version\":1,\"bootID\":\"" BOOT "\",\"bridgeOn\":false,"
	                               "\"lastBridgeMs\":-1,\"handoffs\":{"),
	                 KC_OK);
	for (i = 0; i <= HANDOFF_RECS_MAX; i++)
		assert_int_equal(kc_buf_printf(&b, &err,
		                               "%s\"00000000-0000-4000-8000-%012x\":{" GOOD_REC "}",
		                               i ? "," : "", i),
		                 KC_OK);
	assert_int_equal(kc_buf_puts(&b, "}}", &err), KC_OK);
	assert_true(b.len <= HANDOFF_FILE_MAX);
	assert_int_equal(handoff_doc_parse("f", b.data, b.len, BOOT, NOW, &d, &other, &err),
	                 KC_EINVAL);
	assert_non_null(strstr(err.msg, "handoffs: 4097 records, more than 4096"));
	assert_int_equal(
	    handoff_doc_parse("f", b.data, HANDOFF_FILE_MAX + 1, BOOT, NOW, &d, &other, &err),
	    KC_EINVAL);
	assert_non_null(strstr(err.msg, "more than"));
	kc_buf_free(&b);
}

static char *file_in(const char *dir)
{
	char *p = malloc(strlen(dir) + sizeof("/" HANDOFF_FILE_NAME));

	assert_non_null(p);
	sprintf(p, "%s/" HANDOFF_FILE_NAME, dir);
	return p;
}

static void test_file_read_write(void **state)
{
	char *dir = tu_mkdtemp(), *path = file_in(dir), tmp[4200], victim[4200];
	struct parent_table t;
	struct handoff_doc d;
	struct kc_error err;
	struct kc_buf b;
	struct stat st;

	(void)state;
	assert_int_equal(handoff_file_read(dir, BOOT, NOW, &d, &err), HANDOFF_LOAD_MISSING);
	parent_table_init(&t);
	add(&t, UID1, PARENT_CKPT_OK)->handed_off_ms = 1000;
	dump_table(&t, false, -1, &b);
	/* A crashed write's temp file is removed when the file is read. */
	snprintf(tmp, sizeof(tmp), "%s/." HANDOFF_FILE_NAME ".123.deadbeef.tmp", dir);
	tu_write_file(tmp, "x", 1, 0600);
	assert_int_equal(handoff_file_write(dir, &b, &err), KC_OK);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(handoff_file_read(dir, BOOT, NOW, &d, &err), HANDOFF_LOAD_OK);
	assert_int_equal(d.count, 1);
	assert_int_equal(d.recs[0].handed_off_ms, 1000);
	handoff_doc_free(&d);
	assert_int_not_equal(access(tmp, F_OK), 0);
	assert_int_equal(handoff_file_read(dir, OTHER, NOW, &d, &err), HANDOFF_LOAD_OTHER_BOOT);
	/* Read in the same boot before it was written (a clock gone back): broken. */
	assert_int_equal(handoff_file_read(dir, BOOT, 999, &d, &err), HANDOFF_LOAD_BROKEN);
	assert_non_null(strstr(err.msg, "handedOffMs: 1000 ms is in the future"));

	/* Writable by others: anyone could have written it. */
	assert_int_equal(chmod(path, 0622), 0);
	assert_int_equal(handoff_file_read(dir, BOOT, NOW, &d, &err), HANDOFF_LOAD_BROKEN);
	assert_non_null(strstr(err.msg, "writable by group or others"));
	assert_int_equal(chmod(path, 0600), 0);
	if (geteuid() == 0) { /* not ours */
		assert_int_equal(chown(path, 65534, 65534), 0);
		assert_int_equal(handoff_file_read(dir, BOOT, NOW, &d, &err), HANDOFF_LOAD_BROKEN);
		assert_non_null(strstr(err.msg, "owned by uid 65534"));
	}
	/* A symlink to a good file is not followed. */
	snprintf(victim, sizeof(victim), "%s/elsewhere.json", dir);
	assert_int_equal(rename(path, victim), 0);
	assert_int_equal(chown(victim, geteuid(), getegid()), 0);
	assert_int_equal(symlink(victim, path), 0);
	assert_int_equal(handoff_file_read(dir, BOOT, NOW, &d, &err), HANDOFF_LOAD_BROKEN);
	assert_non_null(strstr(err.msg, "is a symlink"));
	/* Writing replaces the link, never the file it points to. */
	assert_int_equal(handoff_file_write(dir, &b, &err), KC_OK);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	/* A directory in its place. */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(handoff_file_read(dir, BOOT, NOW, &d, &err), HANDOFF_LOAD_BROKEN);
	assert_non_null(strstr(err.msg, "not a regular file"));
	kc_buf_free(&b);
	parent_table_free(&t);
	tu_rmrf(dir);
	free(dir);
	free(path);
}

static void test_assume_under_way(void **state)
{
	struct parent_table t;
	struct parent_rec *r;

	(void)state;
	parent_table_init(&t);
	add(&t, UID1, PARENT_CKPT_OK);
	add(&t, UID2, PARENT_CKPT_CORRUPT);
	parent_table_get(&t, UID3); /* no checkpoint */
	assert_int_equal(handoff_assume_under_way(&t, 4242, 1765000000), 2);
	r = parent_table_find(&t, UID1);
	assert_int_equal(r->handed_off_ms, 4242);
	assert_true(r->handoff_assumed);
	assert_int_equal(r->watchdog_fires, 0);
	assert_int_equal(parent_table_find(&t, UID3)->handed_off_ms, -1);
	parent_table_free(&t);
}

static void test_boot_id(void **state)
{
	char id[HANDOFF_BOOT_ID_MAX + 1];
	struct kc_error err;

	(void)state;
	assert_int_equal(handoff_boot_id(id, &err), KC_OK);
	assert_int_equal(strlen(id), 36);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),          cmocka_unit_test(test_bridge_on_is_stable),
	    cmocka_unit_test(test_other_boot),          cmocka_unit_test(test_hostile_refused),
	    cmocka_unit_test(test_too_many_or_too_big), cmocka_unit_test(test_file_read_write),
	    cmocka_unit_test(test_assume_under_way),    cmocka_unit_test(test_boot_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
