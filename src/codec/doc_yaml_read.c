/*
 * doc_yaml_read.c: YAML streams -> json_t through libyaml's event API.
 *
 * An explicit stack of open collections replaces recursion, so nesting is
 * bounded by DOC_MAX_DEPTH and not by the C stack. Every node created counts
 * against DOC_MAX_NODES, and an alias is charged the full size of what it
 * expands to *before* it is copied: an alias bomb fails in microseconds.
 * Plain scalars are typed by doc_scalar_resolve (go-yaml v2 rules); keys are
 * strings, with int and bool keys spelt as Kubernetes spells them.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "doc.h"
#include "doc_limits.h"
#include "doc_scalar.h"

#define TAG_PREFIX "tag:yaml.org,2002:"

struct anchor {
	char *name;
	json_t *value; /* NULL while the anchored collection is still open */
	size_t nodes;  /* what one alias of it costs */
	int height;    /* levels it adds below the alias */
};

struct frame {
	json_t *node;          /* the object or array being filled */
	size_t nodes_at_start; /* reader nodes count before this collection */
	int height;            /* tallest child so far */
	long anchor;           /* index in anchors, or -1 */
	/* Mappings only. */
	char *key;          /* pending key, waiting for its value */
	bool merge_pending; /* the pending key is "<<" */
	bool saw_merge;
	json_t *merged; /* keys a merge set, which an explicit key may override */
};

struct reader {
	yaml_parser_t parser;
	const char *data;
	size_t len;
	const char *source;
	size_t docno;
	bool in_document;
	struct frame stack[DOC_MAX_DEPTH];
	int depth;
	struct anchor *anchors;
	size_t nanchors, anchors_cap;
	json_t *anchor_index; /* name -> index of its newest definition */
	size_t nodes;
	json_t *root;
	json_t *docs;
	struct kc_error *err;
};

static kc_code __attribute__((format(printf, 4, 5)))
fail_at(struct reader *r, kc_code code, yaml_mark_t mark, const char *fmt, ...)
{
	char what[KC_ERROR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return kc_fail(r->err, code, "%s: document %zu: line %lu column %lu: %s", r->source,
	               r->in_document ? r->docno : r->docno + 1, (unsigned long)mark.line + 1,
	               (unsigned long)mark.column + 1, what);
}

static kc_code fail_parser(struct reader *r)
{
	yaml_parser_t *p = &r->parser;
	unsigned long line, col;
	yaml_mark_t mark;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return kc_fail(r->err, KC_ENOMEM, "%s: out of memory parsing YAML", r->source);
	case YAML_READER_ERROR:
		doc_position(r->data, r->len, p->problem_offset, &line, &col);
		mark.line = line - 1;
		mark.column = col - 1;
		if (p->problem_value != -1)
			return fail_at(r, KC_EINVAL, mark, "%s (0x%x)", p->problem,
			               p->problem_value);
		return fail_at(r, KC_EINVAL, mark, "%s", p->problem);
	default:
		if (p->context != NULL)
			return fail_at(r, KC_EINVAL, p->problem_mark,
			               "%s (%s at line %lu column %lu)",
			               p->problem ? p->problem : "syntax error", p->context,
			               (unsigned long)p->context_mark.line + 1,
			               (unsigned long)p->context_mark.column + 1);
		return fail_at(r, KC_EINVAL, p->problem_mark, "%s",
		               p->problem ? p->problem : "syntax error");
	}
}

static const char *short_tag(const char *tag)
{
	static const char prefix[] = TAG_PREFIX;

	if (strncmp(tag, prefix, sizeof(prefix) - 1) == 0)
		return tag + sizeof(prefix) - 1;
	return NULL;
}

static kc_code count_nodes(struct reader *r, size_t n, yaml_mark_t mark)
{
	if (n > DOC_MAX_NODES - r->nodes)
		return fail_at(r, KC_ETOOBIG, mark,
		               "more than %u nodes (an alias expanding too far?)", DOC_MAX_NODES);
	r->nodes += n;
	return KC_OK;
}

/* Kubernetes turns int and bool keys into their string form; nothing else. */
static kc_code key_string(struct reader *r, const json_t *v, yaml_mark_t mark, char **out)
{
	char num[32];
	const char *s;

	switch (json_typeof(v)) {
	case JSON_STRING:
		s = json_string_value(v);
		break;
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		s = num;
		break;
	case JSON_TRUE:
		s = "true";
		break;
	case JSON_FALSE:
		s = "false";
		break;
	case JSON_REAL:
		return fail_at(r, KC_EINVAL, mark, "float mapping key %.17g: quote it",
		               json_real_value(v));
	case JSON_NULL:
		return fail_at(r, KC_EINVAL, mark, "null mapping key");
	default:
		return fail_at(r, KC_EINVAL, mark, "mapping key is a %s, not a scalar",
		               json_is_object(v) ? "mapping" : "sequence");
	}
	if ((*out = strdup(s)) == NULL)
		return fail_at(r, KC_ENOMEM, mark, "out of memory");
	return KC_OK;
}

