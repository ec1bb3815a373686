"""api_probe_env.py: what the api_client tests share: api_probe as a child
(Probe), event matchers, and a TestCase base with a fake apiserver and
test certificates per class (test_api_client.py, test_api_faults.py)."""

import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
import time
import unittest

SRC = os.environ.get("KC_SOURCE_DIR",
                     os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(SRC, "tests", "fakeapi"))
from fakeapi import FakeAPI, gen_certs, make_pod  # noqa: E402

PROBE = os.environ.get("KC_API_PROBE") or os.path.join(
    os.path.dirname(os.environ.get("KC_BINARY", "")), "api_probe")
NODE = "node-1"


class Probe:
    """api_probe as a child; its JSON lines are collected by a thread."""

    def __init__(self, args):
        import json
        self.json = json
        self.proc = subprocess.Popen([PROBE] + args, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, bufsize=1)
        self.events = []
        self.q = queue.Queue()
        self.cursor = 0
        self.stderr = []
        threading.Thread(target=self._read, daemon=True).start()
        self.err_thread = threading.Thread(target=self._read_err, daemon=True)
        self.err_thread.start()
        self.wait_for(lambda e: e["ev"] == "started", 10)

    def _read(self):
        for line in self.proc.stdout:
            self.q.put(self.json.loads(line))
        self.q.put(None)

    def _read_err(self):
        for line in self.proc.stderr:
            self.stderr.append(line)

    def _drain(self, timeout):
        try:
            e = self.q.get(timeout=timeout)
        except queue.Empty:
            return False
        if e is None:
            raise AssertionError("api_probe exited: %s" % "".join(self.stderr[-20:]))
        self.events.append(e)
        return True

    def wait_for(self, pred, timeout=15):
        """The first event after the cursor matching pred; moves the cursor past it."""
        deadline = time.monotonic() + timeout
        while True:
            while self.cursor < len(self.events):
                e = self.events[self.cursor]
                self.cursor += 1
                if pred(e):
                    return e
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("timed out waiting; last events:\n%s" % "\n".join(
                    self.json.dumps(e) for e in self.events[-15:]))
            self._drain(left)

    def collect(self, seconds):
        """Every event that arrives in the next `seconds`."""
        start = len(self.events)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._drain(max(0.0, deadline - time.monotonic()))
        self.cursor = len(self.events)
        return self.events[start:]

    def send(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def send_many(self, lines):
        """Several commands in one write, so the client sees them in one step."""
        self.proc.stdin.write("".join(l + "\n" for l in lines))
        self.proc.stdin.flush()

    def stats(self):
        self.send("stats")
        return self.wait_for(ev("stats"))

    def close(self):
        if self.proc.poll() is None:
            try:
                self.send("quit")
            except BrokenPipeError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.err_thread.join(timeout=5)
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                f.close()
            except (OSError, BrokenPipeError):
                pass
        # Under KC_SANITIZE builds, a leak or memory error fails the test.
        report = "".join(self.stderr)
        if "Sanitizer" in report or "runtime error:" in report:
            raise AssertionError("api_probe sanitizer report:\n" + report[-4000:])


def contact(outcome, pattern=""):
    rx = re.compile(pattern)
    return lambda e: e["ev"] == "contact" and e["outcome"] == outcome and rx.search(e["detail"])


def ev(name, **fields):
    return lambda e: e["ev"] == name and all(e.get(k) == v for k, v in fields.items())


class Base(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="kc-api-")
        cls.certs = gen_certs(os.path.join(cls.tmp.name, "pki"), NODE)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def setUp(self):
        self.cleanups = []

    def tearDown(self):
        for f in reversed(self.cleanups):
            f()

    def cert(self, name):
        return os.path.join(self.certs, name)

    def fake(self, **kw):
        api = FakeAPI(self.certs, **kw)
        self.cleanups.append(api.close)
        # Fast bookmarks so resumption can be observed within a test.
        api.settings(bookmark_interval=0.5)
        return api

    def probe(self, api, *extra, creds=True):
        args = ["--server", api.url, "--node", NODE]
        if creds:
            args += ["--ca", self.cert("ca.crt"), "--cert", self.cert("client.pem")]
        p = Probe(args + list(extra))
        self.cleanups.append(p.close)
        return p

    def watch_requests(self, api):
        return [r for r in api.requests() if r["verb"] == "WATCH"]



def big_pod(name, namespace="attacker", mb=1.4):
    """A pod of ~mb MB, as any namespace user may bind to a node: a 250 KB
    annotation and the rest in one command argument (under etcd's limit)."""
    pod = make_pod(name, NODE, namespace=namespace,
                   annotations={"big": "a" * (250 << 10)})
    pod["spec"]["containers"][0]["command"] = ["x" * (int(mb * (1 << 20)) - (250 << 10))]
    return pod


def sync(pattern=""):
    rx = re.compile(pattern)
    return lambda e: e["ev"] == "sync" and e.get("error") and rx.search(e["error"])


def main():
    if not os.access(PROBE, os.X_OK):
        sys.exit("api_probe not found at %r (set KC_API_PROBE)" % PROBE)
    unittest.main(verbosity=2, module="__main__")
