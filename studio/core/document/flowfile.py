"""Reading and writing ``*.flow.json``: versioned, deterministic, safe, atomic.

* Deterministic: sorted keys, nodes by id, edges by their ends, 2-space indent and a
  final newline, so two saves of one flow are byte-identical and diffs show the change.
* Safe: loading only parses JSON and checks its shape; it never imports or runs code.
  Whatever is wrong comes back as one FlowFileError naming the JSON path.
* Versioned: ``format`` + ``version``; older files pass through MIGRATIONS on load.
* Atomic: a save writes a temp file beside the target, fsyncs it and renames it over,
  so a crash mid-save leaves the old file whole.
* Never a secret: no field holds credentials; keys are looked up by provider at run time.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import tempfile
from json.encoder import encode_basestring as _enc_text, encode_basestring_ascii as _enc_ascii
from pathlib import Path
from typing import Any, Callable, Mapping

import orjson

from studio.core.catalogue.types import json_kind
from studio.core.errors import FlowFileError
from studio.core.document.model import PORT_RE, SLUG_RE, Edge, FlowModel, Frame, Node, Note
from studio.core.catalogue.registry import Registry, default_registry, package_version

FORMAT = "orchestra-flow"
VERSION = 1
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 64

# version N -> function turning a version-N document into version N+1 (in place or new)
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}

KNOWN_TOP = {"format", "version", "name", "description", "interface", "requires", "nodes", "edges", "frames", "notes"}
# flow-level sections kept as they are (validated where they are used)
META_SECTIONS = ("pricing", "settings", "tests")


# --------------------------------------------------------------------------- loading

class SafeReadError(OSError):
    """A file that ``read_regular_file`` will not read (the message says why)."""


def read_regular_file(path: Path, limit: int) -> bytes:
    """The bytes of ``path``, which must be a regular file of at most ``limit`` bytes.

    Never blocks and never reads without end: the file is opened with O_NONBLOCK (a FIFO
    opens at once instead of waiting for a writer), checked with fstat on the open
    descriptor (so a symlink swapped after a check cannot slip a device in), and read
    with a cap of ``limit`` + 1 bytes (a file that grows while read is still refused).
    /dev/zero, FIFOs, sockets, folders and symlinks to them raise SafeReadError.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise SafeReadError(exc.errno or 0, exc.strerror or str(exc)) from None
    except ValueError as exc:  # a NUL byte in the path
        raise SafeReadError(0, str(exc)) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = ("a folder" if stat.S_ISDIR(st.st_mode) else "a pipe (FIFO)" if stat.S_ISFIFO(st.st_mode)
                    else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
                    else "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file")
            raise SafeReadError(0, f"{kind}, not a regular file")
        if st.st_size > limit:
            raise SafeReadError(0, f"the file is {_mib(st.st_size)}; at most {_mib(limit)} is read")
        os.set_blocking(fd, True)
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise SafeReadError(0, f"the file is larger than {_mib(limit)}")
        return b"".join(chunks)
    except SafeReadError:
        raise
    except OSError as exc:
        raise SafeReadError(exc.errno or 0, exc.strerror or str(exc)) from None
    finally:
        os.close(fd)


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MiB" if n >= 1024 * 1024 else f"{n} bytes"


def load_flow(path: str | os.PathLike[str], registry: Registry | None = None) -> FlowModel:
    p = Path(path)
    try:
        raw = read_regular_file(p, MAX_FILE_BYTES)
    except SafeReadError as exc:
        raise FlowFileError(f"cannot read the file: {exc.strerror or exc}", file=str(p)) from None
    try:
        model = loads(raw, registry=registry, base_dir=p.resolve().parent)
    except FlowFileError as exc:
        raise FlowFileError(exc.problem, exc.json_path, file=str(p)) from None
    # where it was read from: the subflow recursion check starts its chain here
    model.source_path = p.resolve()  # type: ignore[attr-defined]
    return model


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    # 1e400 parses to inf, which no JSON file can hold: refuse it here rather than
    # fail when the flow is saved again.
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"the number {text[:40]} is out of range")
    return value


