"""The canvas view: navigation (zoom, pan, fit) and the gestures that edit a flow.

Gestures become intents on the Editor (which pushes core commands): dragging nodes
pushes mergeable MoveNodes steps, so a whole drag is one undo step and the model is
the truth at every frame; dragging from a port draws a loose wire, lights the ports
that accept it and connects -- or says in the status bar why not -- on release;
dropping on empty canvas opens quick-add filtered to node types that fit. Nothing
here changes an item directly.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QLineF, QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent, QMouseEvent, QPainter, QPen, QWheelEvent
from PySide6.QtWidgets import QGraphicsView, QInputDialog, QMenu

from studio.core.document import commands as C
from studio.core.catalogue.types import PortType, can_connect

from .. import theme
from ..editor import Editor
from ..undo_adapter import MergingItemUpdate
from .frame_item import FrameItem, NoteItem
from .node_item import NodeItem
from .wire_item import DragWireItem, WireItem

NODE_MIME = "application/x-orchestra-node-type"
MIN_ZOOM, MAX_ZOOM = 0.02, 4.0
OVERVIEW_ZOOM = 0.15  # below this, the scene paints nodes and wires in batches (no titles)
READABLE_ZOOM = 0.3  # opening a flow never lands below this: titles read comfortably
FIT_MAX_ZOOM = 1.0  # a small flow opens at 100%, not blown up
DRAG_THRESHOLD = 3
# a wire is picked up (and may be dropped off, which disconnects it) only once the press
# has travelled this far: a click, even a slightly shaky one, never edits a connection
WIRE_DRAG_THRESHOLD = 8


class FlowView(QGraphicsView):
    zoom_changed = Signal(float)

    def __init__(self, editor: Editor, parent=None):
        super().__init__(editor.scene, parent)
        self.editor = editor
        self.setRenderHints(QPainter.Antialiasing | QPainter.TextAntialiasing)
        self.setViewportUpdateMode(QGraphicsView.SmartViewportUpdate)
        # the grid is static: painting it from a cached pixmap keeps a live run's repaints
        # (a running node's animation, badges) from redrawing it in Python every frame
        self.setCacheMode(QGraphicsView.CacheBackground)
        self.setOptimizationFlags(QGraphicsView.DontSavePainterState | QGraphicsView.DontAdjustForAntialiasing)
        self.setTransformationAnchor(QGraphicsView.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.AnchorViewCenter)
        self.setDragMode(QGraphicsView.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.IntersectsItemShape)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.StrongFocus)
        self.setObjectName("canvas")
        self._pan: QPoint | None = None
        self._space = False
        self._wire: dict | None = None
        self._wire_press: dict | None = None  # a press on a port or a wire end, not yet a drag
        self._move: dict | None = None
        self._resize: dict | None = None
        self._quick_add = None
        self._last_mouse_scene = QPointF(0, 0)
        from .minimap import Minimap

        self.minimap = Minimap(self)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.minimap.place()

    # -- navigation ---------------------------------------------------------------

    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, factor: float) -> None:
        z = self.zoom()
        target = min(MAX_ZOOM, max(MIN_ZOOM, z * factor))
        if target != z:
            self.scale(target / z, target / z)
            self._zoomed()

    def _zoomed(self) -> None:
        z = self.zoom()
        self.editor.scene.set_overview(z < OVERVIEW_ZOOM)
        self.zoom_changed.emit(z)

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        self.editor.scene.draw_overview(painter, rect)

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.set_zoom(math.pow(1.15, steps))

    def fit(self, selection_only: bool = True) -> None:
        scene = self.editor.scene
        items = [i for i in scene.selectedItems() if isinstance(i, (NodeItem, FrameItem, NoteItem))] if selection_only else []
        if items:
            rect = QRectF()
            for i in items:
                rect = rect.united(i.sceneBoundingRect())
        else:
            rect = scene.content_rect()
        if rect.isNull():
            rect = QRectF(-200, -150, 400, 300)
        # room for the run badges and problem hints under the nodes
        rect = rect.adjusted(-40, -50, 40, 60)
        self.fitInView(rect, Qt.KeepAspectRatio)
        if self.zoom() > FIT_MAX_ZOOM:
            self.scale(FIT_MAX_ZOOM / self.zoom(), FIT_MAX_ZOOM / self.zoom())
        if self.minimap.isVisible():
            # and for the minimap in the bottom-right corner: nothing fitted hides under it
            rect = rect.adjusted(0, 0, 0, (self.minimap.height() + 16) / self.zoom())
            self.fitInView(rect, Qt.KeepAspectRatio)
            if self.zoom() > FIT_MAX_ZOOM:
                self.scale(FIT_MAX_ZOOM / self.zoom(), FIT_MAX_ZOOM / self.zoom())
        self.centerOn(rect.center())
        self._zoomed()

    def fit_readable(self, min_zoom: float = READABLE_ZOOM) -> None:
        """Fit the flow, but never below a zoom where node titles read comfortably.

        Titles are drawn at ~10 px on screen down to about 20% (see node_item), so most
        flows open whole; a very large one opens at ``min_zoom`` showing its start (its
        left, where people begin reading), and F fits the whole of it.
        """
        self.fit(selection_only=False)
        if self.zoom() >= min_zoom:
            return
        rect = self.editor.scene.content_rect().adjusted(-40, -40, 40, 40)
        self.scale(min_zoom / self.zoom(), min_zoom / self.zoom())
        visible = self.mapToScene(self.viewport().rect()).boundingRect()
        x = rect.left() + visible.width() / 2
        y = rect.center().y() if rect.height() <= visible.height() else rect.top() + visible.height() / 2
        self.centerOn(x, y)
        self._zoomed()

    def center_on_node(self, node_id: str) -> None:
        item = self.editor.scene.nodes.get(node_id)
        if item is not None:
            self.centerOn(item.sceneBoundingRect().center())

    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        painter.fillRect(rect, theme.BG)
        z = self.zoom()
        step = 20.0
        while step * z < 10:
            step *= 5
        left = math.floor(rect.left() / step) * step
        top = math.floor(rect.top() / step) * step
        minor, major = [], []
        x = left
        while x < rect.right():
            (major if round(x / step) % 5 == 0 else minor).append(QLineF(x, rect.top(), x, rect.bottom()))
            x += step
        y = top
        while y < rect.bottom():
            (major if round(y / step) % 5 == 0 else minor).append(QLineF(rect.left(), y, rect.right(), y))
            y += step
        pen = QPen(theme.GRID_MINOR, 0)
        painter.setPen(pen)
        painter.drawLines(minor)
        pen.setColor(theme.GRID_MAJOR)
        painter.setPen(pen)
        painter.drawLines(major)

    # -- hit testing ------------------------------------------------------------------

    def _item_at(self, pos: QPoint, kinds=(NodeItem, WireItem, FrameItem, NoteItem)):
        for item in self.items(pos):
            if isinstance(item, kinds):
                return item
        return None

    def _port_at(self, pos: QPoint, slack: float = 9.0):
        """(node item, port spot) under a view position, looking a little around it."""
        sp = self.mapToScene(pos)
        r = max(slack, slack / max(self.zoom(), 0.1))
        for item in self.scene().items(QRectF(sp.x() - r, sp.y() - r, 2 * r, 2 * r)):
            if isinstance(item, NodeItem):
                spot = item.port_at(item.mapFromScene(sp), r)
                if spot is not None:
                    return item, spot
        return None, None

    # -- mouse --------------------------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:
        pos = event.position().toPoint()
        if event.button() == Qt.MiddleButton or (event.button() == Qt.LeftButton and self._space):
            self._pan = pos
            self.viewport().setCursor(Qt.ClosedHandCursor)
            return
        if event.button() != Qt.LeftButton:
            super().mousePressEvent(event)
            return
        node_item, spot = self._port_at(pos)
        if spot is not None:
            self._wire_press = {"press": pos, "node_item": node_item, "spot": spot, "replacing": None, "wire": None}
            return
        item = self._item_at(pos)
        if isinstance(item, (FrameItem, NoteItem)) and item.grip_at(item.mapFromScene(self.mapToScene(pos))):
            self._resize = {"item": item, "start": self.mapToScene(pos), "size": (item.item.width, item.item.height)}
            return
        if isinstance(item, WireItem):
            a, b = item.end_points()
            sp = self.mapToScene(pos)
            if QLineF(sp, b).length() < 24 / max(self.zoom(), 0.2):  # grabbed near its input end
                self._wire_press = {"press": pos, "node_item": item.src, "spot": item.src.ports.get((True, item.edge.src_port)),
                                    "replacing": item.edge, "wire": item}
                return
        super().mousePressEvent(event)  # selection (Ctrl toggles) or rubber band
        if isinstance(item, (NodeItem, FrameItem, NoteItem)) and item.isSelected():
            self._begin_move(self.mapToScene(pos))

    def _begin_move(self, start: QPointF) -> None:
        scene = self.editor.scene
        nodes = {i.node_id: (i.node.x, i.node.y) for i in scene.selectedItems() if isinstance(i, NodeItem)}
        frames = {i.item_id: (i.item.x, i.item.y) for i in scene.selectedItems() if isinstance(i, FrameItem)}
        notes = {i.item_id: (i.item.x, i.item.y) for i in scene.selectedItems() if isinstance(i, NoteItem)}
        # a frame carries what lies inside it
        for fid in frames:
            fr = scene.frames[fid].sceneBoundingRect()
            for nid, it in scene.nodes.items():
                if nid not in nodes and fr.contains(it.sceneBoundingRect().adjusted(8, 8, -8, -8)):
                    nodes[nid] = (it.node.x, it.node.y)
            for oid, it in scene.notes.items():
                if oid not in notes and fr.contains(it.sceneBoundingRect()):
                    notes[oid] = (it.item.x, it.item.y)
        self._move = {"start": start, "nodes": nodes, "frames": frames, "notes": notes, "active": False,
                      "press": self.mapFromScene(start)}

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position().toPoint()
        sp = self.mapToScene(pos)
        self._last_mouse_scene = sp
        if self._pan is not None:
            delta = pos - self._pan
            self._pan = pos
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - delta.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - delta.y())
            return
        if self._wire_press is not None:
            wp = self._wire_press
            if (pos - wp["press"]).manhattanLength() < WIRE_DRAG_THRESHOLD:
                return
            self._wire_press = None
            self._start_wire(wp["node_item"], wp["spot"], event, replacing=wp["replacing"])
        if self._wire is not None:
            self._wire["item"].set_end(sp)
            return
        if self._resize is not None:
            r = self._resize
            d = sp - r["start"]
            item = r["item"]
            self.editor.push(MergingItemUpdate(item.table, item.item_id, width=max(60.0, round(r["size"][0] + d.x(), 1)),
                                            height=max(40.0, round(r["size"][1] + d.y(), 1))))
            return
        if self._move is not None:
            m = self._move
            if not m["active"]:
                if (pos - m["press"]).manhattanLength() < DRAG_THRESHOLD:
                    return
                m["active"] = True
            d = sp - m["start"]
            dx, dy = d.x(), d.y()
            shift = lambda table: {k: (x + dx, y + dy) for k, (x, y) in table.items()}  # noqa: E731
            self.editor.move(shift(m["nodes"]), shift(m["frames"]), shift(m["notes"]))
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        pos = event.position().toPoint()
        if self._pan is not None and event.button() in (Qt.MiddleButton, Qt.LeftButton):
            self._pan = None
            self.viewport().setCursor(Qt.OpenHandCursor if self._space else Qt.ArrowCursor)
            return
        if self._wire_press is not None and event.button() == Qt.LeftButton:
            # a click on a port or near a wire's end: select, never disconnect
            wp, self._wire_press = self._wire_press, None
            scene = self.editor.scene
            if not event.modifiers() & Qt.ControlModifier:
                scene.clearSelection()
            if wp["wire"] is not None:
                wp["wire"].setSelected(True)
            else:
                wp["node_item"].setSelected(True)
            return
        if self._wire is not None and event.button() == Qt.LeftButton:
            self._finish_wire(pos)
            return
        if self._resize is not None:
            self._resize = None
            return
        if self._move is not None:
            self._move = None
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        pos = event.position().toPoint()
        item = self._item_at(pos)
        if item is None:
            self.open_quick_add(pos)
            return
        if isinstance(item, NoteItem):
            text, ok = QInputDialog.getMultiLineText(self, "Note", "Text:", item.item.text)
            if ok:
                self.editor.push(C.UpdateItem("notes", item.item_id, text=text))
            return
        if isinstance(item, FrameItem):
            text, ok = QInputDialog.getText(self, "Frame", "Title:", text=item.item.title)
            if ok:
                self.editor.push(C.UpdateItem("frames", item.item_id, title=text))
            return
        super().mouseDoubleClickEvent(event)

    # -- wiring ----------------------------------------------------------------------

    def _start_wire(self, node_item: NodeItem, spot, event: QMouseEvent, replacing=None) -> None:
        if spot is None:
            return
        if not spot.output and replacing is None:
            # an input that is wired already: pick up the end of its (last) wire
            existing = self.editor.model.edges_into(node_item.node_id, spot.name)
            if existing:
                replacing = existing[-1]
                src_item = self.editor.scene.nodes[replacing.src]
                node_item, spot = src_item, src_item.ports.get((True, replacing.src_port))
                if spot is None:
                    self.editor.disconnect(replacing)
                    return
        anchor_pos = node_item.port_pos(spot.output, spot.name)
        drag = DragWireItem(anchor_pos, spot.output, QColor(spot.color))
        self.scene().addItem(drag)
        self._wire = {"item": drag, "anchor": (node_item.node_id, spot.name, spot.output), "type": spot.type,
                      "replacing": replacing}
        if replacing is not None:
            wire = self.editor.scene.wires.get(replacing)
            if wire is not None:
                wire.setVisible(False)
        self.editor.scene.set_port_highlight(self._accepting(node_item.node_id, spot.output, spot.type))

    def _accepting(self, node_id: str, from_output: bool, type_name: str) -> dict[str, set]:
        t = _ptype(type_name)
        cache: dict[str, bool] = {}
        out: dict[str, set] = {}
        for nid, item in self.editor.scene.nodes.items():
            if nid == node_id:
                continue
            ok = set()
            for key, spot in item.ports.items():
                if spot.output == from_output:
                    continue
                hit = cache.get(spot.type)
                if hit is None:
                    other = _ptype(spot.type)
                    hit = cache[spot.type] = can_connect(t, other) if from_output else can_connect(other, t)
                if hit:
                    ok.add(key)
            out[nid] = ok
        return out

    def _finish_wire(self, pos: QPoint) -> None:
        w = self._wire
        self._wire = None
        self.scene().removeItem(w["item"])
        scene = self.editor.scene
        scene.set_port_highlight(None)
        replacing = w["replacing"]
        if replacing is not None and replacing in scene.wires:
            scene.wires[replacing].setVisible(True)
        node_id, port, from_output = w["anchor"]
        target_item, spot = self._port_at(pos, 12.0)
        if target_item is None:
            hit = self._item_at(pos, (NodeItem,))
            if isinstance(hit, NodeItem) and hit.node_id != node_id:
                target_item = hit
                spot = self._first_free_port(hit, from_output, w["type"])
                if spot is None:
                    self.editor.status.emit(f"Cannot connect: {hit.node_id} has no {'input' if from_output else 'output'} "
                                            f"that takes a {w['type']} value")
                    return
        if target_item is None:
            if replacing is not None:
                self.editor.disconnect(replacing)
                self.editor.status.emit(f"Removed wire {replacing}")
            else:
                self.open_quick_add(pos, anchor=w["anchor"])
            return
        if spot.output == from_output:
            self.editor.status.emit(f"Cannot connect: drag from an {'output to an input' if from_output else 'input to an output'}")
            return
        if from_output:
            self.editor.connect(node_id, port, target_item.node_id, spot.name, replacing)
        else:
            self.editor.connect(target_item.node_id, spot.name, node_id, port, replacing)

    def _first_free_port(self, item: NodeItem, from_output: bool, type_name: str):
        t = _ptype(type_name)
        fallback = None
        for (out, name), spot in item.ports.items():
            if out == from_output:
                continue
            other = _ptype(spot.type)
            if can_connect(t, other) if from_output else can_connect(other, t):
                if from_output and self.editor.model.edges_into(item.node_id, name):
                    fallback = fallback or spot
                    continue
                return spot
        return fallback

    # -- quick add --------------------------------------------------------------------

    def open_quick_add(self, pos: QPoint | None = None, anchor=None) -> None:
        from ..quick_add import QuickAdd

        if pos is None:
            pos = self.mapFromGlobal(self.cursor().pos())
            if not self.viewport().rect().contains(pos):
                pos = self.viewport().rect().center()
        scene_pos = self.mapToScene(pos)
        if self._quick_add is None:
            self._quick_add = QuickAdd(self.editor.model.registry, self)
        types = self.editor.compatible_types(anchor) if anchor is not None else None
        preferred = None
        sel = self.editor.scene.selected_node_ids()
        if anchor is None and len(sel) == 1:
            # Tab with one node selected: the types that can take one of its outputs come first
            node_id = sel[0]
            preferred = []
            for port in self.editor.model.output_ports(node_id):
                for t in self.editor.compatible_types((node_id, port, True)):
                    if t not in preferred:
                        preferred.append(t)
        self._quick_add.chosen_callback = lambda type_id: self._quick_added(type_id, scene_pos, anchor)
        self._quick_add.popup(self.viewport().mapToGlobal(pos), types, preferred)

    def _quick_added(self, type_id: str, scene_pos: QPointF, anchor) -> None:
        if anchor is None:
            self.editor.add_node(type_id, scene_pos, free_space=True)
            return
        _, _, from_output = anchor
        pos = scene_pos if from_output else QPointF(scene_pos.x() - 210, scene_pos.y())
        self.editor.add_node_wired(type_id, QPointF(pos.x(), pos.y() - 13), anchor)

    # -- keys ---------------------------------------------------------------------------

    def focusNextPrevChild(self, next: bool) -> bool:  # noqa: A002 - Qt API
        return False  # Tab opens quick-add on the canvas instead of moving focus

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key == Qt.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.OpenHandCursor)
            return
        if key == Qt.Key_Tab:
            self.open_quick_add()
            return
        if key == Qt.Key_F and not event.modifiers():
            self.fit()
            return
        if key in (Qt.Key_Delete, Qt.Key_Backspace) and not event.modifiers():
            self.editor.delete_selection()
            return
        if key == Qt.Key_Escape and self._wire is not None:
            w = self._wire
            self._wire = None
            self.scene().removeItem(w["item"])
            self.editor.scene.set_port_highlight(None)
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.viewport().setCursor(Qt.ArrowCursor)
            return
        super().keyReleaseEvent(event)

    # -- palette drops ------------------------------------------------------------------

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasFormat(NODE_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        if event.mimeData().hasFormat(NODE_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:
        mime = event.mimeData()
        if not mime.hasFormat(NODE_MIME):
            event.ignore()
            return
        type_id = bytes(mime.data(NODE_MIME)).decode("utf-8")
        self.editor.add_node(type_id, self.mapToScene(event.position().toPoint()))
        event.acceptProposedAction()
        self.setFocus()

    # -- context menu -------------------------------------------------------------------

    def contextMenuEvent(self, event) -> None:
        pos = event.pos()
        sp = self.mapToScene(pos)
        item = self._item_at(pos)
        menu = QMenu(self)
        if isinstance(item, NodeItem):
            if not item.isSelected():
                self.editor.scene.select_nodes([item.node_id])
            collapsed = item.node.collapsed
            menu.addAction("Expand" if collapsed else "Collapse",
                           lambda: self.editor.push(C.SetNodeFields(item.node_id, collapsed=not collapsed)))
            menu.addAction("Duplicate", self.editor.duplicate)
            menu.addAction("Group in a frame", self.editor.add_frame)
            menu.addSeparator()
            menu.addAction("Delete", self.editor.delete_selection)
        else:
            menu.addAction("Add node…", lambda: self.open_quick_add(pos))
            menu.addAction("Add note", lambda: self.editor.add_note(sp))
            menu.addAction("Add frame", lambda: self.editor.add_frame(sp))
            menu.addAction("Paste", lambda: self.editor.paste(sp))
            if item is not None:
                menu.addSeparator()
                menu.addAction("Delete", self.editor.delete_selection)
        menu.exec(event.globalPos())


def _ptype(name: str) -> PortType:
    try:
        return PortType(name)
    except ValueError:
        return PortType.ANY
