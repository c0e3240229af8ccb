"""Inspector, Problems, files, recovery and start-up choices, driven through widgets."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QComboBox, QLineEdit, QMessageBox, QPlainTextEdit, QSpinBox

from studio.core.document import commands as C
from studio.core.document import flowfile
from helpers import click, node_point


def test_inspector_edit_reaches_the_model_as_one_undo_step(qtbot, window, hello):
    assert window.open_file(hello)
    click(window, node_point(window, "greeting"))
    editor = window.inspector.findChild(QPlainTextEdit, "param_template")
    assert editor is not None and "{{ topic }}" in editor.toPlainText()
    editor.setFocus()
    editor.selectAll()
    qtbot.keyClicks(editor, "Dear {{ name }}")
    model = window.document.model
    assert model.nodes["greeting"].params["template"] == "Dear {{ name }}"
    # the new variable became a port on the canvas
    assert (False, "name") in window.scene.nodes["greeting"].ports
    window.undo_action.trigger()  # all that typing is one step
    assert "{{ topic }}" in model.nodes["greeting"].params["template"]
    assert "{{ topic }}" in editor.toPlainText()  # the form follows the model


def test_inspector_number_enum_title_and_rename(qtbot, window):
    window.document.push(C.AddNode("loop", 0, 0, node_id="fix"))
    window.scene.select_nodes(["fix"])
    spin = window.inspector.findChild(QSpinBox, "param_max_iterations")
    assert spin.maximum() == 1000 and spin.minimum() == 1  # the schema's range
    spin.setFocus()
    spin.selectAll()
    qtbot.keyClicks(spin, "12")
    assert window.document.model.nodes["fix"].params["max_iterations"] == 12
    title = window.inspector.findChild(QLineEdit, "field_title")
    title.setFocus()
    title.selectAll()
    qtbot.keyClicks(title, "Fix until green")
    QTest.keyClick(title, Qt.Key_Return)
    assert window.document.model.nodes["fix"].title == "Fix until green"
    ident = window.inspector.findChild(QLineEdit, "field_id")
    ident.setFocus()
    ident.selectAll()
    qtbot.keyClicks(ident, "repair")
    QTest.keyClick(ident, Qt.Key_Return)
    assert "repair" in window.document.model.nodes and "repair" in window.scene.nodes
    window.document.push(C.AddNode("fanout", 300, 0, node_id="each"))
    window.scene.select_nodes(["each"])
    combo = window.inspector.findChild(QComboBox, "param_on_item_error")
    combo.setCurrentText("drop")
    assert window.document.model.nodes["each"].params["on_item_error"] == "drop"


def test_corrupt_file_shows_dialog_and_keeps_canvas(qtbot, window, hello, tmp_path, monkeypatch):
    from studio.ui import dialogs

    assert window.open_file(hello)
    before_doc, before_nodes = window.document, set(window.scene.nodes)
    bad = tmp_path / "bad.flow.json"
    bad.write_text('{"format": "orchestra-flow", "version": 1, "nodes": [{"id": "Bad Id", "type": "x"}]}')
    shown = []
    # the real dialogs.error, with QMessageBox itself patched so nothing blocks
    monkeypatch.undo()
    monkeypatch.setattr(QMessageBox, "critical", staticmethod(lambda parent, title, text, *a: shown.append((title, text))))
    assert window.open_file(bad) is False
    assert len(shown) == 1
    title, text = shown[0]
    assert title == "Cannot open flow" and "$.nodes[0].id" in text and "slug" in text
    assert window.document is before_doc and set(window.scene.nodes) == before_nodes
    assert not window.document.modified
    del dialogs  # (imported to make the patch target explicit)


def test_click_on_problem_selects_and_centres_node(qtbot, window):
    window.document.push(C.AddNode("input", 0, 0, node_id="question"))
    window.document.push(C.AddNode("output", 3000, 2000, node_id="answer"))
    window.view.fit(selection_only=False)
    window.view.set_zoom(2.0)
    window.validation.run_now()
    # the bottom strip starts hidden (issue 14): the problem count in the status bar opens it
    QTest.mouseClick(window.problem_label, Qt.LeftButton)
    assert window.problems_dock.isVisible()
    tree = window.problems.tree
    rows = [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
    target = next(r for r in rows if r.text(1).startswith("answer"))
    assert window.scene.nodes["answer"].problems  # badge
    assert "no wire" in window.scene.nodes["answer"].toolTip()
    tree.scrollToItem(target)
    rect = tree.visualItemRect(target)
    QTest.mouseClick(tree.viewport(), Qt.LeftButton, Qt.NoModifier, rect.center())
    assert window.scene.selected_node_ids() == ["answer"]
    centre = window.view.mapToScene(window.view.viewport().rect().center())
    assert window.scene.nodes["answer"].sceneBoundingRect().adjusted(-5, -5, 5, 5).contains(centre)


def test_live_validation_is_debounced_after_edits(qtbot, window):
    window.document.push(C.AddNode("output", 0, 0, node_id="out"))
    assert window.validation.pending()
    qtbot.waitUntil(lambda: not window.validation.pending(), timeout=3000)
    assert any(p.node == "out" for p in window.problems.problems)
    window.document.push(C.AddNode("input", -300, 0, node_id="inp"))
    window.document.push(C.Connect("inp", "value", "out", "value"))
    qtbot.waitUntil(lambda: not any(p.node == "out" and p.code == "required_input" for p in window.problems.problems), timeout=3000)
    assert not window.scene.nodes["out"].problems


def test_auto_layout_layers_and_undo(qtbot, window):
    from studio.core.document.flowfile import loads

    m = window.document.model
    push = window.document.push
    push(C.AddNode("input", 500, 500, node_id="a"))
    push(C.AddNode("loop", 0, 900, node_id="loop"))
    push(C.AddNode("template", 40, 40, {"template": "{{ x }}"}, node_id="body"))
    push(C.AddNode("output", -300, 0, node_id="out"))
    push(C.Connect("a", "value", "loop", "initial"))
    push(C.Connect("loop", "current", "body", "x"))
    push(C.Connect("body", "text", "loop", "feedback"))
    push(C.Connect("loop", "done", "out", "value"))
    before = flowfile.dumps(m)
    window.editor.auto_layout()
    xs = {n: m.nodes[n].x for n in m.nodes}
    assert xs["a"] < xs["loop"] < xs["body"]  # the feedback wire does not reorder the loop
    assert xs["loop"] < xs["out"]
    window.undo_action.trigger()
    assert flowfile.dumps(m) == before
    del loads


def test_align_and_distribute(qtbot, window):
    for i, (x, y) in enumerate([(0, 0), (100, 50), (700, 20)]):
        window.document.push(C.AddNode("output", x, y, node_id=f"n{i}"))
    window.editor.select_all()
    window.editor.align("top")
    assert {window.document.model.nodes[f"n{i}"].y for i in range(3)} == {0.0}
    window.editor.distribute("h")
    xs = sorted(window.document.model.nodes[f"n{i}"].x for i in range(3))
    assert abs((xs[1] - xs[0]) - (xs[2] - xs[1])) < 0.5


def test_frames_move_their_nodes(qtbot, window):
    window.document.push(C.AddNode("output", 0, 0, node_id="inside"))
    window.document.push(C.AddNode("output", 900, 0, node_id="outside"))
    window.scene.select_nodes(["inside"])
    window.editor.add_frame()
    fid = next(iter(window.document.model.frames))
    window.view.fit(selection_only=False)
    frame = window.scene.frames[fid]
    start = window.view.mapFromScene(frame.pos() + QPointF(60, 12))
    window.scene.clearSelection()
    from helpers import drag

    drag(window, start, start + QPoint(50, 50))
    m = window.document.model
    assert m.nodes["inside"].x > 10 and m.nodes["outside"].x == 900
    assert m.frames[fid].x > frame.item.x - 1000  # moved together, one step
    window.undo_action.trigger()
    assert m.nodes["inside"].x == 0


def test_autosave_and_restore_offer(qtbot, window, hello, monkeypatch):
    from studio.ui import app, dialogs, recovery

    assert window.open_file(hello)
    window.editor.add_node("output", QPointF(0, 400))
    window.autosave()
    found = recovery.find_recoverable()
    assert len(found) == 1 and found[0].original == hello
    # a new session after a "crash": the user accepts the offer
    from studio.ui.main_window import MainWindow

    other = MainWindow(window.settings, autosave_ms=0)
    qtbot.addWidget(other)
    monkeypatch.setattr(dialogs, "ask_restore", lambda parent, what, when: True)
    app.open_initial(other, [], window.settings)
    assert len(other.document.model) == 4 and other.document.modified and other.document.path == hello
    assert recovery.find_recoverable() == []
    # a clean close leaves no recovery file behind
    window.autosave()
    window.close()
    assert recovery.find_recoverable() == []


def test_startup_choice(tmp_path, settings, hello):
    from studio.ui.app import choose_startup_flow

    assert choose_startup_flow([str(hello)], settings) == (hello, False)
    path, example = choose_startup_flow([], settings)
    assert example and path.name == "support_router.flow.json"
    settings.setValue("opened_example", True)
    assert choose_startup_flow([], settings) == (None, False)
    settings.setValue("last_flow", str(hello))
    assert choose_startup_flow([], settings) == (hello, False)


def test_recent_files_and_layout_are_remembered(qtbot, window, hello, settings):
    assert window.open_file(hello)
    assert window.recent_files() == [str(hello.resolve())]
    window.problems_dock.hide()
    window.close()
    from studio.ui.main_window import MainWindow

    again = MainWindow(settings, autosave_ms=0)
    qtbot.addWidget(again)
    again.show()
    assert again.problems_dock.isHidden()
    assert again.recent_files() == [str(hello.resolve())]


def test_example_flow_loads_and_validates_clean():
    from studio.core.document.validation import validate

    root = Path(__file__).resolve().parents[2]
    model = flowfile.load_flow(root / "projects" / "hello.flow.json")
    assert [p for p in validate(model) if p.severity == "error"] == []
    assert flowfile.dumps(model) == (root / "projects" / "hello.flow.json").read_text()


def test_opening_another_flow_leaves_no_panel_listening_to_the_old_one(qtbot, window, hello):
    """Every panel follows the open flow; none may go on hearing (and redrawing for) the last."""
    assert window.open_file(hello)
    old = window.document.model
    assert len(old._listeners) >= 8  # the document, canvas, minimap, inspector, problems, run, sharing, tests
    window.new_flow()
    assert window.document.model is not old
    assert old._listeners == []
    assert len(window.document.model._listeners) >= 8
