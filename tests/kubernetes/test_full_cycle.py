#!/usr/bin/env python3
"""Kubernetes tier, part 2: the whole bridge cycle against a real apiserver and kubelet.

etcd and kube-apiserver (Node,RBAC authorization, NodeRestriction admission) with a test CA;
the kubelet registered with a node client certificate (CN=system:node:<node>, O=system:nodes)
signed by it; the agent runs with the kubelet's own kubeconfig, so the real Node authorizer
decides what it may read. Two annotated pods are created with kubectl:
  - kc-hostport: pod network, a hostPort, a Secret volume, a ConfigMap volume and the
    service-account volume the ServiceAccount admission adds;
  - kc-hostnet: hostNetwork (like a self-hosted apiserver), its port named in a readiness
    probe, serving the same ConfigMap.
Then:
  1. both run, the agent checkpoints both; no bridge while they run;
  2. the apiserver stops and the node "reboots" (kubelet stopped, every sandbox removed, the
     parents' pod cgroups gone): the agent writes both bridges and the restarted kubelet runs
     them (the hostPort and the host port answer with the ConfigMap's content);
  3. the apiserver comes back: the kubelet's mirror pods of the bridges are admitted by
     NodeRestriction and carry no Secret value, the agent's Events (when the agent posts
     them) are accepted, both bridges are withdrawn, the API pods run again under their own
     UIDs, the hostPort parent is not rejected by the kubelet's admission, and the
     hostNetwork parent answers on its port again within a measured gap.
  4. (test_3) the kubelet, restarted during the outage, keeps a bridge the agent withdrew
     before the kubelet's API source synced running until that sync (issue 18: the
     README's hand-off text relies on it).
Timings go to stderr as one JSON line (scripts/test-kubernetes.sh collects them for
BENCHMARKS.md). Needs root, KC_BINARY, KC_K8S_BIN.
"""
import json
import os
import subprocess
import sys
import threading
import time
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import node as kn  # noqa: E402

NODE = "kc-k8s-cycle"
NS = "kube-system"
BINARY = os.environ.get("KC_BINARY", "")
TRIGGER = "node.kubernetes.io/bootstrap-checkpoint"
UNREACHABLE_AFTER = 5
REACHABLE_AFTER = 8
SECRET_VALUE = "kc-secret-value-7f3e1c"
PAGE = "served from the checkpointed ConfigMap\n"
TIMINGS_FILE = os.environ.get("KC_K8S_TIMINGS", "")
SETTLE = 3.0
OUTAGE_HOLD = float(os.environ.get("KC_K8S_OUTAGE_HOLD", "20"))


def http_get(port, timeout=1.0):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/index.html" % port,
                                    timeout=timeout) as r:
            return r.read().decode()
    except Exception:
        return None


def pod(name, spec):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": NS, "labels": {"app": name},
                         "annotations": {TRIGGER: "true"}},
            "spec": dict({"nodeName": NODE, "terminationGracePeriodSeconds": 2}, **spec)}


def klog_time(line):
    """The wall-clock time of a klog line ("I1206 03:39:22.683378 ..."; local time, this
    year)."""
    stamp = line[1:21]
    t = time.strptime("%d%s" % (time.localtime().tm_year, stamp[:13]), "%Y%m%d %H:%M:%S")
    return time.mktime(t) + float("0" + stamp[13:20])


def remove_pod_cgroups(uids):
    """What a reboot does to the kubelet's pod cgroups: gone (deepest first, every hierarchy)."""
    targets = ["pod" + u for u in uids]
    for hier in os.listdir("/sys/fs/cgroup"):
        base = os.path.join("/sys/fs/cgroup", hier)
        if os.path.islink(base) or not os.path.isdir(base):
            continue
        for dirpath, _, _ in os.walk(base, topdown=False):  # children first
            if any(part in targets for part in dirpath.split("/")):
                try:
                    os.rmdir(dirpath)
                except OSError:
                    pass


