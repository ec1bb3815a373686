#!/usr/bin/env python3
"""End-to-end: hostile input to `kubelet-checkpoint render`.

Every file of tests/hostile/ (see make_corpus.py: malformed JSON/YAML,
duplicate keys, an alias bomb, binary garbage, NUL bytes, deep nesting,
hostile names and paths, empty input...) and a few generated ones (a manifest
over the kubelet's 10 MiB limit, an input over the 64 MiB cap) must make the
binary exit 2 (never a signal), print exactly one line on stderr naming the
problem, print nothing on stdout and create no file anywhere (it runs in an
empty working directory with an empty --state-dir).
"""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import render_support as rs  # noqa: E402

CORPUS = os.path.join(rs.SOURCE_DIR, "tests", "hostile")


def pod_with_env(value_len):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "big", "namespace": "kube-system",
                         "uid": "0f3c8a52-6d1e-4b7a-9c2d-1e2f3a4b5c6d",
                         "annotations": {rs.TRIGGER: "true"}},
            "spec": {"nodeName": "node-1", "containers": [{"name": "c", "image": "i",
                                     "env": [{"name": "BIG", "value": "x" * value_len}]}]}}


class RenderHostile(unittest.TestCase):
    def setUp(self):
        self.tmp = rs.tempdir()
        self.state = os.path.join(self.tmp.name, "state")
        self.cwd = os.path.join(self.tmp.name, "cwd")
        os.mkdir(self.state)
        os.mkdir(self.cwd)

    def tearDown(self):
        self.tmp.cleanup()

    def refuse(self, args, needle, stdin=None, what=""):
        cmd = [rs.BINARY, "render", "--node-name", "node-1", "--state-dir", self.state] + args
        import subprocess
        p = subprocess.run(cmd, input=stdin, capture_output=True, cwd=self.cwd, timeout=120)
        err = p.stderr.decode("utf-8", "replace")
        self.assertFalse(rs.is_signal(p.returncode), "%s: crashed (%d): %s" % (what, p.returncode, err))
        self.assertEqual(p.returncode, 2, "%s: %s" % (what, err))
        self.assertEqual(p.stdout, b"", what)
        lines = err.rstrip("\n").split("\n")
        self.assertEqual(len(lines), 1, "%s: want one line, got: %s" % (what, err))
        self.assertTrue(lines[0].startswith("kubelet-checkpoint: render: "), lines[0])
        self.assertIn(needle, lines[0], what)
        self.assertLess(len(lines[0]), 1500)
        self.assertEqual(os.listdir(self.state), [], what)
        self.assertEqual(os.listdir(self.cwd), [], what)

    def test_corpus(self):
        with open(os.path.join(CORPUS, "EXPECTED.json")) as f:
            expected = json.load(f)
        files = sorted(f for f in os.listdir(CORPUS) if f not in ("EXPECTED.json", "make_corpus.py"))
        self.assertEqual(files, sorted(expected), "corpus and EXPECTED.json disagree")
        self.assertGreaterEqual(len(files), 40)
        for name in files:
            with self.subTest(file=name):
                self.refuse(["-f", os.path.join(CORPUS, name)], expected[name], what=name)

    def test_corpus_on_stdin(self):
        for name in ("malformed.yaml", "alias-bomb.yaml", "binary-garbage.bin", "name-dotdot.yaml",
                     "deep-nesting.json"):
            with self.subTest(file=name):
                with open(os.path.join(CORPUS, name), "rb") as f:
                    data = f.read()
                needle = "<stdin>" if name != "name-dotdot.yaml" else "metadata.name"
                self.refuse(["-f", "-"], needle, stdin=data, what=name)
                self.refuse([], needle, stdin=data, what=name + " (no -f)")

    def test_empty_stdin(self):
        self.refuse([], "empty input", stdin=b"")

    def test_manifest_over_10_mib(self):
        path = os.path.join(self.tmp.name, "big.json")
        with open(path, "w") as f:
            json.dump(pod_with_env(10 * 1024 * 1024 + 1), f)
        self.refuse(["-f", path], "10 MiB")

    def test_input_over_cap(self):
        path = os.path.join(self.tmp.name, "huge.yaml")
        with open(path, "wb") as f:
            f.write(b"#" * (64 * 1024 * 1024 + 1))
        self.refuse(["-f", path], "huge.yaml")

    def test_missing_file(self):
        self.refuse(["-f", os.path.join(self.tmp.name, "nope.yaml")], "nope.yaml")

    def test_one_bad_pod_spoils_the_output(self):
        """All or nothing: a good pod beside a bad one prints nothing."""
        good = pod_with_env(3)
        bad = pod_with_env(3)
        bad["metadata"]["name"] = "../evil"
        path = os.path.join(self.tmp.name, "mixed.json")
        with open(path, "w") as f:
            json.dump({"kind": "List", "items": [good, bad]}, f)
        self.refuse(["-f", path], "items[1]: pod kube-system/../evil")
        rc, out, err = rs.run(["render", "-f", path, "-f", path])
        self.assertEqual((rc, out), (2, b""))
        self.assertEqual(len(err.strip().split("\n")), 2, "one line per problem")

    def test_bad_usage(self):
        for args, needle in ((["--bogus"], "bad option"), (["extra"], "unexpected argument"),
                             (["--state-dir", "relative"], "absolute")):
            with self.subTest(args=args):
                rc, out, err = rs.run(["render"] + args, stdin=b"")
                self.assertEqual((rc, out), (2, b""), err)
                self.assertIn(needle, err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
