/*
 * cmd_render.c: `kubelet-checkpoint render`, the offline converter (DESIGN.md
 * 4 and 5). Reads API objects (Pods, PodLists, Lists, and the Secrets and
 * ConfigMaps they reference; JSON or YAML, multi-document) and prints one
 * static-pod manifest per pod. Output is built in memory and printed only
 * when every pod rendered: a failing run prints nothing on stdout and one
 * line per problem on stderr.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "doc.h"
#include "kc_buf.h"
#include "objects.h"
#include "render.h"

#define MAX_LIST 64 /* -f, --annotation, --namespace occurrences */

struct render_cli {
	const char *files[MAX_LIST];
	size_t nfiles;
	const char *annotations[MAX_LIST];
	size_t nannotations;
	const char *namespaces[MAX_LIST];
	size_t nnamespaces;
	const char *node_name;
	const char *state_dir;
};

/* A pod found in the input, and where: "pods.yaml: document 2: items[1]". */
struct input_pod {
	json_t *pod;
	char where[320];
};

struct inputs {
	struct input_pod *pods;
	size_t npods;
	struct kc_objects *objs;
	json_t *docs; /* every parsed stream, kept alive for the borrowed pods */
};

static const char usage_text[] =
    "usage: kubelet-checkpoint render [-f FILE|-]... [--node-name N] [--state-dir D]\n"
    "                                 [--annotation A]... [--namespace NS]...\n"
    "\n"
    "Converts API pods into self-contained static-pod manifests (YAML on stdout,\n"
    "one document per pod, '---' between). Input: JSON or YAML, multi-document:\n"
    "Pod, PodList or List objects plus the Secrets and ConfigMaps they reference.\n"
    "\n"
    "  -f, --filename FILE  read FILE ('-' = stdin); repeatable; default stdin\n"
    "  --node-name N        refuse pods bound to another node; without it\n"
    "                       spec.nodeName is not checked (and names the node)\n"
    "  --state-dir D        where materialised volumes live\n"
    "                       (default /var/lib/kubelet-checkpoint)\n"
    "  --annotation A       trigger annotation, repeatable\n"
    "                       (default node.kubernetes.io/bootstrap-checkpoint)\n"
    "  --namespace NS       allowed namespace, repeatable, '*' = all; unlike run\n"
    "                       (default kube-system), render allows every namespace\n"
    "                       unless --namespace is given\n"
    "\n"
    "Exit status: 0 every pod rendered; 2 bad input, an ineligible or a\n"
    "not-checkpointable pod (stderr says which and why); 1 runtime failure.\n";

