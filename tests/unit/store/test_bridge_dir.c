/*
 * test_bridge_dir.c: in a staticPodPath full of other people's files, the
 * agent only ever writes, lists and removes its own manifests (prefix and
 * marker), writes only when bytes differ, and cleans only its own temp files.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bridge_dir.h"
#include "kc_names.h"
#include "render.h"
#include "testutil.h"

#define OURS       "kubelet-checkpoint_kube-system_agent.yaml"
#define NO_MARKER  "kubelet-checkpoint_kube-system_impostor.yaml"
#define PREFIX_LNK "kubelet-checkpoint_kube-system_link.yaml"
#define OUR_TEMP   ".kubelet-checkpoint_kube-system_agent.yaml.tmp"

static const char manifest_v1[] =
    "apiVersion: v1\nkind: Pod\nmetadata:\n  annotations:\n"
    "    kubelet-checkpoint/checkpoint-of: kube-system/agent\n"
    "    kubelet-checkpoint/source-uid: 0b8f4a52-3c1e-4d2a-9f1e-7a6b5c4d3e2f\n"
    "  name: agent\n  namespace: kube-system\nspec:\n  containers:\n  - image: agent:1\n"
    "    name: agent\n";
static const char manifest_v2[] =
    "apiVersion: v1\nkind: Pod\nmetadata:\n  annotations:\n"
    "    kubelet-checkpoint/checkpoint-of: kube-system/agent\n"
    "    kubelet-checkpoint/source-uid: 0b8f4a52-3c1e-4d2a-9f1e-7a6b5c4d3e2f\n"
    "  name: agent\n  namespace: kube-system\nspec:\n  containers:\n  - image: agent:2\n"
    "    name: agent\n";
static const char unmarked[] =
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: impostor\n  namespace: kube-system\n";

/* A planted foreign file: its path and what it must still be at the end. */
struct planted {
	const char *name;
	const char *content; /* NULL for the symlink */
	struct stat st;
};

struct fixture {
	char *root;
	char dir[1024];
	char victim[1024];
	struct planted files[10];
	size_t nfiles;
	struct bridge_dir *bd;
};

static void plant(struct fixture *f, const char *name, const char *content)
{
	char p[PATH_MAX];
	struct planted *pl = &f->files[f->nfiles++];

	snprintf(p, sizeof(p), "%s/%s", f->dir, name);
	pl->name = name;
	pl->content = content;
	if (content != NULL)
		tu_write_file(p, content, strlen(content), 0644);
	else
		assert_int_equal(symlink(f->victim, p), 0);
	assert_int_equal(lstat(p, &pl->st), 0);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct kc_error err;

	f->root = tu_mkdtemp();
	snprintf(f->dir, sizeof(f->dir), "%s/manifests", f->root);
	snprintf(f->victim, sizeof(f->victim), "%s/passwd", f->root);
	assert_int_equal(mkdir(f->dir, 0755), 0);
	tu_write_file(f->victim, "root:x:0:0\n", 11, 0644);
	plant(f, "kube-apiserver.yaml",
	      "apiVersion: v1\nkind: Pod\nmetadata:\n  name: apiserver\n");
	plant(f, "etcd.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: etcd\n");
	plant(f, ".keep", "");
	plant(f, "evil.yaml", NULL);
	plant(f, NO_MARKER, unmarked);
	plant(f, PREFIX_LNK, NULL);
	assert_int_equal(bridge_dir_open(f->dir, &f->bd, &err), KC_OK);
	*state = f;
	return 0;
}

/* Every planted file is exactly as planted: same inode, bytes, link target. */
static void assert_planted_untouched(struct fixture *f)
{
	for (size_t i = 0; i < f->nfiles; i++) {
		struct planted *pl = &f->files[i];
		char p[PATH_MAX], target[PATH_MAX];
		struct stat st;

		snprintf(p, sizeof(p), "%s/%s", f->dir, pl->name);
		assert_int_equal(lstat(p, &st), 0);
		assert_int_equal(st.st_ino, pl->st.st_ino);
		assert_int_equal(st.st_mtim.tv_nsec, pl->st.st_mtim.tv_nsec);
		if (pl->content == NULL) {
			ssize_t n = readlink(p, target, sizeof(target) - 1);
			assert_true(n > 0);
			target[n] = '\0';
			assert_string_equal(target, f->victim);
		} else {
			char *got = tu_read_file(p, NULL);
			assert_string_equal(got, pl->content);
			free(got);
		}
	}
	char *v = tu_read_file(f->victim, NULL);
	assert_string_equal(v, "root:x:0:0\n");
	free(v);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	assert_planted_untouched(f);
	bridge_dir_close(f->bd);
	tu_rmrf(f->root);
	free(f->root);
	free(f);
	return 0;
}

