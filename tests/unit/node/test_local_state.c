/*
 * test_local_state.c: the set a ListContainers answer makes (what the
 * decision relies on), and the source order without a runtime: a CRI socket that
 * does not exist falls back to the pod cgroups (read where the kubelet's
 * cgroupRoot puts them), and with neither the state is UNKNOWN with both
 * reasons; sandbox names are known only from the CRI. (The CRI answering is
 * covered end to end with the fake runtime: tests/e2e/test_local_state.py.)
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "local_state.h"
#include "testutil.h"

#define UID_A "11111111-2222-4333-8444-555555555555"

static void test_cgroups_when_no_runtime(void **state)
{
	char *root = tu_mkdtemp(), ep[PATH_MAX + 16], dir[PATH_MAX];
	struct local_state ls;
	const struct local_pods *lp;
	bool known = true;

	snprintf(ep, sizeof(ep), "unix://%s/nope.sock", root);
	snprintf(dir, sizeof(dir), "%s/kubelet", root);
	mkdir(dir, 0755);
	snprintf(dir, sizeof(dir), "%s/kubelet/kubepods", root);
	mkdir(dir, 0755);
	snprintf(dir, sizeof(dir), "%s/kubelet/kubepods/pod" UID_A, root);
	mkdir(dir, 0755);
	assert_int_equal(local_state_init(&ls, ep, false, root, "/kubelet", "cgroupfs", true, NULL),
	                 KC_OK);
	lp = local_state_refresh(&ls, 1000);
	assert_non_null(lp);
	assert_int_equal(ls.source, LOCAL_SOURCE_CGROUPS);
	assert_true(local_pods_contains(lp, UID_A));
	assert_non_null(strstr(ls.why, "nope.sock"));
	assert_false(local_state_sandbox_ready(&ls, "kube-system", "x", &known));
	assert_false(known);
	/* A missing socket is looked for again at once: no back-off. */
	assert_int_equal(ls.cri_retry_ms, 0);
	assert_int_equal(ls.cri_failures, 1);
	local_state_free(&ls);
	tu_rmrf(root);
	free(root);
}

static void test_neither_is_unknown_with_both_reasons(void **state)
{
	char *root = tu_mkdtemp(), ep[PATH_MAX + 16];
	struct local_state ls;

	snprintf(ep, sizeof(ep), "unix://%s/nope.sock", root);
	assert_int_equal(local_state_init(&ls, ep, false, root, NULL, NULL, false, NULL), KC_OK);
	assert_null(local_state_refresh(&ls, 1000));
	assert_int_equal(ls.source, LOCAL_SOURCE_NONE);
	assert_int_equal(ls.pods.state, LOCAL_PODS_UNKNOWN);
	assert_non_null(strstr(ls.why, "nope.sock"));
	assert_non_null(strstr(ls.why, "cgroupsPerQOS"));
	assert_string_equal(local_source_name(ls.source), "unknown");
	local_state_free(&ls);
	tu_rmrf(root);
	free(root);
}

static void test_bad_endpoint_and_layout(void **state)
{
	char *root = tu_mkdtemp();
	struct local_state ls;

	assert_int_equal(
	    local_state_init(&ls, "tcp://1.2.3.4:1", false, root, "/a/../b", NULL, true, NULL),
	    KC_OK);
	assert_null(ls.cri);
	assert_false(ls.layout_ok);
	assert_null(local_state_refresh(&ls, 0));
	assert_non_null(strstr(ls.why, "unix://"));
	assert_non_null(strstr(ls.why, "cgroup settings"));
	local_state_free(&ls);
	tu_rmrf(root);
	free(root);
}

#define UID_B "22222222-2222-4333-8444-555555555555"
#define UID_C "33333333-2222-4333-8444-555555555555"
#define T0    1700000000000LL /* ms */

static struct cri_container ct(const char *uid, enum cri_container_state st, int64_t created_ms,
                               bool regular)
{
	struct cri_container c = {.id = (char *)"c", .uid = (char *)uid, .name = (char *)"n"};

	c.state = st;
	c.created_ns = created_ms * 1000000 + 999999; /* sub-millisecond part dropped */
	c.regular = regular;
	return c;
}

