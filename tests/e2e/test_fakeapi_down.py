#!/usr/bin/env python3
"""test_fakeapi_down.py: the fake apiserver's "down" fault leaves nothing that
answers. Every outage test relies on it, and it once did not: a connection
still in its TLS handshake (wrap_socket had detached the registered raw
socket) or not yet registered by its thread was missed by down() and went on
serving, so an agent that had just (re)started kept the API "reachable"
through the whole outage (the system test's purge step timed out in CI).
Nor does anything else take the port while it is down, so "up" always gets
it back (a concurrent test's server once did: EADDRINUSE in CI).
"""

import errno
import os
import socket
import ssl
import sys
import tempfile
import threading
import time
import unittest
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("KC_SOURCE_DIR", os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "fakeapi"))
from fakeapi import FakeAPI, gen_certs  # noqa: E402

REQUEST = b"GET /api/v1/pods HTTP/1.1\r\nHost: fake\r\n\r\n"


class Down(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        certs = gen_certs(cls.tmp.name, "node-1")
        cls.ctx = ssl.create_default_context(cafile=os.path.join(certs, "ca.crt"))
        cls.ctx.load_cert_chain(os.path.join(certs, "client.pem"))
        cls.ctx.check_hostname = False
        cls.api = FakeAPI(certs)

    @classmethod
    def tearDownClass(cls):
        cls.api.close()
        cls.tmp.cleanup()

    def answers(self, sock):
        """Does a TLS request on this TCP connection get an HTTP answer?"""
        sock.settimeout(3)
        tls = None
        # CPython's SSLSocket._create leaves its half-made socket to the
        # collector when the peer has already reset the connection (as "down"
        # does): thousands of ResourceWarnings that say nothing of the server.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            try:
                tls = self.ctx.wrap_socket(sock, do_handshake_on_connect=False)
                tls.do_handshake()
                tls.sendall(REQUEST)
                return tls.recv(16).startswith(b"HTTP/1.1")
            except (OSError, ssl.SSLError):
                return False
            finally:
                (tls or sock).close()  # wrap_socket takes over the socket's fd

    def test_connection_opened_before_down_never_answers(self):
        """Connected (no TLS yet) before the fault: no answer after it."""
        sock = socket.create_connection(("127.0.0.1", self.api.api_port))
        time.sleep(0.3)  # accepted, its thread waiting in the handshake
        self.api.fault("down")
        try:
            self.assertFalse(self.answers(sock))
        finally:
            self.api.fault("none")

    def test_connections_racing_down_never_answer(self):
        """Connections opened while down() runs: none of them answers after it."""
        for trial in range(3):
            held, stop, lock = [], threading.Event(), threading.Lock()

            def connect():
                while not stop.is_set():
                    try:
                        s = socket.create_connection(("127.0.0.1", self.api.api_port), 2)
                    except OSError:
                        continue
                    with lock:
                        held.append(s)

            threads = [threading.Thread(target=connect) for _ in range(4)]
            for t in threads:
                t.start()
            time.sleep(0.05)
            self.api.fault("down")
            stop.set()
            for t in threads:
                t.join()
            try:
                answered = sum(self.answers(s) for s in held)
                self.assertEqual(answered, 0, "trial %d: %d of %d connections answered "
                                 "after down" % (trial, answered, len(held)))
            finally:
                self.api.fault("none")

    def test_port_is_kept_while_down(self):
        """No other socket can take the port while the API is down, so "up"
        always gets it back. It once was free: a server started elsewhere by
        a concurrent test could be given it (bind to port 0), and the next
        "up" failed with EADDRINUSE (CI, ctest -j4)."""
        self.api.fault("down")
        try:
            with self.assertRaises(ConnectionRefusedError):
                socket.create_connection(("127.0.0.1", self.api.api_port), 2)
            other = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                with self.assertRaises(OSError) as cm:
                    other.bind(("127.0.0.1", self.api.api_port))
                self.assertEqual(cm.exception.errno, errno.EADDRINUSE)
            finally:
                other.close()
        finally:
            self.api.fault("none")
        self.assertTrue(self.answers(socket.create_connection(("127.0.0.1",
                                                                self.api.api_port))))

    def test_up_again_answers(self):
        self.api.fault("down")
        self.api.fault("none")
        sock = socket.create_connection(("127.0.0.1", self.api.api_port))
        self.assertTrue(self.answers(sock))


if __name__ == "__main__":
    unittest.main(verbosity=2)
