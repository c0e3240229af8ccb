"""The canvas driven like a user: palette drops, wiring, moves, copy/paste, undo."""

from __future__ import annotations

import json

from PySide6.QtCore import QEvent, QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from studio.core.document import commands as C
from helpers import click, drag, node_point, port_point


def _drop_from_palette(qtbot, window, type_id: str, at: QPoint) -> None:
    palette = window.palette
    item = palette.item_for(type_id)
    mime = palette.tree.mimeData([item])  # what the palette's drag carries
    vp = window.view.viewport()
    for cls, etype in ((QDragEnterEvent, None), (QDragMoveEvent, None)):
        ev = cls(at, Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
        QApplication.sendEvent(vp, ev)
        assert ev.isAccepted()
    drop = QDropEvent(QPointF(at), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(vp, drop)
    assert drop.isAccepted()


def _add(window, type_id, x, y, **kw):
    cmd = C.AddNode(type_id, x, y, **kw)
    assert window.document.push(cmd) is None
    return cmd.node_id


def test_drop_from_palette_adds_node_under_cursor(qtbot, window):
    at = QPoint(300, 200)
    _drop_from_palette(qtbot, window, "output", at)
    model = window.document.model
    assert [n.type for n in model] == ["output"]
    node = next(iter(model))
    expected = window.view.mapToScene(at)
    assert abs(node.x - expected.x()) < 1 and abs(node.y - expected.y()) < 1
    assert node.id in window.scene.nodes and window.scene.nodes[node.id].isSelected()
    assert window.document.modified and window.isWindowModified()
    window.undo_action.trigger()
    assert len(model) == 0 and not window.scene.nodes


def test_palette_search_and_enter_adds_node(qtbot, window):
    qtbot.keyClicks(window.palette.search, "fan")
    QTest.keyClick(window.palette.search, Qt.Key_Return)
    assert [n.type for n in window.document.model] == ["fanout"]


def test_connect_two_ports_by_dragging(qtbot, window):
    a = _add(window, "input", 0, 0)
    b = _add(window, "output", 400, 0)
    window.view.fit(selection_only=False)
    start, end = port_point(window, a, "value", True), port_point(window, b, "value", False)
    vp = window.view.viewport()
    QTest.mousePress(vp, Qt.LeftButton, Qt.NoModifier, start)
    QTest.mouseMove(vp, (start + end) / 2)
    # while dragging, the compatible input lights up
    assert (False, "value") in window.scene.nodes[b]._highlight
    QTest.mouseMove(vp, end)
    QTest.mouseRelease(vp, Qt.LeftButton, Qt.NoModifier, end)
    model = window.document.model
    assert [str(e) for e in model.edges] == [f"{a}.value -> {b}.value"]
    assert window.scene.nodes[b]._highlight is None
    assert len(window.scene.wires) == 1
    assert "Connected" in window.statusBar().currentMessage()


def test_incompatible_connection_is_refused_with_reason(qtbot, window):
    a = _add(window, "input", 0, 0, params={"type": "boolean"})
    f = _add(window, "fanout", 400, 0)
    window.view.fit(selection_only=False)
    start, end = port_point(window, a, "value", True), port_point(window, f, "items", False)
    vp = window.view.viewport()
    QTest.mousePress(vp, Qt.LeftButton, Qt.NoModifier, start)
    QTest.mouseMove(vp, end)
    assert (False, "items") not in window.scene.nodes[f]._highlight  # dimmed
    QTest.mouseRelease(vp, Qt.LeftButton, Qt.NoModifier, end)
    assert window.document.model.edges == []
    msg = window.statusBar().currentMessage()
    assert "Cannot connect" in msg and "boolean" in msg and "list" in msg
    assert window.document.stack.count() == 2  # only the two AddNodes


def test_drag_wire_end_moves_and_removes_it(qtbot, window):
    a = _add(window, "input", 0, 0)
    b = _add(window, "output", 400, 0)
    c = _add(window, "output", 400, 200)
    window.document.push(C.Connect(a, "value", b, "value"))
    window.view.fit(selection_only=False)
    drag(window, port_point(window, b, "value", False), port_point(window, c, "value", False))
    assert [str(e) for e in window.document.model.edges] == [f"{a}.value -> {c}.value"]
    # dropping the picked-up end on empty canvas removes the wire
    empty = window.view.mapFromScene(QPointF(200, 400))
    drag(window, port_point(window, c, "value", False), empty)
    assert window.document.model.edges == []
    window.undo_action.trigger()
    assert [str(e) for e in window.document.model.edges] == [f"{a}.value -> {c}.value"]


def test_wire_dropped_on_empty_canvas_offers_compatible_nodes_and_wires_one(qtbot, window):
    a = _add(window, "input", 0, 0, params={"type": "list"})
    window.view.fit(selection_only=False)
    window.view.set_zoom(0.5)
    start = port_point(window, a, "value", True)
    drag(window, start, start + QPoint(200, 40))
    qa = window.view._quick_add
    assert qa is not None and qa.isVisible()
    offered = {qa.list.item(i).data(Qt.UserRole + 1) for i in range(qa.list.count())}
    assert "fanout" in offered and "output" in offered
    qtbot.keyClicks(qa.edit, "fan")
    QTest.keyClick(qa.edit, Qt.Key_Return)
    model = window.document.model
    fan = [n.id for n in model if n.type == "fanout"]
    assert fan and [str(e) for e in model.edges] == [f"{a}.value -> {fan[0]}.items"]
    window.undo_action.trigger()  # node and wire were one step
    assert [n.type for n in model] == ["input"] and model.edges == []


def test_tab_opens_quick_add(qtbot, window):
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key_Tab)
    qa = window.view._quick_add
    assert qa.isVisible()
    qtbot.keyClicks(qa.edit, "outp")
    QTest.keyClick(qa.edit, Qt.Key_Return)
    assert [n.type for n in window.document.model] == ["output"]


def test_dragging_a_node_is_one_undo_step(qtbot, window):
    a = _add(window, "input", 0, 0)
    b = _add(window, "output", 300, 0)
    window.document.push(C.Connect(a, "value", b, "value"))
    window.view.fit(selection_only=False)
    count = window.document.stack.count()
    start = node_point(window, a)
    drag(window, start, start + QPoint(60, 80), steps=8)
    node = window.document.model.nodes[a]
    assert node.y > 20
    assert window.document.stack.count() == count + 1
    wire = window.scene.wires[window.document.model.edges[0]]
    assert wire.end_points()[0] == window.scene.nodes[a].port_pos(True, "value")
    window.undo_action.trigger()
    assert (node.x, node.y) == (0.0, 0.0)


def test_rubber_band_and_ctrl_click_selection_then_delete(qtbot, window):
    ids = [_add(window, "output", x, 0) for x in (0, 260, 520)]
    window.view.fit(selection_only=False)
    click(window, node_point(window, ids[0]))
    click(window, node_point(window, ids[2]), Qt.ControlModifier)
    assert sorted(window.scene.selected_node_ids()) == sorted([ids[0], ids[2]])
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key_Delete)
    assert list(window.document.model.nodes) == [ids[1]]
    window.undo_action.trigger()
    # rubber band from empty space around everything
    r = window.scene.content_rect()
    drag(window, window.view.mapFromScene(r.topLeft() - QPointF(20, 20)), window.view.mapFromScene(r.bottomRight() + QPointF(20, 20)))
    assert len(window.scene.selected_node_ids()) == 3


