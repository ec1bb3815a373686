#!/usr/bin/env python3
"""Writes one cluster-wide List, as `kubectl get pods,secrets,configmaps -A -o
json` would print it, for the render benchmark at fleet scale: N pods (the
inputs of make_render_inputs.py, repeated under new names and UIDs) followed
by the Secrets and ConfigMaps they reference, once each.

usage: make_fleet_list.py INPUT_DIR N OUT.json
"""
import json
import os
import sys


def main():
    indir, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    sources = []
    for name in sorted(os.listdir(indir)):
        if name.endswith(".json"):
            with open(os.path.join(indir, name)) as f:
                sources.append(json.load(f))
    pods, objects, seen = [], [], set()
    for i in range(n):
        for item in sources[i % len(sources)]["items"]:
            meta = item["metadata"]
            if item.get("kind", "Pod") == "Pod":
                pod = json.loads(json.dumps(item))
                pod["kind"], pod["apiVersion"] = "Pod", "v1"
                pod["metadata"]["name"] = "p%d-%s" % (i, meta["name"])
                # Every pod renders: its owner allows Secret values in env.
                pod["metadata"].setdefault("annotations", {})[
                    "kubelet-checkpoint/inline-secret-env"] = "true"
                pod["metadata"]["uid"] = "00000000-0000-4000-8000-%012d" % (100000 + i)
                pods.append(pod)
            elif (item["kind"], meta.get("namespace"), meta["name"]) not in seen:
                seen.add((item["kind"], meta.get("namespace"), meta["name"]))
                objects.append(item)
    with open(out, "w") as f:
        json.dump({"kind": "List", "apiVersion": "v1", "metadata": {"resourceVersion": ""},
                   "items": pods + objects}, f, indent=4)
    print("%s: %d pods, %d objects, %d bytes" % (out, len(pods), len(objects),
                                                  os.path.getsize(out)))


if __name__ == "__main__":
    main()
