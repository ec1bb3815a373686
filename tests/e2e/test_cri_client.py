"""test_cri_client.py: the CRI client (src/node/cri_client.c) against the
fake runtime of tests/fakecri (real gRPC over HTTP/2 on a unix socket):
sandboxes with their uid, name, namespace and state; containers with their
pod uid, state, creation time and type; many calls on one client; the faults
(socket absent, a hung runtime bounded by the deadline, an answer that comes
after the deadline, UNIMPLEMENTED, something that is not gRPC on the socket,
4 million empty sandboxes refused by the item cap, a socket or directory not
owned by root refused unless named)."""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("KC_SOURCE_DIR", os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "fakecri"))
from fakecri import FakeCRI  # noqa: E402
from agent_env import sanitized  # noqa: E402

PROBE = os.environ.get("KC_CRI_PROBE", "")
UID1 = "00000000-0000-4000-8000-000000000001"
UID2 = "00000000-0000-4000-8000-000000000002"


def probe(endpoint, what="list", n=1, found=False):
    p = subprocess.run(["/usr/bin/time", "-f", "maxrss_kb=%M", PROBE, endpoint, what, str(n)]
                       + (["found"] if found else []),
                       capture_output=True, text=True, timeout=60)
    return [json.loads(line) for line in p.stdout.splitlines()], p


def maxrss_kb(p):
    for line in p.stderr.splitlines():
        if line.startswith("maxrss_kb="):
            return int(line.split("=", 1)[1])
    raise AssertionError("no maxrss in %r" % p.stderr)


