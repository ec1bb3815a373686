#!/usr/bin/env python3
"""fake_apiserver.py: a small kube-apiserver stand-in for kubelet-checkpoint tests.

Python 3 standard library only. It serves, over TLS on 127.0.0.1, the few
endpoints the agent uses:

  GET /api/v1/pods?fieldSelector=spec.nodeName=N[&limit=&continue=]     LIST
  GET /api/v1/pods?fieldSelector=...&watch=1&resourceVersion=R
      [&allowWatchBookmarks=true][&timeoutSeconds=S]                     WATCH
  GET /api/v1/namespaces/NS/secrets/NAME, .../configmaps/NAME            GET
  GET /api/v1/namespaces/NS/pods/NAME                                   GET a pod
  GET /api/v1/nodes/NAME              200, or 404 for a name in settings missing_nodes
  GET /api/v1/namespaces/kube-system (UID: setting kube_system_uid)      GET
  GET /api/v1/namespaces/default/services/kubernetes
      (UID: setting kubernetes_service_uid)                             GET
  POST /api/v1/namespaces/NS/events                                     create Event
  DELETE /api/v1/namespaces/NS/pods/NAME (DeleteOptions: grace, preconditions)

and a plain-HTTP control port (also 127.0.0.1) with JSON endpoints the tests
drive: add/modify/delete pods and objects, faults (down, hung, HTTP status),
cutting watch streams mid-event, compaction (410 Gone), counters. See
README.md in this directory for the full list.
"""

import argparse
import ctypes
import base64
import http.server
import json
import os
import select
import signal
import socket
import ssl
import threading
import time
import urllib.parse
import uuid

MAX_EVENTS = 10000


def status_body(code, reason, message):
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