def parse_document(raw: bytes | str) -> dict[str, Any]:
    """Bytes or text to the (migrated) document dict, or FlowFileError."""
    if isinstance(raw, bytes):
        if len(raw) > MAX_FILE_BYTES:
            raise FlowFileError("file is too large")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise FlowFileError(f"not UTF-8 text (byte {exc.start})") from None
    else:
        text = raw
    try:
        doc = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise FlowFileError(f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except ValueError as exc:
        raise FlowFileError(f"not valid JSON: {exc}") from None
    except RecursionError:
        raise FlowFileError("JSON is nested too deeply") from None
    if not isinstance(doc, dict):
        raise FlowFileError(f"a flow file holds a JSON object, not {json_kind(doc)}")
    fmt = doc.get("format")
    if fmt != FORMAT:
        raise FlowFileError(f"not an Orchestra flow (format is {fmt!r}, expected {FORMAT!r})", "$.format")
    version = doc.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise FlowFileError("version must be a whole number", "$.version")
    if version > VERSION:
        raise FlowFileError(f"made by a newer Orchestra Studio (file version {version}, this one reads up to {VERSION}); please update", "$.version")
    if version < 1 and version not in MIGRATIONS:
        raise FlowFileError(f"unknown file version {version}", "$.version")
    while version < VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise FlowFileError(f"no migration from file version {version}", "$.version")
        try:
            doc = step(doc)
        except FlowFileError:
            raise
        except Exception as exc:
            raise FlowFileError(f"could not migrate from version {version}: {exc}", "$") from None
        if not isinstance(doc, dict):
            raise FlowFileError(f"the migration from version {version} returned {json_kind(doc)}, not a document", "$")
        version += 1
        doc["version"] = version
    return doc


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def lone_surrogate_path(value: Any, root: str = "$") -> str | None:
    """The JSON path of the first text (or key) holding a lone surrogate, or None.

    Lone surrogates are not Unicode: they cannot be written as UTF-8, so a trace, a
    terminal or a provider would fail on them mid-run. A flow file keeps them (it loads,
    edits and saves losslessly, as ASCII escapes) but ``loads`` notes the first one in
    ``model.invalid_text`` and validation reports it as an error, so a run refuses to
    start instead of failing mid-way; --input-file refuses them outright.
    """
    todo = [(value, root)]
    while todo:
        v, p = todo.pop()
        if isinstance(v, str):
            if _SURROGATE.search(v):
                return p
        elif isinstance(v, dict):
            for k, c in v.items():
                key = str(k)
                if _SURROGATE.search(key):
                    return p
                todo.append((c, f"{p}.{key}"))
        elif isinstance(v, list):
            todo.extend((c, f"{p}[{i}]") for i, c in reversed(list(enumerate(v))))
    return None


def loads(raw: bytes | str, registry: Registry | None = None, base_dir: Path | None = None) -> FlowModel:
    """Parse a flow document into a new model (FlowFileError on anything wrong)."""
    doc = parse_document(raw)
    model = model_from_document(doc, registry=registry, base_dir=base_dir)
    # a lone surrogate comes in as a \\udXXX escape, or in a str as the character itself:
    # one scan of the text decides whether to look for where
    if isinstance(raw, bytes):
        suspect = _SURROGATE_ESCAPE.search(raw)
    else:
        suspect = _SURROGATE.search(raw) or _SURROGATE_ESCAPE.search(raw.encode("utf-8", "surrogatepass"))
    if suspect:
        where = lone_surrogate_path(doc)
        if where:
            m = re.match(r"\$\.nodes\[(\d+)\]", where)
            nodes = doc.get("nodes")
            node = nodes[int(m.group(1))].get("id") if m and isinstance(nodes, list) else None
            model.invalid_text = (where, node if isinstance(node, str) else None)  # type: ignore[attr-defined]
    return model


def model_from_document(doc: Mapping[str, Any], registry: Registry | None = None, base_dir: Path | None = None) -> FlowModel:
    if not isinstance(doc, Mapping):
        raise FlowFileError(f"a flow document is a JSON object, not {json_kind(doc)}")
    model = FlowModel(registry=registry or default_registry(), base_dir=base_dir)
    model.name = _opt_str(doc, "name", "$", default="Untitled flow")
    model.description = _opt_str(doc, "description", "$", default="")
    requires = doc.get("requires", {})
    if not isinstance(requires, dict):
        raise FlowFileError(f"requires must be an object, not {json_kind(requires)}", "$.requires")
    nt = requires.get("node_types", {})
    if not isinstance(nt, dict) or not all(isinstance(v, str) for v in nt.values()):
        raise FlowFileError("requires.node_types must map node types to package names", "$.requires.node_types")
    model.meta["requires"] = _checked_json(requires, "$.requires")
    for key in META_SECTIONS:
        if key in doc:
            model.meta[key] = _checked_json(doc[key], f"$.{key}")
    for key in sorted(set(doc) - KNOWN_TOP - set(META_SECTIONS)):
        # unknown sections from a newer minor release or a plugin: kept, not lost
        model.meta[key] = _checked_json(doc[key], f"$.{key}")
    nodes, edges, frames, notes = _parts(doc, "$")
    model._load(nodes, edges, frames, notes)
    return model


def fragment_parts(fragment: Mapping[str, Any]) -> tuple[list[Node], list[Edge], list[Frame], list[Note]]:
    """The nodes, edges, frames and notes of a clipboard fragment or flow document."""
    if not isinstance(fragment, Mapping):
        raise FlowFileError("a fragment is a JSON object")
    return _parts(fragment, "$")


_NODE_KEYS = frozenset({"id", "type", "title", "params", "layout"})
_LAYOUT_KEYS = frozenset({"x", "y", "w", "h", "collapsed"})
_EDGE_KEYS = frozenset({"from", "to"})
_ENDPOINT_RE = re.compile(r"([a-z][a-z0-9_]{0,63})\.([A-Za-z_][A-Za-z0-9_]{0,63})\Z")
_NO_PARAMS: dict[str, Any] = {}


def _parts(doc: Mapping[str, Any], root: str) -> tuple[list[Node], list[Edge], list[Frame], list[Note]]:
    """Check and convert the nodes, edges, frames and notes of a document.

    Every node and edge takes a fast path of exact type tests first (what json.loads
    produces); anything unusual goes through the careful per-item checks, which also
    write the error message. Both accept and refuse exactly the same documents.
    """
    raw_nodes = _opt_list(doc, "nodes", root)
    nodes: list[Node] = []
    seen: dict[str, int] = {}
    slug = SLUG_RE.match
    for i, item in enumerate(raw_nodes):
        node = None
        if type(item) is dict and item.keys() <= _NODE_KEYS:
            nid, type_id, title = item.get("id"), item.get("type"), item.get("title", "")
            params, layout = item.get("params", _NO_PARAMS), item.get("layout", _NO_PARAMS)
            if (type(nid) is str and slug(nid) and type(type_id) is str and 0 < len(type_id) <= 200
                    and type(title) is str and type(params) is dict and type(layout) is dict
                    and layout.keys() <= _LAYOUT_KEYS):
                x, y = layout.get("x", 0.0), layout.get("y", 0.0)
                w, h = layout.get("w"), layout.get("h")
                collapsed = layout.get("collapsed", False)
                if (type(x) is float and -1e9 <= x <= 1e9 and type(y) is float and -1e9 <= y <= 1e9
                        and (w is None or type(w) is float and -1e9 <= w <= 1e9)
                        and (h is None or type(h) is float and -1e9 <= h <= 1e9)
                        and (collapsed is False or collapsed is True)):
                    if params:
                        _check_depth(params, f"{root}.nodes[{i}].params")
                    node = Node(nid, type_id, params if params is not _NO_PARAMS else {}, title, x, y, w, h, collapsed)
        if node is None:
            node = _node(item, f"{root}.nodes[{i}]")
        if node.id in seen:
            raise FlowFileError(f"duplicate node id {node.id!r} (also at nodes[{seen[node.id]}])", f"{root}.nodes[{i}].id")
        seen[node.id] = i
        nodes.append(node)

    edges: list[Edge] = []
    seen_edges: set[Edge] = set()
    endpoint = _ENDPOINT_RE.match
    for i, item in enumerate(_opt_list(doc, "edges", root)):
        edge = None
        if type(item) is dict and item.keys() <= _EDGE_KEYS:
            a, b = item.get("from"), item.get("to")
            ma = endpoint(a) if type(a) is str else None
            mb = endpoint(b) if type(b) is str else None
            if ma and mb:
                edge = Edge(ma[1], ma[2], mb[1], mb[2])
        if edge is None:
            edge = _edge(item, f"{root}.edges[{i}]")
        if edge in seen_edges:
            raise FlowFileError(f"the wire {edge} appears twice", f"{root}.edges[{i}]")
        seen_edges.add(edge)
        edges.append(edge)

    frames: list[Frame] = []
    for i, item in enumerate(_opt_list(doc, "frames", root)):
        path = f"{root}.frames[{i}]"
        if not isinstance(item, dict):
            raise FlowFileError(f"a frame is an object, not {json_kind(item)}", path)
        _no_unknown(item, {"id", "title", "color", "x", "y", "w", "h"}, path)
        frames.append(Frame(_item_id(item, path), _opt_str(item, "title", path, ""), _color(item, path, "#3a4a6b"),
                            _num(item, "x", path, 0.0), _num(item, "y", path, 0.0), _num(item, "w", path, 400.0), _num(item, "h", path, 300.0)))
    notes: list[Note] = []
    for i, item in enumerate(_opt_list(doc, "notes", root)):
        path = f"{root}.notes[{i}]"
        if not isinstance(item, dict):
            raise FlowFileError(f"a note is an object, not {json_kind(item)}", path)
        _no_unknown(item, {"id", "text", "color", "x", "y", "w", "h"}, path)
        notes.append(Note(_item_id(item, path), _opt_str(item, "text", path, ""), _color(item, path, "#6b5e2e"),
                          _num(item, "x", path, 0.0), _num(item, "y", path, 0.0), _num(item, "w", path, 220.0), _num(item, "h", path, 120.0)))
    for kind, items in (("frame", frames), ("note", notes)):
        ids = [it.id for it in items]
        if len(ids) != len(set(ids)):
            raise FlowFileError(f"duplicate {kind} ids", f"{root}.{kind}s")
    return nodes, edges, frames, notes


def _node(item: Any, path: str) -> Node:
    """One node, checked key by key (the careful path: it names what is wrong)."""
    if not isinstance(item, dict):
        raise FlowFileError(f"a node is an object, not {json_kind(item)}", path)
    _no_unknown(item, set(_NODE_KEYS), path)
    nid = item.get("id")
    if not isinstance(nid, str) or not SLUG_RE.match(nid):
        raise FlowFileError(f"node id must be a lowercase slug (a-z, 0-9, _; at most 64), got {_short(nid)}", f"{path}.id")
    type_id = item.get("type")
    if not isinstance(type_id, str) or not type_id or len(type_id) > 200:
        raise FlowFileError(f"node type must be a non-empty name, got {_short(type_id)}", f"{path}.type")
    title = _opt_str(item, "title", path, default="")
    params = item.get("params", {})
    if not isinstance(params, dict):
        raise FlowFileError(f"params must be an object, not {json_kind(params)}", f"{path}.params")
    _checked_json(params, f"{path}.params")
    layout = item.get("layout", {})
    if not isinstance(layout, dict):
        raise FlowFileError(f"layout must be an object, not {json_kind(layout)}", f"{path}.layout")
    _no_unknown(layout, set(_LAYOUT_KEYS), f"{path}.layout")
    x = _num(layout, "x", f"{path}.layout", 0.0)
    y = _num(layout, "y", f"{path}.layout", 0.0)
    w = _num(layout, "w", f"{path}.layout", None)
    h = _num(layout, "h", f"{path}.layout", None)
    collapsed = layout.get("collapsed", False)
    if not isinstance(collapsed, bool):
        raise FlowFileError("collapsed must be true or false", f"{path}.layout.collapsed")
    return Node(nid, type_id, params, title, x, y, w, h, collapsed)


def _edge(item: Any, path: str) -> Edge:
    if not isinstance(item, dict):
        raise FlowFileError(f"an edge is an object, not {json_kind(item)}", path)
    _no_unknown(item, set(_EDGE_KEYS), path)
    src, src_port = _endpoint(item, "from", path)
    dst, dst_port = _endpoint(item, "to", path)
    return Edge(src, src_port, dst, dst_port)


def _endpoint(item: Mapping[str, Any], key: str, path: str) -> tuple[str, str]:
    value = item.get(key)
    if not isinstance(value, str) or value.count(".") != 1:
        raise FlowFileError(f"'{key}' must be \"node.port\", got {_short(value)}", f"{path}.{key}")
    node, port = value.split(".")
    if not SLUG_RE.match(node) or not PORT_RE.match(port):
        raise FlowFileError(f"'{key}' must be \"node.port\" with a node id and a port name, got {_short(value)}", f"{path}.{key}")
    return node, port


def _item_id(item: Mapping[str, Any], path: str) -> str:
    v = item.get("id")
    if not isinstance(v, str) or not SLUG_RE.match(v):
        raise FlowFileError(f"id must be a lowercase slug, got {_short(v)}", f"{path}.id")
    return v


def _color(item: Mapping[str, Any], path: str, default: str) -> str:
    v = item.get("color", default)
    if not isinstance(v, str) or not (v.startswith("#") and len(v) in (4, 7, 9) and all(c in "0123456789abcdefABCDEF" for c in v[1:])):
        raise FlowFileError(f"color must be like \"#3a4a6b\", got {_short(v)}", f"{path}.color")
    return v


def _no_unknown(item: Mapping[str, Any], allowed: set[str], path: str) -> None:
    extra = set(item) - allowed
    if extra:
        name = sorted(extra)[0]
        raise FlowFileError(f"unknown key {_short(name)} (allowed: {', '.join(sorted(allowed))})", f"{path}")


def _opt_list(doc: Mapping[str, Any], key: str, path: str) -> list[Any]:
    v = doc.get(key, [])
    if not isinstance(v, list):
        raise FlowFileError(f"{key} must be a list, not {json_kind(v)}", f"{path}.{key}")
    return v


def _opt_str(doc: Mapping[str, Any], key: str, path: str, default: str) -> str:
    v = doc.get(key, default)
    if not isinstance(v, str):
        raise FlowFileError(f"{key} must be text, not {json_kind(v)}", f"{path}.{key}")
    return v


def _num(doc: Mapping[str, Any], key: str, path: str, default: float | None) -> Any:
    v = doc.get(key, default)
    if v is None and default is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v or v in (float("inf"), float("-inf")):
        raise FlowFileError(f"{key} must be a number, not {json_kind(v)}", f"{path}.{key}")
    if abs(v) > 1e9:
        raise FlowFileError(f"{key} is out of range ({v})", f"{path}.{key}")
    return float(v)


def _checked_json(value: Any, path: str) -> Any:
    """Check nesting depth iteratively (so nothing later recurses too deep); return value."""
    if isinstance(value, (dict, list)):
        _check_depth(value, path)
    return value


def _check_depth(value: dict | list, path: str) -> None:
    """No value may sit more than MAX_DEPTH levels below ``value``; level by level, so
    scalars cost nothing and a deep document cannot exhaust the stack."""
    level: list[Any] = [value]
    depth = 0
    while level:
        if depth >= MAX_DEPTH and any(level):
            raise FlowFileError(f"nested more than {MAX_DEPTH} levels deep", path)
        nxt = []
        for v in level:
            for c in (v.values() if isinstance(v, dict) else v):
                if isinstance(c, (dict, list)):
                    nxt.append(c)
        level = nxt
        depth += 1


def _short(v: Any) -> str:
    r = repr(v)
    return r if len(r) <= 60 else r[:57] + "..."


# --------------------------------------------------------------------------- saving

def node_document(node: Node) -> dict[str, Any]:
    layout: dict[str, Any] = {"x": node.x, "y": node.y}
    if node.width is not None:
        layout["w"] = node.width
    if node.height is not None:
        layout["h"] = node.height
    if node.collapsed:
        layout["collapsed"] = True
    return {"id": node.id, "type": node.type, "title": node.title, "params": node.params, "layout": layout}


def edge_document(edge: Edge) -> dict[str, str]:
    return {"from": f"{edge.src}.{edge.src_port}", "to": f"{edge.dst}.{edge.dst_port}"}


def to_document(model: FlowModel) -> dict[str, Any]:
    """The model as a flow document (plain dicts; ``dumps`` makes it bytes)."""
    doc: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "name": model.name,
        "description": model.description,
        "interface": interface_of(model),
        "requires": requires_of(model),
        "nodes": [node_document(model.nodes[k]) for k in sorted(model.nodes)],
        "edges": [edge_document(e) for e in sorted(model.edges, key=lambda e: (e.dst, e.dst_port, e.src, e.src_port))],
    }
    if model.frames:
        doc["frames"] = [{"id": f.id, "title": f.title, "color": f.color, "x": f.x, "y": f.y, "w": f.width, "h": f.height}
                         for f in sorted(model.frames.values(), key=lambda f: f.id)]
    if model.notes:
        doc["notes"] = [{"id": n.id, "text": n.text, "color": n.color, "x": n.x, "y": n.y, "w": n.width, "h": n.height}
                        for n in sorted(model.notes.values(), key=lambda n: n.id)]
    for key, value in model.meta.items():
        if key not in KNOWN_TOP:  # never let a stray section shadow what the model owns
            doc[key] = value
    return doc


