"""Undoable edits: the only way anything changes a FlowModel.

Each command records what it needs at its first ``redo`` and restores it exactly on
``undo`` (order of nodes and edges included), so any sequence of edits undone in
reverse gives back the same model. The studio wraps these in QUndoCommands; the core's
own ``UndoStack`` serves the CLI and tests.
"""

from __future__ import annotations

import math
import re
from typing import Any, Iterable, Mapping, Sequence

from studio.core.errors import CommandError, FlowFileError
from studio.core.document.model import DELETE, SLUG_RE, Edge, FlowModel, Frame, Node, Note, _deep_copy
from studio.core.catalogue.types import incompatibility

# What the file format accepts (flowfile checks the same on load): a command never makes
# a model that saves to a file the loader would refuse.
MAX_COORD = 1e9
MAX_JSON_DEPTH = 64
COLOR_RE = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})\Z")
# top-level keys of a flow file that the model owns; SetFlowInfo may not shadow them
RESERVED_FLOW_KEYS = frozenset({"format", "version", "interface", "nodes", "edges", "frames", "notes"})


class Command:
    text: str = "Edit"
    merge_key: Any = None  # commands with equal non-None keys may merge (drags, typing)

    def redo(self, model: FlowModel) -> None:
        raise NotImplementedError

    def undo(self, model: FlowModel) -> None:
        raise NotImplementedError

    def merge(self, other: "Command") -> bool:
        """Absorb ``other`` (pushed right after this one); True when merged."""
        return False


def _require_node(model: FlowModel, node_id: str) -> Node:
    node = model.nodes.get(node_id)
    if node is None:
        raise CommandError(f"no node {node_id!r} in the flow")
    return node


def _round(v: float) -> float:
    """Positions are kept to one decimal so saved files stay short and diffs clean.

    Refuses what the file format cannot hold (NaN, infinities, beyond +-1e9), so an
    edit can never produce an unsaveable or unloadable flow.
    """
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise CommandError(f"a position or size must be a number, not {type(v).__name__}")
    if not math.isfinite(v) or abs(v) > MAX_COORD:
        raise CommandError(f"{v!r} is not a usable position or size")
    r = round(float(v), 1)
    return 0.0 if r == 0 else r


def json_problem(value: Any, depth: int = MAX_JSON_DEPTH) -> str | None:
    """Why ``value`` cannot be stored in a flow file exactly, or None.

    Only what JSON round-trips unchanged: str-keyed dicts, lists, text, finite
    numbers, booleans and null, nested at most ``depth`` levels (tuples would come back
    as lists, int keys as text, NaN not at all).
    """
    stack = [(value, 0)]
    while stack:
        v, d = stack.pop()
        if v is None or isinstance(v, (str, bool)):
            continue
        if isinstance(v, int):
            continue
        if isinstance(v, float):
            if not math.isfinite(v):
                return f"{v!r} is not a finite number"
            continue
        if d >= depth:
            return f"nested more than {depth} levels deep"
        if isinstance(v, dict):
            for k, x in v.items():
                if not isinstance(k, str):
                    return f"object keys must be text, not {type(k).__name__}"
                stack.append((x, d + 1))
        elif isinstance(v, list):
            stack.extend((x, d + 1) for x in v)
        else:
            return f"a {type(v).__name__} cannot be stored in a flow file"
    return None


def _json_value(value: Any, what: str, depth: int = MAX_JSON_DEPTH - 1) -> Any:
    """A private copy of ``value``, or CommandError when a flow file could not hold it."""
    why = json_problem(value, depth)
    if why:
        raise CommandError(f"{what}: {why}")
    return _deep_copy(value)


