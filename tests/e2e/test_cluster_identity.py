"""test_cluster_identity.py: which cluster the API serves (issue 18, "Cluster
identity"; src/api/api_cluster.c), with the real binary and the fake
apiserver:

- at start (the boot-order probe) and after the first LIST the agent reads
  GET /api/v1/namespaces/kube-system from the watch cache (resourceVersion=0, no etcd read) and shows its UID
  in status ("cluster": {"kubeSystemUID": ...}) and in the text status;
- after each relist it reads it again: a UID that changed while the agent
  runs is another cluster, said loudly in the log;
- an idle agent does not ask again (the refresh is hours apart);
- a node identity that may not read Namespaces (the Node authorizer's
  default, a 403) leaves the kube-system UID unknown, said once, and is not
  this node's identity refused: the API stays reachable, nothing logs refused
  credentials;
- the UID of the Service default/kubernetes (which nodes may read) is read
  in the same rounds (resourceVersion=0) and shown in status; under a
  Namespace 403 it decides: the same Service UID lets a checkpoint be
  collected after a quorum read, another one is another cluster (nothing
  collected, said loudly), and the forbidden Namespace is asked no more often.
"""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agent_env import AgentEnv, annotated_pod, uid_of, wait_for  # noqa: E402

NODE = "node-1"
UID_A = "aaaaaaaa-1111-4111-8111-111111111111"
UID_B = "bbbbbbbb-2222-4222-8222-222222222222"
SVC_A = "cccccccc-3333-4333-8333-333333333333"
SVC_B = "dddddddd-4444-4444-8444-444444444444"


def ns_gets(env):
    return [r for r in env.api.requests() if r["resource"] == "namespaces"]


def read(path):
    with open(path) as f:
        return f.read()


def svc_gets(env):
    return [r for r in env.api.requests() if r["resource"] == "services"]