def interface_of(model: FlowModel) -> dict[str, list[dict[str, Any]]]:
    """Declared inputs and outputs, read off the Input and Output nodes (for readers)."""
    inputs, outputs = [], []
    for nid in sorted(model.nodes):
        node = model.nodes[nid]
        if node.type == "input":
            params = model.params(nid)
            entry = {"name": params["name"] or nid, "type": params["type"], "node": nid}
            if params["description"]:
                entry["description"] = params["description"]
            inputs.append(entry)
        elif node.type == "output":
            outputs.append({"name": model.params(nid)["name"] or nid, "node": nid})
    return {"inputs": inputs, "outputs": outputs}


def requires_of(model: FlowModel) -> dict[str, Any]:
    """Which node types the flow uses and which packages (with versions) provide them.

    For a type that is not installed, what the loaded file said is kept, so a flow
    passed through a machine without the plugin still names it for the next one.
    """
    loaded = model.meta.get("requires") if isinstance(model.meta.get("requires"), dict) else {}
    loaded_types = loaded.get("node_types", {}) if isinstance(loaded.get("node_types"), dict) else {}
    loaded_pkgs = loaded.get("packages", {}) if isinstance(loaded.get("packages"), dict) else {}
    node_types: dict[str, str] = {}
    packages: dict[str, str] = {}
    for type_id in sorted({n.type for n in model.nodes.values()}):
        if model.registry.is_known(type_id):
            pkg = model.registry.get(type_id).package
            node_types[type_id] = pkg
            packages[pkg] = package_version(pkg) or loaded_pkgs.get(pkg) or "unknown"
        else:
            pkg = loaded_types.get(type_id)
            if isinstance(pkg, str):
                node_types[type_id] = pkg
                if isinstance(loaded_pkgs.get(pkg), str):
                    packages[pkg] = loaded_pkgs[pkg]
    return {"node_types": node_types, "packages": packages}


