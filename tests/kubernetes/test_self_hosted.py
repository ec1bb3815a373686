#!/usr/bin/env python3
"""Kubernetes tier, part 3: a self-hosted control plane comes back from a cold reboot (issue 18).

etcd and kube-apiserver run as annotated hostNetwork API pods in kube-system (images made from
the tier's own binaries; etcd's data on a hostPath; the apiserver's certificates and
service-account keys from a Secret, so the agent materialises them), pivoted from host processes
as bootkube did, and checkpointed by the agent. Then a cold reboot (selfhosted.py: agent and
kubelet stopped, every pod sandbox, containerd's run state, every pod cgroup and kubelet tmpfs
gone), the agent and the kubelet started again, no apiserver anywhere. Asserted:
  - the bridges serve /readyz within 60 s of the kubelet's start;
  - within 5 min of it the parents (their original UIDs) have running containers, no bridge
    manifest is left and no bridge container runs;
  - the hand-off cost at most one /readyz gap (two or more failed answers in a row; a single
    slow answer is a blip, counted but allowed); its length is reported against DESIGN 7's
    20 s ("!!! TARGET MISSED" above it) and fails only above KC_K8S_SELFHOSTED_MAX_GAP if set;
  - /readyz then stays ok, the parents keep running and no bridge comes back for
    KC_K8S_SELFHOSTED_OBSERVE seconds (default 180, issue 18's 3 min; the test
    command's budget of 30 min has room for it since ctest runs four at a time);
  - each checkpoint saw exactly one activation and one withdrawal (the agent's log and its
    metrics), none was collected (log, status);
  - an etcd key and a ConfigMap written before the reboot are read after it;
  - the agent's Events (activated, withdrawn) about both parents are in the API.
test_2 is the variant where the kubelet starts 90 s before the agent (its reflectors deep in
backoff); it runs on the same cluster when KC_K8S_SELFHOSTED_VARIANT=1 (it adds ~3 min;
bench/cold_reboot.py --kubelet-lead 90 runs it too).
Timings go to stderr as one JSON line (and to $KC_K8S_TIMINGS). Needs root, KC_BINARY,
KC_K8S_BIN.
"""
import calendar
import json
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import node as kn  # noqa: E402
import selfhosted as shm  # noqa: E402

NODE = "kc-k8s-selfhosted"
NS = shm.NS
BINARY = os.environ.get("KC_BINARY", "")
TIMINGS_FILE = os.environ.get("KC_K8S_TIMINGS", "")
OBSERVE = float(os.environ.get("KC_K8S_SELFHOSTED_OBSERVE", "180"))
VARIANT = os.environ.get("KC_K8S_SELFHOSTED_VARIANT") == "1"
UNREACHABLE_AFTER = 15
REACHABLE_AFTER = 10
BRIDGES_SERVE_WITHIN = 60.0
STEADY_WITHIN = 300.0
SETTLE = 5.0
MAX_GAP = float(os.environ.get("KC_K8S_SELFHOSTED_MAX_GAP", "0"))
MARKER_VALUE = "kc-marker-3b9d"


def created_at(obj):
    """metadata.creationTimestamp (RFC 3339, UTC, set by the apiserver) as a Unix time."""
    stamp = obj["metadata"].get("creationTimestamp") or "1970-01-01T00:00:00Z"
    return calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ"))


