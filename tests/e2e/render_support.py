"""render_support.py: shared helpers of the render end-to-end tests.

Runs the real binary (KC_BINARY) and the test tool (KC_RENDER_TOOL, built by
tests/render_tools.cmake; defaults to the binary's directory), and derives
renderable inputs from the API pod fixtures: the trigger annotation, a node
name, and plausible Secrets/ConfigMaps for every reference.
"""
import base64
import copy
import json
import os
import signal
import subprocess
import tempfile

BINARY = os.environ.get("KC_BINARY", "")
SOURCE_DIR = os.environ.get("KC_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.environ.get("KC_FIXTURES_DIR", os.path.join(SOURCE_DIR, "tests", "fixtures", "pods"))
TOOL = os.environ.get("KC_RENDER_TOOL") or os.path.join(os.path.dirname(BINARY), "kc_render_tool")
TRIGGER = "node.kubernetes.io/bootstrap-checkpoint"
NODE = "kc-node-1"
CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUe2e\n-----END CERTIFICATE-----\n"


def run(args, stdin=None, timeout=60):
    """Run the binary; returns (returncode, stdout bytes, stderr text)."""
    p = subprocess.run([BINARY] + args, input=stdin, capture_output=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


def tool(args, timeout=60):
    p = subprocess.run([TOOL] + args, capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def to_json(path):
    """Documents of a YAML/JSON file, read by the project's codec (kc_render_tool)."""
    rc, out, err = tool(["tojson", path])
    if rc != 0:
        raise AssertionError("tojson %s: rc %d: %s" % (path, rc, err))
    return json.loads(out)


def is_signal(rc):
    return rc < 0 or rc in (128 + signal.SIGSEGV, 128 + signal.SIGABRT, 128 + signal.SIGBUS)


def fixture_files():
    return sorted(f for f in os.listdir(FIXTURES)
                  if (f.endswith(".json") or f.endswith(".yaml")) and not f.endswith(".source.txt"))


def pods_of(docs):
    pods = []
    for d in docs:
        if isinstance(d.get("items"), list):
            pods.extend(pods_of(d["items"]))
        elif d.get("kind") in (None, "Pod"):
            pods.append(d)
    return pods


def _key(name):
    return name.lower().replace("_", "-")


def references(pod):
    """{(kind, name): set(keys)} for every Secret/ConfigMap the pod references."""
    refs = {}
    spec = pod.get("spec", {})

    def add(kind, name, keys=()):
        refs.setdefault((kind, name), set()).update(keys)

    def items_keys(src):
        return [i["key"] for i in src.get("items") or []]

    for v in spec.get("volumes") or []:
        if "secret" in v:
            add("Secret", v["secret"]["secretName"], items_keys(v["secret"]))
        elif "configMap" in v:
            add("ConfigMap", v["configMap"]["name"], items_keys(v["configMap"]))
        elif "projected" in v:
            for s in v["projected"].get("sources") or []:
                if "secret" in s:
                    add("Secret", s["secret"]["name"], items_keys(s["secret"]))
                elif "configMap" in s:
                    add("ConfigMap", s["configMap"]["name"], items_keys(s["configMap"]))
    for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
        for e in c.get("env") or []:
            vf = e.get("valueFrom") or {}
            if "secretKeyRef" in vf:
                add("Secret", vf["secretKeyRef"]["name"], [vf["secretKeyRef"]["key"]])
            if "configMapKeyRef" in vf:
                add("ConfigMap", vf["configMapKeyRef"]["name"], [vf["configMapKeyRef"]["key"]])
        for ef in c.get("envFrom") or []:
            if "secretRef" in ef:
                add("Secret", ef["secretRef"]["name"], ["ENV_FROM_SECRET", "1-invalid-name"])
            if "configMapRef" in ef:
                add("ConfigMap", ef["configMapRef"]["name"], ["ENV_FROM_CM", "SHARED", "9lives"])
    return refs


def make_objects(pod):
    """Plausible Secrets/ConfigMaps for every reference of pod."""
    ns = pod["metadata"]["namespace"]
    out = []
    for (kind, name), keys in sorted(references(pod).items()):
        if name == "kube-root-ca.crt":
            keys = set(keys) | {"ca.crt"}
        if "token" in name and kind == "Secret":
            keys = set(keys) | {"ca.crt", "namespace", "token"}
        keys = set(keys) or {"config"}
        values = {k: (CA_PEM if k.endswith(".crt") else ns if k == "namespace"
                      else "value of %s $(HOME) in %s" % (k, name)) for k in sorted(keys)}
        obj = {"apiVersion": "v1", "kind": kind, "metadata": {"name": name, "namespace": ns}}
        if kind == "Secret":
            obj["type"] = "Opaque"
            obj["data"] = {k: base64.b64encode(v.encode()).decode() for k, v in values.items()}
        else:
            obj["data"] = values
        out.append(obj)
    return out


def annotate(pod, node=NODE):
    pod = copy.deepcopy(pod)
    pod.setdefault("metadata", {})
    pod["metadata"].setdefault("annotations", {})
    pod["metadata"]["annotations"][TRIGGER] = "true"
    pod.setdefault("spec", {})["nodeName"] = node
    return pod


def write_json(directory, name, obj):
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)
    return path


def reversed_keys(obj):
    """Same document, every mapping's keys in reverse order."""
    if isinstance(obj, dict):
        return {k: reversed_keys(obj[k]) for k in reversed(list(obj.keys()))}
    if isinstance(obj, list):
        return [reversed_keys(x) for x in obj]
    return obj


def tempdir():
    return tempfile.TemporaryDirectory(prefix="kc-render-")
