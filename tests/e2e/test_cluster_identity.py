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
  default, a 403) leaves the identity unknown, said once, and is not this
  node's identity refused: the API stays reachable, nothing logs refused
  credentials.
"""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agent_env import AgentEnv, annotated_pod, wait_for  # noqa: E402

NODE = "node-1"
UID_A = "aaaaaaaa-1111-4111-8111-111111111111"
UID_B = "bbbbbbbb-2222-4222-8222-222222222222"


def ns_gets(env):
    return [r for r in env.api.requests() if r["resource"] == "namespaces"]


class ClusterIdentity(unittest.TestCase):
    def setUp(self):
        self.env = AgentEnv(node=NODE)
        self.env.api.settings(kube_system_uid=UID_A)
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
        # The probe at start and the read after the LIST.
        wait_for(lambda: len(ns_gets(env)) == 2, timeout=10, what="two reads at start")
        for g in ns_gets(env):
            self.assertIn("/api/v1/namespaces/kube-system?resourceVersion=0", g["path"])
            self.assertFalse(g["etcd"], "a quorum read")
        # Idle: no more reads of it.
        time.sleep(3)
        self.assertEqual(len(ns_gets(env)), 2)
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


if __name__ == "__main__":
    unittest.main()
