#!/usr/bin/env python3
"""Regenerates the hostile-input corpus of tests/e2e/test_render_hostile.py.

Every file here must make `kubelet-checkpoint render` exit 2 with one clear
line on stderr and nothing on stdout. EXPECTED maps each file to a piece of
that line. Run from anywhere: python3 tests/hostile/make_corpus.py
"""
import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
UID = "0f3c8a52-6d1e-4b7a-9c2d-1e2f3a4b5c6d"


def pod(**meta):
    m = {"name": "agent", "namespace": "kube-system", "uid": UID,
         "annotations": {"node.kubernetes.io/bootstrap-checkpoint": "true"}}
    m.update(meta)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": m,
            "spec": {"nodeName": "node-1", "containers": [{"name": "c", "image": "i"}]},
            "status": {"phase": "Running"}}


def with_secret_volume(p, items=None, secret_name="tls"):
    vol = {"secretName": secret_name}
    if items is not None:
        vol["items"] = items
    p["spec"]["volumes"] = [{"name": "certs", "secret": vol}]
    return p


SECRET = {"apiVersion": "v1", "kind": "Secret",
          "metadata": {"name": "tls", "namespace": "kube-system"}, "data": {"k": "dg=="}}

# file name -> (bytes, substring of the error line)
CORPUS = {}


def add(name, data, needle):
    CORPUS[name] = (data if isinstance(data, bytes) else data.encode(), needle)


def stream(*docs):
    return "".join("---\n" + json.dumps(d) + "\n" for d in docs)


add("malformed.json", '{"kind": "Pod", "metadata": {"name": "x",', "malformed.json")
add("malformed.yaml", "kind: Pod\nmetadata: [unclosed\n  - x: y\n", "malformed.yaml")
add("tabs-indent.yaml", "kind: Pod\nmetadata:\n\tname: x\n", "tabs-indent.yaml")
add("duplicate-keys.json",
    '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","name":"b"},"spec":{}}',
    "duplicate")
add("duplicate-keys.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  name: b\n",
    "duplicate")
bomb = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
for i in range(1, 10):
    bomb.append("a%d: &a%d [%s]" % (i, i, ", ".join(["*a%d" % (i - 1)] * 10)))
add("alias-bomb.yaml", "\n".join(bomb) + "\n", "alias-bomb.yaml")
rnd = random.Random(20261127)
add("binary-garbage.bin", bytes(rnd.randrange(256) for _ in range(4096)), "binary-garbage.bin")
add("empty.yaml", b"", "empty")
add("blank.yaml", "\n   \n\n", "no Pod")
add("comments-only.yaml", "# nothing here\n---\n# still nothing\n", "no Pod")
add("nul-bytes.yaml", b"apiVersion: v1\nkind: Pod\x00\nmetadata:\n  name: x\n", "nul-bytes.yaml")
add("nul-in-json-string.json",
    json.dumps(pod()).replace('"agent"', '"ag\\u0000ent"', 1), "\\u0000")
add("invalid-utf8.json", b'{"kind":"Pod","metadata":{"name":"\xff\xfe"}}', "invalid-utf8.json")
add("deep-nesting.json", "[" * 100000 + "]" * 100000, "deep-nesting.json")
add("deep-nesting.yaml", "a: " + "[" * 5000 + "]" * 5000 + "\n", "deep-nesting.yaml")
add("scalar-document.yaml", "just a string\n", "not a mapping")
add("list-of-scalars.json", "[1, 2, 3]", "not a mapping")
add("not-a-pod.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n",
    "kind: Service is not Pod")
add("only-a-configmap.yaml",
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: ns\ndata: {}\n",
    "no Pod in the input")
add("name-dotdot.yaml", stream(pod(name="../x")), "metadata.name: '../x' is not a DNS subdomain")
add("name-slash.yaml", stream(pod(name="a/b")), "metadata.name")
add("name-300-chars.yaml", stream(pod(name="a" * 300)), "no more than 253 characters")
add("name-uppercase.yaml", stream(pod(name="Agent")), "metadata.name")
add("namespace-traversal.yaml", stream(pod(namespace="kube-system/../../etc")),
    "metadata.namespace")
add("namespace-long.yaml", stream(pod(namespace="n" * 64)), "no more than 63 characters")
add("uid-not-uuid.yaml", stream(pod(uid="../../etc/passwd")), "metadata.uid")
add("uid-missing.yaml", stream(pod(uid=None)), "metadata.uid")
add("name-not-string.yaml", stream(pod(name=12)), "metadata.name: must be a string")
add("items-path-dotdot.yaml",
    stream(with_secret_volume(pod(), [{"key": "k", "path": "../../etc/passwd"}]), SECRET),
    "must not contain '..'")
add("items-path-absolute.yaml",
    stream(with_secret_volume(pod(), [{"key": "k", "path": "/etc/passwd"}]), SECRET),
    "must be relative")
add("items-path-empty.yaml",
    stream(with_secret_volume(pod(), [{"key": "k", "path": ""}]), SECRET), "must not be empty")
add("items-key-traversal.yaml",
    stream(with_secret_volume(pod(), [{"key": "../k", "path": "k"}]), SECRET), "key '../k'")
add("secret-name-traversal.yaml",
    stream(with_secret_volume(pod(), secret_name="../../x"), SECRET), "secretName")
add("secret-bad-base64.yaml",
    stream(with_secret_volume(pod()), dict(SECRET, data={"k": "!!!not base64"})), "base64")
add("secret-key-traversal.yaml",
    stream(with_secret_volume(pod()), dict(SECRET, data={"../escape": "dg=="})),
    "key '../escape'")
p = pod()
p["spec"]["volumes"] = [{"name": "../../etc", "emptyDir": {}}]
add("volume-name-traversal.yaml", stream(p), "spec.volumes[0].name")
p = pod()
p["spec"]["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": "c"}}]
add("pvc.yaml", stream(p), "persistentVolumeClaim")
add("missing-secret.yaml", stream(with_secret_volume(pod())), "Secret kube-system/tls: not found")
p = pod()
p["spec"]["containers"] = "not a list"
add("containers-not-list.yaml", stream(p), "spec.containers")
p = pod()
p["metadata"]["annotations"]["node.kubernetes.io/bootstrap-checkpoint"] = "yes"
add("annotation-not-true.yaml", stream(p), "not exactly \"true\"")
add("mirror-pod.yaml",
    stream(pod(annotations={"node.kubernetes.io/bootstrap-checkpoint": "true",
                            "kubernetes.io/config.mirror": "abc"})), "mirror pod")
add("podlist-items-not-list.json", '{"kind":"PodList","items":{"a":1}}', "items")

EXPECTED = {name: needle for name, (_, needle) in CORPUS.items()}

if __name__ == "__main__":
    for name, (data, _) in CORPUS.items():
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(data)
    with open(os.path.join(HERE, "EXPECTED.json"), "w") as f:
        json.dump(EXPECTED, f, indent=1, sort_keys=True)
        f.write("\n")
    print("wrote %d files" % len(CORPUS))
