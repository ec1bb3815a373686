"""fakeapi.py: drive tests/fakeapi/fake_apiserver.py from a Python test.

    from fakeapi import FakeAPI, gen_certs, make_pod
    certs = gen_certs(tmpdir, "node-1")
    with FakeAPI(certs) as api:
        api.add_pod(make_pod("kube-proxy-abcde", "node-1"))
        api.fault("down"); api.fault("none")
        api.stats()["counts"]["WATCH pods"]

Standard library only.
"""

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "fake_apiserver.py")
GEN_CERTS = os.path.join(HERE, "gen_certs.sh")


def gen_certs(outdir, node="node-1", client_cn=None):
    """Create the test PKI (see gen_certs.sh); returns outdir. client_cn replaces the
    client certificate's CN (system:node:<node>)."""
    if not os.path.exists(os.path.join(outdir, "client.pem")):
        subprocess.run(["sh", GEN_CERTS, outdir, node] + ([client_cn] if client_cn else []),
                       check=True)
    return outdir


def make_pod(name, node, namespace="kube-system", annotations=None, uid=None, **spec):
    """A minimal Pod bound to node, annotated for checkpointing by default."""
    if annotations is None:
        annotations = {"node.kubernetes.io/bootstrap-checkpoint": "true"}
    meta = {"name": name, "namespace": namespace, "annotations": annotations}
    if uid:
        meta["uid"] = uid
    body = {"nodeName": node,
            "containers": [{"name": "c", "image": "registry.k8s.io/pause:3.9"}]}
    body.update(spec)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": body,
            "status": {"phase": "Running"}}


class FakeAPI:
    """A running fake apiserver (a child process) and its control channel."""

    def __init__(self, certdir=None, require_client_cert=True, token=None, client_ca=True):
        args = [sys.executable, SERVER, "--die-with-parent"]
        if certdir is not None:
            args += ["--cert", os.path.join(certdir, "server.crt"),
                     "--key", os.path.join(certdir, "server.key")]
            if client_ca:
                args += ["--client-ca", os.path.join(certdir, "ca.crt")]
            if require_client_cert and client_ca:
                args.append("--require-client-cert")
        if token is not None:
            args += ["--token", token]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("fake apiserver did not start")
        ports = json.loads(line)
        self.api_port = ports["api_port"]
        self.control_port = ports["control_port"]
        scheme = "https" if certdir is not None else "http"
        self.url = "%s://127.0.0.1:%d" % (scheme, self.api_port)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.control_port, path),
                                     data=data, method=method)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return None
            raise

    # Objects.
    def add_pod(self, pod):
        return self.call("POST", "/pods", pod)

    def add_pods(self, pods):
        return self.call("POST", "/pods", {"items": pods})

    def delete_pod(self, namespace, name):
        return self.call("DELETE", "/pods/%s/%s" % (namespace, name))

    def add_object(self, obj):
        return self.call("POST", "/objects", obj)

    def delete_object(self, kind, namespace, name):
        return self.call("DELETE", "/objects/%s/%s/%s" % (kind, namespace, name))

    # Behaviour.
    def fault(self, mode, **kw):
        """mode: none | down | hung | stall (match=...) | status (code=..., match=path substring)."""
        kw["mode"] = mode
        return self.call("POST", "/fault", kw)

    def settings(self, **kw):
        """bookmark_interval (s), max_watch_timeout (s), gone_as_event, token,
        kube_system_uid (the cluster's identity; None: no kube-system Namespace),
        kubernetes_service_uid (the Service default/kubernetes's UID; None: no
        such Service)."""
        return self.call("POST", "/settings", kw)

    def cut(self, mode="partial"):
        """Cut every active watch mid-event; 'partial' drops the connection,
        'clean' ends the chunked body properly right after the half event."""
        return self.call("POST", "/cut", {"mode": mode})["cut"]

    def close_idle(self):
        """Close every keep-alive connection that waits for its next request
        (as a server's idle timeout does); returns how many."""
        return self.call("POST", "/close-idle", {})["closed"]

    def inject(self, line):
        """Write raw bytes into every active watch stream; returns how many."""
        return self.call("POST", "/inject", {"line": line})["injected"]

    def compact(self, notify=False):
        """Forget history: watches from an older rv get 410 (notify: also
        send ERROR 410 to the active watches)."""
        return self.call("POST", "/compact", {"notify": notify})

    def stats(self):
        return self.call("GET", "/stats")

    def requests(self):
        return self.call("GET", "/requests")

    def reset_stats(self):
        return self.call("POST", "/reset-stats", {})

    def events(self):
        """The core/v1 Events POSTed so far (each with "_user": who posted it)."""
        return self.call("GET", "/events")