/*
 * What the decision may rely on from a ListContainers answer (issue 18
 * defect 5): running only for a RUNNING regular container; a UID whose
 * containers all exited (or only an init container runs) has an entry that
 * does not run, with its newest creation time.
 */
static void test_pods_from_containers(void **state)
{
	struct cri_container items[] = {
	    ct(UID_A, CRI_CONTAINER_EXITED, T0 + 10, true),
	    ct(UID_A, CRI_CONTAINER_RUNNING, T0 + 5, false), /* an init container */
	    ct(UID_B, CRI_CONTAINER_RUNNING, T0 + 30, true),
	    ct(UID_B, CRI_CONTAINER_RUNNING, T0 + 20, true),
	    ct(UID_B, CRI_CONTAINER_CREATED, T0 + 40, true),
	    ct("", CRI_CONTAINER_RUNNING, T0, true), /* not the kubelet's */
	    ct(UID_C, CRI_CONTAINER_UNKNOWN, 0, true),
	};
	struct cri_containers cs = {items, sizeof(items) / sizeof(items[0])};
	struct local_pods lp = {0};
	const struct local_pod *p;

	items[6].created_ns = 0; /* the runtime gave no time */
	assert_int_equal(local_pods_from_containers(&cs, &lp, NULL), KC_OK);
	assert_int_equal(lp.state, LOCAL_PODS_KNOWN);
	assert_true(lp.containers_known);
	assert_int_equal(lp.count, 3);
	p = local_pods_find(&lp, UID_A);
	assert_non_null(p);
	assert_false(p->running);
	assert_false(local_pods_contains(&lp, UID_A));
	assert_int_equal(p->newest_created_ms, T0 + 10);
	assert_int_equal(p->running_since_ms, -1);
	p = local_pods_find(&lp, UID_B);
	assert_true(p->running);
	assert_int_equal(p->newest_created_ms, T0 + 40);
	assert_int_equal(p->running_since_ms, T0 + 20);
	p = local_pods_find(&lp, UID_C);
	assert_false(p->running);
	assert_int_equal(p->newest_created_ms, -1);
	assert_int_equal(local_pods_running(&lp), 1);
	local_pods_free(&lp);
}

/* A socket bound (nobody listens) and given to uid 65534. */
static void make_foreign_socket(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_true(strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	assert_int_equal(chown(path, 65534, 65534), 0);
}

/*
 * Issue 19 finding 13: a socket found from the kubelet (not named by the
 * user) that root does not own is refused before any connect; named, it is
 * tried (and here refused by nobody listening: a network failure instead).
 */
static void test_foreign_socket_refused_unless_named(void **state)
{
	char *root = tu_mkdtemp(), sock[PATH_MAX], ep[PATH_MAX + 16];
	struct local_state ls;

	if (geteuid() != 0)
		skip();
	snprintf(sock, sizeof(sock), "%s/c.sock", root);
	snprintf(ep, sizeof(ep), "unix://%s", sock);
	make_foreign_socket(sock);
	assert_int_equal(local_state_init(&ls, ep, false, root, NULL, NULL, false, NULL), KC_OK);
	assert_null(local_state_refresh(&ls, 1000));
	assert_non_null(strstr(ls.why, "owned by uid 65534, not root"));
	local_state_free(&ls);
	assert_int_equal(local_state_init(&ls, ep, true, root, NULL, NULL, false, NULL), KC_OK);
	assert_null(local_state_refresh(&ls, 1000));
	assert_null(strstr(ls.why, "not root"));
	assert_non_null(strstr(ls.why, "c.sock"));
	local_state_free(&ls);
	tu_rmrf(root);
	free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cgroups_when_no_runtime),
	    cmocka_unit_test(test_neither_is_unknown_with_both_reasons),
	    cmocka_unit_test(test_bad_endpoint_and_layout),
	    cmocka_unit_test(test_foreign_socket_refused_unless_named),
	    cmocka_unit_test(test_pods_from_containers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