static void test_missing_dir_is_not_created(void **state)
{
	struct fixture *f = *state;
	struct bridge_dir *bd = NULL;
	struct kc_error err;
	char p[PATH_MAX], link[PATH_MAX];

	snprintf(p, sizeof(p), "%s/not-yet", f->root);
	assert_int_equal(bridge_dir_open(p, &bd, &err), KC_ENOTFOUND);
	assert_null(bd);
	assert_int_not_equal(access(p, F_OK), 0);
	/* A symlinked staticPodPath is refused, clearly. */
	snprintf(link, sizeof(link), "%s/manifests-link", f->root);
	assert_int_equal(symlink(f->dir, link), 0);
	assert_int_equal(bridge_dir_open(link, &bd, &err), KC_EIO);
	assert_non_null(strstr(err.msg, "symlink"));
	assert_string_equal(bridge_dir_path(f->bd), f->dir);
}

static void test_write_only_when_different(void **state)
{
	struct fixture *f = *state;
	struct stat st1, st2;
	struct kc_error err;
	char p[PATH_MAX];
	bool changed;

	snprintf(p, sizeof(p), "%s/%s", f->dir, OURS);
	assert_int_equal(
	    bridge_dir_write(f->bd, OURS, manifest_v1, strlen(manifest_v1), &changed, &err), KC_OK);
	assert_true(changed);
	assert_int_equal(stat(p, &st1), 0);
	assert_int_equal(st1.st_mode & 07777, 0600);
	assert_int_equal(
	    bridge_dir_write(f->bd, OURS, manifest_v1, strlen(manifest_v1), &changed, &err), KC_OK);
	assert_false(changed);
	assert_int_equal(stat(p, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);
	assert_int_equal(
	    bridge_dir_write(f->bd, OURS, manifest_v2, strlen(manifest_v2), &changed, &err), KC_OK);
	assert_true(changed);
	char *got = tu_read_file(p, NULL);
	assert_string_equal(got, manifest_v2);
	free(got);
}

static void test_never_overwrites_foreign(void **state)
{
	struct fixture *f = *state;
	static const char *const names[] = {NO_MARKER,
	                                    PREFIX_LNK,
	                                    "etcd.yaml",
	                                    ".keep",
	                                    "evil.yaml",
	                                    "../escape.yaml",
	                                    "kubelet-checkpoint_a/b"};
	struct kc_error err;
	bool changed = true;
	char p[PATH_MAX];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(bridge_dir_write(f->bd, names[i], manifest_v1, strlen(manifest_v1),
		                                  &changed, &err),
		                 KC_EINVAL);
		assert_false(changed);
	}
	/* Content without the marker is never written, even under our name. */
	assert_int_equal(bridge_dir_write(f->bd, OURS, unmarked, strlen(unmarked), &changed, &err),
	                 KC_EINVAL);
	assert_non_null(strstr(err.msg, KC_ANNOTATION_CHECKPOINT_OF));
	assert_int_equal(bridge_dir_write(f->bd, OURS, "{: [", 4, &changed, &err), KC_EINVAL);
	snprintf(p, sizeof(p), "%s/%s", f->dir, OURS);
	assert_int_not_equal(access(p, F_OK), 0);
	snprintf(p, sizeof(p), "%s/escape.yaml", f->root);
	assert_int_not_equal(access(p, F_OK), 0);
	/* A name the file system cannot hold with its temp name: a clear error. */
	char longname[300];
	snprintf(longname, sizeof(longname), "%s%0*d.yaml", KC_MANIFEST_PREFIX,
	         BRIDGE_NAME_MAX - (int)strlen(KC_MANIFEST_PREFIX) - 4, 0);
	assert_int_equal(strlen(longname), BRIDGE_NAME_MAX + 1);
	assert_int_equal(
	    bridge_dir_write(f->bd, longname, manifest_v1, strlen(manifest_v1), &changed, &err),
	    KC_EINVAL);
	assert_non_null(strstr(err.msg, "over the 250"));
}

