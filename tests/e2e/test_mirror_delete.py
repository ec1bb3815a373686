"""test_mirror_delete.py: the agent deletes a bridge's mirror pod just before
it withdraws the bridge (src/agent/agent_mirror.c, src/api/api_mirror.c), with the real binary,
the fake apiserver and the fake container runtime:

- a bridge is activated in an outage; the API comes back holding the bridge's
  mirror pod, published as the kubelet does; the parent gets a container (W1)
  and the agent withdraws the bridge: it sends exactly one DELETE of that
  mirror pod, grace 0, with the mirror pod's UID as precondition, and removes
  the manifest only after the answer (while the bridged API still serves);
- pods that merely look like a mirror pod of ours (no config.mirror mark,
  another namespace, another node in the name, bound to another node) are
  never deleted;
- a DELETE the API fails (5xx) is logged and counted, the agent keeps
  working, and it is no sign of an outage (the API stays reachable);
- the DELETE carries the UID the agent saw: a mirror pod the kubelet
  replaced or deleted meanwhile is refused (409) or not found (404), and the
  replacement stays;
- the fake apiserver answers DELETE as kube-apiserver does (200 with the pod,
  404, 409 on a UID precondition, DELETED in the watch).
"""
import http.client
import json
import os
import ssl
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agent_env import (AgentEnv, AgentTestCase, annotated_pod, manifest, metric_value,  # noqa: E402
                       uid_of, wait_for)

NODE = "node-1"
MIRROR_MARK = "kubernetes.io/config.mirror"
DELETED = 'kubelet_checkpoint_mirror_pod_deletions_total{result="deleted"}'
FAILED = 'kubelet_checkpoint_mirror_pod_deletions_total{result="failed"}'
API_FAILURES = 'kubelet_checkpoint_api_requests_total{result="failure"}'


def mirror_pod(env, parent, name_node=NODE, bound_node=NODE, namespace=None, mark=True):
    """The mirror pod a kubelet publishes for the bridge manifest of parent:
    the file's metadata and spec, named "<name>-<node>" and bound to the node,
    with the config.hash/source/seen annotations
    (pkg/kubelet/config/common.go, applyDefaults), then the annotations plus
    config.mirror = the hash, owned by the Node (pkg/kubelet/pod/
    mirror_client.go, CreateMirrorPod). The API gives it a UID of its own.
    The keyword arguments make look-alikes."""
    m = env.manifest_json(manifest(parent))
    meta = m["metadata"]
    static_hash = "3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c"
    annotations = dict(meta.get("annotations") or {})
    annotations.update({"kubernetes.io/config.hash": static_hash,
                        "kubernetes.io/config.source": "file",
                        "kubernetes.io/config.seen": "2026-12-06T10:00:00.000000000Z"})
    if mark:
        annotations[MIRROR_MARK] = static_hash
    spec = dict(m["spec"])
    spec["nodeName"] = bound_node
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "%s-%s" % (meta["name"], name_node),
                         "namespace": namespace or meta["namespace"],
                         "labels": meta.get("labels") or {}, "annotations": annotations,
                         "ownerReferences": [{"apiVersion": "v1", "kind": "Node",
                                              "name": bound_node, "uid": uid_of(7000),
                                              "controller": True}]},
            "spec": spec, "status": {"phase": "Running"}}


def deletes(env):
    return [r for r in env.api.requests() if r["verb"] == "DELETE"]


def delete_options(uid):
    """What the kubelet's DeleteMirrorPod sends (grace 0, UID precondition)."""
    return {"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0,
            "preconditions": {"uid": uid}}


