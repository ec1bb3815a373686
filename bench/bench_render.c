/*
 * bench_render.c: render throughput on one core (docs/design.md §7: >= 10,000
 * pods/s on the fixture corpus). Each round does what `kubelet-checkpoint
 * render` does per input, minus process start and file reads: parse the bytes
 * (doc_parse), index the Secrets/ConfigMaps, check eligibility, render, emit
 * canonical YAML. Inputs come from bench/make_render_inputs.py.
 *
 * usage: bench_render DIR [SECONDS] [json|yaml|all]
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "doc.h"
#include "kc_buf.h"
#include "objects.h"
#include "render.h"

#define MAX_INPUTS 256

/* Seconds spent per phase, summed over the run. */
static double t_parse, t_render, t_emit;

struct input {
	char name[256];
	struct kc_buf bytes;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool wanted(const char *name, const char *format)
{
	size_t n = strlen(name);
	bool json = n > 5 && strcmp(name + n - 5, ".json") == 0;
	bool yaml = n > 5 && strcmp(name + n - 5, ".yaml") == 0;

	if (strcmp(format, "json") == 0)
		return json;
	if (strcmp(format, "yaml") == 0)
		return yaml;
	return json || yaml;
}

static size_t load_inputs(const char *dir, const char *format, struct input *in)
{
	struct dirent **names;
	struct kc_error err;
	char path[4096];
	int n, i;
	size_t count = 0;

	if ((n = scandir(dir, &names, NULL, alphasort)) < 0) {
		perror(dir);
		exit(2);
	}
	for (i = 0; i < n; i++) {
		if (count < MAX_INPUTS && wanted(names[i]->d_name, format)) {
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
			snprintf(in[count].name, sizeof(in[count].name), "%s", names[i]->d_name);
			kc_buf_init(&in[count].bytes, DOC_MAX_INPUT);
			if (kc_buf_read_file(&in[count].bytes, path, &err) != KC_OK) {
				fprintf(stderr, "bench_render: %s\n", err.msg);
				exit(2);
			}
			count++;
		}
		free(names[i]);
	}
	free(names);
	return count;
}

/* One input through the whole pipeline; returns pods rendered, -1 on error. */
static long render_input(const struct input *in, const struct render_opts *opts, struct kc_buf *out)
{
	struct kc_objects *objs = kc_objects_new();
	json_t *docs = NULL, *items, *obj, *manifest;
	struct kc_error err;
	long pods = 0;
	size_t i;

	double t0 = now(), t1;

	if (objs == NULL ||
	    doc_parse(in->bytes.data, in->bytes.len, in->name, &docs, &err) != KC_OK)
		goto fail;
	t1 = now();
	t_parse += t1 - t0;
	items = json_object_get(json_array_get(docs, 0), "items");
	json_array_foreach(items, i, obj)
	{
		const char *kind = json_string_value(json_object_get(obj, "kind"));

		if (kind != NULL && strcmp(kind, "Pod") != 0 &&
		    kc_objects_add(objs, json_incref(obj), &err) != KC_OK)
			goto fail;
	}
	json_array_foreach(items, i, obj)
	{
		const char *kind = json_string_value(json_object_get(obj, "kind"));

		if (kind != NULL && strcmp(kind, "Pod") != 0)
			continue;
		t0 = now();
		if (render_check_eligible(obj, opts, &err) != KC_OK ||
		    render_pod(obj, objs, opts, &manifest, &err) != KC_OK)
			goto fail;
		t1 = now();
		t_render += t1 - t0;
		kc_buf_reset(out);
		if (render_manifest_bytes(manifest, out, &err) != KC_OK) {
			json_decref(manifest);
			goto fail;
		}
		json_decref(manifest);
		t_emit += now() - t1;
		pods++;
	}
	json_decref(docs);
	kc_objects_free(objs);
	return pods;
fail:
	fprintf(stderr, "bench_render: %s: %s\n", in->name, err.msg);
	json_decref(docs);
	kc_objects_free(objs);
	return -1;
}

int main(int argc, char **argv)
{
	static struct input in[MAX_INPUTS];
	struct render_opts opts = {.node_name = "kc-node-1",
	                           .state_dir = "/var/lib/kubelet-checkpoint"};
	double seconds = argc > 2 ? atof(argv[2]) : 3.0, start, elapsed;
	const char *format = argc > 3 ? argv[3] : "json";
	size_t n, i, rounds = 0, in_bytes = 0, out_bytes = 0;
	long pods = 0, r;
	struct kc_buf out;

	if (argc < 2) {
		fputs("usage: bench_render DIR [SECONDS] [json|yaml|all]\n", stderr);
		return 2;
	}
	n = load_inputs(argv[1], format, in);
	if (n == 0) {
		fprintf(stderr, "bench_render: no %s inputs in %s\n", format, argv[1]);
		return 2;
	}
	/* As the render command does: each tree reuses the last one's memory. */
	doc_recycle_allocations();
	kc_buf_init(&out, 0);
	start = now();
	do {
		for (i = 0; i < n; i++) {
			if ((r = render_input(&in[i], &opts, &out)) < 0)
				return 1;
			pods += r;
			in_bytes += in[i].bytes.len;
			out_bytes += out.len;
		}
		rounds++;
	} while ((elapsed = now() - start) < seconds);
	printf("render (%s): %zu inputs x %zu rounds = %ld pods in %.3f s CPU: %.0f pods/s, "
	       "%.1f MB/s in, %.1f MB/s out, %.1f us/pod\n",
	       format, n, rounds, pods, elapsed, (double)pods / elapsed,
	       (double)in_bytes / elapsed / 1e6, (double)out_bytes / elapsed / 1e6,
	       elapsed * 1e6 / (double)pods);
	printf("  phases: parse %.1f us/pod, render %.1f us/pod, emit %.1f us/pod\n",
	       t_parse * 1e6 / (double)pods, t_render * 1e6 / (double)pods,
	       t_emit * 1e6 / (double)pods);
	kc_buf_free(&out);
	for (i = 0; i < n; i++)
		kc_buf_free(&in[i].bytes);
	return 0;
}