/* A key arrives: refuse duplicates, except over what a merge brought in. */
static kc_code take_key(struct reader *r, struct frame *f, json_t *v, bool is_merge,
                        yaml_mark_t mark)
{
	kc_code rc;

	if (is_merge) {
		if (f->saw_merge)
			return fail_at(r, KC_EINVAL, mark, "duplicate merge key \"<<\"");
		f->saw_merge = f->merge_pending = true;
		return KC_OK;
	}
	if ((rc = key_string(r, v, mark, &f->key)) != KC_OK)
		return rc;
	if (json_object_get(f->node, f->key) != NULL &&
	    (f->merged == NULL || json_object_get(f->merged, f->key) == NULL)) {
		rc = fail_at(r, KC_EINVAL, mark, "duplicate key \"%s\"", f->key);
		free(f->key);
		f->key = NULL;
		return rc;
	}
	if (f->merged != NULL)
		json_object_del(f->merged, f->key);
	return KC_OK;
}

/* YAML merge: explicit keys win, then earlier merged mappings. */
static kc_code merge_one(struct reader *r, struct frame *f, json_t *src, yaml_mark_t mark)
{
	const char *k;
	json_t *val;

	if (!json_is_object(src))
		return fail_at(r, KC_EINVAL, mark,
		               "merge key \"<<\" needs a mapping or a sequence of mappings");
	if (f->merged == NULL && (f->merged = json_object()) == NULL)
		return fail_at(r, KC_ENOMEM, mark, "out of memory");
	json_object_foreach(src, k, val)
	{
		if (json_object_get(f->node, k) != NULL)
			continue;
		if (json_object_set(f->node, k, val) != 0 ||
		    json_object_set(f->merged, k, json_true()) != 0)
			return fail_at(r, KC_ENOMEM, mark, "out of memory");
	}
	return KC_OK;
}

static kc_code apply_merge(struct reader *r, struct frame *f, json_t *v, yaml_mark_t mark)
{
	json_t *item;
	size_t i;
	kc_code rc;

	if (!json_is_array(v))
		return merge_one(r, f, v, mark);
	json_array_foreach(v, i, item)
	{
		if ((rc = merge_one(r, f, item, mark)) != KC_OK)
			return rc;
	}
	return KC_OK;
}

/*
 * Place a finished node (taking the reference) as the document root, the
 * next array item, a mapping key or a mapping value.
 */
static kc_code add_value(struct reader *r, json_t *v, int height, bool is_merge, yaml_mark_t mark)
{
	struct frame *f;
	kc_code rc = KC_OK;

	if (r->depth == 0) {
		r->root = v;
		return KC_OK;
	}
	f = &r->stack[r->depth - 1];
	if (height > f->height)
		f->height = height;
	if (json_is_array(f->node)) {
		if (json_array_append_new(f->node, v) != 0)
			return fail_at(r, KC_ENOMEM, mark, "out of memory");
		return KC_OK;
	}
	if (f->key == NULL && !f->merge_pending) {
		rc = take_key(r, f, v, is_merge, mark);
		json_decref(v);
		return rc;
	}
	if (f->merge_pending) {
		f->merge_pending = false;
		rc = apply_merge(r, f, v, mark);
		json_decref(v);
		return rc;
	}
	if (json_object_set_new(f->node, f->key, v) != 0)
		rc = fail_at(r, KC_ENOMEM, mark, "out of memory");
	free(f->key);
	f->key = NULL;
	return rc;
}

static kc_code define_anchor(struct reader *r, const char *name, json_t *value, size_t nodes,
                             int height, yaml_mark_t mark, long *index)
{
	struct anchor *a;
	json_t *idx;

	if (r->nanchors == r->anchors_cap) {
		size_t ncap = r->anchors_cap ? r->anchors_cap * 2 : 16;

		if ((a = realloc(r->anchors, ncap * sizeof(*a))) == NULL)
			return fail_at(r, KC_ENOMEM, mark, "out of memory");
		r->anchors = a;
		r->anchors_cap = ncap;
	}
	a = &r->anchors[r->nanchors];
	if ((a->name = strdup(name)) == NULL)
		return fail_at(r, KC_ENOMEM, mark, "out of memory");
	a->value = value == NULL ? NULL : json_incref(value);
	a->nodes = nodes;
	a->height = height;
	if ((idx = json_integer((json_int_t)r->nanchors)) == NULL ||
	    json_object_set_new(r->anchor_index, name, idx) != 0) {
		free(a->name);
		json_decref(a->value);
		return fail_at(r, KC_ENOMEM, mark, "out of memory");
	}
	*index = (long)r->nanchors++;
	return KC_OK;
}

