/*
 * doc_recycle.c: Jansson's allocations recycled through free lists, for a
 * process that builds and frees one document tree after another (render over
 * a cluster-wide List: ~2,000 trees of ~1,500 small nodes each). glibc keeps
 * only 7 freed chunks of a size in its per-thread cache; the rest go to its
 * bins, and malloc_consolidate merges them again at each larger request (a
 * few per pod). Here the chunks of one tree serve the next: `render` over a
 * 2,007-pod List took 0.29 s of CPU without, 0.26 s with.
 *
 * The lists hold ordinary malloc chunks, classed by malloc_usable_size, so
 * memory Jansson hands out (json_dumps) is still freed with free() and memory
 * from malloc() may reach Jansson's free. At most DOC_RECYCLE_MAX_BYTES are
 * kept. The state is process-wide because Jansson's allocator hooks take no
 * context: only the render command turns it on, never the agent (it would keep
 * freed memory), and not under AddressSanitizer, gcc's or clang's (reuse
 * would hide a use-after-free from it).
 */
#include <malloc.h>
#include <stdlib.h>

#include "doc.h"

#define CLASSES               64 /* chunks of 32 .. 1008 bytes, in steps of 16 */
#define FIRST_CLASS           2  /* the smallest chunk glibc hands out: 32 bytes */
#define DOC_RECYCLE_MAX_BYTES (4u * 1024 * 1024)

static struct {
	void *head[CLASSES];
	size_t bytes;
} lists;

/* glibc's chunk size for a request of n bytes, in 16-byte steps. */
static size_t class_of_request(size_t n)
{
	size_t c = (n + 8 + 15) / 16;

	return c < FIRST_CLASS ? FIRST_CLASS : c;
}

static void *recycled_malloc(size_t n)
{
	size_t c = class_of_request(n);
	void *p;

	if (c < CLASSES && (p = lists.head[c]) != NULL) {
		lists.head[c] = *(void **)p;
		lists.bytes -= c * 16;
		return p;
	}
	return malloc(n);
}

static void recycled_free(void *p)
{
	size_t usable, c;

	if (p == NULL)
		return;
	/*
	 * A chunk may be larger than asked for: it serves requests of its own
	 * size. glibc's chunks hold at least 24 bytes, but an allocator that
	 * reports the size asked for (AddressSanitizer's) may give 7: such a
	 * chunk cannot hold the list's link, and no request of a class the lists
	 * serve would fit it anyway.
	 */
	usable = malloc_usable_size(p);
	c = (usable + 8) / 16;
	if (usable >= sizeof(void *) && c >= FIRST_CLASS && c < CLASSES &&
	    lists.bytes + c * 16 <= DOC_RECYCLE_MAX_BYTES) {
		*(void **)p = lists.head[c];
		lists.head[c] = p;
		lists.bytes += c * 16;
		return;
	}
	free(p);
}

void doc_recycle_allocations(void)
{
#ifdef DOC_RECYCLE_OFF
	/* Referenced, so that the sanitizer build compiles them (and -Werror holds). */
	(void)recycled_malloc;
	(void)recycled_free;
#else
	json_set_alloc_funcs(recycled_malloc, recycled_free);
#endif
}

size_t doc_recycle_kept_bytes(void)
{
	return lists.bytes;
}