class MirrorDeleteTest(AgentTestCase):
    def bridges_up(self, parents, reachable_after=30):
        """Parents checkpointed, then an outage long enough for their bridges."""
        env = self.env = AgentEnv(node=NODE, cri=True, unreachable_after=3,
                                  reachable_after=reachable_after)
        env.api.add_pods([annotated_pod(name, NODE, n) for n, name in parents])
        # --static-pod-path: no kubelet is looked for in /proc.
        env.start(["--static-pod-path", env.manifests, "--bridge-start-timeout", "3",
                   "--bridge-grace-period", "2"])
        for n, name in parents:
            wait_for(lambda: os.path.exists(env.checkpoint_path(uid_of(n))),
                     what="checkpoint of " + name)
        env.api.fault("down")
        for n, name in parents:
            wait_for(lambda: manifest(name) in env.bridge_files(), timeout=45,
                     what="activation of " + name)
        return env

    def api_back(self, pods):
        """The API returns holding pods (the kubelet's mirror pods, published
        while it was away): wait until the agent's watch runs after it."""
        env = self.env
        added = [env.api.add_pod(p) for p in pods]
        t = time.time()
        env.api.fault("none")
        wait_for(lambda: env.api.stats()["active_watches"] > 0 and any(
            r["verb"] == "WATCH" and r["code"] == 200 and r["t"] >= t
            for r in env.api.requests()), timeout=30, what="the agent's watch again")
        time.sleep(1.0)  # the LIST or the resumed watch brought the pods
        return added

    def parent_runs(self, *parents):
        """W1: the kubelet got the API pods back and made their containers."""
        env = self.env
        t0 = time.time()
        for n, name in parents:
            env.cri.add(uid_of(n), name, "kube-system", ready=True)
        for n, name in parents:
            wait_for(lambda: manifest(name) not in env.bridge_files(), timeout=10,
                     what="withdrawal of " + name)
        return t0, time.time()

    def test_withdrawal_deletes_the_mirror_pod_once(self):
        env = self.bridges_up([(1, "agent-a"), (2, "agent-b"), (3, "agent-c")])
        real = mirror_pod(env, "agent-a")
        lookalikes = [
            # The bridge's metadata without the kubelet's mark.
            mirror_pod(env, "agent-b", mark=False),
            # Marked, but in another namespace than the one checkpoint-of names.
            mirror_pod(env, "agent-b", namespace="default"),
            # Marked, bound here, but named for another node.
            mirror_pod(env, "agent-b", name_node="node-2"),
            # The static pod name of this node, bound to another: not on this node's watch.
            mirror_pod(env, "agent-c", bound_node="node-2"),
        ]
        added = self.api_back([real] + lookalikes)
        mirror_uid = added[0]["metadata"]["uid"]
        self.assertEqual(deletes(env), [], "a DELETE before any withdrawal")
        t0, t_gone = self.parent_runs((1, "agent-a"), (2, "agent-b"), (3, "agent-c"))
        done = wait_for(lambda: deletes(env), timeout=5, what="the mirror pod's DELETE")[0]
        time.sleep(2)  # room for any DELETE that should not come
        done = deletes(env)
        self.assertEqual(len(done), 1, done)
        d = done[0]
        self.assertEqual(d["path"], "/api/v1/namespaces/kube-system/pods/agent-a-" + NODE)
        self.assertEqual(d["body"], delete_options(mirror_uid))
        self.assertEqual(d["code"], 200)
        self.assertEqual(d["user"], "system:node:" + NODE)
        # Sent with the withdrawal, not by some later turn.
        self.assertGreaterEqual(d["t"], t0)
        # Before the kubelet's housekeeping (every 2 s, kubelet.go syncLoopIteration) could.
        self.assertLess(d["t"] - t_gone, 2.0, "the DELETE came late after the withdrawal")
        state = env.api.call("GET", "/state")["pods"]
        names = sorted((p["metadata"]["namespace"], p["metadata"]["name"]) for p in state)
        self.assertNotIn(("kube-system", "agent-a-" + NODE), names)
        for p in lookalikes:
            self.assertIn((p["metadata"]["namespace"], p["metadata"]["name"]), names)
        wait_for(lambda: metric_value(env, DELETED) == 1, timeout=5, what="deleted metric")
        self.assertEqual(metric_value(env, FAILED), 0)
        log = env.log_text()
        self.assertIn("the bridge's mirror pod is gone", log)
        # The answer came before the manifest went (api_mirror.c: after, it races the
        # bridges' SIGTERM).
        self.assertLess(log.index("the bridge's mirror pod is gone"),
                        log.index("withdrawn " + env.manifests), log)
        # The mirror pod's DELETED event is not taken for a parent's deletion.
        self.assertNotIn("was deleted from the API", log)

    def test_only_the_mirror_pod_seen_is_deleted(self):
        """The kubelet replaced one mirror pod (new UID) and deleted the other
        while the agent's watch heard nothing: each DELETE carries the UID
        the agent saw, so the API refuses it (409) or finds nothing (404),
        and the new mirror pod stays. Neither counts, either way."""
        env = self.bridges_up([(1, "agent-a"), (2, "agent-b")])
        added = self.api_back([mirror_pod(env, "agent-a"), mirror_pod(env, "agent-b")])
        env.api.settings(silent_watch=True)
        env.api.delete_pod("kube-system", "agent-a-" + NODE)
        new_uid = env.api.add_pod(mirror_pod(env, "agent-a"))["metadata"]["uid"]
        env.api.delete_pod("kube-system", "agent-b-" + NODE)
        self.parent_runs((1, "agent-a"), (2, "agent-b"))
        wait_for(lambda: len(deletes(env)) == 2, timeout=5, what="two DELETEs")
        time.sleep(1)
        done = sorted(deletes(env), key=lambda r: r["path"])
        self.assertEqual([(d["path"].rsplit("/", 1)[1], d["code"], d["body"]) for d in done],
                         [("agent-a-" + NODE, 409, delete_options(added[0]["metadata"]["uid"])),
                          ("agent-b-" + NODE, 404, delete_options(added[1]["metadata"]["uid"]))])
        self.assertEqual([p["metadata"]["uid"] for p in env.api.call("GET", "/state")["pods"]
                          if p["metadata"]["name"] == "agent-a-" + NODE], [new_uid])
        self.assertEqual(env.log_text().count("no mirror pod of ours to delete"), 2)
        wait_for(lambda: metric_value(env, DELETED) is not None, timeout=5, what="metrics")
        self.assertEqual((metric_value(env, DELETED), metric_value(env, FAILED)), (0, 0))

    def test_failed_delete_is_no_outage(self):
        env = self.bridges_up([(1, "agent-a")], reachable_after=2)
        mirror_uid = self.api_back([mirror_pod(env, "agent-a")])[0]["metadata"]["uid"]
        env.api.fault("status", code=500, match="/pods/agent-a-" + NODE)
        wait_for(lambda: env.status()["api"]["reachable"] is True, timeout=20,
                 what="API reachable")
        # Reachable, the parent not running: the bridge stays for the hand-off.
        self.assertIn(manifest("agent-a"), env.bridge_files())
        failures = metric_value(env, API_FAILURES)
        self.assertIsNotNone(failures)
        self.parent_runs((1, "agent-a"))
        wait_for(lambda: deletes(env), timeout=5, what="the mirror pod's DELETE")
        wait_for(lambda: metric_value(env, FAILED) == 1, timeout=5, what="failed metric")
        self.assertIn("the kubelet deletes the mirror pod itself", env.log_text())
        for _ in range(6):
            self.assertIs(env.status()["api"]["reachable"], True)
            self.assertEqual(metric_value(env, API_FAILURES), failures,
                             "the failed DELETE counted as a failed API contact")
            time.sleep(0.5)
        done = deletes(env)
        self.assertEqual(len(done), 1, "retried: %s" % done)
        self.assertEqual(done[0]["code"], 500)
        self.assertEqual(done[0]["body"], delete_options(mirror_uid))
        self.assertEqual(metric_value(env, DELETED), 0)
        # Left to the kubelet...
        self.assertIn("agent-a-" + NODE, [p["metadata"]["name"] for p in
                                          env.api.call("GET", "/state")["pods"]])
        # ...and the agent goes on: a new parent is checkpointed.
        env.api.add_pod(annotated_pod("agent-z", NODE, 26))
        wait_for(lambda: os.path.exists(env.checkpoint_path(uid_of(26))),
                 what="checkpoint after the failed DELETE")
        self.assertIsNone(env.proc.poll())


