"""The scene: one QGraphicsItem per node, wire, frame and note of a FlowModel.

It listens to the model's events and changes only the items an event names (a move
repositions one node and its wires; a parameter change rebuilds one node), so editing
stays fast however large the flow. A whole rebuild happens only when a model is set
or reset. The scene never edits the model; it answers questions about items.
"""

from __future__ import annotations

from typing import Iterable

import time

from PySide6.QtCore import QLineF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene

from studio.core.document.model import Edge, FlowModel, ModelEvent, ModelWatch

from .. import theme
from .frame_item import FrameItem, NoteItem
from .node_item import NodeItem, RunLook
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
        self._watch = ModelWatch()
        self._problems: dict[str, list] = {}
        self.overview = False  # far zoomed out: nodes and wires are drawn in batches
        self._overview_cache = None
        self.setSceneRect(QRectF(-100000, -100000, 200000, 200000))  # pan anywhere
        self.setItemIndexMethod(QGraphicsScene.BspTreeIndex)
        self.selectionChanged.connect(lambda: self.overview and self.update())
        # run overlay: node states and lit wires (run state lives outside the model)
        self._run_looks: dict[str, RunLook] = {}
        self._lit: set[WireItem] = set()
        self._anim = QTimer(self)
        self._anim.setInterval(80)
        self._anim.timeout.connect(self._animate)

    # -- model binding -----------------------------------------------------------

    def set_model(self, model: FlowModel) -> None:
        self._watch.stop()
        self.model = model
        self._rebuild()
        self._watch.watch(model, self._on_event)
        self.model_changed.emit()

    def _rebuild(self) -> None:
        self.clearSelection()
        self._lit.clear()  # lit wires of the old items: they are about to be deleted
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

    # -- overview: thousands of nodes at a glance ------------------------------------

    def set_overview(self, on: bool) -> None:
        """Far out, paint nodes and wires in a few batched calls instead of one Python
        paint() per item. The items stay (hit-testing, rubber band, selection work);
        they are only flagged as having nothing to paint."""
        if on == self.overview:
            return
        self.overview = on
        self._overview_cache = None
        for group in (self.nodes, self.wires):
            for item in group.values():
                item.setFlag(QGraphicsItem.ItemHasNoContents, on)
        self.update()

    def _overview_changed(self) -> None:
        self._overview_cache = None
        self.update()

    def draw_overview(self, painter: QPainter, rect: QRectF) -> None:
        if not self.overview:
            return
        if self._overview_cache is None:
            lines: dict[str, list[QLineF]] = {}
            for w in self.wires.values():
                a, b = w.end_points()
                lines.setdefault(w._pen_thin.color().name(), []).append(QLineF(a, b))
            bodies: list[QRectF] = []
            heads: dict[str, list[QRectF]] = {}
            badges: dict[str, list[QRectF]] = {}
            for it in self.nodes.values():
                r = it.rect().translated(it.pos())
                bodies.append(r)
                heads.setdefault(it.color.name(), []).append(QRectF(r.x(), r.y(), r.width(), 26))
                if it._badge is not None:
                    badges.setdefault(it._badge[0].name(), []).append(QRectF(r.right() - 22, r.y() - 8, 26, 26))
            self._overview_cache = (lines, bodies, heads, badges)
        lines, bodies, heads, badges = self._overview_cache
        painter.save()
        painter.setRenderHint(QPainter.Antialiasing, False)
        pen = QPen()
        pen.setCosmetic(True)
        for color, batch in lines.items():
            pen.setColor(color)
            painter.setPen(pen)
            painter.drawLines(batch)
        painter.setPen(Qt.NoPen)
        painter.setBrush(theme.NODE_BODY)
        painter.drawRects(bodies)
        for table in (heads, badges):
            for color, batch in table.items():
                painter.setBrush(theme.QColor(color))
                painter.drawRects(batch)
        selected = [i for i in self.selectedItems() if isinstance(i, NodeItem)]
        if selected:
            pen = QPen(theme.NODE_SELECTED, 2)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.setBrush(Qt.NoBrush)
            painter.drawRects([i.rect().translated(i.pos()) for i in selected])
        painter.restore()

    def _make_node_item(self, node_id: str) -> NodeItem:
        model = self.model
        node = model.nodes[node_id]
        nt = model.node_type(node_id)
        return NodeItem(node, nt, nt.input_ports(node.params, model.base_dir), nt.output_ports(node.params, model.base_dir))

    def _add_node(self, node_id: str) -> None:
        item = self._make_node_item(node_id)
        self.nodes[node_id] = item
        item.run = self._run_looks.get(node_id)
        if getattr(self, "_run_cache", False):
            item.setCacheMode(QGraphicsItem.DeviceCoordinateCache)
        if node_id in self._problems:
            item.set_problems(self._problems[node_id])
        if self.overview:
            item.setFlag(QGraphicsItem.ItemHasNoContents, True)
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
        if self.overview:
            wire.setFlag(QGraphicsItem.ItemHasNoContents, True)
        self.addItem(wire)

    def _remove_edge(self, edge: Edge) -> None:
        wire = self.wires.pop(edge, None)
        if wire is None:
            return
        self._lit.discard(wire)
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
        if self.overview:
            self._overview_changed()
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
        if self.overview:
            self._overview_changed()

    def set_port_highlight(self, accept: dict[str, set] | None) -> None:
        """While a wire is dragged: ports that accept it light up, the rest dim."""
        if accept is None:
            for item in self.nodes.values():
                item.set_highlight(None)
            return
        for nid, item in self.nodes.items():
            item.set_highlight(accept.get(nid, set()))

    # -- run overlay -------------------------------------------------------------

    CACHE_LIMIT = 300  # items cached as pixmaps during runs up to this many nodes (memory)

    def _set_run_cache(self, on: bool) -> None:
        """While a run is shown, nodes and wires paint from pixmap caches: the executor's
        thread holds the GIL most of the time, and every Python paint() then waits for
        it; with caches only the items whose state changed call into Python."""
        if on == getattr(self, "_run_cache", False):
            return
        if on and len(self.nodes) > self.CACHE_LIMIT:
            return
        self._run_cache = on
        mode = QGraphicsItem.DeviceCoordinateCache if on else QGraphicsItem.NoCache
        for group in (self.nodes, self.wires):
            for item in group.values():
                item.setCacheMode(mode)

    def set_run_look(self, node_id: str, look: RunLook | None) -> None:
        if look is not None and not getattr(self, "_run_cache", False):
            self._set_run_cache(True)
        if look is None:
            self._run_looks.pop(node_id, None)
        else:
            self._run_looks[node_id] = look
        item = self.nodes.get(node_id)
        if item is not None:
            item.set_run(look)
        if look is not None and look.status in ("running", "waiting") and not self._anim.isActive():
            self._anim.start()

    def clear_run(self) -> None:
        self._set_run_cache(False)
        self._run_looks.clear()
        for item in self.nodes.values():
            item.set_run(None)
        for w in self._lit:
            w.lit_level = 0.0
            w.update()
        self._lit.clear()

    def run_look(self, node_id: str) -> RunLook | None:
        return self._run_looks.get(node_id)

    def flash_wires(self, node_ids, seconds: float = 0.7) -> None:
        """The wires leaving these nodes carried a value: light them briefly."""
        until = time.perf_counter() + seconds
        for nid in node_ids:
            item = self.nodes.get(nid)
            if item is None:
                continue
            for w in item.wires:
                if w.src is item:
                    w.lit_until = until
                    w.lit_level = 1.0
                    self._lit.add(w)
                    w.update()
        if self._lit and not self._anim.isActive():
            self._anim.start()

    def _animate(self) -> None:
        now = time.perf_counter()
        busy = False
        for nid, look in self._run_looks.items():
            if look.status in ("running", "waiting"):
                item = self.nodes.get(nid)
                if item is not None:
                    item.phase = (now * 0.8) % 1.0
                    item.update()
                busy = True
        for w in list(self._lit):
            left = w.lit_until - now
            if left <= 0:
                w.lit_level = 0.0
                self._lit.discard(w)
            else:
                w.lit_level = min(1.0, left / 0.4)
                busy = True
            w.update()
        if not busy:
            self._anim.stop()

    def content_rect(self) -> QRectF:
        rect = QRectF()
        for group in (self.nodes, self.frames, self.notes):
            for item in group.values():
                rect = rect.united(item.sceneBoundingRect())
        return rect
