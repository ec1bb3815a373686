/*
 * image_ref.c: image references as the kubelet reads them for registry
 * credentials (image_ref.h).
 */
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include "image_ref.h"

#define DEFAULT_DOMAIN "docker.io"

/*
 * distribution/reference splitDockerDomain: the first path component is a
 * registry only when it has a '.' or ':', is "localhost", or has an upper-case
 * letter (repository names are lower case); otherwise the image is docker.io's,
 * and a one-component name there lives under library/.
 */
static bool first_is_domain(const char *name, size_t len)
{
	size_t i;

	if (len == strlen("localhost") && strncmp(name, "localhost", len) == 0)
		return true;
	for (i = 0; i < len; i++)
		if (name[i] == '.' || name[i] == ':' || (name[i] >= 'A' && name[i] <= 'Z'))
			return true;
	return false;
}

/* Length of name without its "@digest" and ":tag" (a ':' after the last '/'). */
static size_t without_tag_digest(const char *name)
{
	const char *at = strchr(name, '@'), *slash, *colon;
	size_t len = at != NULL ? (size_t)(at - name) : strlen(name);

	slash = memrchr(name, '/', len);
	colon =
	    memrchr(slash != NULL ? slash : name, ':', len - (size_t)(slash ? slash - name : 0));
	return colon != NULL ? (size_t)(colon - name) : len;
}

kc_code image_ref_repository(const char *image, char *out, size_t size, struct kc_error *err)
{
	const char *slash, *domain = DEFAULT_DOMAIN, *rest = image;
	size_t len, dlen = strlen(DEFAULT_DOMAIN), rlen;
	int n;

	if (image == NULL || image[0] == '\0' || strlen(image) > IMAGE_REF_MAX)
		return kc_fail(err, KC_EINVAL, "image: empty or longer than %d bytes",
		               IMAGE_REF_MAX);
	if (strpbrk(image, " \t\r\n") != NULL)
		return kc_fail(err, KC_EINVAL, "image \"%.200s\": contains white space", image);
	len = without_tag_digest(image);
	slash = memchr(image, '/', len);
	if (len == 0 || (slash != NULL && (slash == image || image[len - 1] == '/')))
		return kc_fail(err, KC_EINVAL, "image \"%.200s\": not a repository", image);
	rlen = len;
	if (slash != NULL && first_is_domain(image, (size_t)(slash - image))) {
		domain = image;
		dlen = (size_t)(slash - image);
		rest = slash + 1;
		rlen = len - dlen - 1;
		/* index.docker.io is docker.io's legacy name. */
		if (dlen == strlen("index.docker.io") &&
		    strncmp(image, "index.docker.io", dlen) == 0) {
			domain = DEFAULT_DOMAIN;
			dlen = strlen(DEFAULT_DOMAIN);
		}
	}
	n = snprintf(out, size, "%.*s/%s%.*s", (int)dlen, domain,
	             dlen == strlen(DEFAULT_DOMAIN) && strncmp(domain, DEFAULT_DOMAIN, dlen) == 0 &&
	                     memchr(rest, '/', rlen) == NULL
	                 ? "library/"
	                 : "",
	             (int)rlen, rest);
	if (n < 0 || (size_t)n >= size)
		return kc_fail(err, KC_EINVAL, "image \"%.200s\": too long", image);
	return KC_OK;
}

/* A schemeless URL as url.Parse sees "https://" + s: host (with port), then the path. */
struct url_parts {
	const char *host, *port, *path;
	size_t host_len, port_len;
};

static void split_url(const char *s, struct url_parts *u)
{
	const char *end = s + strcspn(s, "/?#"), *colon;

	u->path = *end == '/' ? end : "";
	colon = memrchr(s, ':', (size_t)(end - s));
	/* net.SplitHostPort: no ':' means no port, the whole host is the name. */
	u->host = s;
	u->host_len = colon != NULL ? (size_t)(colon - s) : (size_t)(end - s);
	u->port = colon != NULL ? colon + 1 : "";
	u->port_len = colon != NULL ? (size_t)(end - colon - 1) : 0;
}

static size_t count_labels(const char *host, size_t len)
{
	size_t i, n = 1;

	for (i = 0; i < len; i++)
		n += host[i] == '.';
	return n;
}

/* The next '.'-separated label of [*p, end) into buf; false when it does not fit. */
static bool next_label(const char **p, const char *end, char *buf, size_t size)
{
	const char *dot = memchr(*p, '.', (size_t)(end - *p));
	size_t len = (size_t)((dot != NULL ? dot : end) - *p);

	if (len >= size)
		return false;
	memcpy(buf, *p, len);
	buf[len] = '\0';
	*p = dot != NULL ? dot + 1 : end;
	return true;
}

bool image_ref_glob_matches(const char *glob, const char *repository)
{
	struct url_parts g, t;
	const char *gp, *tp;
	char gl[256], tl[256];
	size_t i, labels;

	if (glob == NULL || repository == NULL)
		return false;
	split_url(glob, &g);
	split_url(repository, &t);
	if (g.port_len != t.port_len || strncmp(g.port, t.port, g.port_len) != 0)
		return false;
	labels = count_labels(g.host, g.host_len);
	if (labels != count_labels(t.host, t.host_len))
		return false;
	if (strncmp(t.path, g.path, strlen(g.path)) != 0)
		return false;
	gp = g.host;
	tp = t.host;
	for (i = 0; i < labels; i++) {
		/* filepath.Match: '*' never crosses '/', and labels hold none. */
		if (!next_label(&gp, g.host + g.host_len, gl, sizeof(gl)) ||
		    !next_label(&tp, t.host + t.host_len, tl, sizeof(tl)) ||
		    fnmatch(gl, tl, 0) != 0)
			return false;
	}
	return true;
}