static void test_batch_write(void **state)
{
	struct fixture *f = *state;
	struct bridge_write w[4] = {
	    {.file = OURS, .data = manifest_v1, .len = strlen(manifest_v1)},
	    {.file = NO_MARKER, .data = manifest_v1, .len = strlen(manifest_v1)},
	    {.file = PREFIX_LNK, .data = manifest_v1, .len = strlen(manifest_v1)},
	    {.file = "etcd.yaml", .data = manifest_v1, .len = strlen(manifest_v1)},
	};
	struct kc_error err;
	char p[PATH_MAX];

	assert_int_equal(bridge_dir_check_bytes(OURS, manifest_v1, strlen(manifest_v1), &err),
	                 KC_OK);
	assert_int_equal(bridge_dir_check_bytes(OURS, unmarked, strlen(unmarked), &err), KC_EINVAL);
	/* Foreign targets fail one by one; ours is written all the same. */
	assert_int_equal(bridge_dir_write_batch(f->bd, w, 4, &err), KC_EINVAL);
	assert_true(w[0].changed);
	assert_int_equal(w[0].err.code, KC_OK);
	for (size_t i = 1; i < 4; i++) {
		assert_false(w[i].changed);
		assert_int_equal(w[i].err.code, KC_EINVAL);
	}
	assert_planted_untouched(f);
	snprintf(p, sizeof(p), "%s/%s", f->dir, OURS);
	char *got = tu_read_file(p, NULL);
	assert_string_equal(got, manifest_v1);
	free(got);
	/* Unchanged bytes: nothing rewritten. */
	assert_int_equal(bridge_dir_write_batch(f->bd, w, 1, &err), KC_OK);
	assert_false(w[0].changed);
}

static void test_list_and_remove_only_ours(void **state)
{
	struct fixture *f = *state;
	struct bridge_list list;
	struct kc_error err;
	char p[PATH_MAX];
	bool removed;

	/* An oversized prefixed file is not ours either. */
	snprintf(p, sizeof(p), "%s/kubelet-checkpoint_kube-system_huge.yaml", f->dir);
	size_t big = RENDER_MAX_MANIFEST + 1;
	char *blob = malloc(big);
	memset(blob, '#', big);
	memcpy(blob, manifest_v1, strlen(manifest_v1));
	tu_write_file(p, blob, big, 0600);
	free(blob);

	assert_int_equal(
	    bridge_dir_write(f->bd, OURS, manifest_v1, strlen(manifest_v1), NULL, &err), KC_OK);
	assert_int_equal(bridge_dir_list(f->bd, &list, &err), KC_OK);
	assert_int_equal(list.count, 1);
	assert_string_equal(list.manifests[0].file, OURS);
	assert_string_equal(list.manifests[0].checkpoint_of, "kube-system/agent");
	assert_string_equal(list.manifests[0].source_uid, "0b8f4a52-3c1e-4d2a-9f1e-7a6b5c4d3e2f");
	assert_int_equal(list.nignored, 3);
	assert_string_equal(list.ignored[0].file, "kubelet-checkpoint_kube-system_huge.yaml");
	assert_non_null(strstr(list.ignored[0].reason, "larger"));
	assert_string_equal(list.ignored[1].file, NO_MARKER);
	assert_string_equal(list.ignored[2].file, PREFIX_LNK);
	bridge_list_free(&list);

	bool ours = true;
	struct kc_error why;
	assert_int_equal(bridge_dir_owns(f->bd, NO_MARKER, &ours, &why, &err), KC_OK);
	assert_false(ours);
	assert_non_null(strstr(why.msg, KC_ANNOTATION_CHECKPOINT_OF));
	assert_int_equal(bridge_dir_owns(f->bd, "nope.yaml", &ours, NULL, &err), KC_OK);
	assert_false(ours);

	assert_int_equal(bridge_dir_remove(f->bd, NO_MARKER, &removed, &err), KC_EINVAL);
	assert_false(removed);
	assert_int_equal(bridge_dir_remove(f->bd, PREFIX_LNK, &removed, &err), KC_EINVAL);
	assert_int_equal(bridge_dir_remove(f->bd, "etcd.yaml", &removed, &err), KC_EINVAL);
	assert_int_equal(bridge_dir_remove(f->bd, p + strlen(f->dir) + 1, &removed, &err),
	                 KC_EINVAL);
	assert_int_equal(access(p, F_OK), 0);
	assert_int_equal(bridge_dir_remove(f->bd, OURS, &removed, &err), KC_OK);
	assert_true(removed);
	assert_int_equal(bridge_dir_remove(f->bd, OURS, &removed, &err), KC_OK);
	assert_false(removed);
	assert_int_equal(unlink(p), 0);
}

