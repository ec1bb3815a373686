"""fakecri.py: a fake container runtime for the tests: the CRI's
runtime.v1.RuntimeService (Version, ListPodSandbox, ListContainers) served by the real gRPC
stack (Debian's python3-grpcio) on a unix socket, with the messages of the
project's own proto/cri.proto compiled by protoc --python_out at start.

Two halves:
- the server (`python3 fakecri.py SOCKET STATE.json`), run by Debian's own
  interpreter (/usr/bin/python3, where python3-grpcio and python3-protobuf
  live; the tests may run under another Python). It reads STATE.json again
  at every call and writes the number of ListPodSandbox calls to
  STATE.json.calls.
- FakeCRI, standard library only, used by the tests: starts the server and
  edits STATE.json (atomically) to add and remove sandboxes and containers
  and to inject faults:
    cri = FakeCRI(socket_path)
    cri.add(uid, name, namespace, ready=True)   cri.remove(uid)
        a READY sandbox comes with one RUNNING regular container "main"
        created now (what a running pod looks like); containers=[] gives a
        sandbox alone, containers=[{...}] the containers given (see
        container() for their fields)
    cri.add_container(uid, name="main", state="running", created_ns=None,
                      type="container")       state: created|running|exited|unknown
    cri.set_containers(uid, state)           every container of uid
    cri.set_ready(uid, ready)                 the sandbox; False also exits its containers
    cri.set_fault(None | "hang" | "unimplemented" | "slow" | "many" | "labels")
    cri.stop()                                  socket gone: "no runtime"
    cri.calls()                                 ListPodSandbox calls so far
  "hang" holds every call until the fault is cleared (a runtime stuck on a
  lock); "unimplemented" answers gRPC status 12 (UNIMPLEMENTED); "slow"
  answers after state["slow_s"] seconds (default 0.8); "many" answers
  ListPodSandbox with state["many"] (default 4,000,000) empty sandboxes (a
  lying runtime: ~8 MB on the wire); "labels" with one sandbox of
  state["labels"] (default 4,000,000) empty labels.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO_DIR = os.path.join(HERE, "..", "..", "proto")
SERVICE = "runtime.v1.RuntimeService"


def server_python():
    """The interpreter that has Debian's grpcio (the tests' own may not)."""
    env = os.environ.get("KC_FAKECRI_PYTHON")
    if env:
        return env
    return "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


class FakeCRI:
    """The tests' handle on one fake runtime (see the module docstring)."""

    def __init__(self, socket_path, start=True):
        self.socket_path = socket_path
        self.state_path = socket_path + ".state.json"
        self.state = {"sandboxes": [], "containers": [], "fault": None}
        self.proc = None
        self._seq = 0
        self._write()
        if start:
            self.start()

    def start(self, timeout=20.0):
        if os.path.exists(self.socket_path):
            os.unlink(self.socket_path)
        self.log = open(self.socket_path + ".log", "a")
        self.proc = subprocess.Popen([server_python(), os.path.abspath(__file__),
                                      self.socket_path, self.state_path],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        t0 = time.monotonic()
        while not os.path.exists(self.socket_path):
            if self.proc.poll() is not None or time.monotonic() - t0 > timeout:
                raise AssertionError("fake CRI did not start: %s" % self.log_text())
            time.sleep(0.02)

    def log_text(self):
        with open(self.socket_path + ".log", errors="replace") as f:
            return f.read()

    def _write(self):
        tmp = self.state_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.state, f)
        os.rename(tmp, self.state_path)

    def add(self, uid, name, namespace, ready=True, containers=None):
        self._seq += 1
        sid = "sb%04d%s" % (self._seq, uid.replace("-", "")[-8:])
        self.state["sandboxes"].append({"id": sid, "uid": uid, "name": name,
                                        "namespace": namespace, "ready": ready})
        if containers is None:
            full = [self.container(uid)] if ready else []
        else:
            full = [self.container(**dict({"uid": uid}, **c)) for c in containers]
        self.state.setdefault("containers", []).extend(full)
        self._write()
        return sid

    def container(self, uid, name="main", state="running", created_ns=None,
                  type="container"):
        """One container of pod uid; created_ns defaults to now (wall clock)."""
        self._seq += 1
        return {"id": "ct%04d%s" % (self._seq, uid.replace("-", "")[-8:]), "uid": uid,
                "name": name, "state": state,
                "created_ns": time.time_ns() if created_ns is None else created_ns,
                "type": type}

    def add_container(self, uid, **kw):
        c = self.container(uid, **kw)
        self.state.setdefault("containers", []).append(c)
        self._write()
        return c["id"]

    def set_containers(self, uid, state):
        for c in self.state.get("containers", []):
            if c["uid"] == uid:
                c["state"] = state
        self._write()

    def set_ready(self, uid, ready):
        for sb in self.state["sandboxes"]:
            if sb["uid"] == uid:
                sb["ready"] = ready
        if not ready:
            self.set_containers(uid, "exited")
        elif not any(c["uid"] == uid for c in self.state.get("containers", [])
                     if c["state"] == "running"):
            self.state.setdefault("containers", []).append(self.container(uid))
        self._write()

    def remove(self, uid):
        self.state["sandboxes"] = [s for s in self.state["sandboxes"] if s["uid"] != uid]
        self.state["containers"] = [c for c in self.state.get("containers", [])
                                    if c["uid"] != uid]
        self._write()

    def set_fault(self, fault):
        self.state["fault"] = fault
        self._write()

    def calls(self):
        try:
            with open(self.state_path + ".calls") as f:
                return int(f.read() or 0)
        except (OSError, ValueError):
            return 0

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
            self.log.close()
        if os.path.exists(self.socket_path):
            os.unlink(self.socket_path)


