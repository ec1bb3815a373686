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
 * The input is read by object_input.h (k8s); a pod of a streamed List is
 * parsed, rendered and dropped in its turn, so memory holds the input text,
 * the referenced objects and one pod tree, never a tree of the whole list.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge_warnings.h"
#include "cli.h"
#include "doc.h"
#include "kc_buf.h"
#include "kc_names.h"
#include "object_input.h"
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

static void render_all(struct run *r, const struct object_input *in)
{
	struct kc_error err;
	json_t *pod, *owned;
	kc_code rc;

	for (size_t i = 0; i < in->npods; i++) {
		r->one.len = 0;
		if ((rc = object_input_pod_tree(&in->pods[i], &pod, &owned, &err)) != KC_OK) {
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

/* The report: a table (reason, or the warnings joined) and a count, or JSON. */
static int print_report(const json_t *rows, bool as_json)
{
	int wns = cli_column_width(rows, "namespace", 9, 80);
	int wname = cli_column_width(rows, "name", 4, 80);
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
	struct object_input in;
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
	r.rows = json_array();
	if (object_input_init(&in, &err) != KC_OK || r.rows == NULL) {
		print_line("", "out of memory");
		r.first = KC_ENOMEM;
		goto out;
	}
	for (i = 0; i < cli.nfiles; i++) {
		if (object_input_read(&in, cli.files[i], &err) != KC_OK) {
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
	object_input_free(&in);
	return kc_exit_status(r.first);
}
