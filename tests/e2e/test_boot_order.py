"""test_boot_order.py: the boot order of issue 18. The unit starts
Before=kubelet.service, so systemd starts the kubelet once the agent sends
READY=1; at start READY waits for the first API contact (a GET of the
kube-system Namespace sent at once, whatever the start-up spread) and the
pass after it, at most 5 s, so that a stale host-port bridge is withdrawn
before the kubelet reads the staticPodPath. Nothing else waits on it.

- the API answers: READY comes after the first request reached the fake
  apiserver, quickly, although the start-up spread delays the LIST;
- the API stalls (the request is read, no answer comes): READY comes all
  the same, about 5 s after start;
- the unit file orders the agent before the kubelet, after
  network-online.target, and never after the kubelet (no ordering cycle).
"""
import os
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agent_env import SOURCE_DIR, AgentEnv, annotated_pod  # noqa: E402

NODE = "node-1"
UNIT = os.path.join(SOURCE_DIR, "packaging", "kubelet-checkpoint.service")


def unit_values(key):
    out = []
    with open(UNIT) as f:
        for line in f:
            if line.startswith(key + "="):
                out += line.split("=", 1)[1].split()
    return out


class BootOrder(unittest.TestCase):
    def setUp(self):
        self.env = AgentEnv(node=NODE)
        self.env.api.add_pods([annotated_pod("agent-a", NODE, 1)])
        self.path = os.path.join(self.env.root, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.1)

    def tearDown(self):
        self.sock.close()
        if self.env.proc is not None and self.env.proc.poll() is None:
            self.env.stop()
        self.env.close()

    def start(self, spread):
        env = self.env
        args = env.args()
        args[args.index("--startup-spread") + 1] = str(spread)
        env.log = open(env.log_path, "a")
        self.t0 = time.time()
        env.proc = subprocess.Popen(args, stdout=env.log, stderr=subprocess.STDOUT,
                                    env=dict(os.environ, NOTIFY_SOCKET=self.path))

    def wait_ready(self, timeout=15):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                if "READY=1" in self.sock.recv(4096).decode():
                    return time.time()
            except socket.timeout:
                pass
        self.fail("no READY=1 within %ss" % timeout)

    def test_ready_follows_the_first_api_contact(self):
        self.start(spread=30)
        ready = self.wait_ready()
        reqs = self.env.api.requests()
        self.assertTrue(reqs, "READY before any request reached the API")
        first = min(r["t"] for r in reqs)
        self.assertLess(first, ready)
        self.assertEqual(reqs[0]["resource"], "namespaces", reqs[0])
        self.assertLess(ready - self.t0, 4.0, "READY waited for more than the first contact")
        # The LIST keeps its start-up spread: no LIST within the first second or so (the
        # spread is random in 0..30 s, so this only holds most of the time: not asserted).
        self.assertIn("first API contact after", self.env.log_text())

    def test_ready_within_five_seconds_when_the_api_stalls(self):
        self.env.api.fault("stall")
        self.start(spread=0)
        ready = self.wait_ready()
        self.assertGreaterEqual(ready - self.t0, 4.5)
        self.assertLess(ready - self.t0, 7.5)
        self.assertIn("no API contact within 5000 ms of start: ready all the same",
                      self.env.log_text())

    def test_unit_starts_before_the_kubelet(self):
        self.assertIn("kubelet.service", unit_values("Before"))
        self.assertNotIn("kubelet.service", unit_values("After"))
        self.assertNotIn("kubelet.service", unit_values("Requires"))
        self.assertNotIn("kubelet.service", unit_values("Wants"))
        # kubeadm's kubelet.service is After=network-online.target: so is the agent, and
        # nothing of ours is ordered after the kubelet, so Before= closes no cycle.
        self.assertIn("network-online.target", unit_values("After"))
        self.assertEqual(unit_values("Type"), ["notify"])


if __name__ == "__main__":
    unittest.main()
