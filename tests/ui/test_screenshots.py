"""Screenshots of the main window (offscreen ``grab()``), for people to look at.

PNGs go to the test's tmp folder, and also to $ORCHESTRA_SCREENSHOT_DIR when set
(``ORCHESTRA_SCREENSHOT_DIR=build/screenshots pytest tests/ui/test_screenshots.py``).
The assertions read the saved image: how many nodes were rendered (their category colour
where each node is), and whether each rendered node's title was drawn (text-coloured
pixels inside it) at the zoom the screenshot was taken at.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor

from studio.core.document import commands as C
from studio.ui import theme


def _save(window, tmp_path: Path, name: str) -> Path:
    window.repaint()
    image = window.grab()
    paths = [tmp_path / name]
    extra = os.environ.get("ORCHESTRA_SCREENSHOT_DIR")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        paths.append(Path(extra) / name)
    for p in paths:
        assert image.save(str(p)), p
    return paths[0]


def _near(c: QColor, target: QColor, tol: int = 40) -> bool:
    return abs(c.red() - target.red()) + abs(c.green() - target.green()) + abs(c.blue() - target.blue()) < tol


def rendered_nodes(window, path: Path) -> tuple[list[str], list[str]]:
    """(nodes whose category colour shows where they are, of those the ones with a title
    drawn in them) -- read from the saved screenshot, not from the scene."""
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QImage

    img = QImage(str(path))
    offset = window.view.viewport().mapTo(window, QPoint(0, 0))
    vp = window.view.viewport().rect().translated(offset)
    drawn, titled = [], []
    for nid, item in window.scene.nodes.items():
        r = window.view.mapFromScene(item.pos() + item.rect().topLeft())
        r2 = window.view.mapFromScene(item.pos() + item.rect().bottomRight())
        x0, y0, x1, y1 = r.x() + offset.x(), r.y() + offset.y(), r2.x() + offset.x(), r2.y() + offset.y()
        if not (vp.contains(x0, y0) and vp.contains(x1, y1)):
            continue
        colour, text = 0, 0
        for y in range(y0, y1):
            for x in range(x0, x1):
                c = img.pixelColor(x, y)
                if _near(c, item.color, 12):
                    colour += 1
                elif _near(c, theme.TEXT, 60):
                    text += 1
        if colour >= 8:
            drawn.append(nid)
            if text >= 20:
                titled.append(nid)
    return drawn, titled


def _patterns_flow(window) -> None:
    push = window.document.push
    steps = [
        C.SetFlowInfo(name="Research digest"),
        C.AddNode("input", 0, 0, {"name": "topics", "type": "list"}, node_id="topics", title="Topics"),
        C.AddNode("fanout", 0, 0, {"concurrency": 4}, node_id="each_topic", title="Each topic"),
        C.AddNode("template", 0, 0, {"template": "Find three facts about {{ topic }}."}, node_id="research", title="Research"),
        C.AddNode("collect", 0, 0, node_id="gather", title="Gather"),
        C.AddNode("template", 0, 0, {"template": "Draft a digest from {{ facts }}"}, node_id="draft", title="Draft"),
        C.AddNode("loop", 0, 0, {"max_iterations": 3, "condition": "value.ok"}, node_id="polish", title="Polish"),
        C.AddNode("template", 0, 0, {"template": "Improve: {{ text }}"}, node_id="improve", title="Improve"),
        C.AddNode("branch", 0, 0, node_id="check", title="Good enough?"),
        C.AddNode("output", 0, 0, {"name": "digest"}, node_id="digest", title="Digest"),
        C.AddNode("output", 0, 0, {"name": "notes"}, node_id="notes", title="Notes"),
        C.Connect("topics", "value", "each_topic", "items"),
        C.Connect("each_topic", "item", "research", "topic"),
        C.Connect("research", "text", "gather", "item"),
        C.Connect("gather", "results", "draft", "facts"),
        C.Connect("draft", "text", "polish", "initial"),
        C.Connect("polish", "current", "improve", "text"),
        C.Connect("improve", "text", "check", "value"),
        C.Connect("check", "yes", "polish", "feedback"),
        C.Connect("polish", "done", "digest", "value"),
    ]
    for s in steps:
        assert push(s) is None, s
    window.editor.auto_layout()
    window.scene.select_nodes(["research", "gather", "each_topic"])
    window.editor.add_frame()
    frame = next(iter(window.scene.frames.values())).sceneBoundingRect()
    window.editor.add_note(frame.bottomLeft() + QPointF(0, 30), "Each topic is researched in parallel (up to 4 at once).")


def test_screenshot_hello_example(qtbot, window, hello, tmp_path):
    assert window.open_file(hello)
    window.validation.run_now()
    window.scene.select_nodes(["greeting"])
    qtbot.wait(50)
    path = _save(window, tmp_path, "studio_hello.png")
    from PySide6.QtGui import QImage

    img = QImage(str(path))
    assert img.width() >= 1200
    drawn, titled = rendered_nodes(window, path)
    assert sorted(drawn) == sorted(window.scene.nodes) and titled == drawn
    # the Greeting node's header colour is on screen where the node is
    item = window.scene.nodes["greeting"]
    p = window.view.mapFromScene(item.pos() + item.rect().topLeft() + (item.rect().topRight() - item.rect().topLeft()) * 0.5)
    p = window.view.viewport().mapTo(window, p) + type(p)(0, 12)
    assert QColor(img.pixel(p)).name() == theme.category_color("Text").name()


def test_screenshot_patterns_with_problems(qtbot, window, tmp_path):
    _patterns_flow(window)
    window.view.fit(selection_only=False)
    window.validation.run_now()
    window.scene.select_nodes(["polish"])
    qtbot.wait(50)
    fit = _save(window, tmp_path, "studio_patterns_fit.png")
    drawn, titled = rendered_nodes(window, fit)
    assert len(drawn) == len(window.scene.nodes) == 10 and titled == drawn
    window.view.set_zoom(0.75 / window.view.zoom())
    window.view.center_on_node("polish")
    qtbot.wait(50)
    _save(window, tmp_path, "studio_patterns.png")
    assert window.problems.tree.topLevelItemCount() >= 1
    assert window.scene.nodes["notes"].problems


def test_screenshot_overview_of_a_large_flow(qtbot, window, tmp_path):
    """Far out, nodes and wires are painted in batches; selection still works."""
    push = window.document.push
    for c in range(120):
        row, col = divmod(c, 10)
        ids = []
        for k, t in enumerate(("input", "template", "output")):
            cmd = C.AddNode(t, col * 800 + k * 250, row * 140, node_id=f"n{c}_{k}")
            push(cmd)
            ids.append(cmd.node_id)
        push(C.Connect(ids[0], "value", ids[1], "text"))
        push(C.Connect(ids[1], "text", ids[2], "value"))
    window.view.fit(selection_only=False)
    assert window.scene.overview
    window.validation.run_now()
    # rubber band selection works on the batched drawing
    from helpers import drag

    r = window.scene.nodes["n0_0"].sceneBoundingRect().united(window.scene.nodes["n11_2"].sceneBoundingRect())
    drag(window, window.view.mapFromScene(r.topLeft() - QPointF(30, 30)), window.view.mapFromScene(r.bottomRight() + QPointF(30, 30)))
    assert "n0_0" in window.scene.selected_node_ids() and "n11_2" in window.scene.selected_node_ids()
    qtbot.wait(50)
    _save(window, tmp_path, "studio_overview.png")
    window.view.set_zoom(1.0 / window.view.zoom())
    assert not window.scene.overview


def test_screenshot_received_flow_with_missing_types(qtbot, window, tmp_path, loopback):
    """The bar above the canvas names what is missing; Run says why it refused."""
    import sharing_flows

    assert window.open_file(sharing_flows.with_missing_type(tmp_path / "received"))
    window.validation.run_now()
    window.run_toolbar.run_action.trigger()
    qtbot.wait(50)
    assert window.notices.missing.isVisible() and not window.runs.running
    bar = window.notices.missing
    assert bar.text.height() >= bar.text.heightForWidth(bar.text.width()) - 1  # no clipped line
    _save(window, tmp_path, "studio_missing_types.png")


def test_screenshot_received_flow_with_its_own_code(qtbot, window, tmp_path, loopback):
    import sharing_flows

    assert window.open_file(sharing_flows.with_tool_code(tmp_path / "received"))
    window.validation.run_now()
    qtbot.wait(50)
    assert window.notices.code.isVisible()
    _save(window, tmp_path, "studio_flow_code.png")


def test_screenshot_tests_panel_with_results(qtbot, window, tmp_path, loopback):
    import sharing_flows

    assert window.open_file(sharing_flows.with_tests(tmp_path / "project"))
    with qtbot.waitSignal(window.tests.finished, timeout=30000):
        window.tests_panel.run_button.click()
    window.tests_dock.raise_()
    window.scene.select_nodes(["greet"])
    qtbot.wait(50)
    _save(window, tmp_path, "studio_tests_panel.png")


def test_screenshot_example_project_after_a_mock_run(qtbot, window, tmp_path):
    """The README's picture: research_report after a mock run (badges, k of n, cost)."""
    import shutil

    from conftest import PROJECTS

    work = tmp_path / "projects"
    shutil.copytree(PROJECTS, work, ignore=shutil.ignore_patterns("outbox"))
    assert window.open_file(work / "research_report.flow.json")
    window.run_toolbar.mock_action.setChecked(True)
    window.scene.select_nodes(["research"] if "research" in window.document.model.nodes else [])
    for _ in range(2):  # the second run shows warm timings (the first waits for litellm's import)
        window.run_toolbar.run_action.trigger()
        qtbot.waitUntil(lambda: not window.runs.running and window.runs.latest is not None
                        and window.runs.latest.ended, timeout=60000)
        assert window.runs.latest.status == "succeeded", window.runs.latest.error
    window.run_dock.raise_()
    window.resize(1600, 900)
    window.history_dock.hide()
    qtbot.wait(50)
    # the fan-out region at a readable zoom: planner, fan-out, workers, collect, writer
    window.scene.select_nodes(["plan", "each", "research", "section", "gather", "write"])
    window.view.fit(selection_only=True)
    window.scene.select_nodes(["research"])
    qtbot.wait(100)
    path = _save(window, tmp_path, "studio_readme.png")
    assert path.stat().st_size > 20000
    fanouts = [n for n in window.document.model if n.type == "fanout"]
    assert fanouts and " of " in (window.scene.nodes[fanouts[0].id].run.progress or "")