def test_copy_paste_carries_wires_and_flow_json(qtbot, window, hello):
    assert window.open_file(hello)
    click(window, node_point(window, "topic"))
    click(window, node_point(window, "greeting"), Qt.ControlModifier)
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key_C, Qt.ControlModifier)
    text = QGuiApplication.clipboard().text()
    doc = json.loads(text)
    assert doc["format"] == "orchestra-flow" and {n["id"] for n in doc["nodes"]} == {"topic", "greeting"}
    QTest.keyClick(window.view, Qt.Key_V, Qt.ControlModifier)
    model = window.document.model
    assert {"topic_2", "greeting_2"} <= set(model.nodes)
    assert any(str(e) == "topic_2.value -> greeting_2.topic" for e in model.edges)
    assert sorted(window.scene.selected_node_ids()) == ["greeting_2", "topic_2"]
    # a second window (here: a plain fresh document) can paste the same clipboard
    window.new_flow()
    QTest.keyClick(window.view, Qt.Key_V, Qt.ControlModifier)
    assert set(window.document.model.nodes) == {"topic", "greeting"}
    # cut removes, duplicate copies with an offset
    window.editor.select_all()
    QTest.keyClick(window.view, Qt.Key_D, Qt.ControlModifier)
    assert len(window.document.model) == 4
    QTest.keyClick(window.view, Qt.Key_X, Qt.ControlModifier)
    assert len(window.document.model) == 2


def test_undo_redo_returns_byte_identical_files(qtbot, window, hello, tmp_path):
    assert window.open_file(hello)
    original = hello.read_bytes()
    window.save()
    assert hello.read_bytes() == original  # saving is deterministic
    # edits through the UI: move, drop, connect, inspector, delete
    start = node_point(window, "result")
    drag(window, start, start + QPoint(40, 60))
    _drop_from_palette(qtbot, window, "output", QPoint(200, 500))
    new_out = [n.id for n in window.document.model if n.id not in ("topic", "greeting", "result")][0]
    window.view.fit(selection_only=False)
    drag(window, port_point(window, "greeting", "text", True), port_point(window, new_out, "value", False))
    click(window, node_point(window, "greeting"))
    editor = window.inspector.findChild(object, "param_template")
    editor.setFocus()
    editor.moveCursor(editor.textCursor().MoveOperation.End)
    qtbot.keyClicks(editor, " Bye {{ name }}")
    click(window, node_point(window, "topic"))
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key_Delete)
    steps = window.document.stack.index()
    assert steps >= 5
    edited = tmp_path / "edited.flow.json"
    window.document.save(edited)
    after = edited.read_bytes()
    assert after != original
    for _ in range(steps):
        window.undo_action.trigger()
    back = tmp_path / "back.flow.json"
    window.document.save(back)
    assert back.read_bytes() == original
    for _ in range(steps):
        window.redo_action.trigger()
    again = tmp_path / "again.flow.json"
    window.document.save(again)
    assert again.read_bytes() == after


def test_title_shows_dirty_marker_and_close_prompts(qtbot, window, hello, monkeypatch):
    from studio.ui import dialogs

    assert window.open_file(hello)
    assert not window.isWindowModified() and "hello" in window.windowTitle()
    window.editor.add_node("output", QPointF(0, 300))
    assert window.isWindowModified()
    asked = []
    monkeypatch.setattr(dialogs, "ask_save_changes", lambda parent, name: asked.append(name) or "cancel")
    assert not window.close()
    assert asked == ["hello"] and window.isVisible()
    monkeypatch.setattr(dialogs, "ask_save_changes", lambda parent, name: "save")
    assert window.close()
    assert b'"output"' in hello.read_bytes()
