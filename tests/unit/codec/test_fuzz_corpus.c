/*
 * test_fuzz_corpus.c: replays every seed of fuzz/corpus/ through the three
 * fuzz targets' own entry points, in the ordinary (gcc, non-libFuzzer) build.
 * So the invariants the fuzzers check (round trips, byte stability, errors
 * naming their source, render determinism) and every crash input kept as a
 * seed are re-checked by every plain `ctest` run. A broken invariant aborts,
 * as it does under libFuzzer.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* The targets, each under its own name. */
#define LLVMFuzzerTestOneInput fuzz_yaml_one
#include "../../fuzz/fuzz_yaml.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_json_one
#include "../../fuzz/fuzz_json.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_render_one
#include "../../fuzz/fuzz_render.c"
#undef LLVMFuzzerTestOneInput
#include "../../fuzz/fuzz_check.c"

static void replay(const char *target, int (*one)(const uint8_t *, size_t))
{
	char dir[4096], path[8192];
	struct dirent *de;
	int files = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/fuzz/corpus/%s", KC_SOURCE_DIR, target);
	assert_non_null(d = opendir(dir));
	while ((de = readdir(d)) != NULL) {
		size_t len;
		char *data;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		assert_non_null(data = tu_read_file(path, &len));
		assert_int_equal(one((const uint8_t *)data, len), 0);
		free(data);
		files++;
	}
	closedir(d);
	assert_true(files > 10);
}

static void test_yaml_corpus(void **state)
{
	replay("fuzz_yaml", fuzz_yaml_one);
}

static void test_json_corpus(void **state)
{
	replay("fuzz_json", fuzz_json_one);
}

static void test_render_corpus(void **state)
{
	replay("fuzz_render", fuzz_render_one);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_yaml_corpus),
	    cmocka_unit_test(test_json_corpus),
	    cmocka_unit_test(test_render_corpus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