@unittest.skipUnless(PROBE, "KC_CRI_PROBE not set (run through ctest)")
class CRIClient(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="kc-cri-")
        self.sock = os.path.join(self.dir, "containerd.sock")
        self.endpoint = "unix://" + self.sock
        self.cri = None

    def tearDown(self):
        if self.cri is not None:
            self.cri.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_lists_sandboxes_with_uid_name_namespace_state(self):
        self.cri = FakeCRI(self.sock)
        self.cri.add(UID1, "agent-x", "kube-system", ready=True)
        self.cri.add(UID2, "web", "default", ready=False)
        out, p = probe(self.endpoint)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(out[0]["rc"], "OK")
        self.assertEqual(out[0]["grpc"], 0)
        got = sorted((s["uid"], s["name"], s["namespace"], s["ready"])
                     for s in out[0]["sandboxes"])
        self.assertEqual(got, [(UID1, "agent-x", "kube-system", True),
                               (UID2, "web", "default", False)])

    def test_empty_list_and_plain_path_endpoint(self):
        self.cri = FakeCRI(self.sock)
        out, p = probe(self.sock)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(out[0]["sandboxes"], [])

    def test_version(self):
        self.cri = FakeCRI(self.sock)
        out, p = probe(self.endpoint, "version")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(out[0]["version"], "fakecri 1.0.0 (CRI v1)")

    def test_many_calls_follow_changes(self):
        self.cri = FakeCRI(self.sock)
        self.cri.add(UID1, "a", "kube-system")
        out, p = probe(self.endpoint, "list", 20)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(out), 20)
        self.assertTrue(all(o["rc"] == "OK" and len(o["sandboxes"]) == 1 for o in out))
        self.assertEqual(self.cri.calls(), 20)

    def test_big_list_is_whole_and_fast(self):
        """A node's worth of sandboxes (a reply over libcurl's default 16 KiB buffer, which
        stalled Debian's libcurl 200 ms per call, sometimes up to the deadline)."""
        self.cri = FakeCRI(self.sock)
        for i in range(250):
            self.cri.state["sandboxes"].append({
                "id": "sb%04d" % i, "uid": "00000000-0000-4000-8000-%012d" % i,
                "name": "pod-%d" % i, "namespace": "kube-system", "ready": i % 2 == 0})
        self.cri._write()
        out, p = probe(self.endpoint, "list", 10)
        self.assertEqual(p.returncode, 0, p.stderr)
        for o in out:
            self.assertEqual(o["rc"], "OK", o.get("error"))
            self.assertEqual(len(o["sandboxes"]), 250)
            self.assertEqual(sum(1 for s in o["sandboxes"] if s["ready"]), 125)
        self.assertLess(sorted(o["ms"] for o in out)[5], 100)

    def test_lists_containers_with_uid_state_creation_and_type(self):
        self.cri = FakeCRI(self.sock)
        t = 1_700_000_000_123_456_789
        self.cri.add(UID1, "a", "kube-system", containers=[
            {"name": "main", "state": "running", "created_ns": t},
            {"name": "init", "state": "exited", "created_ns": t - 5, "type": "init"}])
        self.cri.add(UID2, "b", "default", containers=[
            {"name": "old", "state": "created", "created_ns": 7, "type": None}])
        out, p = probe(self.endpoint, "containers")
        self.assertEqual(p.returncode, 0, p.stderr)
        got = sorted((c["uid"], c["name"], c["state"], c["created_ns"], c["regular"])
                     for c in out[0]["containers"])
        # States as the CRI numbers them: CREATED 0, RUNNING 1, EXITED 2.
        self.assertEqual(got, [(UID1, "init", 2, t - 5, False),
                               (UID1, "main", 1, t, True),
                               (UID2, "old", 0, 7, True)])

    def test_many_items_are_refused_fast_and_small(self):
        """Issue 19 finding 11: 4 million empty sandboxes (8 MB) took 1.55 GB and ~1.5 s
        a call; the item cap refuses the reply before decoding it."""
        self.cri = FakeCRI(self.sock)
        self.cri.state["many"] = 4_000_000
        self.cri.set_fault("many")
        out, p = probe(self.endpoint, "list", 3)
        self.assertEqual(p.returncode, 1)
        for o in out:
            self.assertEqual(o["rc"], "ETOOBIG", o)
            self.assertIn("more than 16384 items", o["error"])
        # The answer takes the fake runtime a while to send; the agent's part is small.
        if not sanitized(PROBE):  # ASan's shadow memory is no decoding
            self.assertLess(maxrss_kb(p), 48 * 1024, "decoding was not bounded")
        sys.stderr.write("\n4M sandboxes: %s ms per call, maxrss %d KiB\n"
                         % ([o["ms"] for o in out], maxrss_kb(p)))

    def test_decoding_memory_is_capped(self):
        """One sandbox of 4 million empty labels passes the item cap; protobuf-c would take
        ~200 MB to decode it."""
        self.cri = FakeCRI(self.sock)
        self.cri.set_fault("labels")
        out, p = probe(self.endpoint)
        self.assertEqual(out[0]["rc"], "ETOOBIG", out[0])
        self.assertIn("to decode (the cap)", out[0]["error"])
        if not sanitized(PROBE):
            self.assertLess(maxrss_kb(p), 64 * 1024)

    def test_a_few_items_over_the_cap_are_refused(self):
        self.cri = FakeCRI(self.sock)
        self.cri.state["many"] = 16385
        self.cri.set_fault("many")
        out, p = probe(self.endpoint)
        self.assertEqual(out[0]["rc"], "ETOOBIG")
        self.cri.state["many"] = 16384
        self.cri.set_fault("many")
        out, p = probe(self.endpoint)
        self.assertEqual(out[0]["rc"], "OK", out[0].get("error"))
        self.assertEqual(len(out[0]["sandboxes"]), 16384)

    def test_an_answer_after_the_deadline_is_a_timeout(self):
        self.cri = FakeCRI(self.sock)
        self.cri.state["slow_s"] = 1.3
        self.cri.set_fault("slow")
        out, p = probe(self.endpoint, "containers")
        self.assertEqual(out[0]["rc"], "ENET", out[0])
        self.assertLess(out[0]["ms"], 1300)

    def test_socket_not_owned_by_root_is_refused_unless_named(self):
        """Issue 19 finding 13: a socket of nobody was believed."""
        self.cri = FakeCRI(self.sock)
        os.chown(self.sock, 65534, 65534)
        out, p = probe(self.endpoint, "list", 1, found=True)
        self.assertEqual(out[0]["rc"], "EINVAL")
        self.assertIn("owned by uid 65534, not root", out[0]["error"])
        out, p = probe(self.endpoint, "list", 1)  # named by the user
        self.assertEqual(out[0]["rc"], "OK", out[0].get("error"))

    def test_directory_others_may_write_is_refused_unless_named(self):
        self.cri = FakeCRI(self.sock)
        os.chmod(self.dir, 0o777)
        out, p = probe(self.endpoint, "list", 1, found=True)
        self.assertEqual(out[0]["rc"], "EINVAL")
        self.assertIn("writable by others", out[0]["error"])
        os.chmod(self.dir, 0o1777)  # sticky, root's: nobody else may replace root's socket
        out, p = probe(self.endpoint, "list", 1, found=True)
        self.assertEqual(out[0]["rc"], "OK", out[0].get("error"))
        os.chown(self.dir, 65534, 0)
        out, p = probe(self.endpoint, "list", 1, found=True)
        self.assertIn("not owned by root", out[0]["error"])
        out, p = probe(self.endpoint, "list", 1)
        self.assertEqual(out[0]["rc"], "OK", out[0].get("error"))

    def test_socket_absent_is_notfound(self):
        out, p = probe(self.endpoint)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(out[0]["rc"], "ENOTFOUND")
        self.assertIn(self.sock, out[0]["error"])

    def test_unimplemented(self):
        self.cri = FakeCRI(self.sock)
        self.cri.set_fault("unimplemented")
        out, p = probe(self.endpoint)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(out[0]["rc"], "EINVAL")
        self.assertEqual(out[0]["grpc"], 12)
        self.assertIn("gRPC status 12", out[0]["error"])

    def test_hung_runtime_is_bounded_by_the_deadline(self):
        self.cri = FakeCRI(self.sock)
        self.cri.set_fault("hang")
        out, p = probe(self.endpoint, "list", 2)
        self.assertEqual(p.returncode, 1)
        for o in out:
            self.assertEqual(o["rc"], "ENET")
            self.assertGreaterEqual(o["ms"], 900)
            self.assertLess(o["ms"], 1600)
        self.cri.set_fault(None)
        out, p = probe(self.endpoint)
        self.assertEqual(out[0]["rc"], "OK")

    def test_not_grpc_on_the_socket(self):
        """A plain HTTP/1 server (or anything else) is a failure, never a list."""
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(self.sock)
        srv.listen(4)

        def answer():
            for _ in range(1):
                c, _ = srv.accept()
                c.recv(65536)
                c.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                c.close()
        t = threading.Thread(target=answer, daemon=True)
        t.start()
        out, p = probe(self.endpoint)
        srv.close()
        self.assertEqual(p.returncode, 1)
        self.assertNotEqual(out[0]["rc"], "OK")

    def test_refused_socket(self):
        """A stale socket file nobody listens on: a failure, not 'no runtime'."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(self.sock)
        s.close()
        out, p = probe(self.endpoint)
        self.assertEqual(out[0]["rc"], "ENET")

    def test_bad_endpoints(self):
        for ep in ("tcp://127.0.0.1:1234", "relative.sock", ""):
            out, p = probe(ep)
            self.assertEqual(out[0]["rc"], "EINVAL", ep)


if __name__ == "__main__":
    unittest.main()
