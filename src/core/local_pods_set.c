/*
 * local_pods_set.c: the sorted set of what this node shows of each pod UID
 * (see local_pods_set.h). In core because the decision reads it and the
 * decision may not call down into the node layer that fills it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "local_pods_set.h"

struct local_pod local_pod_blank(const char *uid)
{
	struct local_pod p;

	memset(&p, 0, sizeof(p));
	snprintf(p.uid, sizeof(p.uid), "%s", uid);
	p.newest_created_ms = -1;
	p.running_since_ms = -1;
	return p;
}

kc_code local_pods_add(struct local_pods *lp, const struct local_pod *p, struct kc_error *err)
{
	size_t len = strnlen(p->uid, sizeof(p->uid));

	if (len == 0 || len > LOCAL_POD_UID_MAX)
		return kc_fail(err, KC_EINVAL, "local pods: bad pod uid");
	if (lp->count == lp->cap) {
		size_t ncap = lp->cap ? lp->cap * 2 : 64;
		void *q = realloc(lp->pods, ncap * sizeof(*lp->pods));

		if (q == NULL)
			return kc_fail(err, KC_ENOMEM, "local pods: out of memory");
		lp->pods = q;
		lp->cap = ncap;
	}
	lp->pods[lp->count++] = *p;
	return KC_OK;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct local_pod *)a)->uid, ((const struct local_pod *)b)->uid);
}

static int64_t max_known(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

/* The earlier of two instants where -1 means "none". */
static int64_t min_known(int64_t a, int64_t b)
{
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

static void merge_into(struct local_pod *into, const struct local_pod *p)
{
	into->running = into->running || p->running;
	into->newest_created_ms = max_known(into->newest_created_ms, p->newest_created_ms);
	into->running_since_ms = min_known(into->running_since_ms, p->running_since_ms);
}

void local_pods_finish(struct local_pods *lp)
{
	size_t i, n = 0;

	if (lp->count < 2)
		return; /* also: qsort(NULL, 0) is undefined */
	qsort(lp->pods, lp->count, sizeof(*lp->pods), cmp_entry);
	for (i = 0; i < lp->count; i++) {
		if (n > 0 && strcmp(lp->pods[n - 1].uid, lp->pods[i].uid) == 0)
			merge_into(&lp->pods[n - 1], &lp->pods[i]);
		else
			lp->pods[n++] = lp->pods[i];
	}
	lp->count = n;
}

void local_pods_reset(struct local_pods *lp)
{
	lp->count = 0;
	lp->state = LOCAL_PODS_UNKNOWN;
	lp->containers_known = false;
}

const struct local_pod *local_pods_find(const struct local_pods *lp, const char *uid)
{
	struct local_pod key;

	if (lp == NULL || lp->state != LOCAL_PODS_KNOWN || lp->count == 0 || uid == NULL ||
	    strlen(uid) > LOCAL_POD_UID_MAX)
		return NULL;
	snprintf(key.uid, sizeof(key.uid), "%s", uid);
	return bsearch(&key, lp->pods, lp->count, sizeof(*lp->pods), cmp_entry);
}

bool local_pods_contains(const struct local_pods *lp, const char *uid)
{
	const struct local_pod *p = local_pods_find(lp, uid);

	return p != NULL && p->running;
}

size_t local_pods_running(const struct local_pods *lp)
{
	size_t i, n = 0;

	for (i = 0; i < lp->count; i++)
		n += lp->pods[i].running;
	return n;
}

void local_pods_free(struct local_pods *lp)
{
	free(lp->pods);
	lp->pods = NULL;
	lp->count = lp->cap = 0;
	lp->state = LOCAL_PODS_UNKNOWN;
	lp->containers_known = false;
}
