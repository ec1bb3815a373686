/*
 * cmd_render.c: `kubelet-checkpoint render`, the offline converter (docs/design.md
 * §4 and §5). Reads API objects (Pods, PodLists, Lists, and the Secrets and
 * ConfigMaps they reference; JSON or YAML, multi-document) and prints one
 * static-pod manifest per pod. Output is built in memory and printed only
 * when every pod rendered: a failing run prints nothing on stdout and one
 * line per problem on stderr. --keep-going prints every pod that renders as
 * it goes and one line per pod that does not; --report prints a table (or
 * JSON) of every pod, checkpointable or not and why, and no manifest.
 *
 * Fleet scale: a JSON List (kubectl get pods -A -o json) is read item by item
 * (doc_stream.h): Secrets and ConfigMaps are indexed in a first scan, then each
 * pod is parsed, rendered and dropped, so memory holds the input text, the
 * referenced objects and one pod tree, never a tree of the whole list.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bridge_warnings.h"
#include "cli.h"
#include "doc.h"
#include "doc_stream.h"
#include "kc_buf.h"
#include "kc_names.h"
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
	bool keep_going; /* print what renders, report the rest, exit 2 at the end */
	bool report;     /* a table of every pod instead of manifests */
	bool json;       /* -o json (with --report) */
};

/*
 * A pod found in the input, and where: "pods.yaml: document 2: items[1]".
 * Either parsed (pod) or, from a streamed List, the bytes of its item (src),
 * parsed when its turn comes.
 */
struct input_pod {
	json_t *pod;
	const char *src;
	size_t len;
	char where[320];
};