# -- issue 14: what a first-time user sees ---------------------------------------------

def _open_copy(window, tmp_path, name):
    import shutil

    from conftest import PROJECTS

    target = tmp_path / name
    shutil.copy(PROJECTS / name, target)
    assert window.open_file(target)


def test_screenshot_first_start(qtbot, window, settings, tmp_path):
    """The first start: the example, fitted, every node titled, canvas the biggest part."""
    from studio.ui import app

    app.open_initial(window, [], settings)
    qtbot.wait(50)
    path = _save(window, tmp_path, "14_first_start.png")
    drawn, titled = rendered_nodes(window, path)
    assert len(drawn) == len(window.scene.nodes) == 13 and titled == drawn
    assert window.view.width() * window.view.height() > 0.5 * window.width() * window.height()


def test_screenshot_fit_support_router_and_research_report(qtbot, window, tmp_path):
    for name, count in (("support_router.flow.json", 13), ("research_report.flow.json", 10)):
        _open_copy(window, tmp_path, name)
        window.view.setFocus()
        from PySide6.QtCore import Qt
        from PySide6.QtTest import QTest

        QTest.keyClick(window.view, Qt.Key_F)  # Fit, as a person presses it
        qtbot.wait(50)
        path = _save(window, tmp_path, f"14_fit_{name.split('.')[0]}.png")
        drawn, titled = rendered_nodes(window, path)
        assert len(drawn) == count and titled == drawn, (name, window.view.zoom(), drawn, titled)


