#!/usr/bin/env python3
"""End-to-end: how the agent starts talking to the API (issue 12).

--startup-spread: the first LIST waits the random delay the agent logs, never
longer than the window, so a fleet restarted at once is spread; and `status`
says the API is reachable as soon as the first LIST answered, not only once
--reachable-after has passed (it says "confirming" meanwhile).
"""
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agent_env import AgentEnv, annotated_pod, uid_of, wait_for  # noqa: E402

NODE = "node-1"
DELAY_RE = re.compile(r"first request in (\d+) ms \(start-up spread (\d+) s\)")


class AgentStart(unittest.TestCase):
    def setUp(self):
        self.env = AgentEnv(node=NODE, reachable_after=60)
        self.env.api.add_pod(annotated_pod("p1", NODE, 1))

    def tearDown(self):
        self.env.close()

    def log(self):
        with open(self.env.log_path, errors="replace") as f:
            return f.read()

    def test_first_list_waits_the_spread(self):
        env = self.env
        t0 = time.time()
        env.start(extra=["--startup-spread", "4"])
        m, _ = wait_for(lambda: DELAY_RE.search(self.log()), timeout=10, what="spread log")
        delay_ms, window = int(m.group(1)), int(m.group(2))
        self.assertEqual(window, 4)
        self.assertLessEqual(delay_ms, 4000)
        wait_for(lambda: os.path.exists(env.checkpoint_path(uid_of(1))), timeout=20,
                 what="checkpoint")
        first = min(r["t"] for r in env.api.requests() if r["verb"] == "LIST")
        # Not before the delay the agent drew (0.3 s for process start-up slack).
        self.assertGreaterEqual(first - t0, delay_ms / 1000.0 - 0.3)

    def test_status_reachable_right_after_the_first_list(self):
        env = self.env
        env.start()  # agent_env passes --startup-spread 0
        wait_for(lambda: os.path.exists(env.checkpoint_path(uid_of(1))), timeout=20,
                 what="checkpoint")
        # reachable-after is 60 s: long before it, status already says reachable.
        doc, _ = wait_for(lambda: (lambda d: d if d["api"]["reachable"] else None)(
            env.status()), timeout=10, what="api reachable in status")
        self.assertEqual(doc["api"]["state"], "reachable")
        self.assertIs(doc["api"]["confirming"], True)
        self.assertRegex(env.status_text(), r"api: +reachable since \S+ \(confirming")


if __name__ == "__main__":
    unittest.main(verbosity=2)
