#!/usr/bin/env python3
"""End-to-end: `kubelet-checkpoint render` over every pod fixture.

For every fixture file (Pod, PodList, List; JSON and YAML) each pod gets the
trigger annotation, a node name and plausible Secrets/ConfigMaps for what it
references. Then the real binary must:
  - refuse mirror pods (11-14), the terminating pod (08), finished pods
    (20, 21) and the PVC pod (17), with the reason, exit 2, nothing on stdout;
  - render every other pod (exit 0), and the output must pass the project's
    rule checker (kc_render_tool check, with the source pod), an independent
    re-check of the main rules written here in Python, and the real Kubernetes
    schema (tests/schema/validate.mjs, npm kubernetes-models);
  - give byte-identical output on a second run, for YAML instead of JSON
    input, for the input split over two -f files, and with every mapping's keys
    in reverse order.
Variants of the refused pods with the blocker removed (PVC -> emptyDir,
deletionTimestamp dropped, phase Running) must render too: they carry the
fixtures' envFrom, secretKeyRef and kube-api-access volumes. Those that take
Secret values into env are refused (the mirror pod would publish them) until
the pod carries kubelet-checkpoint/inline-secret-env: "true".
YAML output is turned into JSON by the project's codec; when PyYAML is
installed the same output is also read by it and must give the same objects.
"""
import copy
import json
import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import render_support as rs  # noqa: E402

STATE = "/var/lib/kubelet-checkpoint"

# Fixture number -> reason the pod must be refused with (all others render).
REFUSED = {
    "08": "being deleted",
    "11": "mirror pod",
    "12": "mirror pod",
    "13": "mirror pod",
    "14": "mirror pod",
    "17": "persistentVolumeClaim",
    "20": "has finished",
    "21": "has finished",
}

FORBIDDEN_SPEC_WORDS = ("secretKeyRef", "configMapKeyRef", "envFrom", "serviceAccountName",
                        "imagePullSecrets", "persistentVolumeClaim", "serviceAccountToken",
                        "\"secret\"", "\"configMap\"")
DROPPED_SPEC_KEYS = ("nodeName", "nodeSelector", "affinity", "schedulingGates",
                     "ephemeralContainers", "resourceClaims", "serviceAccount")

INLINE_SECRET_ENV = "kubelet-checkpoint/inline-secret-env"


def uses_secret_env(pod):
    """Whether a container takes a Secret value into its environment."""
    for c in pod["spec"].get("initContainers", []) + pod["spec"]["containers"]:
        if any("secretKeyRef" in (e.get("valueFrom") or {}) for e in c.get("env") or []):
            return True
        if any("secretRef" in e for e in c.get("envFrom") or []):
            return True
    return False


try:
    import yaml  # optional: an independent YAML reader for the cross-check
except ImportError:  # pragma: no cover
    yaml = None


def yaml_stream(docs):
    """A multi-document YAML stream (flow style is YAML too)."""
    return "".join("---\n%s\n" % json.dumps(d) for d in docs)


def independent_check(test, manifest, source):
    """Main rules of docs/design.md §5, re-derived here without the C checker."""
    test.assertEqual(manifest["apiVersion"], "v1")
    test.assertEqual(manifest["kind"], "Pod")
    test.assertEqual(set(manifest), {"apiVersion", "kind", "metadata", "spec"})
    meta, smeta = manifest["metadata"], source["metadata"]
    test.assertLessEqual(set(meta), {"name", "namespace", "labels", "annotations"})
    test.assertEqual(meta["name"], smeta["name"])
    test.assertEqual(meta["namespace"], smeta["namespace"])
    ann = meta["annotations"]
    test.assertEqual(ann["kubelet-checkpoint/checkpoint-of"],
                     "%s/%s" % (smeta["namespace"], smeta["name"]))
    test.assertEqual(ann["kubelet-checkpoint/source-uid"], smeta["uid"])
    test.assertNotIn(rs.TRIGGER, ann)
    test.assertFalse([k for k in ann if k.startswith("kubernetes.io/config.")])
    for k in ("controller-revision-hash", "pod-template-generation", "pod-template-hash"):
        test.assertNotIn(k, meta.get("labels", {}))
    for k, v in (smeta.get("labels") or {}).items():
        if k not in ("controller-revision-hash", "pod-template-generation", "pod-template-hash"):
            test.assertEqual(meta["labels"][k], v)
    spec, sspec = manifest["spec"], source["spec"]
    text = json.dumps(spec)
    for word in FORBIDDEN_SPEC_WORDS:
        test.assertNotIn(word, text)
    for key in DROPPED_SPEC_KEYS:
        test.assertNotIn(key, spec)
    test.assertIs(spec["automountServiceAccountToken"], False)
    for k in ("tolerations", "priority", "priorityClassName", "preemptionPolicy"):
        test.assertEqual(spec.get(k), sspec.get(k), k)
    containers = (spec.get("initContainers") or []) + spec["containers"]
    test.assertEqual(len(containers),
                     len((sspec.get("initContainers") or []) + sspec["containers"]))
    materialised = set()
    svols = {v["name"]: v for v in sspec.get("volumes") or []}
    for v in spec.get("volumes") or []:
        sv = svols[v["name"]]
        if "secret" in sv or "configMap" in sv or (
                "projected" in sv and any(set(s) - {"downwardAPI"}
                                          for s in sv["projected"]["sources"])):
            materialised.add(v["name"])
            test.assertEqual(v["hostPath"], {
                "path": "%s/volumes/%s/%s" % (STATE, smeta["uid"], v["name"]),
                "type": "Directory"})
        else:
            test.assertEqual(v, sv)
    test.assertEqual(set(svols), {v["name"] for v in spec.get("volumes") or []})
    for c in containers:
        test.assertNotEqual(c.get("imagePullPolicy"), "Always")
        if spec.get("hostNetwork"):
            test.assertNotIn("ports", c)
        for m in c.get("volumeMounts") or []:
            if m["name"] in materialised:
                test.assertIs(m.get("readOnly"), True)