static void forget_anchors(struct reader *r)
{
	size_t i;

	for (i = 0; i < r->nanchors; i++) {
		free(r->anchors[i].name);
		json_decref(r->anchors[i].value);
	}
	r->nanchors = 0;
	json_object_clear(r->anchor_index);
}

/* Check an explicit tag against what the node is; NULL tag or "!" is always fine. */
static kc_code check_collection_tag(struct reader *r, const yaml_char_t *tag, const char *want,
                                    yaml_mark_t mark)
{
	const char *t = (const char *)tag, *s;

	if (t == NULL || strcmp(t, "!") == 0)
		return KC_OK;
	if ((s = short_tag(t)) != NULL && strcmp(s, want) == 0)
		return KC_OK;
	return fail_at(r, KC_EINVAL, mark, "unsupported tag %s on a %s", t,
	               strcmp(want, "map") == 0 ? "mapping" : "sequence");
}

static kc_code start_collection(struct reader *r, const yaml_event_t *ev, bool mapping)
{
	const yaml_char_t *anchor, *tag;
	struct frame *f;
	kc_code rc;

	anchor = mapping ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
	tag = mapping ? ev->data.mapping_start.tag : ev->data.sequence_start.tag;
	if ((rc = check_collection_tag(r, tag, mapping ? "map" : "seq", ev->start_mark)) != KC_OK)
		return rc;
	if (r->depth >= DOC_MAX_DEPTH)
		return fail_at(r, KC_EINVAL, ev->start_mark, "nested deeper than %d levels",
		               DOC_MAX_DEPTH);
	f = &r->stack[r->depth];
	memset(f, 0, sizeof(*f));
	f->anchor = -1;
	f->nodes_at_start = r->nodes;
	if ((rc = count_nodes(r, 1, ev->start_mark)) != KC_OK)
		return rc;
	if ((f->node = mapping ? json_object() : json_array()) == NULL)
		return fail_at(r, KC_ENOMEM, ev->start_mark, "out of memory");
	r->depth++;
	/* Defined now, filled at the end: an alias from inside is recursion. */
	if (anchor != NULL)
		return define_anchor(r, (const char *)anchor, NULL, 0, 0, ev->start_mark,
		                     &f->anchor);
	return KC_OK;
}

static void free_frame(struct frame *f)
{
	json_decref(f->node);
	json_decref(f->merged);
	free(f->key);
	memset(f, 0, sizeof(*f));
}

static kc_code end_collection(struct reader *r, const yaml_event_t *ev)
{
	struct frame *f = &r->stack[r->depth - 1];
	json_t *node = f->node;
	int height = f->height + 1;

	if (f->anchor >= 0) {
		struct anchor *a = &r->anchors[f->anchor];

		a->value = json_incref(node);
		a->nodes = r->nodes - f->nodes_at_start;
		a->height = height;
	}
	f->node = NULL;
	free_frame(f);
	r->depth--;
	return add_value(r, node, height, false, ev->start_mark);
}

static kc_code make_string(struct reader *r, const char *s, size_t len, yaml_mark_t mark,
                           json_t **out)
{
	if (memchr(s, '\0', len) != NULL)
		return fail_at(r, KC_EINVAL, mark, "string holds a NUL character");
	if ((*out = json_stringn(s, len)) == NULL)
		return fail_at(r, KC_EINVAL, mark, "string is not valid UTF-8");
	return KC_OK;
}

/* The value of a resolved scalar, or an error for what JSON cannot hold. */
static kc_code make_resolved(struct reader *r, const char *s, size_t len,
                             const struct doc_scalar *sc, yaml_mark_t mark, json_t **out)
{
	switch (sc->kind) {
	case DOC_SCALAR_NULL:
		*out = json_null();
		break;
	case DOC_SCALAR_BOOL:
		*out = json_boolean(sc->boolean);
		break;
	case DOC_SCALAR_INT:
		*out = json_integer(sc->integer);
		break;
	case DOC_SCALAR_FLOAT:
		*out = json_real(sc->real);
		break;
	case DOC_SCALAR_UNREPRESENTABLE:
		return fail_at(r, KC_EINVAL, mark,
		               "%.*s is out of range (no JSON number holds it; quote it if it is "
		               "a string)",
		               len > 64 ? 64 : (int)len, s);
	default:
		return make_string(r, s, len, mark, out);
	}
	if (*out == NULL)
		return fail_at(r, KC_ENOMEM, mark, "out of memory");
	return KC_OK;
}

