/*
 * testutil.h: helpers shared by the cmocka unit tests: temp directories,
 * fixture paths, reading whole files.
 */
#ifndef KC_TESTUTIL_H
#define KC_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

/* mkdtemp under $TMPDIR (or /tmp); returns a malloc'd path. */
char *tu_mkdtemp(void);
/* rm -rf path (test-only; path must be under a tu_mkdtemp dir). */
void tu_rmrf(const char *path);
/* Whole file as a malloc'd NUL-terminated string; NULL when unreadable. */
char *tu_read_file(const char *path, size_t *len);
/* Write a file (not atomically: tests build fixtures with it). */
void tu_write_file(const char *path, const char *data, size_t len, int mode);
/* Path of a fixture in tests/fixtures/pods, in a static buffer. */
const char *tu_fixture(const char *name);

#endif