class RawReply:
    """A reply given as its protobuf bytes (the "many" fault)."""

    def __init__(self, data):
        self.data = data


def serve(socket_path, state_path):
    """The server half: Debian's grpcio and protobuf, run by server_python()."""
    import threading
    from concurrent import futures

    import grpc

    out = tempfile.mkdtemp(prefix="kc-fakecri-pb-")
    subprocess.run(["protoc", "-I", PROTO_DIR, "--python_out", out,
                    os.path.join(PROTO_DIR, "cri.proto")], check=True)
    sys.path.insert(0, out)
    import cri_pb2 as pb
    shutil.rmtree(out, ignore_errors=True)
    lock = threading.Lock()
    calls = [0]

    def read_state():
        with open(state_path) as f:
            return json.load(f)

    def gate(context):
        t0 = time.monotonic()
        while read_state().get("fault") == "hang" and time.monotonic() - t0 < 120:
            time.sleep(0.05)
        st = read_state()
        if st.get("fault") == "unimplemented":
            context.abort(grpc.StatusCode.UNIMPLEMENTED, "unknown service " + SERVICE)
        if st.get("fault") == "slow":
            time.sleep(st.get("slow_s", 0.8))
        return st

    def version(request, context):
        gate(context)
        return pb.VersionResponse(version="0.1.0", runtime_name="fakecri",
                                  runtime_version="1.0.0", runtime_api_version="v1")

    def list_sandboxes(request, context):
        with lock:
            calls[0] += 1
            tmp = state_path + ".calls.tmp"
            with open(tmp, "w") as f:
                f.write(str(calls[0]))
            os.rename(tmp, state_path + ".calls")
        st = gate(context)
        if st.get("fault") == "many":
            # Built on the wire: 4 million messages through the Python API take minutes.
            # Each item is field 1, length 0: the bytes 0x0a 0x00.
            return RawReply(b"\x0a\x00" * st.get("many", 4000000))
        if st.get("fault") == "labels":
            # One sandbox with state["labels"] empty label entries (field 5, length 0).
            item = b"\x2a\x00" * st.get("labels", 4000000)
            n, varint = len(item), b""
            while True:
                varint += bytes([(n & 0x7f) | (0x80 if n > 0x7f else 0)])
                n >>= 7
                if not n:
                    break
            return RawReply(b"\x0a" + varint + item)
        resp = pb.ListPodSandboxResponse()
        for sb in st.get("sandboxes", []):
            item = resp.items.add()
            item.id = sb["id"]
            item.metadata.name = sb["name"]
            item.metadata.uid = sb["uid"]
            item.metadata.namespace = sb["namespace"]
            item.state = pb.SANDBOX_READY if sb.get("ready", True) else pb.SANDBOX_NOTREADY
            item.created_at = 1
            # What the kubelet labels every sandbox with (pkg/kubelet/types/labels.go).
            item.labels["io.kubernetes.pod.uid"] = sb["uid"]
            item.labels["io.kubernetes.pod.name"] = sb["name"]
            item.labels["io.kubernetes.pod.namespace"] = sb["namespace"]
        return resp

    states = {"created": pb.CONTAINER_CREATED, "running": pb.CONTAINER_RUNNING,
              "exited": pb.CONTAINER_EXITED, "unknown": pb.CONTAINER_UNKNOWN}

    def list_containers(request, context):
        st = gate(context)
        resp = pb.ListContainersResponse()
        sandbox_of = {sb["uid"]: sb["id"] for sb in st.get("sandboxes", [])}
        for c in st.get("containers", []):
            item = resp.containers.add()
            item.id = c["id"]
            item.pod_sandbox_id = sandbox_of.get(c["uid"], "")
            item.metadata.name = c["name"]
            item.state = states[c["state"]]
            item.created_at = c["created_ns"]
            # What the kubelet labels and annotates every container with
            # (pkg/kubelet/kuberuntime/labels.go).
            item.labels["io.kubernetes.pod.uid"] = c["uid"]
            item.labels["io.kubernetes.container.name"] = c["name"]
            if c.get("type"):
                item.annotations["io.kubernetes.container.type"] = c["type"]
        return resp

    def serialize(msg):
        return msg.data if isinstance(msg, RawReply) else msg.SerializeToString()

    handlers = {
        "Version": grpc.unary_unary_rpc_method_handler(
            version, request_deserializer=pb.VersionRequest.FromString,
            response_serializer=pb.VersionResponse.SerializeToString),
        "ListPodSandbox": grpc.unary_unary_rpc_method_handler(
            list_sandboxes, request_deserializer=pb.ListPodSandboxRequest.FromString,
            response_serializer=serialize),
        "ListContainers": grpc.unary_unary_rpc_method_handler(
            list_containers, request_deserializer=pb.ListContainersRequest.FromString,
            response_serializer=pb.ListContainersResponse.SerializeToString),
    }
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    server.add_insecure_port("unix:" + socket_path)
    server.start()
    server.wait_for_termination()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: fakecri.py SOCKET STATE.json")
    serve(sys.argv[1], sys.argv[2])
