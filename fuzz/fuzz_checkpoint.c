/*
 * fuzz_checkpoint.c: libFuzzer target for reading checkpoint files
 * (ckpt_parse: header, checksum, length, body). A file either verifies into a
 * checkpoint of the expected uid with a pod and an object index, or is
 * reported corrupt with a reason; nothing crashes and nothing is trusted
 * before it verifies. Half the runs first fix the header up for the body, so
 * the fuzzer gets past the checksum and exercises the body decoder too.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint_store.h"
#include "fuzz_check.h"
#include "kc_hash.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define UID "00000000-0000-4000-8000-000000000001"

static void check(const char *data, size_t len)
{
	struct kc_error err;
	struct ckpt c;

	if (ckpt_parse(data, len, UID, &c, &err) != KC_OK) {
		FUZZ_ASSERT(err.code == KC_ECORRUPT || err.code == KC_ENOMEM, "unexpected code");
		FUZZ_ASSERT(err.msg[0] != '\0', "an error without a message");
		FUZZ_ASSERT(c.pod == NULL && c.objects == NULL, "a failed parse kept objects");
		return;
	}
	FUZZ_ASSERT(strcmp(c.uid, UID) == 0, "verified a checkpoint of another uid");
	FUZZ_ASSERT(json_is_object(c.pod), "verified a checkpoint without a pod");
	FUZZ_ASSERT(c.index != NULL, "no object index");
	ckpt_free(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char header[128];
	char *fixed;
	int n;

	check((const char *)data, size);
	/* The same bytes as a body under a header that matches them. */
	n = snprintf(header, sizeof(header), "%s fnv1a64=%016llx length=%zu\n", CKPT_HEADER_TAG,
	             (unsigned long long)kc_fnv1a64(data, size), size);
	if ((fixed = malloc((size_t)n + size)) == NULL)
		return 0;
	memcpy(fixed, header, (size_t)n);
	memcpy(fixed + n, data, size);
	check(fixed, (size_t)n + size);
	free(fixed);
	return 0;
}
