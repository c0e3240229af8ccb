"""Editing intents of the studio, each turned into one core command on the document.

The view (gestures), the menus and the inspector all call this object, so every path
to an edit is the same: build a core command, push it through the undo adapter, and
report a refusal in the status bar. Nothing here touches items directly; the scene
follows the model's events.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, QPointF, QRectF, Signal

from studio.core.document import commands as C
from studio.core.document.interface import interface_name
from studio.core.document.model import Edge
from studio.core.catalogue.types import PortType, can_connect

from . import clipboard, layout
from .canvas.frame_item import FrameItem, NoteItem
from .canvas.scene import FlowScene
from .document import Document

PASTE_STEP = 30.0


class Editor(QObject):
    status = Signal(str)
    node_added = Signal(str)  # a node the person just added (the inspector shows its parameters)

    def __init__(self, scene: FlowScene, parent: QObject | None = None):
        super().__init__(parent)
        self.scene = scene
        self.document: Document | None = None
        self._paste_count = 0
        self.default_model: Callable[[], str] | None = None  # Settings → Defaults: the model of new LLM nodes

    def set_document(self, document: Document) -> None:
        self.document = document
        self.scene.set_model(document.model)

    @property
    def model(self):
        return self.document.model

    def push(self, command: C.Command) -> bool:
        why = self.document.push(command)
        if why:
            self.status.emit(f"Not done: {why}")
            return False
        return True

    # -- nodes and wires -----------------------------------------------------------

    def _new_params(self, type_id: str) -> dict | None:
        """A new node's parameters: the type's defaults, with the default model set and, for
        an Input or Output, a name no other node of its kind has (a second Output named
        "output" would be an error the moment it appears)."""
        try:
            nt = self.model.registry.get(type_id)
            params = nt.default_params()
        except Exception:
            return None
        changed = False
        model = self.default_model() if self.default_model is not None else ""
        if model and "model" in params:
            params["model"] = model
            changed = True
        if nt.kind in ("input", "output") and isinstance(params.get("name"), str):
            taken = {interface_name(self.model.params(n.id), n.id) for n in self.model
                     if self.model.node_type(n.id).kind == nt.kind}
            base, k = params["name"] or nt.kind, 1
            name = base
            while name in taken:
                k += 1
                name = f"{base}_{k}"
            if name != params["name"]:
                params["name"] = name
                changed = True
        return params if changed else None

    def free_spot(self, pos: QPointF, size: tuple[float, float] = (210.0, 110.0)) -> QPointF:
        """``pos``, or the nearest place around it where a new node overlaps no other."""
        rects = [it.sceneBoundingRect().adjusted(-12, -12, 12, 12) for it in self.scene.nodes.values()]
        w, h = size

        def free(p: QPointF) -> bool:
            r = QRectF(p.x(), p.y(), w, h)
            return not any(r.intersects(o) for o in rects)

        if free(pos):
            return pos
        step = 40.0
        for ring in range(1, 40):  # rings of candidate spots, nearest first; right and down preferred
            cands = []
            for i in range(-ring, ring + 1):
                for dx, dy in ((i, -ring), (i, ring), (-ring, i), (ring, i)):
                    cands.append((abs(dx) + abs(dy) - 0.1 * (dx > 0) - 0.05 * (dy > 0), dx, dy))
            for _, dx, dy in sorted(set(cands)):
                p = QPointF(pos.x() + dx * step, pos.y() + dy * step)
                if free(p):
                    return p
        return pos

    def add_node(self, type_id: str, pos: QPointF, select: bool = True, free_space: bool = False) -> str | None:
        if free_space:
            pos = self.free_spot(pos)
        cmd = C.AddNode(type_id, pos.x(), pos.y(), self._new_params(type_id))
        if not self.push(cmd):
            return None
        if select:
            self.scene.select_nodes([cmd.node_id])
        self.node_added.emit(cmd.node_id)
        return cmd.node_id

    def set_param(self, node_id: str, name: str, value, mergeable: bool = True) -> bool:
        """Set a parameter; when that renames a port (a prompt's ``{{ topic }}`` becomes
        ``{{ subject }}``), the wires on the old port follow it in the same undo step."""
        model = self.model
        node = model.nodes.get(node_id)
        if node is None:
            return False
        set_cmd = C.SetParam(node_id, name, value, mergeable=mergeable)
        moves: list[C.Command] = []
        try:
            nt = model.node_type(node_id)
            new_params = dict(node.params)
            new_params[name] = value
            before = [p.name for p in nt.input_ports(node.params, model.base_dir)]
            after = [p.name for p in nt.input_ports(new_params, model.base_dir)]
        except Exception:  # a half-typed template may not parse: just set the value
            before = after = []
        new = [p for p in after if p not in before]
        # wires left on a port that no longer exists (renamed now, or a few keystrokes ago
        # while the template was half typed) follow the one port that just appeared
        dangling = [e for e in model.edges_into(node_id) if e.dst_port not in after] if after else []
        gone = sorted({e.dst_port for e in dangling})
        if len(new) == 1 and len(gone) == 1 and not model.edges_into(node_id, new[0]):
            for e in dangling:
                moves += [C.Disconnect(*_parts(e)), C.Connect(e.src, e.src_port, node_id, new[0])]
        text = f"Set {node_id}.{name}" + (f" (wires follow {gone[0]} → {new[0]})" if moves else "")
        return self.push(_ParamEdit(text, [set_cmd, *moves], ("param", node_id, name) if mergeable else None))

    def connect(self, src: str, src_port: str, dst: str, dst_port: str, replacing: Edge | None = None) -> bool:
        edge = Edge(src, src_port, dst, dst_port)
        if replacing is not None and replacing == edge:
            return True
        why = C.connection_problem(self.model, edge)
        if why:
            self.status.emit(f"Cannot connect: {why}")
            return False
        cmd: C.Command = C.Connect(src, src_port, dst, dst_port)
        if replacing is not None:
            cmd = C.Macro(f"Move wire to {dst}.{dst_port}", [C.Disconnect(*_parts(replacing)), cmd])
        ok = self.push(cmd)
        if ok:
            self.status.emit(f"Connected {edge}")
        return ok

    def disconnect(self, edge: Edge) -> bool:
        return self.push(C.Disconnect(*_parts(edge)))

    def add_node_wired(self, type_id: str, pos: QPointF, anchor: tuple[str, str, bool]) -> str | None:
        """Add a node and wire it to ``anchor`` (node, port, anchor_is_output) in one step."""
        node_id, port, from_output = anchor
        pos = self.free_spot(pos)
        add = C.AddNode(type_id, pos.x(), pos.y(), self._new_params(type_id))
        nt = self.model.registry.get(type_id)
        params = add.params or nt.default_params()
        anchor_type = self._port_type(node_id, port, from_output)
        ports = nt.input_ports(params, self.model.base_dir) if from_output else nt.output_ports(params, self.model.base_dir)
        match = next((p for p in ports if (can_connect(anchor_type, p.type) if from_output else can_connect(p.type, anchor_type))), None)
        steps: list[C.Command] = [add]
        if match is not None:
            # the new node's id is known only after AddNode ran: a small deferred command
            steps.append(_Deferred(lambda: C.Connect(node_id, port, add.node_id, match.name) if from_output
                                   else C.Connect(add.node_id, match.name, node_id, port)))
        if not self.push(C.Macro(f"Add {type_id}", steps)):
            return None
        self.scene.select_nodes([add.node_id])
        self.node_added.emit(add.node_id)
        return add.node_id

    def _port_type(self, node_id: str, port: str, output: bool) -> PortType:
        ports = self.model.output_ports(node_id) if output else self.model.input_ports(node_id)
        p = ports.get(port)
        return p.type if p is not None else PortType.ANY

    def compatible_types(self, anchor: tuple[str, str, bool]) -> list[str]:
        """Node types with a port that can take (or feed) the anchor port."""
        node_id, port, from_output = anchor
        t = self._port_type(node_id, port, from_output)
        out = []
        for nt in self.model.registry.types():
            params = nt.default_params()
            try:
                ports = nt.input_ports(params, self.model.base_dir) if from_output else nt.output_ports(params, self.model.base_dir)
            except Exception:
                continue
            if any(can_connect(t, p.type) if from_output else can_connect(p.type, t) for p in ports):
                out.append(nt.type_id)
        return out

    def move(self, nodes: dict[str, tuple[float, float]], frames=None, notes=None, mergeable: bool = True) -> None:
        self.push(C.MoveNodes(nodes, frames or {}, notes or {}, mergeable=mergeable))

    # -- selection-wide -------------------------------------------------------------

    def delete_selection(self) -> None:
        steps: list[C.Command] = []
        node_ids = self.scene.selected_node_ids()
        gone = set(node_ids)
        for edge in self.scene.selected_wires():
            if edge.src not in gone and edge.dst not in gone:
                steps.append(C.Disconnect(*_parts(edge)))
        if node_ids:
            steps.append(C.RemoveNodes(node_ids))
        for box in self.scene.selected_boxes():
            steps.append(C.RemoveItem(box.table, box.item_id))
        if steps:
            self.push(steps[0] if len(steps) == 1 else C.Macro("Delete", steps))

    def _selection_fragment(self) -> dict:
        boxes = self.scene.selected_boxes()
        return clipboard.fragment(self.model, self.scene.selected_node_ids(),
                                  [b.item_id for b in boxes if isinstance(b, FrameItem)],
                                  [b.item_id for b in boxes if isinstance(b, NoteItem)])

    def copy(self) -> bool:
        doc = self._selection_fragment()
        if clipboard.is_empty(doc):
            return False
        clipboard.put(doc)
        self._paste_count = 0
        n = len(doc["nodes"])
        self.status.emit(f"Copied {n} node(s)")
        return True

    def cut(self) -> None:
        if self.copy():
            self.delete_selection()

    def paste(self, at: QPointF | None = None) -> list[str]:
        doc = clipboard.get()
        if doc is None:
            self.status.emit("The clipboard holds no flow nodes")
            return []
        return self._paste_fragment(doc, at)

    def duplicate(self) -> list[str]:
        doc = self._selection_fragment()
        if clipboard.is_empty(doc):
            return []
        return self._paste_fragment(doc, None, text="Duplicate")

    def _paste_fragment(self, doc: dict, at: QPointF | None, text: str = "Paste") -> list[str]:
        corner = clipboard.bounds_of(doc) or (0.0, 0.0)
        if at is not None:
            offset = (at.x() - corner[0], at.y() - corner[1])
        else:
            self._paste_count += 1
            offset = (PASTE_STEP * self._paste_count, PASTE_STEP * self._paste_count)
        cmd = C.PasteFragment(doc, offset)
        cmd.text = text
        before_f, before_n = set(self.model.frames), set(self.model.notes)
        if not self.push(cmd):
            return []
        new = list(cmd.new_ids.values())
        boxes = [self.scene.frames[i] for i in set(self.model.frames) - before_f] + \
                [self.scene.notes[i] for i in set(self.model.notes) - before_n]
        self.scene.select_nodes(new, boxes)
        return new

    def select_all(self) -> None:
        for group in (self.scene.nodes, self.scene.frames, self.scene.notes):
            for item in group.values():
                item.setSelected(True)

    # -- arrangement ------------------------------------------------------------------

    def _sizes(self) -> dict[str, tuple[float, float]]:
        return {nid: (it.rect().width(), it.rect().height()) for nid, it in self.scene.nodes.items()}

    def auto_layout(self) -> None:
        selected = self.scene.selected_node_ids()
        ids = selected if len(selected) >= 2 else None
        pos = layout.auto_layout(self.model, self._sizes(), ids)
        pos = {k: v for k, v in pos.items() if (self.model.nodes[k].x, self.model.nodes[k].y) != (round(v[0], 1), round(v[1], 1))}
        if pos:
            cmd = C.MoveNodes(pos, mergeable=False)
            cmd.text = "Auto-layout"
            self.push(cmd)

    def _selected_rects(self) -> dict[str, tuple[float, float, float, float]]:
        out = {}
        for nid in self.scene.selected_node_ids():
            it = self.scene.nodes[nid]
            out[nid] = (it.node.x, it.node.y, it.rect().width(), it.rect().height())
        return out

    def align(self, mode: str) -> None:
        rects = self._selected_rects()
        if len(rects) >= 2:
            cmd = C.MoveNodes(layout.align(rects, mode), mergeable=False)
            cmd.text = f"Align {mode}"
            self.push(cmd)

    def distribute(self, axis: str) -> None:
        rects = self._selected_rects()
        if len(rects) >= 3:
            cmd = C.MoveNodes(layout.distribute(rects, axis), mergeable=False)
            cmd.text = "Distribute"
            self.push(cmd)

    # -- frames and notes ------------------------------------------------------------

    def add_frame(self, at: QPointF | None = None) -> None:
        """A frame around the selected nodes, or an empty one at ``at``."""
        sel = [self.scene.nodes[n] for n in self.scene.selected_node_ids()]
        if sel:
            r = sel[0].sceneBoundingRect()
            for it in sel[1:]:
                r = r.united(it.sceneBoundingRect())
            r = r.adjusted(-24, -48, 24, 24)
            self.push(C.AddFrame("Group", r.x(), r.y(), r.width(), r.height()))
        else:
            p = at or QPointF(0, 0)
            self.push(C.AddFrame("Group", p.x(), p.y()))

    def add_note(self, at: QPointF, text: str = "") -> None:
        self.push(C.AddNote(text, at.x(), at.y()))


class _ParamEdit(C.Command):
    """Typing in one parameter field, and the wires that followed a renamed port: one undo
    step. Keystrokes merge by appending their steps; undo walks all of them back."""

    def __init__(self, text: str, steps: list[C.Command], merge_key):
        self.text, self.steps, self.merge_key = text, steps, merge_key

    def redo(self, model) -> None:
        for step in self.steps:
            step.redo(model)

    def undo(self, model) -> None:
        for step in reversed(self.steps):
            step.undo(model)

    def merge(self, other: C.Command) -> bool:
        if isinstance(other, _ParamEdit) and self.merge_key is not None and other.merge_key == self.merge_key:
            self.steps.extend(other.steps)
            if "wires follow" in other.text:
                self.text = other.text
            return True
        return False


class _Deferred(C.Command):
    """A command built at redo time (when it needs an id an earlier step assigned)."""

    def __init__(self, factory: Callable[[], C.Command]):
        self.factory = factory
        self.inner: C.Command | None = None

    def redo(self, model) -> None:
        if self.inner is None:
            self.inner = self.factory()
        self.inner.redo(model)

    def undo(self, model) -> None:
        assert self.inner is not None
        self.inner.undo(model)


def _parts(edge: Edge) -> tuple[str, str, str, str]:
    return edge.src, edge.src_port, edge.dst, edge.dst_port