class AddNode(Command):
    def __init__(self, type_id: str, x: float = 0.0, y: float = 0.0, params: Mapping[str, Any] | None = None,
                 node_id: str | None = None, title: str | None = None):
        self.type_id, self.x, self.y = type_id, x, y
        self.params = dict(params) if params is not None else None
        self.node_id, self.title = node_id, title
        self.text = f"Add {type_id}"

    def redo(self, model: FlowModel) -> None:
        if not isinstance(self.type_id, str) or not self.type_id or len(self.type_id) > 200:
            raise CommandError(f"{self.type_id!r} is not a node type name")
        nt = model.registry.get(self.type_id)
        title = self.title if self.title is not None else (nt.title or self.type_id)
        if not isinstance(title, str):
            raise CommandError("a node title is text")
        node_id = self.node_id
        if node_id is None:
            node_id = model.unique_node_id(self.title or nt.title or self.type_id)
        elif not isinstance(node_id, str) or not SLUG_RE.match(node_id):
            raise CommandError(f"node id {node_id!r} must be a lowercase slug (a-z, 0-9, _)")
        elif node_id in model.nodes:
            raise CommandError(f"node id {node_id!r} is taken")
        x, y = _round(self.x), _round(self.y)
        params = nt.default_params()
        if self.params:
            params.update(_json_value(self.params, "parameters"))
        self.node_id = node_id  # kept, so redo after undo brings back the same id
        model._add_node(Node(node_id, self.type_id, params, title, x, y))

    def undo(self, model: FlowModel) -> None:
        model._remove_node(self.node_id)


class RemoveNodes(Command):
    """Remove nodes and every edge touching them; undo puts all back in place."""

    def __init__(self, node_ids: Iterable[str]):
        self.node_ids = list(dict.fromkeys(node_ids))
        self.text = f"Delete {len(self.node_ids)} node(s)" if len(self.node_ids) != 1 else f"Delete {self.node_ids[0]}"
        self._nodes: list[tuple[Node, int]] = []
        self._edges: list[tuple[Edge, int]] = []

    def redo(self, model: FlowModel) -> None:
        for nid in self.node_ids:
            _require_node(model, nid)
        touched = {e for nid in self.node_ids for e in model.edges_of(nid)}
        order = {e: i for i, e in enumerate(model.edges)}
        self._edges = []
        for e in sorted(touched, key=order.__getitem__, reverse=True):
            self._edges.append((e, model._remove_edge(e)))
        pos = {nid: i for i, nid in enumerate(model.nodes)}
        self._nodes = []
        for nid in sorted(self.node_ids, key=pos.__getitem__, reverse=True):
            self._nodes.append(model._remove_node(nid))

    def undo(self, model: FlowModel) -> None:
        for node, index in reversed(self._nodes):
            model._add_node(node, index)
        for edge, index in reversed(self._edges):
            model._add_edge(edge, index)


def connection_problem(model: FlowModel, edge: Edge) -> str | None:
    """Why ``edge`` cannot be made, or None: missing ends or ports, incompatible types."""
    if edge.src not in model.nodes:
        return f"no node {edge.src!r}"
    if edge.dst not in model.nodes:
        return f"no node {edge.dst!r}"
    if edge.src == edge.dst:
        return "a node cannot feed itself"
    src_t, dst_t = model.node_type(edge.src), model.node_type(edge.dst)
    outs = model.output_ports(edge.src)
    ins = model.input_ports(edge.dst)
    src_port = outs.get(edge.src_port)
    dst_port = ins.get(edge.dst_port)
    if src_port is None and src_t.kind != "placeholder":
        return f"{edge.src} has no output {edge.src_port!r}"
    if dst_port is None and dst_t.kind != "placeholder":
        return f"{edge.dst} has no input {edge.dst_port!r}"
    if src_port is not None and dst_port is not None:
        why = incompatibility(src_port.type, dst_port.type)
        if why:
            return f"{edge.src}.{edge.src_port} -> {edge.dst}.{edge.dst_port}: {why}"
    if model.has_edge(edge):
        return "these ports are already connected"
    return None


class Connect(Command):
    """Wire an output to an input; a single-valued input's old wire is replaced."""

    def __init__(self, src: str, src_port: str, dst: str, dst_port: str, check: bool = True):
        self.edge = Edge(src, src_port, dst, dst_port)
        self.check = check
        self.text = f"Connect {src}.{src_port} to {dst}.{dst_port}"
        self._replaced: list[tuple[Edge, int]] = []

    def redo(self, model: FlowModel) -> None:
        if self.check:
            why = connection_problem(model, self.edge)
            if why:
                raise CommandError(why)
        else:  # unchecked (paste): the ends must still exist and the wire be new
            for end in (self.edge.src, self.edge.dst):
                _require_node(model, end)
            if model.has_edge(self.edge):
                raise CommandError("these ports are already connected")
        port = model.input_ports(self.edge.dst).get(self.edge.dst_port)
        self._replaced = []
        if port is not None and not port.multi:
            for e in reversed(model.edges_into(self.edge.dst, self.edge.dst_port)):
                self._replaced.append((e, model._remove_edge(e)))
        model._add_edge(self.edge)

    def undo(self, model: FlowModel) -> None:
        model._remove_edge(self.edge)
        for e, index in reversed(self._replaced):
            model._add_edge(e, index)


