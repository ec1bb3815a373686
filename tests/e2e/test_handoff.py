"""test_handoff.py: the hand-off from a bridge back to its API parent (issue
10), with the real binary, the fake apiserver and the fake container runtime:

- the parent's sandbox appears (the kubelet got the API pod back) while the
  API is not yet "reachable": the bridge is withdrawn at once, not after
  reachable-after;
- a bridge holding host ports of a non-hostNetwork parent is withdrawn at
  the first successful API contact (else the kubelet's NodePorts admission
  rejects the returning parent), which the agent seeks every second while
  such a bridge is up, while a plain bridge stays;
- a flapping API costs the host-port bridge one restart per outage, and the
  plain bridge none;
- did the kubelet start the bridge: its sandbox "<name>-<node>" READY in the
  runtime is "running", none after bridge-start-timeout is "not-running"
  (log once, status, metric).
"""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agent_env import (AgentEnv, AgentTestCase, annotated_pod, manifest, metric_value,  # noqa: E402
                       uid_of, wait_for)

NODE = "node-1"


class HandoffTest(AgentTestCase):
    def make(self, unreachable_after=3, reachable_after=30, pods=()):
        self.env = AgentEnv(node=NODE, cri=True, unreachable_after=unreachable_after,
                            reachable_after=reachable_after)
        self.env.api.add_pods(list(pods))
        return self.env

    def on_disk(self, name):
        return manifest(name) in self.env.bridge_files()

    def start_then_outage(self, *names):
        env = self.env
        env.start(["--bridge-start-timeout", "3", "--bridge-grace-period", "2"])
        for n in names:
            uid = [p for p in self.pods if p["metadata"]["name"] == n][0]["metadata"]["uid"]
            wait_for(lambda: os.path.exists(env.checkpoint_path(uid)), what="checkpoint " + n)
        env.api.fault("down")
        for n in names:
            wait_for(lambda: self.on_disk(n), timeout=45, what="activation of " + n)

    def test_parent_sandbox_withdraws_at_once(self):
        self.pods = [annotated_pod("agent-a", NODE, 1)]
        env = self.make(pods=self.pods)
        self.start_then_outage("agent-a")
        env.api.fault("none")
        time.sleep(3)
        # The API answers, but reachable-after (30 s) has not passed: the bridge stays...
        self.assertTrue(self.on_disk("agent-a"))
        self.assertFalse(env.status()["api"]["reachable"])
        # ...until the kubelet runs the API pod: then it goes at once.
        t0 = time.monotonic()
        env.cri.add(uid_of(1), "agent-a", "kube-system", ready=True)
        wait_for(lambda: not self.on_disk("agent-a"), timeout=5,
                 what="withdrawal when the parent's sandbox appears")
        self.assertLess(time.monotonic() - t0, 3.0)
        self.assertFalse(env.status()["api"]["reachable"], "withdrawn by the window, not the "
                         "sandbox")

    def test_host_port_bridge_withdrawn_at_first_contact(self):
        ports = [{"containerPort": 80, "hostPort": 80, "protocol": "TCP"}]
        self.pods = [annotated_pod("svclb", NODE, 1, containers=[
                         {"name": "lb", "image": "rancher/klipper-lb:v0.4", "ports": ports,
                          "resources": {"requests": {"cpu": "100m", "memory": "50Mi"},
                                        "limits": {"memory": "100Mi"}}}],
                         terminationGracePeriodSeconds=300),
                     annotated_pod("agent-a", NODE, 2),
                     # hostNetwork: its bridge has no ports (render), so it is a plain bridge.
                     annotated_pod("hostnet", NODE, 3, hostNetwork=True, containers=[
                         {"name": "c", "image": "x", "ports": ports}])]
        env = self.make(pods=self.pods)
        self.start_then_outage("svclb", "agent-a", "hostnet")
        # While it runs, the bridge counts nothing in the kubelet's admission and would be
        # killed within the capped grace period.
        m = env.manifest_json(manifest("svclb"))
        self.assertEqual(m["spec"]["containers"][0]["resources"],
                         {"requests": {"cpu": "0", "memory": "0"}, "limits": {"memory": "100Mi"}})
        self.assertEqual(m["spec"]["terminationGracePeriodSeconds"], 2)
        self.assertEqual(m["spec"]["containers"][0]["ports"], ports)
        env.check_manifest(manifest("svclb"))
        # Long enough down for the client's outage backoff to reach its 10 s ceiling: the
        # host-port bridge must still be noticed within about a second, before the kubelet's
        # reflector (backoff up to [30, 60) s) relists and admits the parent against it.
        time.sleep(12)
        self.assertIn("a bridge holds host ports: asking the API every second", env.log_text())
        t0 = time.monotonic()
        env.api.fault("none")
        wait_for(lambda: not self.on_disk("svclb"), timeout=10,
                 what="host-port bridge withdrawn at the first API contact")
        took = time.monotonic() - t0
        self.assertLess(took, 2.5, "the first API contact came late")
        # The others stay until reachable-after (30 s) or their parent runs.
        self.assertTrue(self.on_disk("agent-a"))
        self.assertTrue(self.on_disk("hostnet"))
        self.assertFalse(env.status()["api"]["reachable"])
        # The bridge copies free the node fast and count nothing in the kubelet's admission.
        m = env.manifest_json(manifest("agent-a"))
        self.assertEqual(m["spec"]["terminationGracePeriodSeconds"], 2)

    def test_flapping_api_one_restart_per_outage(self):
        ports = [{"containerPort": 443, "hostPort": 443}]
        self.pods = [annotated_pod("svclb", NODE, 1, containers=[
                         {"name": "lb", "image": "rancher/klipper-lb:v0.4", "ports": ports}]),
                     annotated_pod("agent-a", NODE, 2)]
        # unreachable-after well above the client's 10 s retry ceiling (API_RETRY_MAX_MS,
        # plus jitter), as the default 30 s is: the agent must see the API that often.
        env = self.make(unreachable_after=20, pods=self.pods)
        self.start_then_outage("svclb", "agent-a")
        # The first contact after the outage: by now the client retries at its 10 s
        # ceiling, so wait for it rather than hope that one lands in a short up window.
        env.api.fault("none")
        wait_for(lambda: not self.on_disk("svclb"), timeout=15,
                 what="host-port bridge withdrawn at the first API contact")
        # Flap: the API answers now and then, never for reachable-after, never down
        # for a whole unreachable window.
        for _ in range(7):
            env.api.fault("none")
            time.sleep(1.2)
            env.api.fault("down")
            time.sleep(1.5)
            self.assertTrue(self.on_disk("agent-a"), "the plain bridge moved while flapping")
        self.assertFalse(self.on_disk("svclb"), "host-port bridge back while the API flaps")
        log = env.log_text()
        self.assertEqual(log.count("activated kube-system/svclb"), 1, log)
        self.assertEqual(log.count("withdrawn %s/%s" % (env.manifests, manifest("svclb"))), 1)
        self.assertEqual(log.count("activated kube-system/agent-a"), 1)
        self.assertNotIn("withdrawn %s/%s" % (env.manifests, manifest("agent-a")), log)
        # Down for good: a new outage after a whole window, and the bridge returns once.
        wait_for(lambda: self.on_disk("svclb"), timeout=45, what="host-port bridge in a new "
                 "outage")
        self.assertEqual(env.log_text().count("activated kube-system/svclb"), 2)

    def test_bridge_running_or_not(self):
        self.pods = [annotated_pod("agent-a", NODE, 1), annotated_pod("agent-b", NODE, 2)]
        env = self.make(pods=self.pods)
        self.start_then_outage("agent-a", "agent-b")

        def bridge_of(name):
            for c in env.status()["checkpoints"]:
                if c["name"] == name:
                    return c.get("bridge"), c.get("bridgeReason")
        self.assertEqual(bridge_of("agent-a")[0], "starting")
        # The kubelet starts agent-a's bridge: static pod "<name>-<node>".
        env.cri.add("0123456789abcdef0123456789abcdef", "agent-a-" + NODE, "kube-system")
        wait_for(lambda: bridge_of("agent-a")[0] == "running", timeout=5, what="running")
        # agent-b's never comes: not running after the timeout, said once.
        state, why = wait_for(lambda: (lambda b: b if b[0] == "not-running" else None)(
            bridge_of("agent-b")), timeout=8, what="not running")[0]
        self.assertIn("kubelet did not start it: see the kubelet log", why)
        self.assertEqual(bridge_of("agent-a")[0], "running")
        wait_for(lambda: metric_value(env, "kubelet_checkpoint_bridges_not_running") == 1,
                 timeout=5, what="metric")
        text = env.status_text()
        self.assertIn("bridge: kube-system/agent-b: not-running: kubelet did not start it", text)
        time.sleep(2)
        self.assertEqual(env.log_text().count("bridge of kube-system/agent-b"), 1)
        self.assertNotIn("bridge of kube-system/agent-a", env.log_text())
        # A parent sandbox of the same name is not the bridge's.
        env.cri.add(uid_of(2), "agent-b", "kube-system", ready=False)
        time.sleep(1.5)
        self.assertEqual(bridge_of("agent-b")[0], "not-running")


if __name__ == "__main__":
    unittest.main()
