#!/usr/bin/env python3
"""End-to-end: the `kubelet-checkpoint render` command line (docs/design.md §4).

-f repeatable and '-' / no -f for stdin, --node-name (checked when given,
spec.nodeName used for the '<name>-<node>' length otherwise), --state-dir
(where hostPath volumes point), --annotation and --namespace (render allows
every namespace unless --namespace is given), --help, output framing ('---'
between documents, in input order) and exit statuses.
"""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import render_support as rs  # noqa: E402

UID = "0f3c8a52-6d1e-4b7a-9c2d-1e2f3a4b5c6d"


def pod(name="agent", ns="kube-system", node="node-1", annotations=None, **spec):
    ann = {rs.TRIGGER: "true"} if annotations is None else annotations
    s = {"nodeName": node, "containers": [{"name": "c", "image": "img:1"}]}
    s.update(spec)
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "uid": UID, "annotations": ann},
            "spec": s}


class RenderCli(unittest.TestCase):
    def setUp(self):
        self.tmp = rs.tempdir()

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, name, obj):
        return rs.write_json(self.tmp.name, name, obj)

    def docs(self, out):
        path = os.path.join(self.tmp.name, "out.yaml")
        with open(path, "wb") as f:
            f.write(out)
        return rs.to_json(path)

    def test_help(self):
        rc, out, err = rs.run(["render", "--help"])
        self.assertEqual(rc, 0)
        text = out.decode()
        for word in ("-f", "--node-name", "--state-dir", "--annotation", "--namespace",
                     "every namespace"):
            self.assertIn(word, text)

    def test_stdin_and_files(self):
        a = json.dumps(pod("a")).encode()
        for args in ([], ["-f", "-"]):
            rc, out, err = rs.run(["render"] + args, stdin=a)
            self.assertEqual((rc, err), (0, ""))
            self.assertEqual([d["metadata"]["name"] for d in self.docs(out)], ["a"])
        fb = self.write("b.json", pod("b"))
        rc, out, err = rs.run(["render", "-f", "-", "-f", fb], stdin=a)
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out.count(b"\n---\n"), 1)
        self.assertEqual([d["metadata"]["name"] for d in self.docs(out)], ["a", "b"])
        rc, out2, err = rs.run(["render", "--filename", fb, "-f", "-"], stdin=a)
        self.assertEqual([d["metadata"]["name"] for d in self.docs(out2)], ["b", "a"])

    def test_node_name(self):
        f = self.write("p.json", pod(node="node-1"))
        self.assertEqual(rs.run(["render", "-f", f, "--node-name", "node-1"])[0], 0)
        rc, out, err = rs.run(["render", "-f", f, "--node-name", "node-2"])
        self.assertEqual((rc, out), (2, b""))
        self.assertIn("bound to node-1, not to this node (node-2)", err)
        self.assertEqual(rs.run(["render", "-f", f])[0], 0)
        # Without --node-name, spec.nodeName still bounds "<name>-<node>".
        long_name = ".".join(["a" * 60] * 4)  # 243 characters
        f = self.write("long.json", pod(name=long_name, node="node-0123456789"))
        rc, out, err = rs.run(["render", "-f", f])
        self.assertEqual(rc, 2, err)
        self.assertIn("would name the static pod", err)
        f = self.write("short.json", pod(name=long_name, node="n"))
        self.assertEqual(rs.run(["render", "-f", f])[0], 0)

    def test_state_dir(self):
        p = pod(volumes=[{"name": "certs", "secret": {"secretName": "tls"}}])
        secret = {"apiVersion": "v1", "kind": "Secret",
                  "metadata": {"name": "tls", "namespace": "kube-system"}, "data": {"k": "dg=="}}
        f = self.write("p.json", {"kind": "List", "items": [p, secret]})
        rc, out, err = rs.run(["render", "-f", f, "--state-dir", "/srv/kc"])
        self.assertEqual(rc, 0, err)
        vol = self.docs(out)[0]["spec"]["volumes"][0]
        self.assertEqual(vol, {"name": "certs", "hostPath": {
            "path": "/srv/kc/volumes/%s/certs" % UID, "type": "Directory"}})
        rc, out, err = rs.run(["render", "-f", f])
        self.assertIn("/var/lib/kubelet-checkpoint/volumes/", self.docs(out)[0]["spec"]["volumes"][0]
                      ["hostPath"]["path"])

    def test_annotation_and_namespace(self):
        p = pod(annotations={"example.com/keep": "true"})
        f = self.write("p.json", p)
        rc, out, err = rs.run(["render", "-f", f])
        self.assertEqual(rc, 2)
        self.assertIn("not selected for checkpointing", err)
        rc, out, err = rs.run(["render", "-f", f, "--annotation", "example.com/keep",
                               "--annotation", rs.TRIGGER])
        self.assertEqual(rc, 0, err)
        self.assertNotIn("example.com/keep", self.docs(out)[0]["metadata"]["annotations"])
        f = self.write("mon.json", pod(ns="monitoring"))
        self.assertEqual(rs.run(["render", "-f", f])[0], 0)
        rc, out, err = rs.run(["render", "-f", f, "--namespace", "kube-system"])
        self.assertEqual((rc, out), (2, b""))
        self.assertIn("monitoring is not an allowed namespace", err)
        self.assertEqual(rs.run(["render", "-f", f, "--namespace", "kube-system",
                                 "--namespace", "monitoring"])[0], 0)
        self.assertEqual(rs.run(["render", "-f", f, "--namespace", "*"])[0], 0)

    def test_multi_document_yaml_and_podlist(self):
        text = "---\n" + json.dumps(pod("a")) + "\n---\n# comment\n---\n" + json.dumps(
            {"kind": "PodList", "apiVersion": "v1",
             "items": [dict(pod("b"), kind=None), pod("c")]}) + "\n"
        rc, out, err = rs.run(["render"], stdin=text.encode())
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual([d["metadata"]["name"] for d in self.docs(out)], ["a", "b", "c"])

    def test_not_checkpointable_and_ineligible_exit_2(self):
        f = self.write("p.json", {"kind": "List", "items": [
            pod("a", volumes=[{"name": "d", "csi": {"driver": "x"}}]),
            pod("b", annotations={rs.TRIGGER: "true", "kubernetes.io/config.mirror": "h"})]})
        rc, out, err = rs.run(["render", "-f", f])
        self.assertEqual((rc, out), (2, b""))
        lines = err.strip().split("\n")
        self.assertEqual(len(lines), 2)
        self.assertIn("items[0]: pod kube-system/a: spec.volumes[0]: csi", lines[0])
        self.assertIn("items[1]: pod kube-system/b: metadata.annotations.kubernetes.io/config.mirror",
                      lines[1])

    def test_kubernetes_135_projected_sources_exit_2(self):
        """podCertificate and clusterTrustBundle need the API: refused, reason named."""
        cert = {"podCertificate": {"signerName": "example.com/s", "keyType": "ED25519",
                                   "credentialBundlePath": "cred.pem"}}
        bundle = {"clusterTrustBundle": {"signerName": "example.com/s", "path": "ca.pem"}}
        f = self.write("p.json", {"kind": "List", "items": [
            pod("a", volumes=[{"name": "id", "projected": {"sources": [
                {"downwardAPI": {"items": [{"path": "n", "fieldRef": {
                    "fieldPath": "metadata.name"}}]}}, cert]}}]),
            pod("b", volumes=[{"name": "ca", "projected": {"sources": [bundle]}}])]})
        rc, out, err = rs.run(["render", "-f", f])
        self.assertEqual((rc, out), (2, b""))
        lines = err.strip().split("\n")
        self.assertEqual(len(lines), 2, err)
        self.assertIn("items[0]: pod kube-system/a: spec.volumes[0]: "
                      "projected.sources[1].podCertificate: ", lines[0])
        self.assertIn("PodCertificateRequest", lines[0])
        self.assertIn("items[1]: pod kube-system/b: spec.volumes[0]: "
                      "projected.sources[0].clusterTrustBundle: ", lines[1])
        self.assertIn("ClusterTrustBundle objects from the API", lines[1])
        rc, out, err = rs.run(["render", "--report", "-o", "json", "-f", f])
        self.assertEqual((rc, err), (0, ""))
        rows = json.loads(out)
        self.assertEqual([r["checkpointable"] for r in rows], [False, False])
        self.assertIn("PodCertificateRequest", rows[0]["reason"])

    def fleet_list(self):
        """A cluster-wide List as kubectl prints it: pods first, the Secret after."""
        secret_user = pod("d", volumes=[{"name": "s", "secret": {"secretName": "tls"}}])
        return {"kind": "List", "apiVersion": "v1", "metadata": {}, "items": [
            pod("a"),
            pod("b", volumes=[{"name": "d", "csi": {"driver": "x"}}]),
            pod("c", volumes=[{"name": "s", "secret": {"secretName": "absent"}}]),
            secret_user,
            pod("e", annotations={}),
            {"kind": "Secret", "apiVersion": "v1",
             "metadata": {"name": "tls", "namespace": "kube-system"}, "data": {"k": "dg=="}},
        ]}

    def test_keep_going_renders_what_it_can(self):
        f = self.write("all.json", self.fleet_list())
        rc, out, err = rs.run(["render", "--keep-going", "-f", f])
        self.assertEqual(rc, 2)
        # The Secret listed after its pod is found: items are indexed first.
        self.assertEqual([d["metadata"]["name"] for d in self.docs(out)],
                         ["a", "d"])
        lines = err.strip().split("\n")
        self.assertEqual(len(lines), 4, err)
        self.assertIn("items[1]: pod kube-system/b: spec.volumes[0]: csi", lines[0])
        self.assertIn("items[2]: pod kube-system/c:", lines[1])
        self.assertIn("absent", lines[1])
        self.assertIn("items[4]: pod kube-system/e:", lines[2])
        self.assertIn("3 of 5 pods not rendered", lines[3])
        # Without --keep-going: all or nothing, the same four reasons.
        rc, out, err = rs.run(["render", "-f", f])
        self.assertEqual((rc, out), (2, b""))
        self.assertEqual(len(err.strip().split("\n")), 3)

    def test_report(self):
        f = self.write("all.json", self.fleet_list())
        rc, out, err = rs.run(["render", "--report", "-o", "json", "-f", f])
        self.assertEqual((rc, err), (0, ""))
        rows = json.loads(out)
        self.assertEqual([(r["name"], r["checkpointable"]) for r in rows],
                         [("a", True), ("b", False), ("c", False), ("d", True), ("e", False)])
        self.assertIsNone(rows[0]["reason"])
        self.assertIn("csi", rows[1]["reason"])
        self.assertEqual(rows[0]["namespace"], "kube-system")
        self.assertIsInstance(rows[0]["warnings"], list)
        rc, out, err = rs.run(["render", "--report", "-f", f])
        self.assertEqual((rc, err), (0, ""))
        text = out.decode()
        self.assertIn("NAMESPACE", text.splitlines()[0])
        self.assertRegex(text, r"kube-system\s+b\s+no\s+spec.volumes\[0\]: csi")
        self.assertIn("5 pods: 2 checkpointable, 3 not", text)
        self.assertEqual(rs.run(["render", "-o", "json", "-f", f])[0], 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
