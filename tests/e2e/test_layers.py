#!/usr/bin/env python3
"""test_layers.py: the tree shows the architecture, and keeps showing it.

The second check of the layering (the first is the build: CMakeLists.txt links
each layer's objects against only the layers it uses, kc_<layer>_link_check).
It reads the built objects (one per module, src/<layer>/<module>.c, in
CMakeFiles/kc_<layer>.dir/ and, for cli, the binary's): which global symbols
each module defines and which it uses (nm) gives the call graph. It fails on

- a call cycle between layers (the folders of src/), a call from a layer to
  one listed after it in the module table (docs/architecture.md, else the
  README; the table's order is the layering: base first, cli last), and a call
  from a layer to one its kc_layer() line in CMakeLists.txt does not USE
  (directly or through the layers it uses): api may not call store although
  store comes earlier, and core (pure) nothing after k8s;
- kc_layer() lines out of the table's order;
- a call cycle between modules (agent.c -> agent_effects.c -> agent.c was one);
- a module (a .c file of src/) the module table does not name in its folder's
  row, a row naming a file that does not exist, or a folder without a row.

Calls are what nm sees: a function called only through a pointer is an edge
only where its address is taken, which is where the dependency is.
"""
import collections
import os
import re
import subprocess
import unittest

SRC = os.environ.get("KC_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BINARY = os.environ.get("KC_BINARY", "")
CMAKE_FILES = os.path.join(os.path.dirname(BINARY), "CMakeFiles")


def object_dirs():
    """{layer: folder of its objects}: kc_<layer>.dir/src/<layer>, cli in the binary's."""
    dirs = {}
    if not os.path.isdir(CMAKE_FILES):
        return dirs
    for target in sorted(os.listdir(CMAKE_FILES)):
        m = re.fullmatch(r"kc_([a-z0-9]+)\.dir", target)
        layer = m.group(1) if m else "cli" if target == "kubelet-checkpoint.dir" else None
        path = os.path.join(CMAKE_FILES, target, "src", layer or "")
        if layer and os.path.isdir(path):
            dirs[layer] = path
    return dirs


def nm(path, *flags):
    out = subprocess.run(["nm", *flags, path], check=True, capture_output=True, text=True)
    return [line.split() for line in out.stdout.splitlines() if line.strip()]


def call_graph():
    """{module: set(modules it calls)}, modules named "<layer>/<file stem>"."""
    defined, used = {}, collections.defaultdict(set)
    for layer, folder in sorted(object_dirs().items()):
        for name in sorted(os.listdir(folder)):
            if not name.endswith(".c.o") or not os.path.exists(
                    os.path.join(SRC, "src", layer, name[:-2])):
                continue  # an object of a module since removed
            module, path = layer + "/" + name[:-4], os.path.join(folder, name)
            used[module]  # a module that calls nothing is still a node
            for fields in nm(path, "--defined-only", "-g"):
                defined[fields[-1]] = module
            for fields in nm(path, "-u"):
                used[module].add(fields[-1])
    graph = {m: {defined[s] for s in syms if s in defined and defined[s] != m}
             for m, syms in used.items()}
    return graph


def cycles(graph):
    """Strongly connected components of more than one node (Tarjan)."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def table_file():
    """The document that holds the module table."""
    path = os.path.join(SRC, "docs", "architecture.md")
    return path if os.path.exists(path) else os.path.join(SRC, "README.md")


def readme_table():
    """[(layer, [module files])] from the module table, in its order."""
    rows = []
    with open(table_file()) as f:
        for line in f:
            m = re.match(r"\| `src/([a-z0-9]+)/` \| ([^|]*) \|", line)
            if m:
                rows.append((m.group(1), re.findall(r"`([a-z_0-9]+\.c)`", m.group(2))))
    return rows


def cmake_layers():
    """[(layer, [layers it USES])] from CMakeLists.txt's kc_layer() lines, in order."""
    with open(os.path.join(SRC, "CMakeLists.txt")) as f:
        text = f.read()
    layers = []
    for m in re.finditer(r"^kc_layer\(([a-z0-9]+)([^)]*)\)", text, re.M):
        words = m.group(2).split()
        uses = words[words.index("USES") + 1:] if "USES" in words else []
        for i, w in enumerate(uses):
            if w in ("LIBS", "SOURCES"):
                uses = uses[:i]
                break
        layers.append((m.group(1), uses))
    return layers


def allowed_layers():
    """{layer: every layer it may call}: what it USES, and what those use; cli all."""
    uses = dict(cmake_layers())
    allowed = {}
    for layer in uses:
        todo, seen = list(uses[layer]), set()
        while todo:
            t = todo.pop()
            if t not in seen:
                seen.add(t)
                todo.extend(uses.get(t, []))
        allowed[layer] = seen
    allowed["cli"] = set(uses)
    return allowed


@unittest.skipUnless("base" in object_dirs(), "objects of the layer libraries not built")
class TestLayers(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.graph = call_graph()
        cls.layers = collections.defaultdict(set)
        for m, targets in cls.graph.items():
            for t in targets:
                if t.split("/")[0] != m.split("/")[0]:
                    cls.layers[m.split("/")[0]].add(t.split("/")[0])

    def test_no_module_cycle(self):
        self.assertEqual(cycles(self.graph), [], "modules that call each other")

    def test_no_layer_cycle(self):
        self.assertEqual(cycles(self.layers), [], "layers that call each other")

    def test_layers_call_only_earlier_rows(self):
        order = [layer for layer, _ in readme_table()]
        for layer, targets in sorted(self.layers.items()):
            for t in sorted(targets):
                self.assertIn(layer, order)
                self.assertLess(order.index(t), order.index(layer),
                                "src/%s calls src/%s, listed after it in %s"
                                % (layer, t, os.path.basename(table_file())))

    def test_layers_call_only_what_they_use(self):
        allowed = allowed_layers()
        for layer, targets in sorted(self.layers.items()):
            self.assertEqual(sorted(targets - allowed.get(layer, set())), [],
                             "src/%s calls layers its kc_layer() line in CMakeLists.txt "
                             "does not USE" % layer)

    def test_graph_sees_every_layer(self):
        self.assertEqual(sorted(object_dirs()), sorted(l for l, _ in readme_table()))

    def test_graph_sees_calls(self):
        # The check must see the edges it guards: the loop calls the sync and the pass.
        self.assertIn("agent/agent_sync", self.graph["agent/agent"])
        self.assertIn("agent/agent_effects", self.graph["agent/agent"])
        self.assertNotIn("agent/agent_sync", self.graph["agent/agent_effects"])


class TestReadmeTable(unittest.TestCase):
    def test_cmake_layers_in_table_order(self):
        order = [layer for layer, _ in readme_table()]
        layers = cmake_layers()
        self.assertEqual([l for l, _ in layers] + ["cli"], order,
                         "kc_layer() lines of CMakeLists.txt vs the module table")
        for layer, uses in layers:
            for u in uses:
                self.assertLess(order.index(u), order.index(layer),
                                "kc_layer(%s) USES %s, a later layer" % (layer, u))

    def test_table_matches_tree(self):
        rows = readme_table()
        folders = sorted(d for d in os.listdir(os.path.join(SRC, "src"))
                         if os.path.isdir(os.path.join(SRC, "src", d)))
        self.assertEqual(sorted(layer for layer, _ in rows), folders,
                         "module table rows vs folders of src/")
        for layer, files in rows:
            on_disk = sorted(f for f in os.listdir(os.path.join(SRC, "src", layer))
                             if f.endswith(".c"))
            self.assertEqual(sorted(files), on_disk, "module table row of src/%s/" % layer)


if __name__ == "__main__":
    unittest.main(verbosity=2)