static void test_clean_only_our_temps(void **state)
{
	struct fixture *f = *state;
	char p[PATH_MAX];
	size_t removed;
	struct kc_error err;

	snprintf(p, sizeof(p), "%s/%s", f->dir, OUR_TEMP);
	tu_write_file(p, "half", 4, 0600);
	/* Look-alikes that are not ours: kept. */
	plant(f, ".kubelet-checkpoint_x.yaml.tmp.keep", "x");
	plant(f, ".other.yaml.tmp", "x");
	snprintf(p, sizeof(p), "%s/.kubelet-checkpoint_link.tmp", f->dir);
	assert_int_equal(symlink(f->victim, p), 0);
	assert_int_equal(bridge_dir_clean_temps(f->bd, &removed, &err), KC_OK);
	assert_int_equal(removed, 1);
	snprintf(p, sizeof(p), "%s/%s", f->dir, OUR_TEMP);
	assert_int_not_equal(access(p, F_OK), 0);
	snprintf(p, sizeof(p), "%s/.kubelet-checkpoint_link.tmp", f->dir);
	struct stat st;
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(unlink(p), 0);
}

/* The activation path: the marker is checked on the manifest object. */
static void test_write_manifest_object(void **state)
{
	struct fixture *f = *state;
	json_t *marked = json_pack("{s:{s:{s:s}}}", "metadata", "annotations",
	                           KC_ANNOTATION_CHECKPOINT_OF, "kube-system/agent");
	json_t *bare = json_pack("{s:{s:s}}", "metadata", "name", "agent");
	struct kc_error err;
	struct stat st1, st2;
	char p[PATH_MAX];
	bool changed;

	snprintf(p, sizeof(p), "%s/%s", f->dir, OURS);
	assert_int_equal(bridge_dir_write_manifest(f->bd, OURS, bare, manifest_v1,
	                                           strlen(manifest_v1), &changed, &err),
	                 KC_EINVAL);
	assert_int_not_equal(access(p, F_OK), 0);
	assert_int_equal(bridge_dir_write_manifest(f->bd, OURS, marked, manifest_v1,
	                                           strlen(manifest_v1), &changed, &err),
	                 KC_OK);
	assert_true(changed);
	assert_int_equal(stat(p, &st1), 0);
	assert_int_equal(bridge_dir_write_manifest(f->bd, OURS, marked, manifest_v1,
	                                           strlen(manifest_v1), &changed, &err),
	                 KC_OK);
	assert_false(changed);
	assert_int_equal(stat(p, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);
	/* A file there that is not ours is never replaced, whatever the object says. */
	assert_int_equal(bridge_dir_write_manifest(f->bd, NO_MARKER, marked, manifest_v1,
	                                           strlen(manifest_v1), &changed, &err),
	                 KC_EINVAL);
	assert_int_equal(bridge_dir_write_manifest(f->bd, PREFIX_LNK, marked, manifest_v1,
	                                           strlen(manifest_v1), &changed, &err),
	                 KC_EINVAL);
	assert_int_equal(bridge_dir_write_manifest(f->bd, "etcd.yaml", marked, manifest_v1,
	                                           strlen(manifest_v1), &changed, &err),
	                 KC_EINVAL);
	json_decref(marked);
	json_decref(bare);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_missing_dir_is_not_created, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_write_only_when_different, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_never_overwrites_foreign, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_write_manifest_object, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_batch_write, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list_and_remove_only_ours, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_clean_only_our_temps, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