class PortWatch(threading.Thread):
    """Polls a port every 50 ms; records when it answers."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.samples = []
        self.stop_flag = threading.Event()

    def run(self):
        while not self.stop_flag.is_set():
            t = time.monotonic()
            self.samples.append((t, http_get(self.port, 0.3) == PAGE))
            time.sleep(0.05)

    def longest_gap(self, since):
        """Longest time the port did not answer between two answers after since."""
        gap, last_ok, was_down = 0.0, None, False
        for t, ok in self.samples:
            if t < since:
                continue
            if ok:
                if last_ok is not None and was_down:
                    gap = max(gap, t - last_ok)
                last_ok, was_down = t, False
            else:
                was_down = True
        return gap


class FullCycle(kn.KeepOnFailure, unittest.TestCase):
    """test_1 runs the cycle and checks it; the hand-off of the hostPort parent, which can
    fail on its own, is checked by test_2 from what test_1 saw."""

    @classmethod
    def setUpClass(cls):
        cls.timings = {}
        cls.obs = {}
        cls.node = kn.Node(NODE)
        cls.cp = kn.ControlPlane(cls.node.root, NODE)
        cls.agent = None
        cls.watch = None
        cls.hostport = kn.free_port()
        cls.hostnet_port = kn.free_port()

    @classmethod
    def tearDownClass(cls):
        if cls.watch is not None:
            cls.watch.stop_flag.set()
        if cls.agent is not None:
            cls.agent.stop()
        if os.environ.get("KC_K8S_VERBOSE"):
            for p in (cls.agent, cls.node.kubelet):
                if p is not None:
                    print("==== %s\n%s" % (p.name, p.tail(80)), file=sys.stderr)
        cls.node.stop_kubelet()
        cls.cp.close()
        cls.node.close()
        print("full-cycle timings: %s" % json.dumps({k: round(v, 2) for k, v in
                                                     cls.timings.items()}), file=sys.stderr)
        if TIMINGS_FILE and cls.timings:
            with open(TIMINGS_FILE, "a") as f:
                f.write(json.dumps({"test": "full-cycle", "timings": cls.timings}) + "\n")

    # the pieces
    def start_cluster(self):
        t0 = time.monotonic()
        self.cp.start_etcd()
        self.cp.start_apiserver()
        self.timings["apiserver first start"] = time.monotonic() - t0
        cp = self.cp
        # No controller-manager here: what its controllers would create, created by hand.
        cp.apply({"apiVersion": "v1", "kind": "ServiceAccount",
                  "metadata": {"name": "default", "namespace": NS}})
        with open(os.path.join(cp.pki, "ca.crt")) as f:
            ca = f.read()
        cp.apply({"apiVersion": "v1", "kind": "ConfigMap",
                  "metadata": {"name": "kube-root-ca.crt", "namespace": NS},
                  "data": {"ca.crt": ca}})
        cp.apply({"apiVersion": "v1", "kind": "ConfigMap",
                  "metadata": {"name": "kc-page", "namespace": NS},
                  "data": {"index.html": PAGE}})
        cp.apply({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                  "metadata": {"name": "kc-secret", "namespace": NS},
                  "stringData": {"password": SECRET_VALUE}})
        self.node.start_containerd()
        self.node.import_images(["kc-test/busybox:1"])
        self.node.start_kubelet(kubeconfig=cp.node_kubeconfig,
                                client_ca=os.path.join(cp.pki, "ca.crt"))

        def node_ready():
            p = cp.kubectl("get", "node", NODE, "-o", "json", check=False)
            if p.returncode != 0:
                return False
            conds = json.loads(p.stdout)["status"].get("conditions") or []
            return any(c["type"] == "Ready" and c["status"] == "True" for c in conds)

        kn.wait_for(node_ready, 90, step=0.5, what="node Ready (kubelet log: %s)"
                    % self.node.kubelet.tail(20))
        self.timings["cluster up"] = time.monotonic() - t0

    def create_pods(self):
        vols = [{"name": "page", "configMap": {"name": "kc-page", "defaultMode": 0o444}},
                {"name": "secret", "secret": {"secretName": "kc-secret", "defaultMode": 0o400}}]
        mounts = [{"name": "page", "mountPath": "/srv"},
                  {"name": "secret", "mountPath": "/etc/kc-secret", "readOnly": True}]
        self.cp.apply(pod("kc-hostport", {
            "volumes": vols,
            "containers": [{"name": "web", "image": "kc-test/busybox:1",
                            "imagePullPolicy": "Never",
                            "command": ["/bin/httpd", "-f", "-p", "8080", "-h", "/srv"],
                            "ports": [{"name": "http", "containerPort": 8080,
                                       "hostPort": self.hostport}],
                            "volumeMounts": mounts}]}))
        self.cp.apply(pod("kc-hostnet", {
            "hostNetwork": True,
            "volumes": vols[:1],
            "containers": [{"name": "web", "image": "kc-test/busybox:1",
                            "imagePullPolicy": "Never",
                            "command": ["/bin/httpd", "-f", "-p",
                                        "127.0.0.1:%d" % self.hostnet_port, "-h", "/srv"],
                            "ports": [{"name": "http", "containerPort": self.hostnet_port}],
                            "readinessProbe": {"httpGet": {"host": "127.0.0.1",
                                                           "path": "/index.html",
                                                           "port": "http"},
                                               "periodSeconds": 1},
                            "volumeMounts": mounts[:1]}]}))
        t0 = time.monotonic()
        type(self).uids = {}
        for name in ("kc-hostport", "kc-hostnet"):
            def running(name=name):
                p = self.cp.get_json("pod", "-n", NS, name)
                st = p.get("status") or {}
                ok = st.get("phase") == "Running" and all(
                    c.get("ready") for c in st.get("containerStatuses") or [{}])
                return p if ok else None
            p, _ = kn.wait_for(running, 90, step=0.5, what="%s Running and ready (kubelet: %s)"
                               % (name, self.node.kubelet.tail(20)))
            self.uids[name] = p["metadata"]["uid"]
        self.timings["API pods created -> running"] = time.monotonic() - t0
        self.assertEqual(http_get(self.hostport), PAGE)
        self.assertEqual(http_get(self.hostnet_port), PAGE)

    def start_agent(self):
        self.state = os.path.join(self.node.root, "agent-state")
        self.flag = os.path.join(self.node.root, "enabled")
        open(self.flag, "w").close()
        self.status_file = os.path.join(self.node.root, "status.json")
        args = [BINARY, "run", "--kubeconfig", self.cp.node_kubeconfig, "--node-name", NODE,
                "--kubelet-config", self.node.kubelet_config, "--state-dir", self.state,
                "--flag-file", self.flag, "--cgroup-root", "/sys/fs/cgroup",
                "--unreachable-after", str(UNREACHABLE_AFTER),
                "--reachable-after", str(REACHABLE_AFTER), "--gc-grace", "30",
                "--status-file", self.status_file, "-v"]
        help_text = subprocess.run([BINARY, "run", "--help"], capture_output=True,
                                   text=True).stdout
        if "--container-runtime-endpoint" in help_text:
            args += ["--container-runtime-endpoint", "unix://" + self.node.sock]
        type(self).agent = kn.Proc("agent", args, self.node.logs)

    def status(self):
        p = subprocess.run([BINARY, "status", "-o", "json", "--state-dir", self.state,
                            "--status-file", self.status_file, "--static-pod-path",
                            self.node.manifests, "--flag-file", self.flag],
                           capture_output=True, text=True, timeout=30)
        return json.loads(p.stdout) if p.returncode == 0 else {}

    def bridges(self):
        return sorted(n for n in os.listdir(self.node.manifests)
                      if n.startswith("kubelet-checkpoint_"))

    def reboot_node(self):
        """The kubelet stops, every pod sandbox goes, the pod cgroups go, the kubelet starts
        again (the API still down): what a node reboot during an outage leaves."""
        type(self).klog_offset = os.path.getsize(self.node.kubelet.log_path)
        self.node.stop_kubelet()
        for s in self.node.cri.sandboxes():
            self.node.cri.call("StopPodSandbox", kn.pb_field(1, s["id"]))
            self.node.cri.call("RemovePodSandbox", kn.pb_field(1, s["id"]))
        remove_pod_cgroups(self.uids.values())
        type(self).t_parents_gone = time.monotonic()
        self.node.start_kubelet(kubeconfig=self.cp.node_kubeconfig,
                                client_ca=os.path.join(self.cp.pki, "ca.crt"))

    def running_container_of(self, pod_uid):
        """A RUNNING container in a READY sandbox of the pod with this UID."""
        sbs = {s["id"] for s in self.node.cri.sandboxes()
               if s["uid"] == pod_uid and s["state"] == "READY"}
        return any(c["sandbox"] in sbs and c["state"] == "RUNNING"
                   for c in self.node.cri.containers())

    def bridge_sandbox(self, name):
        sb = self.node.sandbox_of("%s-%s" % (name, NODE), NS)
        return sb if sb is not None and sb["state"] == "READY" else None

    # the test
    def test_1_cycle(self):
        self.start_cluster()
        self.create_pods()
        self.start_agent()

        def checkpointed():
            cps = self.status().get("checkpoints") or []
            return {c["name"] for c in cps if c.get("state") == "ok"} >= set(self.uids)

        kn.wait_for(checkpointed, 60, what="2 checkpoints (agent: %s)" % self.agent.tail())

        # 2. API lost, node rebooted.
        self.cp.stop_apiserver()
        t_loss = time.monotonic()
        time.sleep(UNREACHABLE_AFTER + 1.5)
        self.assertEqual(self.bridges(), [], "a bridge while its parent still runs")
        self.reboot_node()
        want = ["kubelet-checkpoint_%s_%s.yaml" % (NS, n) for n in sorted(self.uids)]
        kn.wait_for(lambda: self.bridges() == want, 60, step=0.05,
                    what="bridges %s (agent: %s)" % (want, self.agent.tail()))
        t_written = time.monotonic()
        self.timings["parents gone (node rebooted) -> bridges written"] = \
            t_written - self.t_parents_gone
        kn.wait_for(lambda: http_get(self.hostport) == PAGE and
                    http_get(self.hostnet_port) == PAGE, 120, step=0.1,
                    what="bridges answering (kubelet: %s)" % self.node.kubelet.tail(30))
        t_bridge_up = time.monotonic()
        self.timings["bridges written -> bridges serving"] = t_bridge_up - t_written
        self.timings["parents gone -> bridges serving (incl. kubelet start)"] = \
            t_bridge_up - self.t_parents_gone
        self.timings["API loss -> bridges serving (incl. %ds window, reboot)"
                     % UNREACHABLE_AFTER] = t_bridge_up - t_loss
        for name in self.uids:
            sb = self.bridge_sandbox(name)
            self.assertIsNotNone(sb, "no READY bridge sandbox of %s" % name)
            self.assertEqual(sb["annotations"].get("kubelet-checkpoint/source-uid"),
                             self.uids[name])
            self.assertFalse(self.running_container_of(self.uids[name]),
                             "the parent %s runs beside its bridge" % name)
        st = self.status()
        self.assertFalse(st.get("api", {}).get("reachable"))
        if "local" in st:  # the agent knows the parents are gone from the real containerd
            self.assertEqual((st["local"].get("known"), st["local"].get("source")),
                             (True, "cri"), st["local"])

        # The outage lasts OUTAGE_HOLD more seconds, as a real one does: the restarted
        # kubelet's reflectors are then in back-off (0.8 s doubling, jittered) when the API
        # returns, so its API source syncs a while after the API answers (test_3 needs that).
        time.sleep(OUTAGE_HOLD)

        # 3. API back.
        type(self).watch = PortWatch(self.hostnet_port)
        self.watch.start()
        withdrawn = {}
        mirrors = {}
        rejected = []
        t_back0 = time.monotonic()
        self.cp.start_apiserver()
        t_back = time.monotonic()
        self.timings["apiserver restart (process start -> /readyz ok)"] = t_back - t_back0
        t_back = t_back0  # the kubelet may reconnect before /readyz says ok
        # An API pod "runs" from the start of the run of observations in which its container
        # is RUNNING without a break (a first start that dies on a port the bridge still holds
        # does not count); the cycle is settled once everything has held for SETTLE seconds.
        running_since = {}
        bridge_last_ready = {}
        settled_since = None
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline:
            now = time.monotonic()
            present = set(self.bridges())
            for name in self.uids:
                f = "kubelet-checkpoint_%s_%s.yaml" % (NS, name)
                if f not in present and name not in withdrawn:
                    withdrawn[name] = now
                if self.bridge_sandbox(name) is not None:
                    bridge_last_ready[name] = now
                if self.running_container_of(self.uids[name]):
                    running_since.setdefault(name, now)
                else:
                    running_since.pop(name, None)
            pl = self.cp.kubectl("get", "pods", "-n", NS, "-o", "json", check=False)
            if pl.returncode == 0:
                for p in json.loads(pl.stdout)["items"]:
                    ann = p["metadata"].get("annotations") or {}
                    if "kubernetes.io/config.mirror" in ann:
                        mirrors.setdefault(p["metadata"]["name"], p)
                    if p["metadata"]["uid"] in self.uids.values() and \
                            (p.get("status") or {}).get("phase") == "Failed" and \
                            p["metadata"]["uid"] not in [r["metadata"]["uid"] for r in rejected]:
                        rejected.append(p)
            bridges_gone = len(withdrawn) == 2 and not any(
                self.bridge_sandbox(n) for n in self.uids)
            hostport_ok = ("kc-hostport" in running_since and
                           http_get(self.hostport) == PAGE) or rejected
            settled = bridges_gone and hostport_ok and "kc-hostnet" in running_since and \
                http_get(self.hostnet_port) == PAGE
            settled_since = (settled_since or now) if settled else None
            if settled_since is not None and now - settled_since >= SETTLE:
                break
            time.sleep(0.1)
        api_running = dict(running_since)
        self.watch.stop_flag.set()
        self.watch.join()
        self.assertEqual(sorted(withdrawn), sorted(self.uids), "bridges not withdrawn")
        # The hostPort parent is checked by test_2 from these.
        self.obs.update(withdrawn=withdrawn, bridge_last_ready=bridge_last_ready,
                        wall_minus_mono=time.time() - time.monotonic())
        self.obs.update(rejected=[(p["metadata"]["name"], p["status"].get("reason"),
                                   p["status"].get("message")) for p in rejected[:1]],
                        api_running=sorted(api_running),
                        hostport_answers=http_get(self.hostport) == PAGE)
        for name, uid in self.uids.items():
            self.timings["%s: apiserver started -> bridge withdrawn" % name] = \
                withdrawn[name] - t_back
            if name not in api_running:
                continue
            self.timings["%s: bridge withdrawn -> API pod running" % name] = \
                api_running[name] - withdrawn[name]
        self.assertIn("kc-hostnet", api_running, "the hostNetwork parent is not running again "
                      "(kubelet: %s)" % self.node.kubelet.tail(30))
        p = self.cp.get_json("pod", "-n", NS, "kc-hostnet")
        self.assertEqual(p["metadata"]["uid"], self.uids["kc-hostnet"])
        self.assertEqual(p["status"]["phase"], "Running", json.dumps(p["status"])[:600])
        self.assertEqual(http_get(self.hostnet_port), PAGE)
        self.timings["kc-hostnet: longest port gap at hand-off"] = self.watch.longest_gap(t_back)

        # Mirror pods of the bridges: admitted (NodeRestriction), no Secret value in them.
        self.mirrors = mirrors
        print("mirror pods seen: %s" % sorted(mirrors), file=sys.stderr)
        self.assertTrue(mirrors, "the kubelet created no mirror pod of a bridge while the API "
                        "was back (kubelet: %s)" % self.node.kubelet.tail(30))
        for name, m in mirrors.items():
            self.assertNotIn(SECRET_VALUE, json.dumps(m), "Secret value in mirror pod " + name)
            self.assertIn(m["metadata"]["annotations"].get("kubelet-checkpoint/checkpoint-of"),
                          ["%s/%s" % (NS, n) for n in self.uids])
        with open(self.node.kubelet.log_path, errors="replace") as f:
            klog = f.read()
        # A refusal by the apiserver (NodeRestriction or validation: forbidden / invalid) must
        # not happen; "already exists" and "context canceled" are the kubelet racing itself
        # (an earlier sync made the mirror pod; the bridge went while it was being made).
        failed = [line for line in klog.splitlines() if "Failed creating a mirror pod" in line
                  and ("forbidden" in line.lower() or "invalid" in line.lower())]
        self.assertEqual(failed, [])

        # Events of the agent, if it posts them: accepted by the apiserver.
        ev = self.cp.get_json("events", "-n", NS)["items"]
        ours = [e for e in ev if "kubelet-checkpoint" in json.dumps(
            [e.get("source"), e.get("reportingComponent"), e.get("reportingController")])]
        self.timings["agent Events accepted"] = float(len(ours))
        print("agent Events in the API: %s" % [(e.get("reason"), e["involvedObject"].get("name"),
                                               (e.get("message") or "")[:80]) for e in ours],
              file=sys.stderr)
        with open(BINARY, "rb") as f:
            posts_events = b"/events" in f.read()
        if posts_events:
            # Posted with the node's own identity during and after the outage: the apiserver
            # must have accepted one at least about each parent.
            self.assertEqual(sorted({e["involvedObject"].get("name") for e in ours}),
                             sorted(self.uids), "the agent's Events in the API")
        else:
            print("note: this agent build posts no Events (not checked)", file=sys.stderr)

    # The hand-off race (docs/design.md §6, withdraw rule 2; BENCHMARKS.md): the kubelet
    # admits the returning API pod as soon as its own reflector relists; while the bridge,
    # which declares the same hostPort, is still in its pod manager, admission rejects the
    # parent for good (pkg/kubelet/lifecycle/predicate.go, GeneralPredicates -> NodePorts: "Pod
    # was rejected: Predicate NodePorts failed"). The agent withdraws the bridge at its first
    # API success and, while such a bridge is kept, asks every second, so it wins unless the
    # kubelet's relist falls in that same second (it lost 6 of 10 runs at the old 10 s retry
    # ceiling, none since). The check is strict; a failure, the residual race, is a skip whose
    # reason starts with "KNOWN BUG" (scripts/test-kubernetes.sh prints it loudly) unless
    # KC_K8S_STRICT=1, which makes it a failure.
    def test_2_hostport_parent_not_rejected_at_hand_off(self):
        if not self.obs:
            self.skipTest("the cycle did not get that far (test_1 failed)")
        try:
            self.check_hostport_hand_off()
        except AssertionError as e:
            if os.environ.get("KC_K8S_STRICT") == "1":
                raise
            self.skipTest("KNOWN BUG: hostPort parent rejected at hand-off: %s" % e)

    # Issue 18 (README, "The hand-off"): a kubelet restarted during the outage does not stop a
    # withdrawn static pod until its API source has synced: HandlePodRemoves -> deletePod
    # (pkg/kubelet/kubelet.go) refuses while !sourcesReady.AllReady() ("skipping delete because
    # sources aren't ready yet") and housekeeping, which would retry, is skipped too; the pod
    # worker keeps the bridge running. The kubelet here was restarted during the outage; a
    # bridge the agent withdrew before the kubelet's first pod update from the API must still
    # have been running then, and the kubelet must have said why.
    def test_3_restarted_kubelet_keeps_withdrawn_bridge_until_api_synced(self):
        if not self.obs:
            self.skipTest("the cycle did not get that far (test_1 failed)")
        with open(os.path.join(self.node.logs, "kubelet.log"), errors="replace") as f:
            f.seek(self.klog_offset)
            klog = f.read().splitlines()
        t_synced = None
        for line in klog:
            if '"SyncLoop ADD" source="api"' in line:
                t_synced = klog_time(line) - self.obs["wall_minus_mono"]
                break
        self.assertIsNotNone(t_synced, "the restarted kubelet never got pods from the API")
        exercised = 0
        for name, t_wd in sorted(self.obs["withdrawn"].items()):
            lead = t_synced - t_wd
            self.timings["%s: bridge withdrawn -> kubelet's API source synced" % name] = lead
            if lead <= 0.5:
                continue  # withdrawn after the sync: nothing to check for this bridge
            exercised += 1
            last = self.obs["bridge_last_ready"].get(name, 0.0)
            self.assertGreaterEqual(
                last, t_synced - 0.5,
                "%s's bridge stopped %.1f s after its withdrawal, %.1f s before the restarted "
                "kubelet's API source synced" % (name, last - t_wd, t_synced - last))
            pod = "%s/%s-%s" % (NS, name, NODE)
            skipped = [line for line in klog if '"Failed to delete pod"' in line and
                       'pod="%s"' % pod in line and "sources aren't ready yet" in line]
            self.assertTrue(skipped, "no 'skipping delete because sources aren't ready yet' "
                            "for %s in the kubelet's log" % pod)
        print("restarted kubelet kept %d withdrawn bridge(s) until its API source synced"
              % exercised, file=sys.stderr)
        self.timings["bridges withdrawn before the kubelet's API sync"] = float(exercised)
        if not exercised:
            self.skipTest("not exercised in this run: the kubelet's API source synced before "
                          "the agent withdrew a bridge")

    def check_hostport_hand_off(self):
        self.assertEqual(self.obs["rejected"], [], "the kubelet rejected a returning parent")
        self.assertIn("kc-hostport", self.obs["api_running"])
        p = self.cp.get_json("pod", "-n", NS, "kc-hostport")
        self.assertEqual(p["metadata"]["uid"], self.uids["kc-hostport"])
        self.assertEqual(p["status"]["phase"], "Running", json.dumps(p["status"])[:600])
        self.assertTrue(self.obs["hostport_answers"])


if __name__ == "__main__":
    kn.exit_on_sigterm()
    unittest.main(verbosity=2)
