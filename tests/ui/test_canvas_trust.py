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


# -- 2. readable at every zoom; the canvas gets the room; a minimap ----------------------

def _text_pixels(image, rect) -> int:
    """Pixels of the theme's text colour (titles are drawn in it) inside ``rect``."""
    from studio.ui import theme

    target = theme.TEXT
    n = 0
    for y in range(max(0, rect.top()), min(image.height(), rect.bottom())):
        for x in range(max(0, rect.left()), min(image.width(), rect.right())):
            c = image.pixelColor(x, y)
            if abs(c.red() - target.red()) + abs(c.green() - target.green()) + abs(c.blue() - target.blue()) < 60:
                n += 1
    return n


def _titles_drawn_at_fit(qtbot, window) -> dict[str, int]:
    window.view.fit(selection_only=False)
    qtbot.wait(20)
    window.view.viewport().repaint()
    image = window.view.viewport().grab().toImage()
    out = {}
    for nid, item in window.scene.nodes.items():
        r = window.view.mapFromScene(item.sceneBoundingRect()).boundingRect()
        out[nid] = _text_pixels(image, r)
    return out


def test_fit_on_support_router_draws_every_title(qtbot, window, tmp_path):
    _open_example(window, tmp_path, "support_router.flow.json")
    drawn = _titles_drawn_at_fit(qtbot, window)
    assert window.view.zoom() < 0.45  # the zoom where nodes used to be blank boxes
    assert all(n > 25 for n in drawn.values()), drawn  # every node shows its title's pixels
    for item in window.scene.nodes.values():
        assert item.title_screen_px(window.view.zoom()) >= 10


def test_titles_read_down_to_twenty_percent(qtbot, window, tmp_path):
    _open_example(window, tmp_path, "research_report.flow.json")
    window.view.set_zoom(0.2 / window.view.zoom())
    assert not window.scene.overview  # items paint themselves (and their titles) at 20%
    for item in window.scene.nodes.values():
        assert item.title_screen_px(window.view.zoom()) >= 10


def test_canvas_gets_most_of_the_window_and_panels_hide(qtbot, window):
    area = lambda w: w.width() * w.height()  # noqa: E731
    # more than half the window by default; the bottom strip opens when it has something to say
    assert area(window.view) >= 0.5 * area(window), (window.view.size(), window.size())
    assert not window.problems_dock.isVisible()
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key_J, Qt.ControlModifier)
    assert window.problems_dock.isVisible()
    QTest.keyClick(window.view, Qt.Key_J, Qt.ControlModifier)
    assert not window.problems_dock.isVisible() and not window.run_dock.isVisible()
    window.findChild(type(window.undo_action), "toggleSidePanels").trigger()
    qtbot.wait(20)
    assert area(window.view) >= 0.8 * area(window)


def test_new_flow_opens_at_100_percent_and_auto_layout_refits(qtbot, window, tmp_path):
    window.new_flow()
    assert window.view.zoom() <= 1.0
    _open_example(window, tmp_path, "code_fixer.flow.json")
    window.view.set_zoom(2.0 / window.view.zoom())
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key_L, Qt.ControlModifier)
    visible = window.view.mapToScene(window.view.viewport().rect()).boundingRect()
    assert all(visible.contains(it.sceneBoundingRect().center()) for it in window.scene.nodes.values())


def test_minimap_toggles_is_remembered_and_navigates(qtbot, window, settings, tmp_path):
    _open_example(window, tmp_path, "research_report.flow.json")
    mm = window.view.minimap
    assert mm.isVisible()
    window.view.set_zoom(1.0 / window.view.zoom())
    window.view.center_on_node(next(iter(window.scene.nodes)))
    before = window.view.mapToScene(window.view.viewport().rect().center())
    QTest.mouseClick(mm, Qt.LeftButton, Qt.NoModifier, QPoint(mm.width() - 10, mm.height() // 2))
    after = window.view.mapToScene(window.view.viewport().rect().center())
    assert after.x() > before.x() + 100  # the view moved to where the minimap was clicked
    window.minimap_action.trigger()
    assert not mm.isVisible()
    from studio.ui.main_window import MainWindow

    again = MainWindow(settings, autosave_ms=0)
    qtbot.addWidget(again)
    assert not again.minimap_action.isChecked()


# -- 3. a problem's hint on the node and in the Problems row --------------------------

def test_problem_hint_shows_on_the_node_and_in_the_problems_row(qtbot, window):
    from studio.core.document import commands as C

    push = window.document.push
    push(C.AddNode("llm", 0, 0, {"prompt": "Say {{ x }}"}, node_id="ask"))
    problems = window.validation.run_now()
    hinted = [p for p in problems if p.node == "ask" and p.hint]
    assert hinted, problems
    item = window.scene.nodes["ask"]
    assert hinted[0].message in item.problem_hint()
    assert hinted[0].hint in item.problem_hint()
    tree = window.problems.tree
    assert tree.headerItem().text(3) == "What to do"
    rows = [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
    assert any(r.text(3) == hinted[0].hint for r in rows)
    # and it is painted under the node, not only in a tooltip
    window.view.set_zoom(1.0 / window.view.zoom())
    window.view.center_on_node("ask")
    window.view.viewport().repaint()
    image = window.view.viewport().grab().toImage()
    below = window.view.mapFromScene(item.sceneBoundingRect()).boundingRect()
    below.setTop(window.view.mapFromScene(item.pos() + item.rect().bottomLeft()).y() + 2)
    errs = 0
    for y in range(below.top(), min(image.height(), below.bottom())):
        for x in range(max(0, below.left()), min(image.width(), below.right())):
            c = image.pixelColor(x, y)
            if c.red() > 180 and c.green() < 110 and c.blue() < 110:
                errs += 1
    assert errs > 20  # red hint text under the node
