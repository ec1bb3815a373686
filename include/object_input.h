/*
 * object_input.h: the API objects `render` reads from files or stdin (JSON
 * or YAML, multi-document): Pods, PodLists and Lists, and the Secrets and
 * ConfigMaps they reference, indexed (objects.h).
 *
 * Fleet scale: a JSON List (kubectl get pods -A -o json) is read item by item
 * (doc_stream.h): its Secrets and ConfigMaps are indexed as they come, and
 * each pod is kept as the bytes of its item, parsed only when its turn comes
 * (object_input_pod_tree), so memory holds the input text, the referenced
 * objects and one pod tree, never a tree of the whole list.
 */
#ifndef KC_OBJECT_INPUT_H
#define KC_OBJECT_INPUT_H

#include <jansson.h>
#include <stddef.h>

#include "kc_buf.h"
#include "kc_error.h"
#include "objects.h"

/*
 * A pod found in the input, and where: "pods.yaml: document 2: items[1]".
 * Either parsed (pod) or, from a streamed List, the bytes of its item (src).
 */
struct object_input_pod {
	json_t *pod;
	const char *src;
	size_t len;
	char where[320];
};

struct object_input {
	struct object_input_pod *pods;
	size_t npods;
	struct kc_objects *objs;
	json_t *docs;         /* every parsed stream, kept alive for the borrowed pods */
	struct kc_buf *texts; /* the text of every streamed List, for its pods */
	size_t ntexts;
};

/* An empty input. KC_ENOMEM. */
kc_code object_input_init(struct object_input *in, struct kc_error *err);
/*
 * Read file ("-": stdin) and add its pods and objects. Anything but a Pod,
 * PodList, List (of those), Secret or ConfigMap, or a document without kind
 * that looks like a pod, is KC_EINVAL naming the file and document.
 */
kc_code object_input_read(struct object_input *in, const char *file, struct kc_error *err);
/*
 * The tree of ip: parsed already, or parsed now from its List item; *owned
 * is then the tree to json_decref when done with the pod (else NULL).
 */
kc_code object_input_pod_tree(const struct object_input_pod *ip, json_t **pod, json_t **owned,
                              struct kc_error *err);
void object_input_free(struct object_input *in);

#endif
