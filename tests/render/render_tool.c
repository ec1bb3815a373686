/*
 * render_tool.c: test-only companion of `kubelet-checkpoint render`, for the
 * end-to-end tests (tests/e2e/test_render_*.py):
 *
 *   kc_render_tool tojson FILE            documents of FILE as one JSON array
 *   kc_render_tool check MANIFESTS [SRC]  manifest_check every manifest (with
 *                                         its source pod from SRC, matched by
 *                                         the checkpoint-of marker); one line
 *                                         per broken rule; exit 1 if any
 *   kc_render_tool plan SRC               volume_plan of every pod in SRC
 *                                         (plus its Secrets/ConfigMaps), JSON
 *
 * Exit 2 on unreadable input.
 */
#include <stdio.h>
#include <string.h>

#include "doc.h"
#include "kc_buf.h"
#include "kc_names.h"
#include "manifest_check.h"
#include "objects.h"
#include "render.h"
#include "volume_plan.h"

static json_t *load(const char *path)
{
	struct kc_buf buf;
	struct kc_error err;
	json_t *docs = NULL;

	kc_buf_init(&buf, DOC_MAX_INPUT);
	if (kc_buf_read_file(&buf, path, &err) != KC_OK ||
	    doc_parse(buf.data ? buf.data : "", buf.len, path, &docs, &err) != KC_OK) {
		fprintf(stderr, "kc_render_tool: %s\n", err.msg);
		docs = NULL;
	}
	kc_buf_free(&buf);
	return docs;
}

/* Pods of docs (unwrapping lists) into pods; Secrets/ConfigMaps into objs. */
static void collect(json_t *docs, json_t *pods, struct kc_objects *objs)
{
	json_t *d;
	size_t i;

	json_array_foreach(docs, i, d)
	{
		const char *kind = json_string_value(json_object_get(d, "kind"));

		if (json_is_array(json_object_get(d, "items"))) {
			collect(json_object_get(d, "items"), pods, objs);
		} else if (kind != NULL &&
		           (strcmp(kind, "Secret") == 0 || strcmp(kind, "ConfigMap") == 0)) {
			json_incref(d);
			kc_objects_add(objs, d, NULL);
		} else {
			json_array_append(pods, d);
		}
	}
}

static const json_t *source_of(const json_t *pods, const json_t *manifest)
{
	const char *of = json_string_value(
	    json_object_get(json_object_get(json_object_get(manifest, "metadata"), "annotations"),
	                    KC_ANNOTATION_CHECKPOINT_OF));
	const json_t *p;
	char key[320];
	size_t i;

	json_array_foreach(pods, i, p)
	{
		const json_t *meta = json_object_get(p, "metadata");

		snprintf(key, sizeof(key), "%s/%s",
		         json_string_value(json_object_get(meta, "namespace")),
		         json_string_value(json_object_get(meta, "name")));
		if (of != NULL && strcmp(of, key) == 0)
			return p;
	}
	return NULL;
}

static int cmd_check(const char *manifests_path, const char *source_path)
{
	json_t *manifests = load(manifests_path), *sources = NULL, *pods = json_array(), *m;
	struct kc_objects *objs = kc_objects_new();
	struct mc_report report;
	struct kc_error err;
	size_t i, k, problems = 0;

	if (manifests == NULL || (source_path != NULL && (sources = load(source_path)) == NULL))
		return 2;
	if (sources != NULL)
		collect(sources, pods, objs);
	json_array_foreach(manifests, i, m)
	{
		const json_t *src = sources != NULL ? source_of(pods, m) : NULL;

		if (sources != NULL && src == NULL) {
			printf("document %zu: no source pod for this manifest\n", i + 1);
			problems++;
			continue;
		}
		if (manifest_check(m, src, &report, &err) != KC_OK) {
			fprintf(stderr, "kc_render_tool: %s\n", err.msg);
			return 2;
		}
		for (k = 0; k < report.count; k++)
			printf("document %zu: %s\n", i + 1, report.problems[k]);
		problems += report.count;
		mc_report_free(&report);
	}
	json_decref(manifests);
	json_decref(sources);
	json_decref(pods);
	kc_objects_free(objs);
	return problems == 0 ? 0 : 1;
}

static json_t *plan_json(const struct vp_plan *plan)
{
	json_t *vols = json_array(), *files;
	size_t v, f;

	for (v = 0; v < plan->nvolumes; v++) {
		files = json_array();
		for (f = 0; f < plan->volumes[v].nfiles; f++) {
			const struct vp_file *file = &plan->volumes[v].files[f];

			json_array_append_new(files,
			                      json_pack("{s:s, s:i, s:s%}", "path", file->path,
			                                "mode", (int)file->mode, "data",
			                                (const char *)file->data, file->len));
		}
		json_array_append_new(
		    vols, json_pack("{s:s, s:o}", "name", plan->volumes[v].name, "files", files));
	}
	return json_pack("{s:s, s:I, s:I, s:o}", "uid", plan->uid, "uid_owner",
	                 (json_int_t)plan->uid_owner, "gid_owner", (json_int_t)plan->gid_owner,
	                 "volumes", vols);
}

static int cmd_plan(const char *source_path)
{
	json_t *sources = load(source_path), *pods = json_array(), *out = json_array(), *p, *pj;
	struct kc_objects *objs = kc_objects_new();
	struct vp_plan plan;
	struct kc_error err;
	size_t i;
	int status = 0;

	if (sources == NULL)
		return 2;
	collect(sources, pods, objs);
	json_array_foreach(pods, i, p)
	{
		if (volume_plan_build(p, objs, &plan, &err) != KC_OK) {
			json_array_append_new(out, json_pack("{s:s}", "error", err.msg));
			status = 1;
			continue;
		}
		/* Non-UTF-8 file data cannot be shown as a JSON string: say so instead. */
		pj = plan_json(&plan);
		json_array_append_new(out, pj != NULL ? pj : json_pack("{s:s}", "error", "binary"));
		volume_plan_free(&plan);
	}
	json_dumpf(out, stdout, JSON_SORT_KEYS | JSON_INDENT(1));
	putchar('\n');
	json_decref(out);
	json_decref(sources);
	json_decref(pods);
	kc_objects_free(objs);
	return status;
}

int main(int argc, char **argv)
{
	json_t *docs;

	if (argc == 3 && strcmp(argv[1], "tojson") == 0) {
		if ((docs = load(argv[2])) == NULL)
			return 2;
		json_dumpf(docs, stdout, JSON_SORT_KEYS | JSON_ENCODE_ANY);
		putchar('\n');
		json_decref(docs);
		return 0;
	}
	if ((argc == 3 || argc == 4) && strcmp(argv[1], "check") == 0)
		return cmd_check(argv[2], argc == 4 ? argv[3] : NULL);
	if (argc == 3 && strcmp(argv[1], "plan") == 0)
		return cmd_plan(argv[2]);
	fputs("usage: kc_render_tool tojson FILE | check MANIFESTS [SOURCE] | plan SOURCE\n",
	      stderr);
	return 2;
}