class RenderFixtures(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = rs.tempdir()
        cls.dir = cls.tmp.name
        cls.schema_files = []
        cls.rendered = 0

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def render_files(self, files, extra=()):
        args = ["render", "--node-name", rs.NODE, "--state-dir", STATE]
        for f in files:
            args += ["-f", f]
        return rs.run(args + list(extra))

    def assert_renders(self, tag, pod, objs):
        """pod must render; checks rules, schema input, determinism."""
        src = rs.write_json(self.dir, tag + ".in.json", {"kind": "List", "items": [pod] + objs})
        rc, out, err = self.render_files([src])
        self.assertEqual(rc, 0, "%s: %s" % (tag, err))
        self.assertEqual(err, "")
        out_path = os.path.join(self.dir, tag + ".out.yaml")
        with open(out_path, "wb") as f:
            f.write(out)
        # (a) the project's rule checker, with the source pod.
        crc, cout, cerr = rs.tool(["check", out_path, src])
        self.assertEqual(crc, 0, "%s: rule checker:\n%s%s" % (tag, cout, cerr))
        docs = rs.to_json(out_path)
        self.assertEqual(len(docs), 1)
        independent_check(self, docs[0], pod)
        if yaml is not None:
            self.assertEqual(list(yaml.safe_load_all(out.decode())), docs, tag)
        self.schema_files.append(rs.write_json(self.dir, tag + ".out.json", docs))
        # Same bytes: again, from YAML, split over two files, keys reversed.
        self.assertEqual(self.render_files([src])[1], out, tag + ": second run")
        ysrc = os.path.join(self.dir, tag + ".in.yaml")
        with open(ysrc, "w") as f:
            f.write(yaml_stream([pod] + objs))
        self.assertEqual(self.render_files([ysrc]), (0, out, ""), tag + ": YAML input")
        psrc = rs.write_json(self.dir, tag + ".pod.json", pod)
        osrc = os.path.join(self.dir, tag + ".objs.yaml")
        with open(osrc, "w") as f:
            f.write(yaml_stream(objs) if objs else "---\n{kind: List, items: []}\n")
        self.assertEqual(self.render_files([osrc, psrc]), (0, out, ""), tag + ": two files")
        rsrc = rs.write_json(self.dir, tag + ".rev.json",
                             rs.reversed_keys({"kind": "List", "items": objs + [pod]}))
        self.assertEqual(self.render_files([rsrc]), (0, out, ""), tag + ": key order")
        type(self).rendered += 1
        return docs[0], src

    def assert_refused(self, tag, pod, objs, reason):
        src = rs.write_json(self.dir, tag + ".in.json", {"kind": "List", "items": [pod] + objs})
        rc, out, err = self.render_files([src])
        self.assertEqual(rc, 2, "%s: %s" % (tag, err))
        self.assertEqual(out, b"")
        lines = err.strip().split("\n")
        self.assertEqual(len(lines), 1, err)
        self.assertIn(reason, lines[0])
        self.assertIn(pod["metadata"]["name"], lines[0])

    def test_every_fixture(self):
        files = rs.fixture_files()
        self.assertGreaterEqual(len(files), 16)
        seen_refusals = set()
        for name in files:
            number = name[:2]
            pods = rs.pods_of(rs.to_json(os.path.join(rs.FIXTURES, name)))
            self.assertTrue(pods, name)
            prepared = []
            for i, raw in enumerate(pods):
                pod = rs.annotate(raw)
                objs = rs.make_objects(pod)
                prepared.append((pod, objs))
                tag = "%s-%d" % (name.rsplit(".", 1)[0], i)
                with self.subTest(fixture=name, pod=i):
                    if number in REFUSED:
                        self.assert_refused(tag, pod, objs, REFUSED[number])
                        seen_refusals.add(number)
                    else:
                        self.assert_renders(tag, pod, objs)
            # The whole file at once: all-or-nothing.
            with self.subTest(fixture=name, whole=True):
                items = [p for p, _ in prepared] + [o for _, objs in prepared for o in objs]
                src = rs.write_json(self.dir, name + ".all.json", {"kind": "List", "items": items})
                rc, out, err = self.render_files([src])
                if number in REFUSED:
                    self.assertEqual((rc, out), (2, b""), err)
                else:
                    self.assertEqual(rc, 0, err)
                    self.assertEqual(out.count(b"\n---\n") + 1, len(pods))
        self.assertEqual(seen_refusals, set(REFUSED))

    def test_unblocked_variants(self):
        """The refused pods minus their blocker render, exercising their references."""
        def load(prefix):
            name = [f for f in rs.fixture_files() if f.startswith(prefix)][0]
            return rs.annotate(rs.pods_of(rs.to_json(os.path.join(rs.FIXTURES, name)))[0])

        def with_secret_env_allowed(tag, pod):
            """Secret values in env: refused (issue 9) until the owner opts in."""
            if not uses_secret_env(pod):
                return pod
            self.assert_refused(tag + "-secret-env", pod, rs.make_objects(pod),
                                "inline-secret-env")
            pod = copy.deepcopy(pod)
            pod["metadata"]["annotations"][INLINE_SECRET_ENV] = "true"
            return pod

        sap = load("17")
        sap["spec"]["volumes"] = [{"name": v["name"], "emptyDir": {}}
                                  if "persistentVolumeClaim" in v else v
                                  for v in sap["spec"]["volumes"]]
        self.assertTrue(uses_secret_env(sap))
        sap = with_secret_env_allowed("17-unblocked", sap)
        manifest, _ = self.assert_renders("17-unblocked", sap, rs.make_objects(sap))
        env = {e["name"]: e for c in manifest["spec"]["containers"] for e in c.get("env", [])}
        self.assertIn("ENV_FROM_CM", env)
        self.assertIn("SHARED", env)
        self.assertNotIn("9lives", env)
        self.assertTrue(all("$(HOME)" not in e.get("value", "") or "$$(HOME)" in e["value"]
                            for e in env.values()))
        for variant, edit in (("08", lambda p: p["metadata"].pop("deletionTimestamp")),
                              ("20", lambda p: p["status"].update(phase="Running")),
                              ("21", lambda p: (p["status"].update(phase="Running"),
                                                p["metadata"].pop("deletionTimestamp")))):
            pod = load(variant)
            edit(pod)
            pod = with_secret_env_allowed(variant + "-unblocked", pod)
            manifest, src = self.assert_renders(variant + "-unblocked", pod, rs.make_objects(pod))
            text = json.dumps(manifest)
            self.assertNotIn("secretKeyRef", text)

    def test_kube_api_access_plan(self):
        """kube-api-access: hostPath with ca.crt and namespace, no token."""
        name = [f for f in rs.fixture_files() if f.startswith("04")][0]
        pod = rs.annotate(rs.pods_of(rs.to_json(os.path.join(rs.FIXTURES, name)))[0])
        src = rs.write_json(self.dir, "04-plan.json", {"kind": "List",
                                                       "items": [pod] + rs.make_objects(pod)})
        rc, out, err = rs.tool(["plan", src])
        self.assertEqual(rc, 0, out + err)
        plan = json.loads(out)[0]
        vols = {v["name"]: v for v in plan["volumes"]}
        access = [v for n, v in vols.items() if n.startswith("kube-api-access")]
        self.assertEqual(len(access), 1)
        files = {f["path"]: f for f in access[0]["files"]}
        self.assertEqual(set(files), {"ca.crt", "namespace"})
        self.assertEqual(files["ca.crt"]["data"], rs.CA_PEM)
        self.assertEqual(files["namespace"]["data"], pod["metadata"]["namespace"])

    def test_zz_schema(self):
        """Every rendered manifest passes the real Kubernetes schema."""
        if not self.schema_files:
            self.skipTest("run with the other tests")
        node = shutil.which("node")
        self.assertIsNotNone(node, "node is required (scripts/setup.sh --test)")
        script = os.path.join(rs.SOURCE_DIR, "tests", "schema", "validate.mjs")
        p = subprocess.run([node, script] + self.schema_files, capture_output=True, text=True,
                           timeout=300)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(p.stdout.count(": OK"), len(self.schema_files))
        self.assertGreaterEqual(self.rendered, 12)


if __name__ == "__main__":
    unittest.main(verbosity=2)
