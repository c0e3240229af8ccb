"""A wire: a bezier curve from an output port to an input port, coloured by type.

The path is computed only when an end moves (``refresh``), never in ``paint``; the
hit shape is derived lazily, because most wires are never clicked. At low zoom the
wire is drawn with a thin cosmetic pen and no antialiasing, which keeps a 2,000-node
overview fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem

from studio.core.document.model import Edge

from .. import theme

if TYPE_CHECKING:  # pragma: no cover
    from .node_item import NodeItem


def bezier(a: QPointF, b: QPointF) -> QPainterPath:
    """An output-to-input curve; a wire running backwards (a loop's feedback) swings
    below its ends instead of cutting through the nodes between them."""
    path = QPainterPath(a)
    if b.x() >= a.x() - 20:
        dx = max(40.0, abs(b.x() - a.x()) * 0.5)
        path.cubicTo(QPointF(a.x() + dx, a.y()), QPointF(b.x() - dx, b.y()), b)
    else:
        drop = 120.0 + min(abs(a.x() - b.x()) * 0.15, 200.0)
        low = max(a.y(), b.y()) + drop
        path.cubicTo(QPointF(a.x() + 160, a.y()), QPointF(a.x() + 160, low), QPointF((a.x() + b.x()) / 2, low))
        path.cubicTo(QPointF(b.x() - 160, low), QPointF(b.x() - 160, b.y()), b)
    return path


class WireItem(QGraphicsItem):
    Type = QGraphicsItem.UserType + 2

    def __init__(self, edge: Edge, src: "NodeItem", dst: "NodeItem"):
        super().__init__()
        self.edge = edge
        self.src, self.dst = src, dst
        self.setZValue(-1)
        self.setFlags(QGraphicsItem.ItemIsSelectable)
        self._shape: QPainterPath | None = None
        self.lit_until = 0.0  # a run passed a value along: the wire glows until then
        self.lit_level = 0.0  # 0..1, set by the scene's run animation
        self.refresh()

    def type(self) -> int:  # noqa: A003 - Qt API
        return self.Type

    def refresh(self) -> None:
        """Recompute the curve from the current port positions (an end moved or changed)."""
        self.prepareGeometryChange()
        a = self.src.port_pos(True, self.edge.src_port)
        b = self.dst.port_pos(False, self.edge.dst_port)
        self._a, self._b = a, b
        self._path = bezier(a, b)
        self._bounds = self._path.controlPointRect().adjusted(-6, -6, 6, 6)
        self._shape = None
        stale = (True, self.edge.src_port) not in self.src.ports or (False, self.edge.dst_port) not in self.dst.ports
        self.stale = stale
        color = theme.ERROR if stale else QColor(theme.port_color(self.src.port_type(True, self.edge.src_port)))
        self._pen = QPen(color, 2.2, Qt.DashLine if stale else Qt.SolidLine, Qt.RoundCap)
        self._pen_sel = QPen(theme.NODE_SELECTED, 3.2, Qt.SolidLine, Qt.RoundCap)
        thin = QPen(color, 1)
        thin.setCosmetic(True)
        self._pen_thin = thin
        self.update()

    def boundingRect(self) -> QRectF:
        return self._bounds

    def shape(self) -> QPainterPath:
        if self._shape is None:
            stroker = QPainterPathStroker()
            stroker.setWidth(10)
            self._shape = stroker.createStroke(self._path)
        return self._shape

    def end_points(self) -> tuple[QPointF, QPointF]:
        return self._a, self._b

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        if lod < 0.3:
            painter.setRenderHint(QPainter.Antialiasing, False)
            painter.setPen(self._pen_sel if self.isSelected() else self._pen_thin)
            painter.drawLine(self._a, self._b)
            return
        painter.setBrush(Qt.NoBrush)
        if self.lit_level > 0.01:
            glow = QColor(theme.WIRE_LIT)
            glow.setAlphaF(0.35 * self.lit_level)
            painter.setPen(QPen(glow, 9, Qt.SolidLine, Qt.RoundCap))
            painter.drawPath(self._path)
            core = QColor(theme.WIRE_LIT)
            core.setAlphaF(0.4 + 0.6 * self.lit_level)
            painter.setPen(QPen(core, 3.2, Qt.SolidLine, Qt.RoundCap))
            painter.drawPath(self._path)
            return
        painter.setPen(self._pen_sel if self.isSelected() else self._pen)
        painter.drawPath(self._path)


class DragWireItem(QGraphicsItem):
    """The loose wire that follows the cursor while connecting."""

    def __init__(self, anchor: QPointF, from_output: bool, color: QColor):
        super().__init__()
        self.anchor, self.from_output = anchor, from_output
        self.setZValue(10)
        self._pen = QPen(color, 2.2, Qt.DashLine, Qt.RoundCap)
        self.set_end(anchor)

    def set_end(self, end: QPointF) -> None:
        self.prepareGeometryChange()
        self.end = end
        a, b = (self.anchor, end) if self.from_output else (end, self.anchor)
        self._path = bezier(a, b)
        self._bounds = self._path.controlPointRect().adjusted(-4, -4, 4, 4)

    def boundingRect(self) -> QRectF:
        return self._bounds

    def paint(self, painter: QPainter, option, widget=None) -> None:
        painter.setBrush(Qt.NoBrush)
        painter.setPen(self._pen)
        painter.drawPath(self._path)