def dumps(model_or_doc: FlowModel | Mapping[str, Any]) -> str:
    """The flow file text: byte for byte ``json.dumps(doc, indent=2, sort_keys=True,
    ensure_ascii=False, allow_nan=False)`` plus a newline, but several times faster
    (the standard library drops to a pure-Python encoder as soon as it indents).

    Text that cannot be written as UTF-8 (a lone surrogate, which a JSON ``\\ud800``
    escape can produce) makes the whole file ASCII with escapes instead, so every
    model can be saved and reloads unchanged.
    """
    return _dump_bytes(model_or_doc).decode("utf-8")


def _dump_bytes(model_or_doc: FlowModel | Mapping[str, Any]) -> bytes:
    doc = to_document(model_or_doc) if isinstance(model_or_doc, FlowModel) else model_or_doc
    try:
        return _dump_text(doc).encode("utf-8")
    except UnicodeEncodeError:
        return (_Encoder(_enc_ascii).value(doc, "") + "\n").encode("ascii")


def _dump_text(doc: Mapping[str, Any]) -> str:
    """The indented, key-sorted JSON text of ``doc``: orjson when its spelling is the
    standard library's, else the Python encoder below.

    orjson writes the same text for everything a flow holds except three things, each
    detected here: floats below 1e-4 (``1e-07`` vs ``1e-7``; their orjson spelling always
    has ``e-`` after a digit or ``0.0000``), NaN and infinities (orjson writes ``null``;
    the standard library refuses them, so any ``null`` in the output is checked with it),
    and text that is not valid Unicode (orjson refuses it). A 10,000-node flow: ~10 ms
    instead of ~110."""
    try:
        out = orjson.dumps(doc, option=_ORJSON_FILE).decode("utf-8")
    except (orjson.JSONEncodeError, TypeError):
        return _Encoder(_enc_text).value(doc, "") + "\n"
    if "0.0000" in out or _digit_before_exponent(out):
        return _Encoder(_enc_text).value(doc, "") + "\n"
    if "null" in out:
        json.dumps(doc, allow_nan=False, check_circular=False)  # ValueError for NaN, as the encoder gives
    return out


