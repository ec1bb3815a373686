/*
 * kc_buf.h: a growable byte buffer with a hard size cap, and whole-file reads
 * into it. The cap turns "a multi-MB body" or "a 10 GB file" into an error
 * instead of an allocation.
 */
#ifndef KC_BUF_H
#define KC_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "kc_error.h"

struct kc_buf {
	char *data; /* always NUL-terminated when non-NULL */
	size_t len;
	size_t cap;
	size_t limit; /* maximum len; 0 means no limit */
};

void kc_buf_init(struct kc_buf *b, size_t limit);
void kc_buf_free(struct kc_buf *b);
void kc_buf_reset(struct kc_buf *b);
kc_code kc_buf_append(struct kc_buf *b, const void *p, size_t n, struct kc_error *err);
kc_code kc_buf_puts(struct kc_buf *b, const char *s, struct kc_error *err);
kc_code kc_buf_printf(struct kc_buf *b, struct kc_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Read all of fd / path (or stdin for "-") into b; over b->limit is KC_ETOOBIG. */
kc_code kc_buf_read_fd(struct kc_buf *b, int fd, const char *name, struct kc_error *err);
kc_code kc_buf_read_file(struct kc_buf *b, const char *path, struct kc_error *err);

#endif