class Disconnect(Command):
    def __init__(self, src: str, src_port: str, dst: str, dst_port: str):
        self.edge = Edge(src, src_port, dst, dst_port)
        self.text = f"Disconnect {src}.{src_port} from {dst}.{dst_port}"
        self._index = 0

    def redo(self, model: FlowModel) -> None:
        if not model.has_edge(self.edge):
            raise CommandError(f"no wire {self.edge}")
        self._index = model._remove_edge(self.edge)

    def undo(self, model: FlowModel) -> None:
        model._add_edge(self.edge, self._index)


class MoveNodes(Command):
    """Move nodes (and frames/notes, by id in ``frames``/``notes``); consecutive moves
    of the same selection merge into one undo step."""

    def __init__(self, positions: Mapping[str, tuple[float, float]], frames: Mapping[str, tuple[float, float]] | None = None,
                 notes: Mapping[str, tuple[float, float]] | None = None, mergeable: bool = True):
        # kept as given; checked and rounded when applied (a refused move raises from
        # push, where callers expect CommandError, not from the constructor)
        self.new = dict(positions)
        self.new_frames = dict(frames or {})
        self.new_notes = dict(notes or {})
        self.old: dict[str, tuple[float, float]] = {}
        self.old_frames: dict[str, tuple[float, float]] = {}
        self.old_notes: dict[str, tuple[float, float]] = {}
        count = len(self.new) + len(self.new_frames) + len(self.new_notes)
        self.text = f"Move {count} item(s)"
        self.merge_key = ("move", frozenset(self.new), frozenset(self.new_frames), frozenset(self.new_notes)) if mergeable else None

    def redo(self, model: FlowModel) -> None:
        for nid in self.new:  # check everything first: a refused move changes nothing
            _require_node(model, nid)
        for table, new in (("frames", self.new_frames), ("notes", self.new_notes)):
            for iid in new:
                if iid not in getattr(model, table):
                    raise CommandError(f"no {table[:-1]} {iid!r}")
        rounded = [{k: (_round(x), _round(y)) for k, (x, y) in m.items()}
                   for m in (self.new, self.new_frames, self.new_notes)]
        self.new, self.new_frames, self.new_notes = rounded
        for nid, (x, y) in self.new.items():
            node = model.nodes[nid]
            self.old.setdefault(nid, (node.x, node.y))
            model._set_node_fields(nid, x=x, y=y)
        for table, new, old in (("frames", self.new_frames, self.old_frames), ("notes", self.new_notes, self.old_notes)):
            store = getattr(model, table)
            for iid, (x, y) in new.items():
                old.setdefault(iid, (store[iid].x, store[iid].y))
                model._set_item_fields(table, iid, x=x, y=y)

    def undo(self, model: FlowModel) -> None:
        for nid, (x, y) in self.old.items():
            model._set_node_fields(nid, x=x, y=y)
        for table, old in (("frames", self.old_frames), ("notes", self.old_notes)):
            for iid, (x, y) in old.items():
                model._set_item_fields(table, iid, x=x, y=y)

    def merge(self, other: Command) -> bool:
        if not isinstance(other, MoveNodes) or other.merge_key is None or other.merge_key != self.merge_key:
            return False
        self.new, self.new_frames, self.new_notes = other.new, other.new_frames, other.new_notes
        return True