_ORJSON_FILE = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE


def _digit_before_exponent(text: str) -> bool:
    """Does ``e-`` follow a digit anywhere (a negative exponent)? Substring searches: a
    regex over megabytes of text costs ten times more."""
    i = text.find("e-")
    while i >= 0:
        if i and text[i - 1].isdigit():
            return True
        i = text.find("e-", i + 2)
    return False


class _Encoder:
    """An indenting JSON encoder that builds strings with joins instead of generators.

    Its output equals the standard library's for indent=2, sort_keys=True and
    allow_nan=False (a property test holds it to that); ``quote`` is the C string
    encoder, UTF-8 or ASCII.
    """

    def __init__(self, quote: Callable[[str], str]):
        self.quote = quote

    def value(self, v: Any, pad: str) -> str:
        t = type(v)
        if t is str:
            return self.quote(v)
        if t is dict:
            return self.obj(v, pad)
        if t is list:
            return self.arr(v, pad)
        if v is None:
            return "null"
        if v is True:
            return "true"
        if v is False:
            return "false"
        if isinstance(v, int):
            return int.__repr__(v)
        if isinstance(v, float):
            if not math.isfinite(v):
                raise ValueError("Out of range float values are not JSON compliant: " + repr(v))
            return float.__repr__(v)
        if isinstance(v, str):
            return self.quote(v)
        if isinstance(v, dict):
            return self.obj(v, pad)
        if isinstance(v, (list, tuple)):
            return self.arr(v, pad)
        raise TypeError(f"Object of type {type(v).__name__} is not JSON serializable")

    def key(self, k: Any) -> str:
        if isinstance(k, str):
            return self.quote(k)
        if k is True or k is False or k is None or isinstance(k, (int, float)):
            return self.quote(self.value(k, ""))
        raise TypeError(f"keys must be str, int, float, bool or None, not {type(k).__name__}")

    def obj(self, d: Mapping[Any, Any], pad: str) -> str:
        if not d:
            return "{}"
        inner = pad + "  "
        quote, value = self.quote, self.value
        parts = []
        for k in sorted(d):
            v = d[k]
            qk = quote(k) if type(k) is str else self.key(k)
            t = type(v)
            parts.append(qk + ": " + (quote(v) if t is str else value(v, inner)))
        return "{\n" + inner + (",\n" + inner).join(parts) + "\n" + pad + "}"

    def arr(self, a: list | tuple, pad: str) -> str:
        if not a:
            return "[]"
        inner = pad + "  "
        value = self.value
        return "[\n" + inner + (",\n" + inner).join([value(v, inner) for v in a]) + "\n" + pad + "]"


