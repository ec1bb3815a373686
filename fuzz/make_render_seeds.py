#!/usr/bin/env python3
"""make_render_seeds.py: derive fuzz_render seeds from the pod fixtures.

The fixtures are real API pods, but none is eligible as it stands (no trigger
annotation, other node names) and their Secrets/ConfigMaps are not there. Each
seed here is one fixture made eligible for node "fuzz-node" and followed by
every Secret/ConfigMap it references (fake data, keys from items/env refs), as
one multi-document JSON stream, so the fuzzer starts from pods that render.

    fuzz/make_render_seeds.py tests/fixtures/pods fuzz/corpus/fuzz_render
"""
import base64
import json
import os
import sys


def pods_of(doc):
    if doc.get("kind") in ("PodList", "List") or "items" in doc:
        return [p for p in doc.get("items", []) if isinstance(p, dict)]
    return [doc]


def referenced(pod):
    """(kind, name) -> set of keys the pod reads."""
    refs = {}
    spec = pod.get("spec", {})

    def want(kind, name, key=None):
        keys = refs.setdefault((kind, name), set())
        if key:
            keys.add(key)

    for vol in spec.get("volumes", []):
        if "secret" in vol:
            s = vol["secret"]
            want("Secret", s.get("secretName", ""), None)
            for it in s.get("items", []):
                want("Secret", s.get("secretName", ""), it.get("key"))
        if "configMap" in vol:
            c = vol["configMap"]
            want("ConfigMap", c.get("name", ""), None)
            for it in c.get("items", []):
                want("ConfigMap", c.get("name", ""), it.get("key"))
        for src in vol.get("projected", {}).get("sources", []):
            for kind, field in (("Secret", "secret"), ("ConfigMap", "configMap")):
                if field in src:
                    want(kind, src[field].get("name", ""), None)
                    for it in src[field].get("items", []):
                        want(kind, src[field].get("name", ""), it.get("key"))
    for ctr in spec.get("containers", []) + spec.get("initContainers", []):
        for env in ctr.get("env", []):
            vf = env.get("valueFrom", {})
            if "secretKeyRef" in vf:
                want("Secret", vf["secretKeyRef"].get("name", ""), vf["secretKeyRef"].get("key"))
            if "configMapKeyRef" in vf:
                want("ConfigMap", vf["configMapKeyRef"].get("name", ""),
                     vf["configMapKeyRef"].get("key"))
        for ef in ctr.get("envFrom", []):
            if "secretRef" in ef:
                want("Secret", ef["secretRef"].get("name", ""), "FROM_SECRET")
            if "configMapRef" in ef:
                want("ConfigMap", ef["configMapRef"].get("name", ""), "FROM_CONFIGMAP")
    return refs


def object_for(kind, name, ns, keys):
    keys = sorted(keys) or ["ca.crt", "config.conf"]
    obj = {"apiVersion": "v1", "kind": kind, "metadata": {"name": name, "namespace": ns}}
    if kind == "Secret":
        obj["type"] = "Opaque"
        obj["data"] = {k: base64.b64encode(("value of " + k + "\n").encode()).decode() for k in keys}
    else:
        obj["data"] = {k: "value of " + k + "\n" for k in keys}
    return obj


def main():
    src, dst = sys.argv[1], sys.argv[2]
    for fname in sorted(os.listdir(src)):
        if not fname.endswith(".json"):
            continue
        with open(os.path.join(src, fname)) as f:
            doc = json.load(f)
        for i, pod in enumerate(pods_of(doc)):
            meta = pod.setdefault("metadata", {})
            meta.setdefault("annotations", {})["node.kubernetes.io/bootstrap-checkpoint"] = "true"
            meta.get("annotations", {}).pop("kubernetes.io/config.mirror", None)
            meta.pop("deletionTimestamp", None)
            meta.setdefault("namespace", "kube-system")
            meta.setdefault("uid", "0b6a2b3e-6c1f-4f7e-9a51-5a9d3f0c1e2%d" % i)
            pod.setdefault("spec", {})["nodeName"] = "fuzz-node"
            pod.setdefault("status", {})["phase"] = "Running"
            pod.setdefault("apiVersion", "v1")
            pod.setdefault("kind", "Pod")
            stream = [pod] + [object_for(k, n, meta["namespace"], keys)
                              for (k, n), keys in sorted(referenced(pod).items())]
            out = os.path.join(dst, "eligible-%s-%d.json" % (fname[:-5], i))
            with open(out, "w") as f:
                f.write("\n".join(json.dumps(d, indent=1, sort_keys=True) for d in stream) + "\n")


if __name__ == "__main__":
    main()