/* A scalar with an explicit tag: honour the YAML core tags, refuse others. */
static kc_code make_tagged(struct reader *r, const char *tag, const char *s, size_t len,
                           yaml_mark_t mark, json_t **out)
{
	const char *t = short_tag(tag);
	struct doc_scalar sc;

	if (strcmp(tag, "!") == 0 || (t != NULL && strcmp(t, "str") == 0))
		return make_string(r, s, len, mark, out);
	if (t == NULL)
		return fail_at(r, KC_EINVAL, mark, "unsupported tag %s", tag);
	doc_scalar_resolve(s, len, &sc);
	if (strcmp(t, "int") == 0 && sc.kind == DOC_SCALAR_INT)
		return make_resolved(r, s, len, &sc, mark, out);
	if (strcmp(t, "float") == 0 && sc.kind == DOC_SCALAR_INT) {
		sc.kind = DOC_SCALAR_FLOAT;
		sc.real = (double)sc.integer;
	}
	if ((strcmp(t, "float") == 0 && sc.kind == DOC_SCALAR_FLOAT) ||
	    (strcmp(t, "bool") == 0 && sc.kind == DOC_SCALAR_BOOL) ||
	    (strcmp(t, "null") == 0 && sc.kind == DOC_SCALAR_NULL))
		return make_resolved(r, s, len, &sc, mark, out);
	if (strcmp(t, "timestamp") == 0 && sc.kind == DOC_SCALAR_TIMESTAMP)
		return make_string(r, s, len, mark, out);
	if (strcmp(t, "int") == 0 || strcmp(t, "float") == 0 || strcmp(t, "bool") == 0 ||
	    strcmp(t, "null") == 0 || strcmp(t, "timestamp") == 0)
		return fail_at(r, KC_EINVAL, mark, "cannot read \"%.*s\" as !!%s",
		               len > 64 ? 64 : (int)len, s, t);
	return fail_at(r, KC_EINVAL, mark, "unsupported tag !!%s", t);
}

static kc_code on_scalar(struct reader *r, const yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;
	const char *tag = (const char *)ev->data.scalar.tag;
	size_t len = ev->data.scalar.length;
	bool is_merge = false;
	struct doc_scalar sc;
	json_t *v;
	long unused;
	kc_code rc;

	if (r->depth >= DOC_MAX_DEPTH)
		return fail_at(r, KC_EINVAL, ev->start_mark, "nested deeper than %d levels",
		               DOC_MAX_DEPTH);
	if ((rc = count_nodes(r, 1, ev->start_mark)) != KC_OK)
		return rc;
	if (tag != NULL) {
		rc = make_tagged(r, tag, s, len, ev->start_mark, &v);
	} else if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
		rc = make_string(r, s, len, ev->start_mark, &v);
	} else {
		doc_scalar_resolve(s, len, &sc);
		is_merge = sc.kind == DOC_SCALAR_MERGE;
		rc = make_resolved(r, s, len, &sc, ev->start_mark, &v);
	}
	if (rc != KC_OK)
		return rc;
	if (ev->data.scalar.anchor != NULL &&
	    (rc = define_anchor(r, (const char *)ev->data.scalar.anchor, v, 1, 1, ev->start_mark,
	                        &unused)) != KC_OK) {
		json_decref(v);
		return rc;
	}
	/* "<<" merges only as a key; as a value it is the string "<<". */
	if (is_merge &&
	    (r->depth == 0 || json_is_array(r->stack[r->depth - 1].node) ||
	     r->stack[r->depth - 1].key != NULL || r->stack[r->depth - 1].merge_pending))
		is_merge = false;
	return add_value(r, v, 1, is_merge, ev->start_mark);
}

/*
 * Expand an alias: new mappings and sequences, so a caller editing one copy
 * in place never edits another; scalars are shared, as Jansson never changes
 * them behind a reference, which keeps an alias bomb's memory small until
 * the node budget stops it.
 */