def save_flow(model: FlowModel, path: str | os.PathLike[str], allow_secrets: bool = False) -> None:
    """Write atomically: temp file in the same folder, fsync, rename over the target.

    A key-shaped string in the flow refuses the save (``secret_scan.SecretsInFlow``, naming
    the JSON path) unless the caller asked the person and passes ``allow_secrets``."""
    doc = to_document(model)
    if not allow_secrets:
        from studio.core.userdata.secret_scan import refuse_secrets

        refuse_secrets(doc, "save")
    atomic_write(Path(path), _dump_bytes(doc))
    model.base_dir = Path(path).resolve().parent


def atomic_write(target: Path, data: bytes) -> None:
    """Replace ``target`` with ``data`` so that a crash at any moment leaves either the
    old file or the new one, never a mix: write a temp file beside it, fsync, rename.

    A symlinked target is written through (the link stays a link; the temp file sits
    beside the real file, so the rename never crosses file systems). A target that
    exists but is not a regular file (a folder, a device such as /dev/full, a FIFO) is
    refused with OSError: renaming over it would replace the device itself.
    """
    target = Path(os.path.realpath(target))
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        raise OSError(0, f"{'a folder' if stat.S_ISDIR(mode) else 'not a regular file'} is there; nothing was written")
    folder = target.parent
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.chmod(tmp, target.stat().st_mode & 0o777)
        except FileNotFoundError:
            os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def fragment_document(model: FlowModel, node_ids: list[str]) -> dict[str, Any]:
    """A clipboard fragment: the chosen nodes and the wires among them, as flow JSON."""
    chosen = set(node_ids)
    return {
        "format": FORMAT,
        "version": VERSION,
        "nodes": [node_document(model.nodes[k]) for k in sorted(chosen) if k in model.nodes],
        "edges": [edge_document(e) for e in sorted(model.edges) if e.src in chosen and e.dst in chosen],
    }
