/*
 * object_input.c: API objects read from files or stdin for `render` (see
 * object_input.h). A document is a pod by its kind, or, without kind, by
 * looking like one (insights-style dumps); a List may hold pods and objects
 * but no further List.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "doc.h"
#include "doc_stream.h"
#include "object_input.h"

kc_code object_input_init(struct object_input *in, struct kc_error *err)
{
	memset(in, 0, sizeof(*in));
	in->objs = kc_objects_new();
	in->docs = json_array();
	if (in->objs == NULL || in->docs == NULL) {
		object_input_free(in);
		return kc_fail(err, KC_ENOMEM, "out of memory");
	}
	return KC_OK;
}

void object_input_free(struct object_input *in)
{
	size_t i;

	kc_objects_free(in->objs);
	free(in->pods);
	for (i = 0; i < in->ntexts; i++)
		kc_buf_free(&in->texts[i]);
	free(in->texts);
	json_decref(in->docs);
	memset(in, 0, sizeof(*in));
}

static kc_code add_pod(struct object_input *in, json_t *pod, const char *src, size_t len,
                       const char *where, struct kc_error *err)
{
	struct object_input_pod *grown = in->pods;

	/* Doubling: a cluster-wide List holds thousands of pods. */
	if ((in->npods & (in->npods - 1)) == 0 &&
	    (grown = realloc(in->pods, (in->npods ? in->npods * 2 : 1) * sizeof(*grown))) == NULL)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	in->pods = grown;
	grown[in->npods] = (struct object_input_pod){.pod = pod, .src = src, .len = len};
	snprintf(grown[in->npods].where, sizeof(grown[in->npods].where), "%s", where);
	in->npods++;
	return KC_OK;
}

/* A document without kind is a pod when it looks like one (insights-style dumps). */
static bool looks_like_pod(const json_t *obj)
{
	return json_is_object(json_object_get(obj, "metadata")) &&
	       json_is_array(json_object_get(json_object_get(obj, "spec"), "containers"));
}

static kc_code add_object(struct object_input *in, json_t *obj, const char *where, bool in_list,
                          struct kc_error *err);

static kc_code add_list_items(struct object_input *in, json_t *list, const char *where,
                              struct kc_error *err)
{
	json_t *items = json_object_get(list, "items"), *item;
	char item_where[320];
	size_t i;
	kc_code rc;

	if (!json_is_array(items))
		return kc_fail(err, KC_EINVAL, "%s: items: missing or not a list", where);
	json_array_foreach(items, i, item)
	{
		snprintf(item_where, sizeof(item_where), "%s: items[%zu]", where, i);
		if ((rc = add_object(in, item, item_where, true, err)) != KC_OK)
			return rc;
	}
	return KC_OK;
}

static kc_code add_object(struct object_input *in, json_t *obj, const char *where, bool in_list,
                          struct kc_error *err)
{
	const json_t *kind_json = json_object_get(obj, "kind");
	const char *kind = json_string_value(kind_json);

	if (!json_is_object(obj))
		return kc_fail(err, KC_EINVAL, "%s: not a mapping", where);
	if (kind_json != NULL && !json_is_null(kind_json) && kind == NULL)
		return kc_fail(err, KC_EINVAL, "%s: kind: must be a string", where);
	if ((kind == NULL && looks_like_pod(obj)) || (kind != NULL && strcmp(kind, "Pod") == 0))
		return add_pod(in, obj, NULL, 0, where, err);
	if (kind != NULL && (strcmp(kind, "Secret") == 0 || strcmp(kind, "ConfigMap") == 0)) {
		json_incref(obj);
		if (kc_objects_add(in->objs, obj, err) != KC_OK)
			return kc_error_prefix(err, "%s", where);
		return KC_OK;
	}
	if (!in_list && (kind == NULL || strcmp(kind, "PodList") == 0 || strcmp(kind, "List") == 0))
		if (kind != NULL || json_is_array(json_object_get(obj, "items")))
			return add_list_items(in, obj, where, err);
	return kc_fail(err, KC_EINVAL,
	               "%s: kind: %.64s is not Pod, PodList, List, Secret or ConfigMap", where,
	               kind != NULL ? kind : "(none)");
}

