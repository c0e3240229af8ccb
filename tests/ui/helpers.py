"""Small helpers for driving the canvas with real mouse events."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest


def port_point(window, node_id: str, port: str, output: bool) -> QPoint:
    item = window.scene.nodes[node_id]
    return window.view.mapFromScene(item.port_pos(output, port))


def node_point(window, node_id: str, dx: float = 40, dy: float = 10) -> QPoint:
    """A point on the node's header (where a click selects and a drag moves it)."""
    item = window.scene.nodes[node_id]
    return window.view.mapFromScene(item.pos() + QPointF(dx, dy))


def drag(window, start: QPoint, end: QPoint, steps: int = 5, modifier=Qt.NoModifier) -> None:
    vp = window.view.viewport()
    QTest.mousePress(vp, Qt.LeftButton, modifier, start)
    for i in range(1, steps + 1):
        p = start + (end - start) * (i / steps)
        QTest.mouseMove(vp, QPoint(int(p.x()), int(p.y())))
    QTest.mouseRelease(vp, Qt.LeftButton, modifier, end)


def click(window, pos: QPoint, modifier=Qt.NoModifier) -> None:
    QTest.mouseClick(window.view.viewport(), Qt.LeftButton, modifier, pos)
