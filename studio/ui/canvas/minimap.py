"""The minimap: the whole flow in the canvas's corner, with the visible part outlined.

A click or drag on it moves the view there. It paints the nodes as small rectangles in
their category colours into a cached pixmap, redrawn only when the flow changed (model
events coalesced to one redraw per 150 ms) or the minimap was resized; a scroll or zoom
repaints the cached picture and the view's outline, so a 2,000-node canvas pays nothing
per frame for it. It is a child widget of the view, hidden with View → Minimap.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QWidget

from studio.core.document.model import ModelWatch

from .. import theme

SIZE = (190, 120)
MARGIN = 12


class Minimap(QWidget):
    def __init__(self, view):
        super().__init__(view)
        self.view = view
        self.setObjectName("minimap")
        self.resize(*SIZE)
        self.setCursor(Qt.PointingHandCursor)
        self.setToolTip("Minimap: click or drag to move the view (View → Minimap hides it)")
        self._world = QRectF()
        self._picture: QPixmap | None = None  # the nodes, drawn once per change of the flow
        self._xf: tuple[float, float, float] | None = None
        self._watch = ModelWatch()
        self._later = QTimer(self)
        self._later.setSingleShot(True)
        self._later.setInterval(150)
        self._later.timeout.connect(self.invalidate)
        view.horizontalScrollBar().valueChanged.connect(self.update)
        view.verticalScrollBar().valueChanged.connect(self.update)
        view.zoom_changed.connect(lambda _z: self.update())
        view.editor.scene.model_changed.connect(self._watch_model)

    def _watch_model(self) -> None:
        model = self.view.editor.scene.model
        self._watch.watch(model, lambda _ev: self._later.isActive() or self._later.start())
        self.invalidate()

    def invalidate(self) -> None:
        self._picture = None
        self.update()

    def resizeEvent(self, event) -> None:
        self._picture = None
        super().resizeEvent(event)

    def place(self) -> None:
        vp = self.view.viewport().geometry()
        self.move(vp.right() - self.width() - MARGIN, vp.bottom() - self.height() - MARGIN)

    def visible_rect(self) -> QRectF:
        return self.view.mapToScene(self.view.viewport().rect()).boundingRect()

    def _transform(self) -> tuple[float, float, float]:
        """(scale, dx, dy) from scene to minimap coordinates (kept with the cached picture)."""
        if self._picture is not None and self._xf is not None:
            return self._xf
        world = self.view.editor.scene.content_rect()
        if world.isNull():
            world = QRectF(-200, -150, 400, 300)
        world = world.adjusted(-60, -60, 60, 60)
        self._world = world
        w, h = self.width() - 8, self.height() - 8
        k = min(w / max(world.width(), 1.0), h / max(world.height(), 1.0))
        dx = 4 + (w - world.width() * k) / 2 - world.left() * k
        dy = 4 + (h - world.height() * k) / 2 - world.top() * k
        self._xf = (k, dx, dy)
        return self._xf

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(16, 18, 22, 225))
        p.setPen(QPen(theme.NODE_BORDER, 1))
        p.drawRect(self.rect().adjusted(0, 0, -1, -1))
        k, dx, dy = self._transform()
        if self._picture is None:
            self._picture = self._draw_nodes(k, dx, dy)
        p.drawPixmap(0, 0, self._picture)
        v = self.visible_rect()
        p.setPen(QPen(QColor("#ffffff"), 1.2))
        p.setBrush(QColor(255, 255, 255, 28))
        p.setClipRect(self.rect().adjusted(1, 1, -1, -1))
        p.drawRect(QRectF(v.x() * k + dx, v.y() * k + dy, v.width() * k, v.height() * k))
        p.end()

    def _draw_nodes(self, k: float, dx: float, dy: float) -> QPixmap:
        pix = QPixmap(self.size())
        pix.fill(Qt.transparent)
        p = QPainter(pix)
        for it in self.view.editor.scene.nodes.values():
            pos, r = it.pos(), it.rect()
            p.fillRect(QRectF((pos.x() + r.x()) * k + dx, (pos.y() + r.y()) * k + dy, max(2.0, r.width() * k),
                              max(2.0, r.height() * k)), it.color)
        p.end()
        return pix

    def _go(self, pos: QPointF) -> None:
        k, dx, dy = self._transform()
        self.view.centerOn(QPointF((pos.x() - dx) / k, (pos.y() - dy) / k))

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.LeftButton:
            self._go(event.position())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.LeftButton:
            self._go(event.position())