class SetParam(Command):
    """Set one parameter; consecutive edits of the same field merge (typing in a box)."""

    def __init__(self, node_id: str, name: str, value: Any, mergeable: bool = False):
        self.node_id, self.name = node_id, name
        self.value = _deep_copy(value) if value is not DELETE else DELETE
        self.text = f"Set {node_id}.{name}"
        self.merge_key = ("param", node_id, name) if mergeable else None
        self._old: Any = DELETE
        self._captured = False

    def redo(self, model: FlowModel) -> None:
        node = _require_node(model, self.node_id)
        if not isinstance(self.name, str) or not self.name:
            raise CommandError("a parameter name is non-empty text")
        if self.value is not DELETE:
            why = json_problem(self.value, MAX_JSON_DEPTH - 1)
            if why:
                raise CommandError(f"{self.node_id}.{self.name}: {why}")
        if not self._captured:
            self._old = _deep_copy(node.params[self.name]) if self.name in node.params else DELETE
            self._captured = True
        model._set_param(self.node_id, self.name, _deep_copy(self.value) if self.value is not DELETE else DELETE)

    def undo(self, model: FlowModel) -> None:
        model._set_param(self.node_id, self.name, _deep_copy(self._old) if self._old is not DELETE else DELETE)

    def merge(self, other: Command) -> bool:
        if isinstance(other, SetParam) and self.merge_key is not None and other.merge_key == self.merge_key:
            self.value = other.value
            return True
        return False


class SetNodeFields(Command):
    """Change a node's title or layout (size, collapsed)."""

    ALLOWED = {"title", "width", "height", "collapsed"}

    def __init__(self, node_id: str, **fields: Any):
        bad = set(fields) - self.ALLOWED
        if bad:
            raise CommandError(f"cannot set {', '.join(sorted(bad))} on a node")
        self.node_id, self.fields = node_id, fields
        self.text = "Rename node" if "title" in fields else "Change node layout"
        self._old: dict[str, Any] = {}

    def redo(self, model: FlowModel) -> None:
        node = _require_node(model, self.node_id)
        fields = self.fields
        if "title" in fields and not isinstance(fields["title"], str):
            raise CommandError("a node title is text")
        if "collapsed" in fields and not isinstance(fields["collapsed"], bool):
            raise CommandError("collapsed is true or false")
        for k in ("width", "height"):
            if k in fields and fields[k] is not None:
                fields[k] = _round(fields[k])
        self._old = {k: getattr(node, k) for k in self.fields}
        model._set_node_fields(self.node_id, **self.fields)

    def undo(self, model: FlowModel) -> None:
        model._set_node_fields(self.node_id, **self._old)


def SetTitle(node_id: str, title: str) -> SetNodeFields:
    return SetNodeFields(node_id, title=title)


class RenameNode(Command):
    """Change a node's id; its wires follow, and so do Collects that name it as the
    fan-out they close (their ``fanout`` parameter), so a rename never breaks a region."""

    def __init__(self, old: str, new: str):
        self.old, self.new = old, new
        self.text = f"Rename {old} to {new}"
        self._collects: list[str] = []

    def redo(self, model: FlowModel) -> None:
        _require_node(model, self.old)
        if not isinstance(self.new, str) or not SLUG_RE.match(self.new):
            raise CommandError(f"node id {self.new!r} must be a lowercase slug (a-z, 0-9, _)")
        if self.new in model.nodes:
            raise CommandError(f"node id {self.new!r} is taken")
        try:
            model._rename_node(self.old, self.new)
        except KeyError as exc:  # a wire from the file already names the new id
            raise CommandError(str(exc.args[0])) from None
        self._collects = [nid for nid, n in model.nodes.items()
                          if n.params.get("fanout") == self.old and model.node_type(nid).kind == "collect"]
        for nid in self._collects:
            model._set_param(nid, "fanout", self.new)

    def undo(self, model: FlowModel) -> None:
        for nid in self._collects:
            model._set_param(nid, "fanout", self.old)
        model._rename_node(self.new, self.old)


class _ItemCommand(Command):
    table = "frames"

    def _store(self, model: FlowModel) -> dict:
        return getattr(model, self.table)


class AddItem(_ItemCommand):
    """Add a frame or a sticky note."""

    def __init__(self, item: Frame | Note):
        self.item = item
        self.table = "frames" if isinstance(item, Frame) else "notes"
        self.text = "Add frame" if self.table == "frames" else "Add note"

    def redo(self, model: FlowModel) -> None:
        _check_item(self.item)
        store = self._store(model)
        if not isinstance(self.item.id, str) or not SLUG_RE.match(self.item.id) or self.item.id in store:
            self.item.id = model.unique_item_id(self.table[:-1], store)
        model._put_item(self.table, self.item.copy())

    def undo(self, model: FlowModel) -> None:
        model._pop_item(self.table, self.item.id)


