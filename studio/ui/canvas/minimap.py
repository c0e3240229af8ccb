"""The minimap: the whole flow in the canvas's corner, with the visible part outlined.

A click or drag on it moves the view there. It paints the nodes as small rectangles in
their category colours from the scene's items (a few thousand ``fillRect`` calls at most,
and only when something changed: scene edits are coalesced into one repaint per 150 ms).
It is a child widget of the view, so it costs nothing while hidden (View → Minimap).
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import QWidget

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
        self._later = QTimer(self)
        self._later.setSingleShot(True)
        self._later.setInterval(150)
        self._later.timeout.connect(self.update)
        view.horizontalScrollBar().valueChanged.connect(self.update)
        view.verticalScrollBar().valueChanged.connect(self.update)
        view.zoom_changed.connect(lambda _z: self.update())
        view.scene().changed.connect(lambda _rects: self.isVisible() and not self._later.isActive() and self._later.start())

    def place(self) -> None:
        vp = self.view.viewport().geometry()
        self.move(vp.right() - self.width() - MARGIN, vp.bottom() - self.height() - MARGIN)

    def visible_rect(self) -> QRectF:
        return self.view.mapToScene(self.view.viewport().rect()).boundingRect()

    def _transform(self) -> tuple[float, float, float]:
        """(scale, dx, dy) from scene to minimap coordinates, for the flow plus the view."""
        world = self.view.editor.scene.content_rect()
        if world.isNull():
            world = QRectF(-200, -150, 400, 300)
        world = world.adjusted(-60, -60, 60, 60).united(self.visible_rect())  # the view's outline always fits
        self._world = world
        w, h = self.width() - 8, self.height() - 8
        k = min(w / max(world.width(), 1.0), h / max(world.height(), 1.0))
        dx = 4 + (w - world.width() * k) / 2 - world.left() * k
        dy = 4 + (h - world.height() * k) / 2 - world.top() * k
        return k, dx, dy

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(16, 18, 22, 225))
        p.setPen(QPen(theme.NODE_BORDER, 1))
        p.drawRect(self.rect().adjusted(0, 0, -1, -1))
        k, dx, dy = self._transform()
        scene = self.view.editor.scene
        for it in scene.nodes.values():
            r = it.rect().translated(it.pos())
            p.fillRect(QRectF(r.x() * k + dx, r.y() * k + dy, max(2.0, r.width() * k), max(2.0, r.height() * k)),
                       it.color)
        v = self.visible_rect()
        p.setPen(QPen(QColor("#ffffff"), 1.2))
        p.setBrush(QColor(255, 255, 255, 28))
        p.setClipRect(self.rect().adjusted(1, 1, -1, -1))
        p.drawRect(QRectF(v.x() * k + dx, v.y() * k + dy, v.width() * k, v.height() * k))
        p.end()

    def _go(self, pos: QPointF) -> None:
        k, dx, dy = self._transform()
        self.view.centerOn(QPointF((pos.x() - dx) / k, (pos.y() - dy) / k))

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.LeftButton:
            self._go(event.position())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.LeftButton:
            self._go(event.position())