class State:
    """Everything the fake knows; one lock (a Condition) guards all of it."""

    def __init__(self, token):
        self.cond = threading.Condition()
        self.rv = 1
        self.pods = {}  # (ns, name) -> pod
        self.objects = {}  # (kind, ns, name) -> object
        self.events = []  # (rv, type, pod)
        self.kube_events = []  # core/v1 Events POSTed, as stored (with "_user")
        self.compacted_rv = 0  # a watch from rv < this gets 410
        self.fault = {"mode": "none"}
        self.settings = {
            "bookmark_interval": 60.0,
            "max_watch_timeout": None,
            "gone_as_event": True,
            "token": token,
            # The cluster's identity (the agent's api_cluster.c); None: no kube-system.
            "kube_system_uid": str(uuid.uuid4()),
            # A dead apiserver behind a proxy that keeps the connection: watches
            # answer 200 and then send nothing, no event and no bookmark.
            "silent_watch": False,
            # Every new watch answers 200, sends one ERROR event with this code
            # (a metav1.Status) and ends: 500, 403, 0, 410, ...
            "watch_error": None,
            # Raw bytes every LIST answers with 200 (malformed answers), or null.
            "list_body": None,
            # ... and the Service default/kubernetes's UID; None: no such Service.
            "kubernetes_service_uid": str(uuid.uuid4()),
        }
        self.watches = set()
        self.connections = set()
        self.idle = set()  # keep-alive connections waiting for their next request
        self.reset_stats()

    def reset_stats(self):
        self.counts = {}
        self.by_node = {}
        self.user_agents = set()
        self.log = []
        self.accepted = 0
        self.handshakes = 0  # TLS handshakes completed
        self.conns_by_user = {}  # certificate CN (or "-") -> connections (TLS) accepted
        self.etcd = {}  # node or user -> reads the real apiserver would send to etcd
        self.bytes_out = 0  # response bytes written (headers not counted)

    def count(self, verb, resource, node, code, path, ua, user, quorum=False, body=None):
        key = "%s %s" % (verb, resource)
        self.counts[key] = self.counts.get(key, 0) + 1
        if quorum:
            who = node or user or "-"
            self.etcd[who] = self.etcd.get(who, 0) + 1
        if node is not None:
            per = self.by_node.setdefault(node, {})
            per[key] = per.get(key, 0) + 1
        if ua:
            self.user_agents.add(ua)
        entry = {"t": time.time(), "verb": verb, "resource": resource, "path": path,
                 "code": code, "node": node, "user": user, "ua": ua, "etcd": quorum}
        if body is not None:
            entry["body"] = body  # a DELETE's DeleteOptions, as sent
        self.log.append(entry)
        del self.log[:-50000]

    def bump(self):
        self.rv += 1
        return self.rv

    def record(self, etype, pod):
        self.events.append((self.rv, etype, json.loads(json.dumps(pod))))
        if len(self.events) > MAX_EVENTS:
            dropped = self.events[: len(self.events) - MAX_EVENTS]
            del self.events[: len(dropped)]
            self.compacted_rv = max(self.compacted_rv, dropped[-1][0])
        self.cond.notify_all()

    def put_pod(self, pod):
        meta = pod.setdefault("metadata", {})
        ns = meta.setdefault("namespace", "default")
        name = meta.get("name")
        if not name:
            raise ValueError("pod without metadata.name")
        pod.setdefault("kind", "Pod")
        pod.setdefault("apiVersion", "v1")
        old = self.pods.get((ns, name))
        if old is not None:
            meta.setdefault("uid", old["metadata"]["uid"])
            meta.setdefault("creationTimestamp", old["metadata"].get("creationTimestamp"))
        else:
            meta.setdefault("uid", str(uuid.uuid4()))
            meta.setdefault("creationTimestamp",
                            time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        meta["resourceVersion"] = str(self.bump())
        self.pods[(ns, name)] = pod
        self.record("MODIFIED" if old is not None else "ADDED", pod)
        return pod

    def delete_pod(self, ns, name):
        pod = self.pods.pop((ns, name), None)
        if pod is None:
            return None
        pod["metadata"]["resourceVersion"] = str(self.bump())
        self.record("DELETED", pod)
        return pod

    def delete_pod_api(self, ns, name, options):
        """DELETE of a pod through the API, as kube-apiserver's generic store
        does it (k8s.io/apiserver registry/generic/registry/store.go,
        Store.Delete, with pkg/registry/core/pod/strategy.go
        CheckGracefulDelete). Returns (code, body): 404 NotFound; 409 Conflict
        when preconditions.uid or .resourceVersion differ; else 200 with the
        pod (pods set ReturnDeletedObject), removed at once (DELETED) for a
        grace period of 0, an unbound or finished pod, else marked with
        deletionTimestamp (MODIFIED), as a graceful deletion is."""
        pod = self.pods.get((ns, name))
        if pod is None:
            return 404, status_body(404, "NotFound", 'pods "%s" not found' % name)
        meta = pod["metadata"]
        pre = options.get("preconditions") or {}
        for key, field in (("uid", "UID"), ("resourceVersion", "ResourceVersion")):
            if pre.get(key) is not None and pre[key] != meta.get(key):
                return 409, status_body(
                    409, "Conflict", 'Operation cannot be fulfilled on pods "%s": '
                    "Precondition failed: %s in precondition: %s, %s in object meta: %s"
                    % (name, field, pre[key], field, meta.get(key)))
        grace = options.get("gracePeriodSeconds")
        if grace is None:
            grace = (pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30)
        phase = (pod.get("status") or {}).get("phase")
        if not pod_node(pod) or phase in ("Succeeded", "Failed"):
            grace = 0
        if grace <= 0:
            return 200, self.delete_pod(ns, name)
        if not meta.get("deletionTimestamp"):
            meta["deletionTimestamp"] = time.strftime(
                "%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + grace))
            meta["deletionGracePeriodSeconds"] = grace
            meta["resourceVersion"] = str(self.bump())
            self.record("MODIFIED", pod)
        return 200, pod

    def put_object(self, obj):
        kind = obj.get("kind")
        if kind not in ("Secret", "ConfigMap"):
            raise ValueError("kind must be Secret or ConfigMap")
        meta = obj.setdefault("metadata", {})
        ns = meta.setdefault("namespace", "default")
        if not meta.get("name"):
            raise ValueError("object without metadata.name")
        obj.setdefault("apiVersion", "v1")
        meta.setdefault("uid", str(uuid.uuid4()))
        meta["resourceVersion"] = str(self.bump())
        self.objects[(kind, ns, meta["name"])] = obj
        return obj


def pod_node(pod):
    return (pod.get("spec") or {}).get("nodeName")


def parse_node_selector(value):
    """Only spec.nodeName=N (or ==N) is supported, as the agent sends it."""
    if value is None:
        return None, None
    for op in ("==", "="):
        key, sep, node = value.partition(op)
        if sep and key == "spec.nodeName" and "," not in node and "!" not in key:
            return node, None
    return None, "unsupported fieldSelector %r" % value


class Watch:
    def __init__(self):
        self.cut = None  # None, "partial" or "clean"
        self.expire = False
        self.inject = []  # raw lines to write as they are


class ApiHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-apiserver/1"

    def log_message(self, fmt, *args):  # quiet: the tests read counters instead
        pass

    # A connection is idle between requests: /close-idle may close it then,
    # as a server (or a proxy) closes idle keep-alive connections.
    def handle_one_request(self):
        with self.server.state.cond:
            self.server.state.idle.add(self.connection)
        try:
            super().handle_one_request()
        finally:
            with self.server.state.cond:
                self.server.state.idle.discard(self.connection)

    def parse_request(self):
        with self.server.state.cond:
            self.server.state.idle.discard(self.connection)
        return super().parse_request()

    # -- plumbing --

    def send_json(self, code, body, extra_headers=()):
        data = json.dumps(body).encode()
        with self.server.state.cond:
            self.server.state.bytes_out += len(data)
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in extra_headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def write_chunk(self, data):
        with self.server.state.cond:
            self.server.state.bytes_out += len(data)
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def user(self):
        """Authenticate: a verified client certificate or the bearer token."""
        st = self.server.state
        try:
            cert = self.connection.getpeercert()
        except (ValueError, AttributeError):
            cert = None
        if cert:
            for rdn in cert.get("subject", ()):
                for key, value in rdn:
                    if key == "commonName":
                        return value
            return "cert"
        token = st.settings.get("token")
        auth = self.headers.get("Authorization", "")
        if token and auth == "Bearer " + token:
            return "token"
        if token is None and not self.server.require_auth:
            return "anonymous"
        return None

    def refused(self, user, done):
        """Stall or injected-status faults, then authentication: True when answered."""
        st = self.server.state
        with st.cond:
            # stall: the request was read, the answer never comes (until cleared).
            while st.fault["mode"] == "stall" and st.fault.get("match", "") in self.path:
                st.cond.wait(timeout=0.5)
            fault = dict(st.fault)
        if fault["mode"] == "status" and fault.get("match", "") in self.path:
            code = int(fault.get("code", 500))
            done(code)
            self.send_json(code, status_body(code, "Fault", "injected fault"))
            return True
        if user is None:
            done(401)
            self.send_json(401, status_body(401, "Unauthorized", "Unauthorized"))
            return True
        return False

    # -- requests --

    def serve_service(self, namespace, name, done):
        """The Service default/kubernetes that the apiserver's bootstrap
        controller keeps (its UID: the setting kubernetes_service_uid)."""
        st = self.server.state
        with st.cond:
            uid = st.settings.get("kubernetes_service_uid")
        if (namespace, name) != ("default", "kubernetes") or not uid:
            done(404)
            return self.send_json(404, status_body(
                404, "NotFound", 'services "%s" not found' % name))
        done(200)
        return self.send_json(200, {
            "kind": "Service", "apiVersion": "v1",
            "metadata": {"name": "kubernetes", "namespace": "default", "uid": uid,
                         "resourceVersion": "1",
                         "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.1",
                     "ports": [{"name": "https", "port": 443, "protocol": "TCP",
                                "targetPort": 6443}]}})

    def do_GET(self):
        st = self.server.state
        url = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        q = {k: v[-1] for k, v in q.items()}
        parts = [p for p in url.path.split("/") if p]
        ua = self.headers.get("User-Agent", "")
        verb, resource, node = "GET", "other", None
        if parts == ["api", "v1", "pods"]:
            resource = "pods"
            verb = "WATCH" if q.get("watch") in ("1", "true") else "LIST"
            node, _ = parse_node_selector(q.get("fieldSelector"))
        elif len(parts) == 6 and parts[:3] == ["api", "v1", "namespaces"] and \
                parts[4] in ("secrets", "configmaps", "pods"):
            resource = "pod" if parts[4] == "pods" else parts[4]
        elif len(parts) == 4 and parts[:3] == ["api", "v1", "nodes"]:
            resource = "node"
        elif len(parts) == 6 and parts[:3] == ["api", "v1", "namespaces"] and \
                parts[4] == "services":
            resource = "services"
        elif len(parts) == 4 and parts[:3] == ["api", "v1", "namespaces"]:
            resource = "namespaces"
        user = self.user()
        # What kube-apiserver would read from etcd rather than its watch cache:
        # a LIST or GET without resourceVersion (a quorum read) and a LIST page
        # with a continue token. resourceVersion=0 (and a WATCH) is the cache.
        quorum = verb in ("LIST", "GET") and resource != "other" and (
            not q.get("resourceVersion") or bool(q.get("continue")))

        def done(code):
            with st.cond:
                st.count(verb, resource, node, code, self.path, ua, user,
                         quorum and code < 500 and code not in (401, 403, 429))

        if self.refused(user, done):
            return
        if resource == "pods":
            node, problem = parse_node_selector(q.get("fieldSelector"))
            if problem:
                done(400)
                return self.send_json(400, status_body(400, "BadRequest", problem))
            if verb == "WATCH":
                return self.serve_watch(q, node, done)
            return self.serve_list(q, node, done)
        if resource == "node":
            with st.cond:
                missing = parts[3] in (st.settings.get("missing_nodes") or [])
            if missing:
                done(404)
                return self.send_json(404, status_body(
                    404, "NotFound", 'nodes "%s" not found' % parts[3]))
            done(200)
            return self.send_json(200, {"kind": "Node", "apiVersion": "v1", "metadata": {
                "name": parts[3], "uid": str(uuid.uuid5(uuid.NAMESPACE_DNS, parts[3]))}})
        if resource in ("secrets", "configmaps", "pod"):
            kind = {"secrets": "Secret", "configmaps": "ConfigMap"}.get(resource)
            with st.cond:
                if kind is None:
                    obj = st.pods.get((parts[3], parts[5]))
                else:
                    obj = st.objects.get((kind, parts[3], parts[5]))
                obj = json.loads(json.dumps(obj)) if obj is not None else None
            if obj is None:
                done(404)
                return self.send_json(404, status_body(
                    404, "NotFound", '%s "%s" not found' % (resource, parts[5])))
            done(200)
            return self.send_json(200, obj)
        if resource == "services":
            return self.serve_service(parts[3], parts[5], done)
        if resource == "namespaces":
            with st.cond:
                uid = st.settings.get("kube_system_uid")
            if parts[3] != "kube-system" or not uid:
                done(404)
                return self.send_json(404, status_body(
                    404, "NotFound", 'namespaces "%s" not found' % parts[3]))
            done(200)
            return self.send_json(200, {
                "kind": "Namespace", "apiVersion": "v1",
                "metadata": {"name": "kube-system", "uid": uid, "resourceVersion": "1",
                             "labels": {"kubernetes.io/metadata.name": "kube-system"}},
                "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})
        done(404)
        return self.send_json(404, status_body(404, "NotFound", "the server could not find "
                                               "the requested resource"))

    def do_POST(self):
        """POST /api/v1/namespaces/NS/events: create a core/v1 Event.

        Validated as the apiserver does for what the agent sends: a JSON Event
        whose metadata.namespace is NS (else 400) with a name, reason and
        involvedObject (else 422); an existing name is 409 AlreadyExists.
        """
        st = self.server.state
        url = urllib.parse.urlsplit(self.path)
        parts = [p for p in url.path.split("/") if p]
        ua = self.headers.get("User-Agent", "")
        user = self.user()
        n = int(self.headers.get("Content-Length", "0") or 0)
        raw = self.rfile.read(n) if n else b""
        events = (len(parts) == 5 and parts[:3] == ["api", "v1", "namespaces"]
                  and parts[4] == "events")

        def done(code):
            with st.cond:
                st.count("CREATE", "events" if events else "other", None, code, self.path,
                         ua, user)

        if self.refused(user, done):
            return
        if not events:
            done(405)
            return self.send_json(405, status_body(405, "MethodNotAllowed", "not allowed"))
        try:
            ev = json.loads(raw)
        except ValueError as e:
            done(400)
            return self.send_json(400, status_body(400, "BadRequest", str(e)))
        meta = ev.get("metadata") if isinstance(ev, dict) else None
        if not isinstance(meta, dict) or ev.get("kind") != "Event" or \
                ev.get("apiVersion") != "v1" or meta.get("namespace") != parts[3]:
            done(400)
            return self.send_json(400, status_body(
                400, "BadRequest", "the namespace of the provided object does not match "
                "the namespace sent on the request"))
        obj = ev.get("involvedObject") or {}
        if not meta.get("name") or not ev.get("reason") or not obj.get("kind") or \
                not obj.get("name"):
            done(422)
            return self.send_json(422, status_body(422, "Invalid", "Event is invalid"))
        with st.cond:
            if any(e["metadata"]["name"] == meta["name"] and
                   e["metadata"]["namespace"] == parts[3] for e in st.kube_events):
                code = 409
            else:
                code = 201
                meta["uid"] = str(uuid.uuid4())
                meta["resourceVersion"] = str(st.bump())
                ev["_user"] = user
                st.kube_events.append(ev)
        done(code)
        if code == 409:
            return self.send_json(409, status_body(409, "AlreadyExists",
                                                   'events "%s" already exists' % meta["name"]))
        out = dict(ev)
        out.pop("_user", None)
        return self.send_json(201, out)

    def do_PATCH(self):
        """PATCH /api/v1/namespaces/NS/events/NAME with a JSON merge patch
        (what a recorder sends for a repeat: count, lastTimestamp, message);
        404 when no such Event was created."""
        st = self.server.state
        parts = [p for p in urllib.parse.urlsplit(self.path).path.split("/") if p]
        ua = self.headers.get("User-Agent", "")
        user = self.user()
        n = int(self.headers.get("Content-Length", "0") or 0)
        raw = self.rfile.read(n) if n else b""
        ok_path = (len(parts) == 6 and parts[:3] == ["api", "v1", "namespaces"]
                   and parts[4] == "events")

        def done(code):
            with st.cond:
                st.count("PATCH", "events" if ok_path else "other", None, code, self.path,
                         ua, user)

        if self.refused(user, done):
            return
        if not ok_path or self.headers.get("Content-Type") not in (
                "application/merge-patch+json", "application/strategic-merge-patch+json"):
            done(415 if ok_path else 405)
            return self.send_json(415 if ok_path else 405, status_body(
                415 if ok_path else 405, "UnsupportedMediaType", "not supported"))
        try:
            patch = json.loads(raw)
        except ValueError as e:
            done(400)
            return self.send_json(400, status_body(400, "BadRequest", str(e)))
        with st.cond:
            ev = next((e for e in st.kube_events if e["metadata"]["namespace"] == parts[3]
                       and e["metadata"]["name"] == parts[5]), None)
            if ev is not None:
                ev.update({k: v for k, v in patch.items() if k != "metadata"})
                ev["metadata"]["resourceVersion"] = str(st.bump())
                ev.setdefault("_patches", 0)
                ev["_patches"] += 1
                out = {k: v for k, v in ev.items() if not k.startswith("_")}
        if ev is None:
            done(404)
            return self.send_json(404, status_body(404, "NotFound",
                                                   'events "%s" not found' % parts[5]))
        done(200)
        return self.send_json(200, out)

    def do_DELETE(self):
        """DELETE /api/v1/namespaces/NS/pods/NAME with a DeleteOptions body (or
        none): State.delete_pod_api. The request log keeps the options sent."""
        st = self.server.state
        parts = [urllib.parse.unquote(p)
                 for p in urllib.parse.urlsplit(self.path).path.split("/") if p]
        ua = self.headers.get("User-Agent", "")
        user = self.user()
        n = int(self.headers.get("Content-Length", "0") or 0)
        raw = self.rfile.read(n) if n else b""
        is_pod = len(parts) == 6 and parts[:3] == ["api", "v1", "namespaces"] and \
            parts[4] == "pods"
        try:
            options = json.loads(raw) if raw else {}
        except ValueError:
            options = None

        def done(code):
            with st.cond:
                st.count("DELETE", "pod" if is_pod else "other", None, code, self.path, ua,
                         user, body=options if options is not None else raw.decode("latin-1"))

        if self.refused(user, done):
            return
        if not is_pod:
            done(404)
            return self.send_json(404, status_body(404, "NotFound", "the server could not "
                                                   "find the requested resource"))
        if not isinstance(options, dict) or not isinstance(
                options.get("preconditions") or {}, dict) or not isinstance(
                options.get("gracePeriodSeconds", 0), int):
            done(400)
            return self.send_json(400, status_body(400, "BadRequest",
                                                   "invalid DeleteOptions"))
        with st.cond:
            code, body = st.delete_pod_api(parts[3], parts[5], options)
            body = json.loads(json.dumps(body))
        done(code)
        return self.send_json(code, body)

    def serve_list(self, q, node, done):
        st = self.server.state
        with st.cond:
            raw = st.settings.get("list_body")
        if raw is not None:
            done(200)
            data = raw.encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        try:
            limit = int(q.get("limit", "0") or 0)
        except ValueError:
            done(400)
            return self.send_json(400, status_body(400, "BadRequest", "bad limit"))
        start_after = None
        with st.cond:
            list_rv = st.rv
            if q.get("continue"):
                try:
                    tok = json.loads(base64.urlsafe_b64decode(q["continue"].encode()))
                    list_rv, start_after = tok["rv"], tuple(tok["after"])
                except (ValueError, KeyError, TypeError):
                    done(400)
                    return self.send_json(400, status_body(400, "BadRequest",
                                                           "bad continue token"))
                if list_rv < st.compacted_rv:
                    done(410)
                    return self.send_json(410, status_body(
                        410, "Expired", "The provided continue parameter is too old"))
            keys = sorted(k for k, p in st.pods.items()
                          if node is None or pod_node(p) == node)
            if start_after is not None:
                keys = [k for k in keys if k > start_after]
            more = limit > 0 and len(keys) > limit
            if more:
                keys = keys[:limit]
            items = []
            for k in keys:
                pod = json.loads(json.dumps(st.pods[k]))
                pod.pop("kind", None)
                pod.pop("apiVersion", None)
                items.append(pod)
        meta = {"resourceVersion": str(list_rv)}
        if more:
            meta["continue"] = base64.urlsafe_b64encode(
                json.dumps({"rv": list_rv, "after": list(keys[-1])}).encode()).decode()
        done(200)
        self.send_json(200, {"kind": "PodList", "apiVersion": "v1", "metadata": meta,
                             "items": items})

    def serve_watch(self, q, node, done):
        st = self.server.state
        try:
            since = int(q.get("resourceVersion") or "0")
            timeout = float(q.get("timeoutSeconds") or "1800")
        except ValueError:
            done(400)
            return self.send_json(400, status_body(400, "BadRequest", "bad parameter"))
        bookmarks = q.get("allowWatchBookmarks") == "true"
        with st.cond:
            if since == 0:
                since = st.rv  # rv "0"/absent: from now (no synthetic ADDED here)
            too_old = since < st.compacted_rv
            gone_as_event = st.settings["gone_as_event"]
            cap = st.settings["max_watch_timeout"]
        if cap is not None:
            timeout = min(timeout, float(cap))
        gone = status_body(410, "Expired", "too old resource version: %d (%d)" %
                           (since, st.compacted_rv))
        if too_old and not gone_as_event:
            done(410)
            return self.send_json(410, gone)
        done(200)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        with st.cond:
            error_code = st.settings.get("watch_error")
        if error_code is not None and not too_old:
            gone = status_body(int(error_code), "Fault", "injected watch error")
            too_old = True
        if too_old:
            self.write_chunk(json.dumps({"type": "ERROR", "object": gone}).encode() + b"\n")
            self.write_chunk(b"")
            return
        w = Watch()
        with st.cond:
            st.watches.add(w)
        try:
            self.watch_loop(w, since, timeout, bookmarks, node)
        finally:
            with st.cond:
                st.watches.discard(w)

    def watch_loop(self, w, since, timeout, bookmarks, node):
        st = self.server.state
        deadline = time.monotonic() + timeout
        last = since
        with st.cond:
            interval = float(st.settings["bookmark_interval"])
        next_bookmark = time.monotonic() + interval
        while True:
            with st.cond:
                while True:
                    now = time.monotonic()
                    silent = st.settings.get("silent_watch")
                    if silent:
                        next_bookmark = now + interval
                    pending = [] if silent else [
                        e for e in st.events if e[0] > last and
                        (node is None or pod_node(e[2]) == node)]
                    if pending or w.cut or w.expire or w.inject or now >= deadline or \
                            (bookmarks and now >= next_bookmark):
                        break
                    if self.client_gone():
                        return
                    wait = min(deadline - now, 0.5)
                    if bookmarks:
                        wait = min(wait, next_bookmark - now)
                    st.cond.wait(timeout=max(0.0, wait))
                current = st.rv
                cut, expire = w.cut, w.expire
                inject, w.inject = w.inject, []
            if cut:
                return self.cut_stream(cut)
            if expire:
                gone = status_body(410, "Expired", "too old resource version")
                self.write_chunk(json.dumps({"type": "ERROR", "object": gone}).encode() + b"\n")
                self.write_chunk(b"")
                return
            for rv, etype, pod in pending:
                self.write_chunk(json.dumps({"type": etype, "object": pod}).encode() + b"\n")
                last = rv
            for line in inject:
                self.write_chunk(line.encode())
            now = time.monotonic()
            if bookmarks and now >= next_bookmark:
                last = max(last, current)  # every event up to current was sent
                mark = {"type": "BOOKMARK", "object": {
                    "kind": "Pod", "apiVersion": "v1",
                    "metadata": {"resourceVersion": str(last)}}}
                self.write_chunk(json.dumps(mark).encode() + b"\n")
                next_bookmark = now + interval
            if now >= deadline:
                self.write_chunk(b"")
                return

    def client_gone(self):
        """A watch client sends nothing after its request: readable means it
        closed the connection (or sent TLS close_notify)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)

    def cut_stream(self, mode):
        half = json.dumps({"type": "MODIFIED", "object": {
            "kind": "Pod", "metadata": {"name": "cut", "resourceVersion": "1"}}}).encode()
        half = half[: len(half) // 2]
        self.write_chunk(half)
        if mode == "clean":
            self.write_chunk(b"")  # a well-formed body that ends inside an event
            self.close_connection = True
            return
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def shut(conn):
    """Shut a connection at the TCP level; True if it was still open. The plain
    socket's shutdown, even for TLS: the thread blocked in a TLS read (or in
    the handshake) sees the end of the stream. SSLSocket.shutdown would also
    drop the TLS state that thread goes on to use."""
    try:
        socket.socket.shutdown(conn, socket.SHUT_RDWR)
        return True
    except OSError:
        return False


class ApiServer:
    """Accept loop (own, so 'down' can close the listening socket and 'hung'
    can hold connections without a TLS handshake), TLS per connection in the
    connection's thread, then ApiHandler."""

    def __init__(self, state, port, tls_ctx, require_auth):
        self.state = state
        self.port = port
        self.tls_ctx = tls_ctx
        self.require_auth = require_auth
        self.listener = None
        self.lock = threading.Lock()
        # The port is held for the server's whole life by a socket that never
        # listens. Without it "down" gave the port back to the kernel, and a
        # server bound to port 0 elsewhere on the machine could get it: the
        # next "up" then failed with EADDRINUSE (CI, ctest -j4). Bound sockets
        # that do not listen keep autobinds and outgoing connections off the
        # port, yet let a listener with SO_REUSEADDR share it.
        self.keeper = self.reusable_socket()
        self.keeper.bind(("127.0.0.1", self.port))
        self.port = self.keeper.getsockname()[1]

    @staticmethod
    def reusable_socket():
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        return s

    def up(self):
        with self.lock:
            if self.listener is not None:
                return
            s = self.reusable_socket()
            s.bind(("127.0.0.1", self.port))
            s.listen(1024)
            self.listener = s
            threading.Thread(target=self.accept_loop, args=(s,), daemon=True).start()

    def down(self):
        with self.lock:
            s, self.listener = self.listener, None
        if s is not None:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        with self.state.cond:
            conns = list(self.state.connections)
        for c in conns:
            shut(c)

    def accept_loop(self, s):
        while True:
            try:
                conn, addr = s.accept()
            except OSError:
                return
            # Registered here, under the lock that down() takes to list the
            # connections, and only while s is still the listener: a
            # connection registered later by its own thread could miss down()
            # and go on serving through the whole "outage" (CI, stop 22).
            with self.state.cond:
                if self.listener is not s:
                    conn.close()
                    return
                self.state.accepted += 1
                self.state.connections.add(conn)
            threading.Thread(target=self.serve_conn, args=(conn, addr), daemon=True).start()

    def hold_while_hung(self, conn):
        st = self.state
        with st.cond:
            while st.fault["mode"] == "hung":
                st.cond.wait(timeout=0.5)
        conn.close()

    # BaseHTTPRequestHandler reads these from its "server".
    server_name = "127.0.0.1"
    server_port = 0

    def serve_conn(self, conn, addr):
        st = self.state
        with st.cond:
            hung = st.fault["mode"] == "hung"
        try:
            if hung:
                return self.hold_while_hung(conn)
            conn.settimeout(10)
            raw = conn
            if self.tls_ctx is not None:
                # The handshake after the TLS socket took the raw one's place
                # in the registry (wrap_socket detaches the raw socket's fd,
                # so down() could no longer shut it down during a handshake).
                conn = self.tls_ctx.wrap_socket(conn, server_side=True,
                                                do_handshake_on_connect=False)
                with st.cond:
                    st.connections.discard(raw)
                    st.connections.add(conn)
                    if self.listener is None:
                        return  # down() may have listed the detached raw socket
                try:
                    conn.do_handshake()
                except (ssl.SSLError, OSError):
                    return
                cn = "-"
                try:
                    for rdn in (conn.getpeercert() or {}).get("subject", ()):
                        for key, value in rdn:
                            if key == "commonName":
                                cn = value
                except (ValueError, AttributeError):
                    pass
                with st.cond:
                    st.handshakes += 1
                    st.conns_by_user[cn] = st.conns_by_user.get(cn, 0) + 1
            conn.settimeout(None)
            ApiHandler(conn, addr, self)
        except (OSError, ssl.SSLError):
            pass
        finally:
            with st.cond:
                st.connections.discard(conn)
            try:
                conn.close()
            except OSError:
                pass


class ControlHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("Content-Length", "0") or 0)
        return json.loads(self.rfile.read(n) or b"{}") if n else {}

    def do_GET(self):
        st = self.server.state
        with st.cond:
            if self.path == "/stats":
                return self.reply(200, {
                    "counts": st.counts, "by_node": st.by_node,
                    "user_agents": sorted(st.user_agents), "rv": st.rv,
                    "active_watches": len(st.watches), "accepted": st.accepted,
                    "handshakes": st.handshakes, "conns_by_user": st.conns_by_user,
                    "etcd": st.etcd, "bytes_out": st.bytes_out,
                    "cpu_seconds": sum(os.times()[:2]), "fault": st.fault})
            if self.path == "/requests":
                return self.reply(200, st.log)
            if self.path == "/events":
                return self.reply(200, st.kube_events)
            if self.path == "/state":
                return self.reply(200, {"rv": st.rv, "pods": list(st.pods.values()),
                                        "objects": list(st.objects.values())})
        return self.reply(404, {"error": "no such endpoint"})

    def do_POST(self):
        st = self.server.state
        api = self.server.api
        try:
            body = self.body()
        except ValueError as e:
            return self.reply(400, {"error": str(e)})
        try:
            if self.path == "/fault":
                mode = body.get("mode", "none")
                if mode not in ("none", "down", "hung", "stall", "status"):
                    return self.reply(400, {"error": "bad mode"})
                with st.cond:
                    st.fault = body
                    st.cond.notify_all()
                if mode == "down":
                    api.down()
                else:
                    api.up()
                return self.reply(200, {"ok": True})
            with st.cond:
                if self.path == "/pods":
                    items = body["items"] if "items" in body else [body]
                    out = [st.put_pod(p) for p in items]
                    return self.reply(200, out if "items" in body else out[0])
                if self.path == "/objects":
                    items = body["items"] if "items" in body else [body]
                    out = [st.put_object(o) for o in items]
                    return self.reply(200, out if "items" in body else out[0])
                if self.path == "/settings":
                    st.settings.update(body)
                    st.cond.notify_all()
                    return self.reply(200, st.settings)
                if self.path == "/cut":
                    mode = body.get("mode", "partial")
                    for w in st.watches:
                        w.cut = mode
                    st.cond.notify_all()
                    return self.reply(200, {"cut": len(st.watches)})
                if self.path == "/inject":
                    for w in st.watches:
                        w.inject.append(body["line"])
                    st.cond.notify_all()
                    return self.reply(200, {"injected": len(st.watches)})
                if self.path == "/compact":
                    st.compacted_rv = st.bump()
                    st.events = []
                    n = 0
                    if body.get("notify"):
                        for w in st.watches:
                            w.expire = True
                        n = len(st.watches)
                    st.cond.notify_all()
                    return self.reply(200, {"compacted_rv": st.compacted_rv, "notified": n})
                if self.path == "/close-idle":
                    n = 0
                    for conn in list(st.idle):
                        n += shut(conn)
                    return self.reply(200, {"closed": n})
                if self.path == "/reset-stats":
                    st.reset_stats()
                    return self.reply(200, {"ok": True})
        except (ValueError, KeyError, TypeError) as e:
            return self.reply(400, {"error": str(e)})
        return self.reply(404, {"error": "no such endpoint"})

    def do_DELETE(self):
        st = self.server.state
        parts = [urllib.parse.unquote(p) for p in self.path.split("/") if p]
        with st.cond:
            if len(parts) == 3 and parts[0] == "pods":
                pod = st.delete_pod(parts[1], parts[2])
                return self.reply(200 if pod else 404, pod or {"error": "not found"})
            if len(parts) == 4 and parts[0] == "objects":
                obj = st.objects.pop((parts[1], parts[2], parts[3]), None)
                if obj is not None:
                    st.bump()
                return self.reply(200 if obj else 404, obj or {"error": "not found"})
        return self.reply(404, {"error": "no such endpoint"})


def die_with_parent():
    """A test that fails before its cleanup must not leave this server behind:
    it holds the test's stderr, which is ctest's output pipe, and ctest waits
    for that pipe to close (a 16-minute hang, seen). PR_SET_PDEATHSIG (1)
    kills it with its parent; a parent already gone is seen by getppid."""
    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(1, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG)")
    if os.getppid() != parent:
        os._exit(0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cert", help="server certificate (PEM); omit for plain HTTP")
    ap.add_argument("--key", help="server key (PEM)")
    ap.add_argument("--client-ca", help="CA that signs client certificates")
    ap.add_argument("--require-client-cert", action="store_true",
                    help="fail the TLS handshake without a valid client certificate")
    ap.add_argument("--token", help="also accept 'Authorization: Bearer TOKEN'")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--control-port", type=int, default=0)
    ap.add_argument("--port-file", help="also write the ports JSON here")
    ap.add_argument("--die-with-parent", action="store_true",
                    help="end when the process that started this one ends")
    args = ap.parse_args()
    if args.die_with_parent:
        die_with_parent()

    tls_ctx = None
    if args.cert:
        tls_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls_ctx.load_cert_chain(args.cert, args.key)
        if args.client_ca:
            tls_ctx.load_verify_locations(args.client_ca)
            tls_ctx.verify_mode = (ssl.CERT_REQUIRED if args.require_client_cert
                                   else ssl.CERT_OPTIONAL)
    state = State(args.token)
    api = ApiServer(state, args.port, tls_ctx,
                    require_auth=bool(args.client_ca or args.token))
    api.up()
    control = http.server.ThreadingHTTPServer(("127.0.0.1", args.control_port), ControlHandler)
    control.daemon_threads = True
    control.state = state
    control.api = api
    ports = json.dumps({"api_port": api.port, "control_port": control.server_address[1]})
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(ports + "\n")
        os.rename(args.port_file + ".tmp", args.port_file)
    print(ports, flush=True)
    try:
        control.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
