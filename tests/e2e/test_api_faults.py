#!/usr/bin/env python3
"""test_api_faults.py: api_client against a failing fake apiserver, through
api_probe: the classification of every fault (refused, hung, stalled, 5xx,
401/403, cut stream, bad stream content) and the retry/backoff timing.
(Split from test_api_client.py so ctest runs the two halves side by side.)
"""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_probe_env import NODE, Base, contact, ev, main, sync  # noqa: E402
from fakeapi import make_pod  # noqa: E402


class Faults(Base):
    def connected(self, api):
        p = self.probe(api)
        p.wait_for(ev("listed"))
        p.wait_for(contact("success", "WATCH.*(connected|event)"))
        return p

    def test_refused_is_failure_and_retried_every_second(self):
        api = self.fake()
        p = self.connected(api)
        api.fault("down")
        p.wait_for(contact("failure", "WATCH"))
        events = p.collect(3.5)
        refused = [e for e in events if e["ev"] == "contact" and e["outcome"] == "failure"]
        self.assertTrue(all("Couldn't connect" in e["detail"] or "refused" in e["detail"]
                            for e in refused), refused)
        self.assertGreaterEqual(len(refused), 3)  # retried at least every second
        api.fault("none")
        p.wait_for(contact("success"), timeout=5)

    def test_hung_apiserver_fails_within_seconds(self):
        api = self.fake()
        p = self.connected(api)
        api.fault("hung")
        # No idle connection to reuse (the GET of kube-system after the LIST left one):
        # the running watch dies, the new connection hangs.
        api.close_idle()
        api.cut()
        p.wait_for(contact("failure", "WATCH"))
        t0 = time.monotonic()
        e = p.wait_for(contact("failure", "[Tt]ime"), timeout=10)
        self.assertLess(time.monotonic() - t0, 6)
        self.assertIn("WATCH", e["detail"])
        api.fault("none")
        p.wait_for(contact("success"), timeout=10)

    def test_stalled_responses_fail_within_seconds(self):
        """Connected and TLS done, but the answer never comes: a WATCH fails
        when its headers do not arrive in 3 + 10 s, a LIST when no byte
        arrives for 10 s."""
        api = self.fake()
        p = self.connected(api)
        api.fault("stall", match="watch=1")
        api.cut()
        p.wait_for(contact("failure", "WATCH"))
        t0 = time.monotonic()
        p.wait_for(contact("failure", "WATCH.*no response within 13000 ms"), timeout=20)
        self.assertLess(time.monotonic() - t0, 16)
        api.fault("stall", match="limit=")
        p.send("relist")
        t0 = time.monotonic()
        e = p.wait_for(contact("failure", "LIST"), timeout=20)
        self.assertRegex(e["detail"], "too slow|[Tt]ime")
        self.assertLess(time.monotonic() - t0, 14)
        api.fault("none")
        p.wait_for(ev("listed"), timeout=10)

    def test_5xx_is_failure(self):
        api = self.fake()
        p = self.connected(api)
        api.fault("status", code=503)
        api.cut()
        p.wait_for(contact("failure", "HTTP 503"))
        api.fault("status", code=429)
        p.wait_for(contact("failure", "HTTP 429"))

    def test_401_and_403_are_auth_errors(self):
        api = self.fake()
        p = self.connected(api)
        for code in (401, 403):
            api.fault("status", code=code)
            api.cut()
            p.wait_for(contact("auth_error", "HTTP %d" % code))
            # The API is up, so nobody will call it unreachable: retries back
            # off on their own instead of hammering it every second.
            api.reset_stats()
            # (client-go's backoff: 0.8-1.6 s, then doubling to 30-60 s.)
            p.collect(6)
            tries = sum(api.stats()["counts"].values())
            # The backoff carries on from the first round (no 2 min calm between):
            # the second round may see no retry at all within 6 s.
            self.assertLessEqual(tries, 4)
            api.fault("none")
            p.wait_for(contact("success", "WATCH"), timeout=60)

    def test_cut_stream_rewatches(self):
        api = self.fake()
        api.add_pod(make_pod("a", NODE))
        p = self.connected(api)
        for mode, needle in (("partial", "WATCH"), ("clean", "ended inside an event")):
            self.assertEqual(api.cut(mode), 1)
            p.wait_for(contact("failure", needle))
            p.wait_for(contact("success", "WATCH"), timeout=5)
            api.add_pod(make_pod("after-" + mode, NODE))
            p.wait_for(ev("changed", pod="kube-system/after-" + mode))
        self.assertEqual(api.stats()["counts"]["LIST pods"], 1)
        # The half event never reached the caller.
        self.assertFalse([e for e in p.events if e.get("pod") == "?/cut"])

    def test_bad_stream_content_is_a_failure_or_sync_error_and_rewatched(self):
        api = self.fake()
        api.add_pod(make_pod("a", NODE))
        p = self.connected(api)
        for line, needle in (
                ('{"type":"ERROR","object":{"kind":"Status","code":500,"message":"boom"}}\n',
                 "ERROR event, status 500: boom"),
                ("{not json\n", "invalid JSON"),
                ('{"type":"RENAMED","object":{}}\n', "unknown event type"),
                ('{"type":"ADDED","object":{"x":"' + "y" * (17 << 20) + '"}}\n',
                 "more than 16777216 bytes")):
            deadline = time.monotonic() + 5  # the fake notices a closed watch within 0.5 s
            while api.stats()["active_watches"] != 1 and time.monotonic() < deadline:
                time.sleep(0.1)
            self.assertEqual(api.inject(line), 1)
            # A 500 is a failure; a line this node cannot read is an answer it
            # cannot use (issue 19, finding 1): a sync error, never a failure.
            p.wait_for(lambda e: (contact("failure", re.escape(needle))(e) or
                                  sync(re.escape(needle))(e)), timeout=30)
            p.wait_for(contact("success", "WATCH.*(watch connected|BOOKMARK event)$"), timeout=30)
        self.assertEqual(api.stats()["counts"]["LIST pods"], 1)
        self.assertFalse([e for e in p.events if e["ev"] in ("changed", "deleted")])

    def test_backoff_once_unreachable(self):
        api = self.fake()
        api.fault("down")
        p = self.probe(api, "--unreachable-after-ms", "2000")
        start = p.wait_for(ev("unreachable"), timeout=10)["t"]
        # Before: retried within a second. After: exponential, jittered, <= 10 s.
        before = [e["t"] for e in p.events if e["ev"] == "contact"]
        self.assertGreaterEqual(len(before), 2)
        self.assertLessEqual(max(b - a for a, b in zip(before, before[1:])), 1100)
        times = [start]
        for _ in range(3):
            times.append(p.wait_for(contact("failure"), timeout=15)["t"])
        gaps = [b - a for a, b in zip(times, times[1:])]
        self.assertLessEqual(max(gaps), 10500, gaps)
        self.assertGreater(max(gaps), 2000, gaps)  # it did back off
        api.fault("none")
        p.wait_for(ev("reachable"), timeout=15)




if __name__ == "__main__":
    main()
