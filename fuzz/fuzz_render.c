/*
 * fuzz_render.c: libFuzzer target for render. Every document of the input
 * (JSON or YAML) goes through render_check_eligible and render_pod for a fixed
 * node, eligible or not, so the converter must stand any shape of pod. Secrets
 * and ConfigMaps of the same input go into the objects index (it starts
 * empty), which lets the fuzzer reach the materialisation paths. A manifest
 * that renders must be canonical bytes under the kubelet's limit, read back
 * as exactly the manifest, and render again to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "doc.h"
#include "fuzz_check.h"
#include "objects.h"
#include "render.h"

#define FUZZ_NODE "fuzz-node"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct render_opts opts = {
    .node_name = FUZZ_NODE,
    .state_dir = "/var/lib/kubelet-checkpoint",
};

static void index_objects(json_t *docs, struct kc_objects *objs)
{
	struct kc_error err;
	json_t *doc;
	size_t i;

	json_array_foreach(docs, i, doc)
	{
		const char *kind = json_string_value(json_object_get(doc, "kind"));

		if (kind != NULL && (strcmp(kind, "Secret") == 0 || strcmp(kind, "ConfigMap") == 0))
			(void)kc_objects_add(objs, json_incref(doc), &err);
	}
}

/* The manifest's bytes, checked; NULL when render refused them. */
static char *manifest_bytes(const json_t *manifest, size_t *len)
{
	struct kc_error err;
	struct kc_buf out;

	kc_buf_init(&out, 0);
	if (render_manifest_bytes(manifest, &out, &err) != KC_OK) {
		fuzz_check_error(&err, NULL);
		kc_buf_free(&out);
		return NULL;
	}
	FUZZ_ASSERT(out.len <= RENDER_MAX_MANIFEST, "manifest over the kubelet's limit");
	*len = out.len;
	return out.data;
}

static void render_one(const json_t *pod, const struct kc_objects *objs)
{
	json_t *manifest = NULL, *again = NULL, *back = NULL;
	char *bytes, *bytes2;
	struct kc_error err;
	size_t len, len2;

	(void)render_check_eligible(pod, &opts, &err);
	if (render_pod(pod, objs, &opts, &manifest, &err) != KC_OK) {
		fuzz_check_error(&err, NULL);
		return;
	}
	if ((bytes = manifest_bytes(manifest, &len)) != NULL) {
		if (doc_parse_yaml(bytes, len, "manifest", &back, &err) != KC_OK)
			fuzz_fail("rendered manifest does not read back", err.msg, bytes, len);
		if (json_array_size(back) != 1 || !json_equal(json_array_get(back, 0), manifest))
			fuzz_fail("rendered manifest reads back different", "", bytes, len);
		json_decref(back);
		/* Deterministic: the same pod renders to the same bytes. */
		FUZZ_ASSERT(render_pod(pod, objs, &opts, &again, &err) == KC_OK,
		            "second render of the same pod failed");
		bytes2 = manifest_bytes(again, &len2);
		FUZZ_ASSERT(bytes2 != NULL && len2 == len && memcmp(bytes, bytes2, len) == 0,
		            "same pod, different bytes");
		free(bytes2);
		json_decref(again);
		free(bytes);
	}
	json_decref(manifest);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kc_objects *objs;
	json_t *docs = NULL, *doc;
	struct kc_error err;
	size_t i;

	if (doc_parse((const char *)data, size, "fuzz", &docs, &err) != KC_OK)
		return 0;
	objs = kc_objects_new();
	FUZZ_ASSERT(objs != NULL, "kc_objects_new failed");
	index_objects(docs, objs);
	json_array_foreach(docs, i, doc)
	{
		render_one(doc, objs);
	}
	kc_objects_free(objs);
	json_decref(docs);
	return 0;
}