class SelfHosted(kn.KeepOnFailure, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.t_start = time.monotonic()
        cls.timings = {}
        cls.sh = shm.SelfHostedNode(NODE, BINARY, UNREACHABLE_AFTER, REACHABLE_AFTER)
        cls.node = cls.sh.node
        cls.ready_for_reboot = False

    @classmethod
    def tearDownClass(cls):
        if os.environ.get("KC_K8S_VERBOSE"):
            print(cls.sh.logs_tail(80), file=sys.stderr)
        cls.sh.close()
        cls.timings["test total"] = time.monotonic() - cls.t_start
        cls.timings.update({"setup: " + k: v for k, v in cls.sh.timings.items()})
        print("self-hosted timings: %s" % json.dumps({k: round(v, 2) for k, v in
                                                     cls.timings.items()}), file=sys.stderr)
        if TIMINGS_FILE:
            with open(TIMINGS_FILE, "a") as f:
                f.write(json.dumps({"test": "self-hosted", "timings": cls.timings}) + "\n")

    # ------------------------------------------------------------ helpers
    def fail_with(self, msg, obs=None, since=None):
        parts = [msg]
        if obs is not None:
            parts.append("what was seen (from the kubelet's start):\n  " +
                         "\n  ".join(obs.transitions(since)[-60:]))
        parts.append(self.sh.logs_tail(40))
        self.fail("\n".join(parts))

    def set_up_cluster(self):
        sh = self.sh
        sh.bootstrap()
        sh.pivot()
        sh.start_agent()
        sh.wait_checkpointed()
        self.assertEqual(sh.bridges(), [], "a bridge while the parents run")
        sh.etcd_put(shm.MARKER_KEY, MARKER_VALUE)
        sh.cp.apply({"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": "kc-marker", "namespace": NS},
                     "data": {"value": MARKER_VALUE}})
        type(self).ready_for_reboot = True

    def cold_reboot_and_check(self, label, kubelet_lead=0.0):
        sh = self.sh
        t0 = time.monotonic()
        sh.power_off()
        self.assertFalse(sh.readyz.ok(), "an apiserver still answers after the power cut")
        obs = shm.Observer(sh).start()
        try:
            t_kubelet, t_agent = sh.power_on(kubelet_lead=kubelet_lead)
            self.timings[label + "power cut -> kubelet started"] = t_kubelet - t0
            self.check_boot(label, obs, t_kubelet, t_agent)
        finally:
            obs.stop()

    def check_boot(self, label, obs, t_kubelet, t_agent):
        sh = self.sh
        t_ref = max(t_kubelet, t_agent)
        ref = "the kubelet's start" if t_ref == t_kubelet else "the agent's start"

        # 1. The bridges serve the API.
        def served():
            self.no_second_activation(obs, t_kubelet)
            return obs.first_bridge_served(t_ref)

        try:
            t_served, _ = kn.wait_for(served, BRIDGES_SERVE_WITHIN, step=0.25,
                                      what="/readyz served by the bridges")
        except AssertionError as e:
            self.fail_with("%s within %.0f s of %s" % (e, BRIDGES_SERVE_WITHIN, ref),
                           obs, t_kubelet)
        self.timings[label + "%s -> bridges serve /readyz" % ref] = t_served - t_ref

        # 2. The hand-off completes: parents run, no bridge left, /readyz ok.
        def steady():
            self.no_second_activation(obs, t_kubelet)
            s = obs.steady_since(t_served)
            return s if s is not None and time.monotonic() - s >= SETTLE else None

        try:
            t_steady, _ = kn.wait_for(steady, STEADY_WITHIN - (time.monotonic() - t_kubelet),
                                      step=0.5, what="the hand-off to the parents")
        except AssertionError as e:
            self.fail_with("%s within %.0f s of the kubelet's start" % (e, STEADY_WITHIN),
                           obs, t_kubelet)
        self.timings[label + "kubelet started -> steady (parents run, no bridge)"] = \
            t_steady - t_kubelet
        gaps = obs.gaps(t_served, t_steady)
        for i, (start, length) in enumerate(gaps):
            self.timings[label + "API gap %d at +%.1fs (s)" % (i + 1, start - t_kubelet)] = \
                length
        self.timings[label + "/readyz blips (single slow answers, not gaps)"] = \
            float(len(obs.blips(t_served)))
        # DESIGN 7: the hand-off costs one API gap of <= 20 s per node and never a cycle. The
        # gap is the bridge's termination (grace capped at 5 s), the parent's first crash
        # back-off (10 s: its first start met the bridge's ports) and its start-up: 14-19 s
        # here, but 37 and 58 s in 2 of 9 benchmark reboots (etcd's and the apiserver's parents
        # crash-looping on each other, back-off 20 s). More than one gap fails; the length is
        # reported against the target, and fails only above KC_K8S_SELFHOSTED_MAX_GAP if set.
        if len(gaps) > 1 or (MAX_GAP > 0 and any(length > MAX_GAP for _, length in gaps)):
            self.fail_with("the hand-off cost %d API gap(s) of %s s (allowed: one%s; design "
                           "target 20 s)" % (len(gaps), [round(g, 1) for _, g in gaps],
                                             ", <= %.0f s" % MAX_GAP if MAX_GAP > 0 else ""),
                           obs, t_kubelet)
        for _, length in gaps:
            if length > 20:
                print("!!! TARGET MISSED: hand-off gap %.1f s > 20 s (design 7; "
                      "bench/cold_reboot.py measures how often)" % length, file=sys.stderr)

        # 3. It stays so.
        t_end = time.monotonic() + OBSERVE
        while time.monotonic() < t_end:
            self.no_second_activation(obs, t_kubelet)
            s = obs.steady_since(t_served)
            if s is None or s > t_steady:
                self.fail_with("steady at +%.1f s, then no longer (within the %.0f s "
                               "observation)" % (t_steady - t_kubelet, OBSERVE), obs, t_kubelet)
            time.sleep(1)
        self.timings[label + "observed steady (s)"] = OBSERVE

        # 4. One activation and one withdrawal each, nothing collected.
        counts, dropped = sh.counts()
        self.assertEqual(counts, {n: (1, 1) for n in shm.PARENTS},
                         "(activations, withdrawals) per checkpoint in this boot's agent log")
        self.assertEqual(dropped, 0, "a checkpoint was collected")
        m = sh.metrics()
        if m:
            self.assertEqual((m.get("activations_total"), m.get("withdrawals_total")),
                             (2.0, 2.0), "the agent's metrics")
        st = sh.status()
        cps = {c["uid"]: c for c in st.get("checkpoints") or []}
        for name, uid in sh.uids.items():
            self.assertIn(uid, cps, "the checkpoint of %s is gone (status: %s)"
                          % (name, json.dumps(st)[:800]))
            self.assertEqual(cps[uid].get("state"), "ok", cps[uid])
            self.assertFalse(cps[uid].get("active"), cps[uid])

        # 5. The parents are the API pods they were, the data survived.
        for name, uid in sh.uids.items():
            p = sh.cp.get_json("pod", "-n", NS, name)
            self.assertEqual(p["metadata"]["uid"], uid, name)
        self.assertEqual(sh.etcd_get(shm.MARKER_KEY), MARKER_VALUE, "etcd key after the reboot")
        cm = sh.cp.get_json("configmap", "-n", NS, "kc-marker")
        self.assertEqual(cm["data"]["value"], MARKER_VALUE)

        # 6. The agent's Events of this boot are in the API (created since it started: an
        # earlier boot's Events about the same parents live for an hour).
        def events():
            evs = sh.cp.get_json("events", "-n", NS)["items"]
            seen = {(e["involvedObject"].get("uid"), e.get("reason")) for e in evs
                    if "kubelet-checkpoint" in json.dumps([e.get("source"),
                                                           e.get("reportingComponent")])
                    and created_at(e) >= sh.boot_wall - 2}
            want = {(uid, r) for uid in sh.uids.values()
                    for r in ("CheckpointBridgeActivated", "CheckpointBridgeWithdrawn")}
            return want <= seen or None

        try:
            kn.wait_for(events, 60, step=2, what="the agent's activation and withdrawal "
                        "Events of both parents in the API")
        except AssertionError as e:
            refused = [ln[:300] for ln in sh.agent_log().splitlines() if "event dropped" in ln]
            self.fail_with("%s; the agent's log says of Events it posted: %s"
                           % (e, refused[:4] or "nothing dropped"))
        print("%shand-off as seen:\n  %s" % (label, "\n  ".join(obs.transitions(t_kubelet))),
              file=sys.stderr)

    def no_second_activation(self, obs, since):
        counts, dropped = self.sh.counts()
        cycled = {n: c for n, c in counts.items() if c[0] > 1}
        if cycled:
            self.fail_with("a bridge was activated again after its withdrawal (the hand-off "
                           "cycles, issue 18 point 1): (activations, withdrawals) %s" % cycled,
                           obs, since)
        if dropped:
            self.fail_with("a checkpoint was collected during the reboot", obs, since)

    # ------------------------------------------------------------ the tests
    def test_1_cold_reboot(self):
        self.set_up_cluster()
        self.cold_reboot_and_check("")

    def test_2_cold_reboot_kubelet_first(self):
        """The kubelet starts 90 s before the agent: its reflectors are deep in backoff
        ([30, 60) s) when the bridges start serving."""
        if not VARIANT:
            self.skipTest("benchmark-only variant (KC_K8S_SELFHOSTED_VARIANT=1 runs it; "
                          "bench/cold_reboot.py --kubelet-lead 90)")
        if not self.ready_for_reboot:
            self.skipTest("the cluster did not come up (test_1 failed)")
        self.cold_reboot_and_check("kubelet 90 s first: ", kubelet_lead=90)


if __name__ == "__main__":
    kn.exit_on_sigterm()
    unittest.main(verbosity=2)