class FakeApiDeleteTest(unittest.TestCase):
    """DELETE on the fake apiserver's API port, as kube-apiserver answers it."""

    def setUp(self):
        self.env = AgentEnv(node=NODE)
        c = self.env.certs
        self.ctx = ssl.create_default_context(cafile=os.path.join(c, "ca.crt"))
        self.ctx.load_cert_chain(os.path.join(c, "client.pem"))

    def tearDown(self):
        self.env.close()

    def request(self, method, path, body=None, timeout=10):
        conn = http.client.HTTPSConnection("127.0.0.1", self.env.api.api_port,
                                           context=self.ctx, timeout=timeout)
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=data, headers={"Content-Type": "application/json"})
        return conn, conn.getresponse()

    def call(self, method, path, body=None):
        conn, resp = self.request(method, path, body)
        try:
            return resp.status, json.loads(resp.read())
        finally:
            conn.close()

    def test_delete(self):
        api = self.env.api
        pod = api.add_pod(annotated_pod("m-" + NODE, NODE, 40))
        path = "/api/v1/namespaces/kube-system/pods/m-" + NODE
        rv = api.stats()["rv"]
        code, body = self.call("DELETE", path, delete_options(uid_of(41)))
        self.assertEqual(code, 409)
        self.assertEqual((body["kind"], body["reason"], body["code"]), ("Status", "Conflict", 409))
        self.assertIn("Precondition failed: UID in precondition", body["message"])
        code, body = self.call("DELETE", path, {"gracePeriodSeconds": 30})
        self.assertEqual(code, 200)
        self.assertIn("deletionTimestamp", body["metadata"])  # graceful: still there
        code, body = self.call("DELETE", path, delete_options(uid_of(40)))
        self.assertEqual(code, 200)
        self.assertEqual((body["kind"], body["metadata"]["uid"]), ("Pod", pod["metadata"]["uid"]))
        code, body = self.call("DELETE", path, delete_options(uid_of(40)))
        self.assertEqual(code, 404)
        self.assertEqual((body["kind"], body["reason"]), ("Status", "NotFound"))
        code, _ = self.call("DELETE", "/api/v1/namespaces/kube-system/secrets/x")
        self.assertEqual(code, 404)
        # The watch from before: MODIFIED (graceful), then DELETED.
        conn, resp = self.request("GET", "/api/v1/pods?fieldSelector=spec.nodeName%%3D%s"
                                  "&watch=1&resourceVersion=%d&timeoutSeconds=1" % (NODE, rv))
        lines = [json.loads(x) for x in resp.read().splitlines() if x.strip()]
        conn.close()
        self.assertEqual([e["type"] for e in lines], ["MODIFIED", "DELETED"])
        log = [r for r in api.requests() if r["verb"] == "DELETE"]
        self.assertEqual([r["code"] for r in log], [409, 200, 200, 404, 404])
        self.assertEqual(log[0]["body"], delete_options(uid_of(41)))
        self.assertEqual(log[0]["resource"], "pod")


if __name__ == "__main__":
    unittest.main()