def test_screenshot_minimap(qtbot, window, tmp_path):
    _open_copy(window, tmp_path, "research_report.flow.json")
    window.view.set_zoom(0.9 / window.view.zoom())
    window.view.center_on_node("research")
    qtbot.wait(50)
    path = _save(window, tmp_path, "14_minimap.png")
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QImage

    mm = window.view.minimap
    assert mm.isVisible()
    img = QImage(str(path))
    corner = mm.mapTo(window, QPoint(0, 0))
    colours = {img.pixelColor(corner.x() + x, corner.y() + y).name() for x in range(mm.width()) for y in range(mm.height())}
    # the nodes' category colours are in the minimap
    assert {it.color.name() for it in window.scene.nodes.values()} & colours


def test_screenshot_failed_node_last_run_shows_inputs(qtbot, window, tmp_path, loopback):
    import json
    import time as _time

    import run_flows
    from test_run import _mock_off, _run

    run_flows.chain(window)
    _mock_off(qtbot, window)
    prices = Path(os.environ["ORCHESTRA_CONFIG_DIR"]) / "pricing.json"
    prices.write_text(json.dumps({"openai/*": {"input_per_1m": 100.0, "output_per_1m": 200.0}}))
    os.utime(prices, (_time.time() + 5, _time.time() + 5))
    window.run_toolbar.budget.setValue(0.0001)
    state = _run(qtbot, window)
    assert state.status == "budget_exceeded"
    window.scene.select_nodes(["headline"])
    window.inspector_tabs.setCurrentWidget(window.last_run)
    window.view.fit(selection_only=False)
    qtbot.wait(100)
    path = _save(window, tmp_path, "14_failed_node_inputs.png")
    assert state.instance("summarize").outputs["text"] in window.last_run.inputs.toPlainText()
    drawn, titled = rendered_nodes(window, path)
    assert len(drawn) == 4 and titled == drawn