def _check_item(item: Frame | Note) -> None:
    """Refuse frame/note fields the file format would refuse on load; round the rest."""
    for k in ("x", "y", "width", "height"):
        setattr(item, k, _round(getattr(item, k)))
    for k in ("title", "text"):
        if hasattr(item, k) and not isinstance(getattr(item, k), str):
            raise CommandError(f"{k} is text")
    if not isinstance(item.color, str) or not COLOR_RE.match(item.color):
        raise CommandError(f"color must be like \"#3a4a6b\", got {item.color!r}")


def AddFrame(title: str = "Group", x: float = 0, y: float = 0, width: float = 400, height: float = 300, color: str = "#3a4a6b") -> AddItem:
    return AddItem(Frame("", title, color, x, y, width, height))  # checked when applied


def AddNote(text: str = "", x: float = 0, y: float = 0, width: float = 220, height: float = 120, color: str = "#6b5e2e") -> AddItem:
    return AddItem(Note("", text, color, x, y, width, height))  # checked when applied


class RemoveItem(_ItemCommand):
    def __init__(self, table: str, item_id: str):
        self.table, self.item_id = table, item_id
        self.text = f"Delete {table[:-1]}"

    def redo(self, model: FlowModel) -> None:
        if self.item_id not in self._store(model):
            raise CommandError(f"no {self.table[:-1]} {self.item_id!r}")
        self._item, self._index = model._pop_item(self.table, self.item_id)

    def undo(self, model: FlowModel) -> None:
        model._put_item(self.table, self._item, self._index)


class UpdateItem(_ItemCommand):
    ALLOWED = {"title", "text", "color", "x", "y", "width", "height"}

    def __init__(self, table: str, item_id: str, **fields: Any):
        bad = set(fields) - self.ALLOWED
        if bad:
            raise CommandError(f"cannot set {', '.join(sorted(bad))} on a {table[:-1]}")
        self.table, self.item_id, self.fields = table, item_id, fields
        self.text = f"Edit {table[:-1]}"

    def redo(self, model: FlowModel) -> None:
        store = self._store(model)
        if self.item_id not in store:
            raise CommandError(f"no {self.table[:-1]} {self.item_id!r}")
        fields = self.fields
        for k in ("x", "y", "width", "height"):
            if k in fields:
                fields[k] = _round(fields[k])
        for k in ("title", "text"):
            if k in fields and not isinstance(fields[k], str):
                raise CommandError(f"{k} is text")
        if "color" in fields and not (isinstance(fields["color"], str) and COLOR_RE.match(fields["color"])):
            raise CommandError(f"color must be like \"#3a4a6b\", got {fields['color']!r}")
        self._old = {k: getattr(store[self.item_id], k) for k in self.fields}
        model._set_item_fields(self.table, self.item_id, **self.fields)

    def undo(self, model: FlowModel) -> None:
        model._set_item_fields(self.table, self.item_id, **self._old)


class SetFlowInfo(Command):
    """Change the flow's name, description or a flow-level section (pricing, tests...)."""

    def __init__(self, **fields: Any):
        self.fields = fields
        self.text = "Edit flow settings"

    def _check(self) -> None:
        for k, v in self.fields.items():
            if k in RESERVED_FLOW_KEYS:
                raise CommandError(f"{k!r} is not a flow setting (the model owns it)")
            if k in ("name", "description"):
                if not isinstance(v, str):
                    raise CommandError(f"the flow's {k} is text")
            elif v is not DELETE:
                why = json_problem(v, MAX_JSON_DEPTH)
                if why:
                    raise CommandError(f"{k}: {why}")
        req = self.fields.get("requires", DELETE)
        if req is not DELETE and not (
                isinstance(req, dict) and isinstance(req.get("node_types", {}), dict)
                and all(isinstance(p, str) for p in req.get("node_types", {}).values())):
            raise CommandError("requires maps node_types to package names")

    def redo(self, model: FlowModel) -> None:
        self._check()
        self._old = {}
        for k in self.fields:
            if k in ("name", "description"):
                self._old[k] = getattr(model, k)
            else:
                self._old[k] = _deep_copy(model.meta[k]) if k in model.meta else DELETE
        model._set_flow_fields(**{k: (_deep_copy(v) if v is not DELETE else DELETE) for k, v in self.fields.items()})

    def undo(self, model: FlowModel) -> None:
        model._set_flow_fields(**self._old)