static json_t *copy_alias(json_t *v)
{
	json_t *copy, *child;
	const char *k;
	size_t i;

	if (!json_is_object(v) && !json_is_array(v))
		return json_incref(v);
	if ((copy = json_is_object(v) ? json_object() : json_array()) == NULL)
		return NULL;
	if (json_is_object(v)) {
		json_object_foreach(v, k, child)
		{
			if (json_object_set_new(copy, k, copy_alias(child)) != 0)
				goto fail;
		}
	} else {
		json_array_foreach(v, i, child)
		{
			if (json_array_append_new(copy, copy_alias(child)) != 0)
				goto fail;
		}
	}
	return copy;
fail:
	json_decref(copy);
	return NULL;
}

static kc_code on_alias(struct reader *r, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	json_t *idx = json_object_get(r->anchor_index, name), *copy;
	const struct anchor *a;
	kc_code rc;

	if (idx == NULL)
		return fail_at(r, KC_EINVAL, ev->start_mark, "alias *%s: no such anchor", name);
	a = &r->anchors[json_integer_value(idx)];
	if (a->value == NULL)
		return fail_at(r, KC_EINVAL, ev->start_mark,
		               "alias *%s: refers to a node that contains it", name);
	if (r->depth + a->height > DOC_MAX_DEPTH)
		return fail_at(r, KC_EINVAL, ev->start_mark,
		               "alias *%s: nested deeper than %d levels", name, DOC_MAX_DEPTH);
	if ((rc = count_nodes(r, a->nodes, ev->start_mark)) != KC_OK)
		return rc;
	if ((copy = copy_alias(a->value)) == NULL)
		return fail_at(r, KC_ENOMEM, ev->start_mark, "out of memory");
	return add_value(r, copy, a->height, false, ev->start_mark);
}

static kc_code on_document_end(struct reader *r)
{
	json_t *root = r->root;

	r->root = NULL;
	r->in_document = false;
	forget_anchors(r);
	/* An empty or null document is skipped, as kubectl skips it. */
	if (root == NULL || json_is_null(root)) {
		json_decref(root);
		return KC_OK;
	}
	if (json_array_append_new(r->docs, root) != 0)
		return kc_fail(r->err, KC_ENOMEM, "%s: out of memory", r->source);
	return KC_OK;
}

static kc_code on_event(struct reader *r, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		r->docno++;
		r->in_document = true;
		return KC_OK;
	case YAML_DOCUMENT_END_EVENT:
		return on_document_end(r);
	case YAML_MAPPING_START_EVENT:
		return start_collection(r, ev, true);
	case YAML_SEQUENCE_START_EVENT:
		return start_collection(r, ev, false);
	case YAML_MAPPING_END_EVENT:
	case YAML_SEQUENCE_END_EVENT:
		return end_collection(r, ev);
	case YAML_SCALAR_EVENT:
		return on_scalar(r, ev);
	case YAML_ALIAS_EVENT:
		return on_alias(r, ev);
	default:
		return KC_OK;
	}
}

static void reader_free(struct reader *r)
{
	while (r->depth > 0)
		free_frame(&r->stack[--r->depth]);
	forget_anchors(r);
	free(r->anchors);
	json_decref(r->anchor_index);
	json_decref(r->root);
	json_decref(r->docs);
	yaml_parser_delete(&r->parser);
}

kc_code doc_parse_yaml(const char *data, size_t len, const char *source, json_t **docs,
                       struct kc_error *err)
{
	struct reader *r;
	yaml_event_t ev;
	bool done = false;
	kc_code rc;

	*docs = NULL;
	if ((rc = doc_check_input(data, len, source, err)) != KC_OK)
		return rc;
	/* The frame stack is large: keep it off the C stack. */
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return kc_fail(err, KC_ENOMEM, "%s: out of memory", source);
	r->data = data;
	r->len = len;
	r->source = source;
	r->err = err;
	if (!yaml_parser_initialize(&r->parser)) {
		free(r);
		return kc_fail(err, KC_ENOMEM, "%s: out of memory", source);
	}
	yaml_parser_set_input_string(&r->parser, (const unsigned char *)data, len);
	yaml_parser_set_encoding(&r->parser, YAML_UTF8_ENCODING);
	if ((r->docs = json_array()) == NULL || (r->anchor_index = json_object()) == NULL) {
		rc = kc_fail(err, KC_ENOMEM, "%s: out of memory", source);
		goto out;
	}
	while (!done) {
		if (!yaml_parser_parse(&r->parser, &ev)) {
			rc = fail_parser(r);
			goto out;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		rc = on_event(r, &ev);
		yaml_event_delete(&ev);
		if (rc != KC_OK)
			goto out;
	}
	*docs = r->docs;
	r->docs = NULL;
	rc = KC_OK;
out:
	reader_free(r);
	free(r);
	return rc;
}
