"""test_bench_smoke.py: the CI's short run of bench/agent_bench.py. It checks
behaviour, not speed (CI machines are noisy):

  - idle: after the initial sync (one LIST, one WATCH, one GET per referenced
    object) an idle agent makes no request at all, even with the fake
    apiserver sending a watch bookmark every few seconds;
  - activation: with the API down, every checkpoint becomes a bridge manifest
    renamed into the staticPodPath, the agent logs the activation overhead
    line for all of them, the bridges go away when the API is back, and no
    foreign file is touched.

KC_BENCH_SMOKE_IDLE (seconds, default 20) sets the idle window. The full
benchmarks are scripts/bench.sh.
"""
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench"))
import agent_bench  # noqa: E402

IDLE_SECONDS = float(os.environ.get("KC_BENCH_SMOKE_IDLE", "20"))
PODS = 3  # idle run: each pod references its ConfigMap, its Secret, kube-root-ca.crt


class BenchSmokeTest(unittest.TestCase):
    def test_idle_agent_makes_no_requests(self):
        r = agent_bench.bench_idle(duration=IDLE_SECONDS, npods=PODS, bookmark=5.0)
        start = r["startup_requests"]
        self.assertEqual(start.get("LIST pods"), 1, start)
        self.assertEqual(start.get("WATCH pods"), 1, start)
        # Distinct objects: PODS secrets, PODS configmaps + kube-root-ca.crt;
        # at most one GET per reference.
        self.assertGreaterEqual(start.get("GET secrets", 0), PODS, start)
        self.assertLessEqual(start.get("GET secrets", 0), PODS, start)
        self.assertGreaterEqual(start.get("GET configmaps", 0), PODS + 1, start)
        self.assertLessEqual(start.get("GET configmaps", 0), 2 * PODS, start)
        # The cluster's identity (the kube-system Namespace and the Service
        # default/kubernetes): the probe at start and the read after the LIST.
        self.assertEqual(start.get("GET namespaces", 0), 2, start)
        self.assertEqual(start.get("GET services", 0), 2, start)
        self.assertEqual(set(start) - {"LIST pods", "WATCH pods", "GET secrets",
                                       "GET configmaps", "GET namespaces", "GET services"},
                         set(), start)
        self.assertEqual(r["idle_requests"], {},
                         "requests while idle: %s" % r["request_log"])
        self.assertGreater(r["vm_hwm_kib"], 0)

    def test_small_activation_cycle(self):
        pods = 10
        r = agent_bench.bench_activation(npods=pods, cycles=1, unreachable_after=3)
        run = r["runs"][0]
        self.assertEqual(run["log_manifests"], pods, run)
        self.assertEqual(run["renames_seen"], pods, run)
        self.assertIsNotNone(run["log_after_window_ms"], run)
        self.assertGreaterEqual(run["log_after_window_ms"], 0, run)
        self.assertGreaterEqual(run["outside_first_ms"], -100, "activated before the window")
        self.assertTrue(r["foreign_untouched"], "a foreign file in the staticPodPath changed")


if __name__ == "__main__":
    unittest.main(verbosity=2)
