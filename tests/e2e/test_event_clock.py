#!/usr/bin/env python3
"""End-to-end: durations in Events follow the monotonic clock (issue 19 item 13).

The wall clock of the agent jumps five days forward (libfaketime, as NTP or
a resumed VM would) while a bridge runs: the CheckpointBridgeWithdrawn Event
still says how long the bridge really ran, not "after running 120h00m01s".
"""
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agent_env import AgentEnv, annotated_pod, faketime_wrapper, wait_for  # noqa: E402

NODE = "node-1"
LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"


def seconds(text):
    """'1h02m03s' / '2m03s' / '7s' (agent_event_duration) as seconds."""
    m = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(\d+)s", text)
    h, mi, s = (int(g or 0) for g in m.groups())
    return h * 3600 + mi * 60 + s


@unittest.skipUnless(os.path.exists(LIBFAKETIME), "needs libfaketime (Debian: faketime)")
class EventClock(unittest.TestCase):
    def test_wall_clock_jump_is_no_running_time(self):
        with AgentEnv(node=NODE) as env:
            parent = annotated_pod("p1", NODE, 1)
            env.api.add_pods([parent])
            stamp = os.path.join(env.root, "faketime")
            with open(stamp, "w") as f:
                f.write("+0\n")
            env.start(wrapper=faketime_wrapper(LIBFAKETIME, stamp))
            wait_for(lambda: os.path.exists(env.checkpoint_path(parent["metadata"]["uid"])),
                     timeout=30, what="checkpoint")
            manifest = "kubelet-checkpoint_kube-system_p1.yaml"
            env.api.fault("down")
            wait_for(lambda: manifest in env.bridge_files(), timeout=20, what="bridge")
            t0 = time.time()
            with open(stamp, "w") as f:
                f.write("+120h\n")
            time.sleep(1.0)
            env.api.fault("none")
            # The parent gets a container again (its pod cgroup): the hand-off
            # withdraws the bridge (the API's answer alone withdraws nothing).
            env.set_running(parent["metadata"]["uid"], True)
            wait_for(lambda: manifest not in env.bridge_files(), timeout=30, what="withdrawn")
            wd, _ = wait_for(lambda: [e for e in env.api.events()
                                      if e["reason"] == "CheckpointBridgeWithdrawn"],
                             timeout=30, what="CheckpointBridgeWithdrawn")
            m = re.search(r"after running (\S+)$", wd[0]["message"])
            self.assertIsNotNone(m, wd[0]["message"])
            ran = seconds(m.group(1))
            self.assertLessEqual(ran, time.time() - t0 + 30, wd[0]["message"])
            # The jump is real to the agent: its Events are dated five days ahead.
            self.assertTrue(wd[0]["lastTimestamp"] > time.strftime(
                "%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 4 * 86400)), wd[0])


if __name__ == "__main__":
    unittest.main()