/* One item of a streamed List: index a Secret/ConfigMap now, keep a pod's bytes. */
static kc_code add_stream_item(struct object_input *in, const char *item, size_t len,
                               const char *where, struct kc_error *err)
{
	char kind[32];
	json_t *docs = NULL;
	kc_code rc;

	doc_json_top_string(item, len, "kind", kind, sizeof(kind));
	if (strcmp(kind, "Secret") != 0 && strcmp(kind, "ConfigMap") != 0)
		return add_pod(in, NULL, item, len, where, err); /* checked when parsed */
	if ((rc = doc_parse_json(item, len, where, &docs, err)) != KC_OK)
		return rc;
	rc = add_object(in, json_array_get(docs, 0), where, true, err);
	json_decref(docs);
	return rc;
}

/* text is one JSON List: index its objects, note its pods; the text is kept. */
static kc_code read_stream(struct object_input *in, struct kc_buf *text, struct doc_json_list *l,
                           const char *source, struct kc_error *err)
{
	struct kc_buf *grown;
	char where[320];
	const char *item;
	size_t len;
	bool done;
	kc_code rc;

	if ((grown = realloc(in->texts, (in->ntexts + 1) * sizeof(*grown))) == NULL)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	in->texts = grown;
	grown[in->ntexts++] = *text; /* ownership moves; l points into it */
	kc_buf_init(text, 0);
	for (;;) {
		snprintf(where, sizeof(where), "%s: document 1: items[%zu]", source, l->index);
		if ((rc = doc_json_list_next(l, &item, &len, &done, err)) != KC_OK)
			return kc_error_prefix(err, "%s: document 1", source);
		if (done)
			return KC_OK;
		if ((rc = add_stream_item(in, item, len, where, err)) != KC_OK)
			return rc;
	}
}

/* A JSON List (or PodList) to read item by item? */
static bool streamable(const struct kc_buf *text, struct doc_json_list *l)
{
	struct kc_error ignored;

	if (doc_json_list_open(text->data, text->len, l, &ignored) != KC_OK)
		return false;
	return l->kind[0] == '\0' || strcmp(l->kind, "List") == 0 ||
	       strcmp(l->kind, "PodList") == 0;
}

kc_code object_input_read(struct object_input *in, const char *file, struct kc_error *err)
{
	const char *source = strcmp(file, "-") == 0 ? "<stdin>" : file;
	struct doc_json_list list;
	char where[320];
	struct kc_buf buf;
	json_t *docs = NULL, *doc;
	size_t i;
	kc_code rc;

	kc_buf_init(&buf, DOC_MAX_INPUT);
	rc = strcmp(file, "-") == 0 ? kc_buf_read_fd(&buf, STDIN_FILENO, source, err)
	                            : kc_buf_read_file(&buf, file, err);
	if (rc == KC_OK && buf.len == 0)
		rc = kc_fail(err, KC_EINVAL, "%s: empty input", source);
	if (rc == KC_OK && streamable(&buf, &list)) {
		rc = read_stream(in, &buf, &list, source, err);
		kc_buf_free(&buf);
		return rc;
	}
	if (rc == KC_OK)
		rc = doc_parse(buf.data, buf.len, source, &docs, err);
	kc_buf_free(&buf);
	if (rc != KC_OK)
		return rc;
	if (json_array_append_new(in->docs, docs) != 0)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	json_array_foreach(docs, i, doc)
	{
		snprintf(where, sizeof(where), "%s: document %zu", source, i + 1);
		if ((rc = add_object(in, doc, where, false, err)) != KC_OK)
			return rc;
	}
	return KC_OK;
}

kc_code object_input_pod_tree(const struct object_input_pod *ip, json_t **pod, json_t **owned,
                              struct kc_error *err)
{
	json_t *docs = NULL, *obj, *kind_json;
	const char *kind;
	kc_code rc;

	*owned = NULL;
	*pod = ip->pod;
	if (ip->pod != NULL)
		return KC_OK;
	if ((rc = doc_parse_json(ip->src, ip->len, ip->where, &docs, err)) != KC_OK)
		return rc;
	obj = json_array_get(docs, 0);
	kind_json = json_object_get(obj, "kind");
	kind = json_string_value(kind_json);
	if (!json_is_object(obj) || (kind_json != NULL && !json_is_null(kind_json) && !kind) ||
	    !(kind != NULL ? strcmp(kind, "Pod") == 0 : looks_like_pod(obj))) {
		/* The message first: kind points into docs. */
		kc_fail(err, KC_EINVAL,
		        "%s: kind: %.64s is not Pod, PodList, List, Secret or ConfigMap", ip->where,
		        kind != NULL ? kind : "(none)");
		json_decref(docs);
		return KC_EINVAL;
	}
	*pod = obj;
	*owned = docs;
	return KC_OK;
}