class PasteFragment(Command):
    """Paste nodes and the wires among them (flow-file JSON); ids are re-slugged on
    collision and positions shifted by ``offset``. ``new_ids`` maps old to new ids."""

    def __init__(self, fragment: Mapping[str, Any], offset: tuple[float, float] = (0.0, 0.0)):
        self.fragment = fragment
        self.offset = offset
        self.new_ids: dict[str, str] = {}
        self.text = "Paste"
        self._macro: Macro | None = None

    def redo(self, model: FlowModel) -> None:
        if self._macro is None:
            from studio.core.document.flowfile import fragment_parts  # the file format owns the JSON shape

            try:
                nodes, edges, frames, notes = fragment_parts(self.fragment)
            except FlowFileError as exc:
                raise CommandError(f"cannot paste: {exc}") from None
            dx, dy = (_round(v) for v in self.offset)
            taken: set[str] = set()
            steps: list[Command] = []
            for n in nodes:
                new_id = model.unique_node_id(n.id, taken)
                taken.add(new_id)
                self.new_ids[n.id] = new_id
            for n in nodes:
                params = _deep_copy(n.params)
                # a pasted Collect keeps closing the pasted copy of its fan-out
                fo = params.get("fanout")
                if isinstance(fo, str) and fo in self.new_ids and model.registry.get(n.type).kind == "collect":
                    params["fanout"] = self.new_ids[fo]
                steps.append(_InsertNode(Node(self.new_ids[n.id], n.type, params, n.title, _round(n.x + dx),
                                              _round(n.y + dy), n.width, n.height, n.collapsed)))
            for e in edges:
                if e.src in self.new_ids and e.dst in self.new_ids:
                    steps.append(Connect(self.new_ids[e.src], e.src_port, self.new_ids[e.dst], e.dst_port, check=False))
            for item in [*frames, *notes]:
                item.x, item.y = _round(item.x + dx), _round(item.y + dy)
                item.id = ""
                steps.append(AddItem(item))
            self._macro = Macro("Paste", steps)
        self._macro.redo(model)

    def undo(self, model: FlowModel) -> None:
        assert self._macro is not None
        self._macro.undo(model)


class _InsertNode(Command):
    def __init__(self, node: Node):
        self.node = node

    def redo(self, model: FlowModel) -> None:
        model._add_node(self.node.copy())

    def undo(self, model: FlowModel) -> None:
        model._remove_node(self.node.id)


class Macro(Command):
    """Several commands as one undo step; a failure part-way rolls back what ran."""

    def __init__(self, text: str, commands: Sequence[Command]):
        self.text = text
        self.commands = list(commands)

    def redo(self, model: FlowModel) -> None:
        done: list[Command] = []
        try:
            for c in self.commands:
                c.redo(model)
                done.append(c)
        except Exception:
            for c in reversed(done):
                c.undo(model)
            raise

    def undo(self, model: FlowModel) -> None:
        for c in reversed(self.commands):
            c.undo(model)


class UndoStack:
    """A headless undo stack with merging and a clean mark (the studio uses QUndoStack)."""

    def __init__(self, model: FlowModel):
        self.model = model
        self._done: list[Command] = []
        self._undone: list[Command] = []
        self._clean_depth: int | None = 0

    def push(self, command: Command) -> Command:
        command.redo(self.model)  # raises before anything is recorded
        if self._clean_depth is not None and self._clean_depth > len(self._done):
            self._clean_depth = None  # the clean state was undone and is now unreachable
        top = self._done[-1] if self._done else None
        merged = (
            top is not None
            and top.merge_key is not None
            and len(self._done) != self._clean_depth
            and top.merge(command)
        )
        if not merged:
            self._done.append(command)
        self._undone.clear()
        return command

    def undo(self) -> bool:
        if not self._done:
            return False
        c = self._done.pop()
        c.undo(self.model)
        self._undone.append(c)
        return True

    def redo(self) -> bool:
        if not self._undone:
            return False
        c = self._undone.pop()
        c.redo(self.model)
        self._done.append(c)
        return True

    @property
    def undo_count(self) -> int:
        """How many steps can be undone (merged edits count once)."""
        return len(self._done)

    def can_undo(self) -> bool:
        return bool(self._done)

    def can_redo(self) -> bool:
        return bool(self._undone)

    def set_clean(self) -> None:
        self._clean_depth = len(self._done)

    def is_clean(self) -> bool:
        return self._clean_depth == len(self._done)
