#!/usr/bin/env python3
"""Writes the render benchmark's inputs: one JSON file per renderable pod of
the fixture corpus (trigger annotation, node name, generated Secrets and
ConfigMaps: the same derivation as tests/e2e/test_render_fixtures.py), plus
the refused fixtures with their blocker removed. Also block-style YAML copies
when PyYAML is installed.

usage: make_render_inputs.py OUTDIR [KC_RENDER_TOOL]
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
if len(sys.argv) > 2:
    os.environ["KC_RENDER_TOOL"] = sys.argv[2]
import render_support as rs  # noqa: E402

BLOCKED = {"08", "11", "12", "13", "14", "17", "20", "21"}
MIRROR = {"11", "12", "13", "14"}

try:
    import yaml
except ImportError:
    yaml = None


def unblock(pod):
    pod["metadata"].pop("deletionTimestamp", None)
    pod.setdefault("status", {})["phase"] = "Running"
    pod["spec"]["volumes"] = [{"name": v["name"], "emptyDir": {}}
                              if "persistentVolumeClaim" in v else v
                              for v in pod["spec"].get("volumes") or []]
    return pod


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    n = 0
    for name in rs.fixture_files():
        if name[:2] in MIRROR:
            continue
        for i, raw in enumerate(rs.pods_of(rs.to_json(os.path.join(rs.FIXTURES, name)))):
            pod = rs.annotate(raw)
            # The owner allows Secret values in env to be inlined (else refused).
            pod["metadata"].setdefault("annotations", {})[
                "kubelet-checkpoint/inline-secret-env"] = "true"
            if name[:2] in BLOCKED:
                pod = unblock(pod)
            doc = {"apiVersion": "v1", "kind": "List", "items": [pod] + rs.make_objects(pod)}
            base = os.path.join(out, "%s-%d" % (name.rsplit(".", 1)[0], i))
            with open(base + ".json", "w") as f:
                json.dump(doc, f)
            if yaml is not None:
                with open(base + ".yaml", "w") as f:
                    yaml.safe_dump(doc, f, sort_keys=False)
            n += 1
    print("%d pods -> %s%s" % (n, out, "" if yaml else " (JSON only: no PyYAML)"))


if __name__ == "__main__":
    main()