def test_screenshot_problem_hint_in_the_problems_row(qtbot, window, tmp_path):
    """A validation-clean-looking flow that would fail: the hint under the node and in the
    Problems row's "What to do" column, readable without hovering."""
    push = window.document.push
    push(C.AddNode("input", 0, 0, {"name": "topic", "type": "text"}, node_id="topic", title="Topic"))
    push(C.AddNode("llm", 320, 0, {"model": "openai/gpt-4o-mini", "prompt": "Write about {{ topic }} for {{ audience }}"},
                   node_id="write", title="Write"))
    push(C.AddNode("output", 640, 0, {"name": "text"}, node_id="out", title="Text"))
    push(C.Connect("topic", "value", "write", "topic"))
    push(C.Connect("write", "text", "out", "value"))
    problems = window.validation.run_now()
    hinted = [p for p in problems if p.node == "write" and p.hint]
    assert hinted, problems
    window.show_panel(window.problems_dock)
    window.view.fit(selection_only=False)
    qtbot.wait(250)  # the minimap redraws the flow 150 ms after the last edit
    path = _save(window, tmp_path, "14_problems_hint.png")
    tree = window.problems.tree
    rows = [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
    assert any(r.text(3) == hinted[0].hint for r in rows)
    # the message is not cut short in its column (it was, at a fixed 420 px), nor the hint in its own
    from PySide6.QtGui import QFontMetrics

    fm = QFontMetrics(tree.font())
    assert tree.columnWidth(2) > fm.horizontalAdvance(hinted[0].message) + 12
    assert tree.columnWidth(3) > fm.horizontalAdvance(hinted[0].hint) + 12
    # under the node, what to do has a line of its own (a long message hid it)
    assert window.scene.nodes["write"].problem_lines()[1] == "→ " + hinted[0].hint
    drawn, titled = rendered_nodes(window, path)
    assert len(drawn) == 3 and titled == drawn
