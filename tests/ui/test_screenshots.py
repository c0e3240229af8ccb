"""Screenshots of the main window (offscreen ``grab()``), for people to look at.

PNGs go to the test's tmp folder, and also to $ORCHESTRA_SCREENSHOT_DIR when set
(``ORCHESTRA_SCREENSHOT_DIR=build/screenshots pytest tests/ui/test_screenshots.py``).
The assertions only check that something real was drawn: the canvas is not blank and
the node colours appear where the nodes are.
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
    _save(window, tmp_path, "studio_patterns_fit.png")
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
