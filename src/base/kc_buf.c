/*
 * kc_buf.c: capped growable buffers and whole-file reads (see kc_buf.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kc_buf.h"

void kc_buf_init(struct kc_buf *b, size_t limit)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->limit = limit;
}

void kc_buf_free(struct kc_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void kc_buf_reset(struct kc_buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

/* Room for extra more bytes and the NUL, whatever the limit. */
static kc_code grow(struct kc_buf *b, size_t extra, struct kc_error *err)
{
	size_t need, ncap;
	char *p;

	if (extra > (size_t)-1 / 2 - b->len)
		return kc_fail(err, KC_ETOOBIG, "buffer size overflow");
	need = b->len + extra + 1;
	if (need <= b->cap)
		return KC_OK;
	ncap = b->cap ? b->cap : 256;
	while (ncap < need)
		ncap *= 2;
	if ((p = realloc(b->data, ncap)) == NULL)
		return kc_fail(err, KC_ENOMEM, "out of memory growing a buffer to %zu bytes", ncap);
	b->data = p;
	b->cap = ncap;
	return KC_OK;
}

static kc_code too_big(const struct kc_buf *b, struct kc_error *err)
{
	return kc_fail(err, KC_ETOOBIG, "more than %zu bytes", b->limit);
}

static kc_code reserve(struct kc_buf *b, size_t extra, struct kc_error *err)
{
	if (b->limit != 0 && extra <= (size_t)-1 / 2 - b->len && b->len + extra > b->limit)
		return too_big(b, err);
	return grow(b, extra, err);
}

kc_code kc_buf_append(struct kc_buf *b, const void *p, size_t n, struct kc_error *err)
{
	kc_code rc;

	if ((rc = reserve(b, n, err)) != KC_OK)
		return rc;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return KC_OK;
}

kc_code kc_buf_puts(struct kc_buf *b, const char *s, struct kc_error *err)
{
	return kc_buf_append(b, s, strlen(s), err);
}

kc_code kc_buf_printf(struct kc_buf *b, struct kc_error *err, const char *fmt, ...)
{
	va_list ap;
	int n;
	kc_code rc;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return kc_fail(err, KC_EINTERNAL, "bad format string");
	if ((rc = reserve(b, (size_t)n, err)) != KC_OK)
		return rc;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return KC_OK;
}

/*
 * Read straight into the buffer (a 27 MB List was read through a chunk and
 * copied). A regular file's size is known, so its bytes land in one
 * allocation; one byte more than the limit is asked for, to notice a file
 * over it.
 */
kc_code kc_buf_read_fd(struct kc_buf *b, int fd, const char *name, struct kc_error *err)
{
	size_t room = 65536;
	struct stat st;
	ssize_t n;
	kc_code rc;

	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
		room = (size_t)st.st_size + 1; /* + 1: the read that sees the end */
	for (;;) {
		if (b->limit != 0 && b->len <= b->limit && room > b->limit - b->len + 1)
			room = b->limit - b->len + 1;
		if ((rc = grow(b, room, err)) != KC_OK)
			return kc_error_prefix(err, "%s", name);
		n = read(fd, b->data + b->len, b->cap - b->len - 1);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return kc_fail_errno(err, KC_EIO, errno, "%s: read", name);
		}
		if (b->limit != 0 && b->len + (size_t)n > b->limit) {
			b->data[b->len] = '\0';
			too_big(b, err);
			return kc_error_prefix(err, "%s", name);
		}
		b->len += (size_t)n;
		b->data[b->len] = '\0';
		room = 65536;
	}
	/* Give empty input a valid empty string too. */
	return kc_buf_append(b, "", 0, err);
}

kc_code kc_buf_read_file(struct kc_buf *b, const char *path, struct kc_error *err)
{
	int fd;
	kc_code rc;

	if (strcmp(path, "-") == 0)
		return kc_buf_read_fd(b, STDIN_FILENO, "<stdin>", err);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return kc_fail_errno(err, errno == ENOENT ? KC_ENOTFOUND : KC_EIO, errno, "%s",
		                     path);
	rc = kc_buf_read_fd(b, fd, path, err);
	close(fd);
	return rc;
}
