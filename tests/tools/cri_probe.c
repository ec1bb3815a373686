/*
 * cri_probe.c: drives cri_client against a runtime socket for
 * tests/e2e/test_cri_client.py. `cri_probe ENDPOINT list|containers|version
 * [N [found]]` makes the call N times (default 1) on one client (so
 * connection reuse is exercised) and prints, per call, one JSON line:
 * {"rc": "OK"|code name, "grpc": status, "ms": elapsed, "sandboxes": [...] |
 * "containers": [...] | "version": "...", "error": "..."}. "found" treats the
 * endpoint as found from the kubelet (its owner is checked), not named by the
 * user. Exit 0 when the last call succeeded, 1 otherwise.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cri_client.h"

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static json_t *sandboxes_json(const struct cri_sandboxes *s)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; i < s->count; i++)
		json_array_append_new(
		    arr, json_pack("{s:s, s:s, s:s, s:s, s:b}", "id", s->items[i].id, "uid",
		                   s->items[i].uid, "name", s->items[i].name, "namespace",
		                   s->items[i].namespace, "ready", s->items[i].ready));
	return arr;
}

static json_t *containers_json(const struct cri_containers *s)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; i < s->count; i++)
		json_array_append_new(arr,
		                      json_pack("{s:s, s:s, s:s, s:i, s:I, s:b}", "id",
		                                s->items[i].id, "uid", s->items[i].uid, "name",
		                                s->items[i].name, "state", (int)s->items[i].state,
		                                "created_ns", (json_int_t)s->items[i].created_ns,
		                                "regular", s->items[i].regular));
	return arr;
}

static kc_code one_call(struct cri_client *c, const char *what, json_t **o, struct kc_error *err)
{
	struct cri_sandboxes s = {0};
	struct cri_containers cs = {0};
	long long t0 = now_ms();
	char *version = NULL;
	int grpc = -1;
	kc_code rc;

	if (strcmp(what, "list") == 0)
		rc = cri_list_sandboxes(c, 0, &s, &grpc, err);
	else if (strcmp(what, "containers") == 0)
		rc = cri_list_containers(c, 0, &cs, &grpc, err);
	else
		rc = cri_version(c, &version, &grpc, err);
	*o = json_pack("{s:s, s:i, s:I}", "rc", kc_code_name(rc), "grpc", grpc, "ms",
	               (json_int_t)(now_ms() - t0));
	if (rc != KC_OK)
		json_object_set_new(*o, "error", json_string(err->msg));
	else if (version != NULL)
		json_object_set_new(*o, "version", json_string(version));
	else if (strcmp(what, "containers") == 0)
		json_object_set_new(*o, "containers", containers_json(&cs));
	else
		json_object_set_new(*o, "sandboxes", sandboxes_json(&s));
	free(version);
	cri_sandboxes_free(&s);
	cri_containers_free(&cs);
	return rc;
}

int main(int argc, char **argv)
{
	struct cri_client *c = NULL;
	struct kc_error err;
	kc_code rc = KC_OK;
	int i, n = argc > 3 ? atoi(argv[3]) : 1;
	bool named = !(argc > 4 && strcmp(argv[4], "found") == 0);

	if (argc < 3 || (strcmp(argv[2], "list") != 0 && strcmp(argv[2], "version") != 0 &&
	                 strcmp(argv[2], "containers") != 0)) {
		fprintf(stderr, "usage: cri_probe ENDPOINT list|containers|version [N [found]]\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if ((rc = cri_client_new(argv[1], named, &c, &err)) != KC_OK) {
		printf("{\"rc\": \"%s\", \"error\": \"new\"}\n", kc_code_name(rc));
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	for (i = 0; i < n; i++) {
		json_t *o = NULL;

		rc = one_call(c, argv[2], &o, &err);
		json_dumpf(o, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(o);
	}
	cri_client_free(c);
	curl_global_cleanup();
	return rc == KC_OK ? 0 : 1;
}