class ClusterIdentity(unittest.TestCase):
    def setUp(self):
        self.make()

    def make(self, **kw):
        self.env = AgentEnv(node=NODE, **kw)
        self.env.api.settings(kube_system_uid=UID_A, kubernetes_service_uid=SVC_A)
        self.env.api.add_pods([annotated_pod("agent-a", NODE, 1)])

    def tearDown(self):
        if self.env.proc is not None and self.env.proc.poll() is None:
            self.env.stop()
        self.env.close()

    def cluster(self):
        return self.env.status().get("cluster") or {}

    def test_uid_in_status_and_a_change_is_loud(self):
        env = self.env
        env.start()
        wait_for(lambda: self.cluster().get("kubeSystemUID") == UID_A, timeout=15,
                 what="kube-system UID in status")
        self.assertIsNotNone(self.cluster()["seen"])
        self.assertIn("cluster:          kube-system " + UID_A, env.status_text())
        wait_for(lambda: self.cluster().get("serviceUID") == SVC_A, timeout=15,
                 what="default/kubernetes Service UID in status")
        self.assertEqual(env.status()["api"]["clusterServiceUID"], SVC_A)
        self.assertIn("cluster:          service default/kubernetes " + SVC_A,
                      env.status_text())
        # The probe at start and the read after the LIST, each a round of two GETs.
        wait_for(lambda: len(ns_gets(env)) == 2 and len(svc_gets(env)) == 2, timeout=10,
                 what="two rounds at start")
        for g in ns_gets(env):
            self.assertIn("/api/v1/namespaces/kube-system?resourceVersion=0", g["path"])
            self.assertFalse(g["etcd"], "a quorum read")
        for g in svc_gets(env):
            self.assertIn("/api/v1/namespaces/default/services/kubernetes?resourceVersion=0",
                          g["path"])
            self.assertFalse(g["etcd"], "a quorum read")
        # Idle: no more reads of them.
        time.sleep(3)
        self.assertEqual(len(ns_gets(env)), 2)
        self.assertEqual(len(svc_gets(env)), 2)
        self.assertNotIn("ANOTHER CLUSTER", env.log_text())
        # Another cluster behind the same address: the next relist (410 Gone) reads it again.
        env.api.settings(kube_system_uid=UID_B)
        env.api.compact(notify=True)
        wait_for(lambda: self.cluster().get("kubeSystemUID") == UID_B, timeout=15,
                 what="the new kube-system UID in status")
        log = env.log_text()
        self.assertIn("ANOTHER CLUSTER", log)
        self.assertIn(UID_A, log[log.index("ANOTHER CLUSTER"):])
        self.assertEqual(len(ns_gets(env)), 3)

    def test_no_kube_system_leaves_the_identity_unknown(self):
        env = self.env
        env.api.settings(kube_system_uid=None)
        env.start()
        wait_for(lambda: len(ns_gets(env)) >= 1, timeout=15, what="the GET")
        time.sleep(1)
        self.assertIsNone(self.cluster().get("kubeSystemUID"))
        # The API answered: it is up, the 404 is no failure.
        wait_for(lambda: env.status()["api"].get("reachable") is True, timeout=15,
                 what="reachable despite the 404")

    def test_forbidden_namespace_is_not_a_refused_identity(self):
        env = self.env
        env.api.fault("status", code=403, match="/namespaces/kube-system")
        env.start()
        wait_for(lambda: len(ns_gets(env)) >= 2, timeout=15, what="the probe and the read")
        wait_for(lambda: env.status()["api"].get("reachable") is True, timeout=15,
                 what="reachable despite the 403")
        self.assertIsNone(self.cluster().get("kubeSystemUID"))
        log = env.log_text()
        self.assertEqual(log.count("may not read the kube-system Namespace"), 1, log)
        self.assertNotIn("refused our credentials", log)
        self.assertNotIn("refused", env.status_text().split("api:", 1)[1].split("\n", 1)[0])

    def forbidden_namespace_setup(self):
        """A stock Node authorizer: the Namespace is 403, the Service readable."""
        self.env.close()
        self.make(gc_grace=3)
        env = self.env
        # The Namespace alone, not the pods in it (the quorum read of the parent).
        env.api.fault("status", code=403, match="/namespaces/kube-system?")
        env.start()
        wait_for(lambda: self.cluster().get("serviceUID") == SVC_A, timeout=15,
                 what="the Service UID in status")
        wait_for(lambda: os.path.exists(env.checkpoint_path(uid_of(1))), what="checkpoint")
        wait_for(lambda: "clusterServiceUID: " + SVC_A in read(env.checkpoint_path(uid_of(1))),
                 timeout=10, what="the Service UID recorded in the checkpoint")
        wait_for(lambda: env.status()["api"].get("reachable") is True, timeout=15,
                 what="API reachable")
        # Both identity rounds of a start (the probe, the read after the LIST)
        # are over before the tests look at what the agent asks while idle.
        wait_for(lambda: len(svc_gets(env)) >= 2, timeout=15, what="the second identity round")
        self.assertIsNone(self.cluster().get("kubeSystemUID"))
        return env

    def test_forbidden_namespace_service_uid_lets_collection_happen(self):
        """Old agent: the cluster is never "the same" under the Node
        authorizer's default, and the checkpoint is never collected."""
        env = self.forbidden_namespace_setup()
        env.api.reset_stats()
        time.sleep(3)
        self.assertEqual(env.api.stats()["etcd"], {}, "a quorum read while idle")
        self.assertEqual(ns_gets(env) + svc_gets(env), [], "identity reads while idle")
        env.api.delete_pod("kube-system", "agent-a")
        wait_for(lambda: not os.path.exists(env.checkpoint_path(uid_of(1))), timeout=20,
                 what="checkpoint collected")
        reads = [(r["verb"], r["resource"], r["etcd"]) for r in env.api.requests()]
        self.assertIn(("GET", "pod", True), reads, "no quorum read of the parent")
        self.assertNotIn("not the cluster some checkpoints were taken from", env.log_text())
        # The 403'd Namespace was asked no more often than before: once a round.
        self.assertLessEqual(len(ns_gets(env)), len(svc_gets(env)))

    def test_forbidden_namespace_other_service_uid_is_another_cluster(self):
        env = self.forbidden_namespace_setup()
        # A wiped etcd behind the same address: a new Service; the parent is not in it.
        env.api.delete_pod("kube-system", "agent-a")
        env.api.settings(kubernetes_service_uid=SVC_B)
        env.api.compact(notify=True)
        wait_for(lambda: self.cluster().get("serviceUID") == SVC_B, timeout=15,
                 what="the new Service UID in status")
        wait_for(lambda: "not the cluster some checkpoints were taken from" in env.log_text(),
                 timeout=15, what="another cluster said")
        self.assertIn("ANOTHER CLUSTER", env.log_text())
        self.assertTrue(env.status()["api"]["otherCluster"])
        time.sleep(5)  # past gc-grace
        self.assertTrue(os.path.exists(env.checkpoint_path(uid_of(1))),
                        "collected on the word of another cluster")


if __name__ == "__main__":
    unittest.main()
