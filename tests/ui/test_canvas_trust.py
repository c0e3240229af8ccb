"""Issue 14: the canvas a first-time user trusts (one test, or a few, per numbered item).

Input is driven with real QTest mouse and key events on the window's viewport.
"""

from __future__ import annotations

import shutil

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from conftest import PROJECTS
from helpers import click, drag


def _open_example(window, tmp_path, name: str):
    target = tmp_path / name
    shutil.copy(PROJECTS / name, target)
    assert window.open_file(target)
    return target


# -- 1. a click on a wire never disconnects it ------------------------------------------

def _points_along(window, edge, fractions):
    wire = window.scene.wires[edge]
    path = wire._path
    return [window.view.mapFromScene(path.pointAtPercent(f)) for f in fractions]


def test_clicks_along_a_wire_near_both_ends_leave_the_edges_alone(qtbot, window, tmp_path):
    _open_example(window, tmp_path, "code_fixer.flow.json")
    window.view.set_zoom(0.6 / window.view.zoom())
    edge = next(e for e in window.document.model.edges if (e.src, e.src_port, e.dst, e.dst_port) == ("fix", "capped", "gave_up", "value"))
    window.view.centerOn(window.scene.wires[edge].end_points()[1])
    before = sorted(map(str, window.document.model.edges))
    # near the input end (where the bug was), near the output end, and on the port itself
    for p in _points_along(window, edge, (0.01, 0.03, 0.06, 0.5, 0.94, 0.97, 0.99, 1.0)):
        click(window, p)
        assert sorted(map(str, window.document.model.edges)) == before, f"a click at {p} changed the wires"
    # a slightly shaky click (a few pixels of travel) is still a click
    p = _points_along(window, edge, (0.97,))[0]
    drag(window, p, p + QPoint(3, 2), steps=2)
    assert sorted(map(str, window.document.model.edges)) == before
    assert window.document.stack.count() == 0  # no edit was made at all
    # a click near the input end, off the port, selects the wire (Delete then removes it deliberately)
    wire = window.scene.wires[edge]
    end = wire.end_points()[1]
    path = wire._path
    f = next(f / 200 for f in range(199, 0, -1) if (path.pointAtPercent(f / 200) - end).manhattanLength() > 24)
    click(window, window.view.mapFromScene(path.pointAtPercent(f)))
    assert wire.isSelected() and sorted(map(str, window.document.model.edges)) == before


def test_a_deliberate_drag_from_the_wire_end_detaches_it(qtbot, window, tmp_path):
    _open_example(window, tmp_path, "code_fixer.flow.json")
    window.view.set_zoom(0.6 / window.view.zoom())
    model = window.document.model
    edge = next(e for e in model.edges if (e.src, e.src_port, e.dst, e.dst_port) == ("fix", "capped", "gave_up", "value"))
    window.view.centerOn(window.scene.wires[edge].end_points()[1])
    start = _points_along(window, edge, (0.97,))[0]
    empty = start + QPoint(0, 160)
    assert window.view._item_at(empty) is None
    drag(window, start, empty, steps=6)
    assert edge not in model.edges
    window.undo_action.trigger()
    assert edge in model.edges