struct inputs {
	struct input_pod *pods;
	size_t npods;
	struct kc_objects *objs;
	json_t *docs;         /* every parsed stream, kept alive for the borrowed pods */
	struct kc_buf *texts; /* the text of every streamed List, for its pods */
	size_t ntexts;
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
    "                       (default " KC_DEFAULT_STATE_DIR ")\n"
    "  --annotation A       trigger annotation, repeatable\n"
    "                       (default node.kubernetes.io/bootstrap-checkpoint)\n"
    "  --namespace NS       allowed namespace, repeatable, '*' = all; unlike run\n"
    "                       (default kube-system), render allows every namespace\n"
    "                       unless --namespace is given\n"
    "  --keep-going         print every pod that renders, one line on stderr for\n"
    "                       each that does not, exit 2 at the end if any failed\n"
    "  --report [-o json]   no manifests: a table (or JSON) of every pod:\n"
    "                       namespace, name, checkpointable, reason, warnings\n"
    "\n"
    "Exit status: 0 every pod rendered (--report: the report was printed); 2 bad\n"
    "input, an ineligible or a not-checkpointable pod (stderr says which and\n"
    "why); 1 runtime failure.\n";

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
	enum { OPT_NODE = 256, OPT_STATE, OPT_ANNOTATION, OPT_NAMESPACE, OPT_KEEP, OPT_REPORT };
	static const struct option longopts[] = {
	    {"filename", required_argument, NULL, 'f'},
	    {"node-name", required_argument, NULL, OPT_NODE},
	    {"state-dir", required_argument, NULL, OPT_STATE},
	    {"annotation", required_argument, NULL, OPT_ANNOTATION},
	    {"namespace", required_argument, NULL, OPT_NAMESPACE},
	    {"keep-going", no_argument, NULL, OPT_KEEP},
	    {"report", no_argument, NULL, OPT_REPORT},
	    {"output", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c, rc = 0;

	memset(cli, 0, sizeof(*cli));
	cli->state_dir = KC_DEFAULT_STATE_DIR;
	opterr = 0;
	optind = 1;
	while (rc == 0 && (c = getopt_long(argc, argv, "+f:o:h", longopts, NULL)) != -1) {
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
		case OPT_KEEP:
			cli->keep_going = true;
			break;
		case OPT_REPORT:
			cli->report = true;
			break;
		case 'o':
			if (cli_output_format("render", optarg, &cli->json) != 0)
				return -1;
			break;
		default:
			return cli_help_or_bad_option("render", c, argv, usage_text);
		}
	}
	if (rc == 0 && optind < argc)
		return cli_usage_error("render", "unexpected argument", argv[optind], NULL);
	if (rc == 0 && (cli->state_dir[0] != '/' || (cli->node_name && !cli->node_name[0]))) {
		fprintf(stderr, "kubelet-checkpoint: render: --state-dir must be absolute and "
		                "--node-name not empty\n");
		return -1;
	}
	if (rc == 0 && cli->json && !cli->report) {
		fprintf(stderr, "kubelet-checkpoint: render: -o json goes with --report\n");
		return -1;
	}
	if (cli->nfiles == 0)
		cli->files[cli->nfiles++] = "-";
	return rc;
}

static kc_code add_pod(struct inputs *in, json_t *pod, const char *src, size_t len,
                       const char *where, struct kc_error *err)
{
	struct input_pod *grown = in->pods;

	/* Doubling: a cluster-wide List holds thousands of pods. */
	if ((in->npods & (in->npods - 1)) == 0 &&
	    (grown = realloc(in->pods, (in->npods ? in->npods * 2 : 1) * sizeof(*grown))) == NULL)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	in->pods = grown;
	grown[in->npods] = (struct input_pod){.pod = pod, .src = src, .len = len};
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
static kc_code add_stream_item(struct inputs *in, const char *item, size_t len, const char *where,
                               struct kc_error *err)
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
static kc_code read_stream(struct inputs *in, struct kc_buf *text, struct doc_json_list *l,
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

static kc_code read_input(struct inputs *in, const char *file, struct kc_error *err)
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

/* Render pod into out (one YAML document); the error says why not. */
static kc_code render_one(const json_t *pod, const struct kc_objects *objs,
                          const struct render_opts *opts, struct kc_buf *out, struct kc_error *err)
{
	json_t *manifest = NULL;
	kc_code rc;

	if ((rc = render_check_eligible(pod, opts, err)) == KC_OK &&
	    (rc = render_pod(pod, objs, opts, &manifest, err)) == KC_OK)
		rc = render_manifest_bytes(manifest, out, err);
	json_decref(manifest);
	return rc;
}

/* The pod of ip: parsed already, or parsed now from its List item (*owned: free it). */
static kc_code pod_of(const struct input_pod *ip, json_t **pod, json_t **owned,
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
		json_decref(docs);
		return kc_fail(err, KC_EINVAL,
		               "%s: kind: %.64s is not Pod, PodList, List, Secret or ConfigMap",
		               ip->where, kind != NULL ? kind : "(none)");
	}
	*pod = obj;
	*owned = docs;
	return KC_OK;
}

static const char *meta_of(const json_t *pod, const char *key)
{
	return json_string_value(json_object_get(json_object_get(pod, "metadata"), key));
}

static void pod_label(const json_t *pod, const char *where, char *buf, size_t bufsz)
{
	const char *ns = meta_of(pod, "namespace"), *name = meta_of(pod, "name");

	if (pod == NULL)
		snprintf(buf, bufsz, "%s", where);
	else
		snprintf(buf, bufsz, "%s: pod %.63s/%.80s", where, ns ? ns : "?",
		         name ? name : "?");
}

/* One run of render over every pod found. */
struct run {
	const struct render_cli *cli;
	struct render_opts opts;
	struct kc_buf out; /* all-or-nothing mode: every manifest, printed at the end */
	struct kc_buf one; /* the pod at hand */
	bool printed;      /* --keep-going: a manifest went out already */
	json_t *rows;      /* --report */
	kc_code first;     /* first failure */
	size_t failed;
};

static void note_failure(struct run *r, kc_code code)
{
	r->failed++;
	if (r->first == KC_OK)
		r->first = code;
}

static int add_row(struct run *r, const json_t *pod, bool ok, const char *reason)
{
	json_t *row, *warnings = NULL;
	struct kc_error err;
	const char *ns = meta_of(pod, "namespace"), *name = meta_of(pod, "name");

	if (ok && bridge_warnings(pod, &warnings, &err) != KC_OK)
		return -1;
	row = json_pack("{s:s?, s:s?, s:b, s:s?, s:o}", "namespace", ns, "name", name,
	                "checkpointable", ok, "reason", reason, "warnings",
	                warnings != NULL ? warnings : json_array());
	return row == NULL ? -1 : json_array_append_new(r->rows, row);
}

/* What becomes of one rendered (or failed) pod in each mode. */
static void emit_one(struct run *r, const json_t *pod, const char *where, kc_code rc,
                     const struct kc_error *err)
{
	char label[512];

	if (r->cli->report) {
		if (add_row(r, pod, rc == KC_OK, rc == KC_OK ? NULL : err->msg) != 0) {
			print_line("", "out of memory");
			note_failure(r, KC_ENOMEM);
		}
		return;
	}
	if (rc != KC_OK) {
		pod_label(pod, where, label, sizeof(label));
		print_line(label, err->msg);
		note_failure(r, rc);
		return;
	}
	if (r->cli->keep_going) {
		if ((r->printed && fputs("---\n", stdout) == EOF) ||
		    fwrite(r->one.data, 1, r->one.len, stdout) != r->one.len) {
			print_line("", "writing stdout failed");
			note_failure(r, KC_EIO);
		}
		r->printed = true;
		return;
	}
	if ((r->out.len > 0 && kc_buf_puts(&r->out, "---\n", NULL) != KC_OK) ||
	    kc_buf_append(&r->out, r->one.data, r->one.len, NULL) != KC_OK) {
		print_line("", "out of memory");
		note_failure(r, KC_ENOMEM);
	}
}

static void render_all(struct run *r, const struct inputs *in)
{
	struct kc_error err;
	json_t *pod, *owned;
	kc_code rc;

	for (size_t i = 0; i < in->npods; i++) {
		r->one.len = 0;
		if ((rc = pod_of(&in->pods[i], &pod, &owned, &err)) != KC_OK) {
			if (r->cli->report)
				print_line("", err.msg); /* no pod to put in a row */
			emit_one(r, NULL, "", rc, &err);
			if (r->cli->report)
				note_failure(r, rc);
			continue;
		}
		rc = render_one(pod, in->objs, &r->opts, &r->one, &err);
		emit_one(r, pod, in->pods[i].where, rc, &err);
		json_decref(owned); /* a streamed pod: its tree goes now */
	}
}

static int col_width(const json_t *rows, const char *key, int min)
{
	size_t i, n;
	json_t *row;
	int w = min;

	json_array_foreach(rows, i, row)
	{
		const char *v = json_string_value(json_object_get(row, key));

		n = v != NULL ? strlen(v) : 1;
		if ((int)n > w)
			w = n > 80 ? 80 : (int)n;
	}
	return w;
}

/* The report: a table (reason, or the warnings joined) and a count, or JSON. */
static int print_report(const json_t *rows, bool as_json)
{
	int wns = col_width(rows, "namespace", 9), wname = col_width(rows, "name", 4);
	size_t i, j, ok = 0;
	json_t *row, *w;

	if (as_json) {
		char *text = json_dumps(rows, JSON_INDENT(2));

		if (text == NULL)
			return -1;
		puts(text);
		free(text);
		return 0;
	}
	printf("%-*s  %-*s  %-14s  %s\n", wns, "NAMESPACE", wname, "NAME", "CHECKPOINTABLE",
	       "REASON / WARNINGS");
	json_array_foreach(rows, i, row)
	{
		const char *ns = json_string_value(json_object_get(row, "namespace"));
		const char *name = json_string_value(json_object_get(row, "name"));
		bool yes = json_is_true(json_object_get(row, "checkpointable"));
		json_t *warnings = json_object_get(row, "warnings");

		ok += yes;
		printf("%-*.80s  %-*.80s  %-14s  ", wns, ns ? ns : "-", wname, name ? name : "-",
		       yes ? "yes" : "no");
		if (!yes)
			fputs(json_string_value(json_object_get(row, "reason")), stdout);
		json_array_foreach(warnings, j, w)
		    printf("%s%s", j ? "; " : "", json_string_value(w));
		if (yes && json_array_size(warnings) == 0)
			fputs("-", stdout);
		putchar('\n');
	}
	printf("\n%zu pods: %zu checkpointable, %zu not\n", json_array_size(rows), ok,
	       json_array_size(rows) - ok);
	return 0;
}

int cmd_render(int argc, char **argv)
{
	struct render_cli cli;
	struct inputs in = {0};
	struct run r = {0};
	struct kc_error err;
	kc_code input = KC_OK;
	size_t i;
	int status;

	if ((status = parse_args(argc, argv, &cli)) != 0)
		return status > 0 ? 0 : 2;
	/* One pod tree after another: each reuses the last one's memory. */
	doc_recycle_allocations();
	kc_error_clear(&err);
	r.cli = &cli;
	kc_buf_init(&r.out, 0);
	kc_buf_init(&r.one, RENDER_MAX_MANIFEST);
	in.objs = kc_objects_new();
	in.docs = json_array();
	r.rows = json_array();
	if (in.objs == NULL || in.docs == NULL || r.rows == NULL) {
		print_line("", "out of memory");
		r.first = KC_ENOMEM;
		goto out;
	}
	for (i = 0; i < cli.nfiles; i++) {
		if (read_input(&in, cli.files[i], &err) != KC_OK) {
			print_line("", err.msg);
			if (input == KC_OK)
				input = err.code;
		}
	}
	r.first = input;
	if (r.first == KC_OK && in.npods == 0) {
		print_line("", "no Pod in the input");
		r.first = KC_EINVAL;
	}
	/* Bad input stops the all-or-nothing mode; the others go on with what they have. */
	if (r.first != KC_OK && !(cli.keep_going || cli.report))
		goto out;
	r.opts = (struct render_opts){
	    .node_name = cli.node_name,
	    .state_dir = cli.state_dir,
	    .annotations = cli.nannotations ? cli.annotations : NULL,
	    .nannotations = cli.nannotations,
	    .namespaces = cli.nnamespaces ? cli.namespaces : NULL,
	    .nnamespaces = cli.nnamespaces,
	};
	render_all(&r, &in);
	if (cli.report && print_report(r.rows, cli.json) != 0) {
		print_line("", "out of memory");
		r.first = KC_ENOMEM;
	}
	if (cli.keep_going && r.failed > 0)
		fprintf(stderr, "kubelet-checkpoint: render: %zu of %zu pods not rendered\n",
		        r.failed, in.npods);
	if (!cli.keep_going && !cli.report && r.first == KC_OK &&
	    fwrite(r.out.data, 1, r.out.len, stdout) != r.out.len) {
		print_line("", "writing stdout failed");
		r.first = KC_EIO;
	}
	if (fflush(stdout) != 0 && r.first == KC_OK) {
		print_line("", "writing stdout failed");
		r.first = KC_EIO;
	}
out:
	kc_buf_free(&r.out);
	kc_buf_free(&r.one);
	json_decref(r.rows);
	kc_objects_free(in.objs);
	free(in.pods);
	for (i = 0; i < in.ntexts; i++)
		kc_buf_free(&in.texts[i]);
	free(in.texts);
	json_decref(in.docs);
	return kc_exit_status(r.first);
}