/* Print msg on one line: control bytes from hostile input become '?'. */
static void print_line(const char *where, const char *msg)
{
	char line[KC_ERROR_MSG_MAX + 400];
	size_t i;

	snprintf(line, sizeof(line), "kubelet-checkpoint: render: %s%s%s", where,
	         where[0] != '\0' ? ": " : "", msg);
	for (i = 0; line[i] != '\0'; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	fprintf(stderr, "%s\n", line);
}

static int add_list(const char **list, size_t *n, const char *value, const char *flag)
{
	if (*n >= MAX_LIST) {
		fprintf(stderr, "kubelet-checkpoint: render: too many %s (at most %d)\n", flag,
		        MAX_LIST);
		return -1;
	}
	list[(*n)++] = value;
	return 0;
}

static int parse_args(int argc, char **argv, struct render_cli *cli)
{
	enum { OPT_NODE = 256, OPT_STATE, OPT_ANNOTATION, OPT_NAMESPACE };
	static const struct option longopts[] = {
	    {"filename", required_argument, NULL, 'f'},
	    {"node-name", required_argument, NULL, OPT_NODE},
	    {"state-dir", required_argument, NULL, OPT_STATE},
	    {"annotation", required_argument, NULL, OPT_ANNOTATION},
	    {"namespace", required_argument, NULL, OPT_NAMESPACE},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c, rc = 0;

	memset(cli, 0, sizeof(*cli));
	cli->state_dir = "/var/lib/kubelet-checkpoint";
	opterr = 0;
	optind = 1;
	while (rc == 0 && (c = getopt_long(argc, argv, "+f:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			rc = add_list(cli->files, &cli->nfiles, optarg, "-f");
			break;
		case OPT_NODE:
			cli->node_name = optarg;
			break;
		case OPT_STATE:
			cli->state_dir = optarg;
			break;
		case OPT_ANNOTATION:
			rc = add_list(cli->annotations, &cli->nannotations, optarg, "--annotation");
			break;
		case OPT_NAMESPACE:
			rc = add_list(cli->namespaces, &cli->nnamespaces, optarg, "--namespace");
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 1;
		default:
			fprintf(stderr, "kubelet-checkpoint: render: bad option '%s'\n",
			        argv[optind - 1]);
			fputs(usage_text, stderr);
			return -1;
		}
	}
	if (rc == 0 && optind < argc) {
		fprintf(stderr, "kubelet-checkpoint: render: unexpected argument '%s'\n",
		        argv[optind]);
		return -1;
	}
	if (rc == 0 && (cli->state_dir[0] != '/' || (cli->node_name && !cli->node_name[0]))) {
		fprintf(stderr, "kubelet-checkpoint: render: --state-dir must be absolute and "
		                "--node-name not empty\n");
		return -1;
	}
	if (cli->nfiles == 0)
		cli->files[cli->nfiles++] = "-";
	return rc;
}

static kc_code add_pod(struct inputs *in, json_t *pod, const char *where, struct kc_error *err)
{
	struct input_pod *grown = realloc(in->pods, (in->npods + 1) * sizeof(*grown));

	if (grown == NULL)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	in->pods = grown;
	grown[in->npods].pod = pod;
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

static kc_code add_object(struct inputs *in, json_t *obj, const char *where, bool in_list,
                          struct kc_error *err);

static kc_code add_list_items(struct inputs *in, json_t *list, const char *where,
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

static kc_code add_object(struct inputs *in, json_t *obj, const char *where, bool in_list,
                          struct kc_error *err)
{
	const json_t *kind_json = json_object_get(obj, "kind");
	const char *kind = json_string_value(kind_json);

	if (!json_is_object(obj))
		return kc_fail(err, KC_EINVAL, "%s: not a mapping", where);
	if (kind_json != NULL && !json_is_null(kind_json) && kind == NULL)
		return kc_fail(err, KC_EINVAL, "%s: kind: must be a string", where);
	if ((kind == NULL && looks_like_pod(obj)) || (kind != NULL && strcmp(kind, "Pod") == 0))
		return add_pod(in, obj, where, err);
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

static kc_code read_input(struct inputs *in, const char *file, struct kc_error *err)
{
	const char *source = strcmp(file, "-") == 0 ? "<stdin>" : file;
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

/* Render one pod into out (with its "---" separator); the error names the pod. */
static kc_code render_one(const struct input_pod *ip, const struct kc_objects *objs,
                          const struct render_opts *opts, struct kc_buf *out, struct kc_error *err)
{
	json_t *manifest = NULL;
	kc_code rc;

	if ((rc = render_check_eligible(ip->pod, opts, err)) == KC_OK &&
	    (rc = render_pod(ip->pod, objs, opts, &manifest, err)) == KC_OK) {
		if (out->len > 0)
			rc = kc_buf_puts(out, "---\n", err);
		if (rc == KC_OK)
			rc = render_manifest_bytes(manifest, out, err);
	}
	json_decref(manifest);
	return rc;
}

static void pod_label(const json_t *pod, const char *where, char *buf, size_t bufsz)
{
	const json_t *meta = json_object_get(pod, "metadata");
	const char *ns = json_string_value(json_object_get(meta, "namespace"));
	const char *name = json_string_value(json_object_get(meta, "name"));

	snprintf(buf, bufsz, "%s: pod %.63s/%.80s", where, ns ? ns : "?", name ? name : "?");
}

int cmd_render(int argc, char **argv)
{
	struct render_cli cli;
	struct inputs in = {0};
	struct render_opts opts;
	struct kc_error err;
	struct kc_buf out;
	kc_code first = KC_OK;
	char label[512];
	size_t i;
	int status;

	if ((status = parse_args(argc, argv, &cli)) != 0)
		return status > 0 ? 0 : 2;
	kc_error_clear(&err);
	kc_buf_init(&out, 0);
	in.objs = kc_objects_new();
	in.docs = json_array();
	if (in.objs == NULL || in.docs == NULL) {
		print_line("", "out of memory");
		first = KC_ENOMEM;
		goto out;
	}
	for (i = 0; i < cli.nfiles; i++) {
		if (read_input(&in, cli.files[i], &err) != KC_OK) {
			print_line("", err.msg);
			if (first == KC_OK)
				first = err.code;
		}
	}
	if (first == KC_OK && in.npods == 0) {
		print_line("", "no Pod in the input");
		first = KC_EINVAL;
	}
	if (first != KC_OK)
		goto out;
	opts = (struct render_opts){
	    .node_name = cli.node_name,
	    .state_dir = cli.state_dir,
	    .annotations = cli.nannotations ? cli.annotations : NULL,
	    .nannotations = cli.nannotations,
	    .namespaces = cli.nnamespaces ? cli.namespaces : NULL,
	    .nnamespaces = cli.nnamespaces,
	};
	for (i = 0; i < in.npods; i++) {
		if (render_one(&in.pods[i], in.objs, &opts, &out, &err) == KC_OK)
			continue;
		pod_label(in.pods[i].pod, in.pods[i].where, label, sizeof(label));
		print_line(label, err.msg);
		if (first == KC_OK)
			first = err.code;
	}
	if (first == KC_OK && fwrite(out.data, 1, out.len, stdout) != out.len) {
		print_line("", "writing stdout failed");
		first = KC_EIO;
	}
	if (first == KC_OK && fflush(stdout) != 0) {
		print_line("", "writing stdout failed");
		first = KC_EIO;
	}
out:
	kc_buf_free(&out);
	kc_objects_free(in.objs);
	free(in.pods);
	json_decref(in.docs);
	return kc_exit_status(first);
}
