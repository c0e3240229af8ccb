"""The scene: one QGraphicsItem per node, wire, frame and note of a FlowModel.

It listens to the model's events and changes only the items an event names (a move
repositions one node and its wires; a parameter change rebuilds one node), so editing
stays fast however large the flow. A whole rebuild happens only when a model is set
or reset. The scene never edits the model; it answers questions about items.
"""

from __future__ import annotations

from typing import Callable, Iterable

from PySide6.QtCore import QRectF, Signal
from PySide6.QtWidgets import QGraphicsScene

from studio.core.model import Edge, FlowModel, ModelEvent

from .frame_item import FrameItem, NoteItem
from .node_item import NodeItem
from .wire_item import WireItem


class FlowScene(QGraphicsScene):
    model_changed = Signal()  # a different model was set

    def __init__(self, parent=None):
        super().__init__(parent)
        self.model: FlowModel | None = None
        self.nodes: dict[str, NodeItem] = {}
        self.wires: dict[Edge, WireItem] = {}
        self.frames: dict[str, FrameItem] = {}
        self.notes: dict[str, NoteItem] = {}
        self._unsubscribe: Callable[[], None] | None = None
        self._problems: dict[str, list] = {}
        self.setSceneRect(QRectF(-100000, -100000, 200000, 200000))  # pan anywhere
        self.setItemIndexMethod(QGraphicsScene.BspTreeIndex)

    # -- model binding -----------------------------------------------------------

    def set_model(self, model: FlowModel) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        self.model = model
        self._rebuild()
        self._unsubscribe = model.subscribe(self._on_event)
        self.model_changed.emit()

    def _rebuild(self) -> None:
        self.clearSelection()
        self.clear()
        self.nodes.clear()
        self.wires.clear()
        self.frames.clear()
        self.notes.clear()
        model = self.model
        assert model is not None
        # Build with the index off, then index once: far faster than 2,000 insertions.
        self.setItemIndexMethod(QGraphicsScene.NoIndex)
        for node_id in model.nodes:
            self._add_node(node_id)
        for edge in model.edges:
            self._add_edge(edge)
        for f in model.frames.values():
            self._add_frame(f)
        for n in model.notes.values():
            self._add_note(n)
        self.setItemIndexMethod(QGraphicsScene.BspTreeIndex)

    def _make_node_item(self, node_id: str) -> NodeItem:
        model = self.model
        node = model.nodes[node_id]
        nt = model.node_type(node_id)
        return NodeItem(node, nt, nt.input_ports(node.params, model.base_dir), nt.output_ports(node.params, model.base_dir))

    def _add_node(self, node_id: str) -> None:
        item = self._make_node_item(node_id)
        self.nodes[node_id] = item
        if node_id in self._problems:
            item.set_problems(self._problems[node_id])
        self.addItem(item)

    def _add_edge(self, edge: Edge) -> None:
        src, dst = self.nodes.get(edge.src), self.nodes.get(edge.dst)
        if src is None or dst is None:
            return
        wire = WireItem(edge, src, dst)
        src.wires.append(wire)
        if dst is not src:
            dst.wires.append(wire)
        self.wires[edge] = wire
        self.addItem(wire)

    def _remove_edge(self, edge: Edge) -> None:
        wire = self.wires.pop(edge, None)
        if wire is None:
            return
        for end in (wire.src, wire.dst):
            if wire in end.wires:
                end.wires.remove(wire)
        self.removeItem(wire)

    def _add_frame(self, frame) -> None:
        item = FrameItem(frame)
        self.frames[frame.id] = item
        self.addItem(item)

    def _add_note(self, note) -> None:
        item = NoteItem(note)
        self.notes[note.id] = item
        self.addItem(item)

    # -- events ------------------------------------------------------------------

    def _on_event(self, ev: ModelEvent) -> None:
        kind = ev.kind
        if kind == "node_moved":
            item = self.nodes.get(ev.id)
            if item is not None:
                item.setPos(item.node.x, item.node.y)
                for w in item.wires:
                    w.refresh()
        elif kind == "edge_added":
            self._add_edge(ev.edge)
        elif kind == "edge_removed":
            self._remove_edge(ev.edge)
        elif kind == "node_changed":
            self._refresh_node(ev.id)
        elif kind == "node_added":
            self._add_node(ev.id)
        elif kind == "node_removed":
            item = self.nodes.pop(ev.id, None)
            if item is not None:
                for w in list(item.wires):
                    self._remove_edge(w.edge)
                self.removeItem(item)
        elif kind == "node_renamed":
            old = (ev.data or {}).get("old")
            item = self.nodes.pop(old, None)
            if item is not None:
                self.nodes[ev.id] = item
                self._refresh_node(ev.id)
        elif kind.startswith("frame_") or kind.startswith("note_"):
            self._on_item_event(kind, ev.id)
        elif kind == "reset":
            self._rebuild()

    def _refresh_node(self, node_id: str) -> None:
        item = self.nodes.get(node_id)
        if item is None:
            return
        model = self.model
        node = model.nodes[node_id]
        item.node = node
        nt = model.node_type(node_id)
        item.rebuild(nt, nt.input_ports(node.params, model.base_dir), nt.output_ports(node.params, model.base_dir))
        item.setPos(node.x, node.y)
        for w in item.wires:
            w.refresh()

    def _on_item_event(self, kind: str, item_id: str) -> None:
        table, _, what = kind.partition("_")
        store = self.frames if table == "frame" else self.notes
        data = self.model.frames if table == "frame" else self.model.notes
        if what == "added":
            (self._add_frame if table == "frame" else self._add_note)(data[item_id])
        elif what == "removed":
            item = store.pop(item_id, None)
            if item is not None:
                self.removeItem(item)
        elif what == "changed":
            item = store.get(item_id)
            if item is not None:
                item.item = data[item_id]
                item.refresh()

    # -- queries used by the view and the editor ---------------------------------

    def selected_node_ids(self) -> list[str]:
        return [i.node_id for i in self.selectedItems() if isinstance(i, NodeItem)]

    def selected_wires(self) -> list[Edge]:
        return [i.edge for i in self.selectedItems() if isinstance(i, WireItem)]

    def selected_boxes(self) -> list[FrameItem | NoteItem]:
        return [i for i in self.selectedItems() if isinstance(i, (FrameItem, NoteItem))]

    def select_nodes(self, node_ids: Iterable[str], boxes: Iterable = ()) -> None:
        self.clearSelection()
        for nid in node_ids:
            item = self.nodes.get(nid)
            if item is not None:
                item.setSelected(True)
        for b in boxes:
            b.setSelected(True)

    def set_problems(self, by_node: dict[str, list]) -> None:
        """Badge the nodes with problems; only nodes whose list changed are touched."""
        old = self._problems
        self._problems = by_node
        for nid in set(old) | set(by_node):
            item = self.nodes.get(nid)
            if item is not None and old.get(nid) != by_node.get(nid):
                item.set_problems(by_node.get(nid, []))

    def set_port_highlight(self, accept: dict[str, set] | None) -> None:
        """While a wire is dragged: ports that accept it light up, the rest dim."""
        if accept is None:
            for item in self.nodes.values():
                item.set_highlight(None)
            return
        for nid, item in self.nodes.items():
            item.set_highlight(accept.get(nid, set()))

    def content_rect(self) -> QRectF:
        rect = QRectF()
        for group in (self.nodes, self.frames, self.notes):
            for item in group.values():
                rect = rect.united(item.sceneBoundingRect())
        return rect
