"""Sharing flows from the studio (issue 7): export, what a received flow needs, flow tests.

Flows are written into tmp_path (``sharing_flows.py``) and opened as files; the tests
drive the real menu actions, toolbar and buttons, and compare with what the
``orchestra`` command does for the same file.
"""

from __future__ import annotations

import json
import re

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import QToolButton

import sharing_flows
from studio import cli
from studio.core.document.flowfile import load_flow
from studio.core.sharing.mermaid import to_mermaid
from studio.ui import dialogs, flow_notice

SECRET = "sk" "-live-abcdef1234567890XYZ"


def _action(window, name: str) -> QAction:
    action = window.findChild(QAction, name)
    assert action is not None, name
    return action


def _choose_file(monkeypatch, path):
    asked = []
    monkeypatch.setattr(dialogs, "save_file_name", lambda parent, caption, start, filters: asked.append(start) or str(path))
    return asked


def _errors(monkeypatch):
    shown = []
    monkeypatch.setattr(dialogs, "error", lambda parent, title, text: shown.append((title, text)))
    return shown


# -- export ----------------------------------------------------------------------------


def test_export_from_the_menu_writes_what_orchestra_export_writes(qtbot, window, tmp_path, monkeypatch):
    path = sharing_flows.with_subflow(tmp_path / "project")
    assert window.open_file(path)
    out = tmp_path / "sent" / "shared.flow.json"
    out.parent.mkdir()
    asked = _choose_file(monkeypatch, out)
    with qtbot.waitSignal(window.sharing.exported, timeout=10000):
        _action(window, "exportAction").trigger()
    assert asked and asked[0].endswith("main.shared.flow.json")  # next to the flow, named after it
    by_cli = tmp_path / "cli.flow.json"
    assert cli.main(["export", str(path), "-o", str(by_cli)]) == 0
    assert out.read_bytes() == by_cli.read_bytes()
    doc = json.loads(out.read_text())
    call = next(n for n in doc["nodes"] if n["id"] == "call")
    assert call["params"]["flow"]["name"] == "shout"  # the subflow travels inside the file
    assert doc["requires"]["node_types"]["template"] == "orchestra-studio"
    assert doc["description"] == "Shouts what it is given, through a subflow."
    assert "Exported" in window.statusBar().currentMessage()


def test_export_refuses_a_flow_with_a_key_and_writes_nothing(qtbot, window, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    path = sharing_flows.with_key(tmp_path / "project", SECRET)
    assert window.open_file(path)
    out = tmp_path / "sent.flow.json"
    _choose_file(monkeypatch, out)
    shown = _errors(monkeypatch)
    with qtbot.waitSignal(window.sharing.export_failed, timeout=10000) as failed:
        _action(window, "exportAction").trigger()
    assert "API key" in failed.args[0] and "$.nodes" in failed.args[0]  # says where the key is
    assert len(shown) == 1 and shown[0][0] == "Cannot export the flow"
    assert "Nothing was written" in shown[0][1] and SECRET not in shown[0][1]
    assert not out.exists() and list(tmp_path.glob("*.tmp*")) == []
    assert cli.main(["export", str(path), "-o", str(out)]) == 1 and not out.exists()  # the command refuses too


def test_mermaid_export_and_copy(qtbot, window, tmp_path, monkeypatch):
    path = sharing_flows.with_subflow(tmp_path / "project")
    assert window.open_file(path)
    expected = to_mermaid(load_flow(path))
    out = tmp_path / "diagram.md"
    _choose_file(monkeypatch, out)
    _action(window, "exportMermaidAction").trigger()
    assert out.read_text() == f"```mermaid\n{expected.rstrip()}\n```\n"
    raw = tmp_path / "diagram.mmd"
    _choose_file(monkeypatch, raw)
    _action(window, "exportMermaidAction").trigger()
    assert raw.read_text() == expected  # what `orchestra export --mermaid` prints
    _action(window, "copyMermaidAction").trigger()
    assert QGuiApplication.clipboard().text() == out.read_text()


# -- what a received flow needs ----------------------------------------------------------


def test_missing_node_type_is_named_on_open_and_run_refuses(qtbot, window, tmp_path, loopback):
    path = sharing_flows.with_missing_type(tmp_path / "received")
    assert window.open_file(path)
    bar = window.notices.missing
    assert bar.isVisible()
    text = bar.text.text()
    assert "acme.translate" in text and "acme-nodes 1.4.2" in text and "translate" in text
    assert 'pip install "acme-nodes==1.4.2"' in text.replace("&quot;", '"')
    assert window.notices.copy_install.isVisible()
    qtbot.mouseClick(window.notices.copy_install, Qt.LeftButton)
    assert QGuiApplication.clipboard().text() == 'pip install "acme-nodes==1.4.2"'
    assert not window.notices.code.isVisible()
    window.run_toolbar.run_action.trigger()
    assert not window.runs.running and window.runs.latest is None
    status = window.run_panel.status.text()
    assert "Not run" in status and "not installed" in status and "acme-nodes" in status
    assert "Not run" in window.statusBar().currentMessage()
    qtbot.wait(100)
    assert loopback.count == 0
    # dismissing hides the bar for this open; opening again shows it again
    qtbot.mouseClick(bar.findChild(QToolButton, "missingTypesNoticeClose"), Qt.LeftButton)
    assert not bar.isVisible()
    assert window.open_file(path)
    assert bar.isVisible()


def _mock_off(qtbot, window):
    qtbot.wait(50)
    window.run_toolbar.mock_action.setChecked(True)
    window.run_toolbar.mock_action.setChecked(False)


def _wait_run(qtbot, window):
    qtbot.waitUntil(lambda: not window.runs.running and window.runs.latest is not None and window.runs.latest.ended,
                    timeout=60000)
    return window.runs.latest


def test_flow_code_asks_for_trust_before_running(qtbot, window, tmp_path, loopback, monkeypatch):
    from studio.tools import is_trusted, trusted_folders

    folder = tmp_path / "received"
    path = sharing_flows.with_tool_code(folder)
    marker = folder / "tools" / "ran.txt"
    assert window.open_file(path)
    window.validation.run_now()
    assert not marker.exists()  # opening (and validating) never runs the flow's code
    code = window.notices.code
    assert code.isVisible() and "tools/shout.py" in code.text.text() and "calculator" not in code.text.text()
    _mock_off(qtbot, window)

    asked = []
    monkeypatch.setattr(flow_notice, "ask_trust", lambda parent, items, and_run: asked.append((items, and_run)) or False)
    window.run_toolbar.run_action.trigger()
    assert len(asked) == 1
    items, and_run = asked[0]
    assert {str(c.folder) for c in items} == {str(folder.resolve())} and and_run
    assert any(c.label == "tools/shout.py" and "def run" in c.code for c in items)
    assert not any(c.tool == "calculator" for c in items)
    assert not window.runs.running and window.runs.latest is None
    assert "did not trust" in window.run_panel.status.text()
    qtbot.wait(200)
    assert loopback.count == 0 and not marker.exists()  # declined: nothing ran, not even the LLM
    assert not is_trusted(folder) and trusted_folders() == []

    monkeypatch.setattr(flow_notice, "ask_trust", lambda parent, items, and_run: asked.append((items, and_run)) or True)
    window.run_toolbar.run_action.trigger()
    assert len(asked) == 2
    state = _wait_run(qtbot, window)
    assert state.status == "succeeded", state.error
    assert state.outputs["summary"] == "echo: Summarize THE SEA" and state.outputs["two"] == 2
    assert marker.read_text() == "ran" and loopback.count == 1
    assert is_trusted(folder) and (tmp_path / "user-config" / "trusted_folders.json").exists()
    assert not code.isVisible()  # trusted: nothing left to say
    # trusted now: the next run does not ask again
    window.run_toolbar.run_action.trigger()
    assert _wait_run(qtbot, window).status == "succeeded" and len(asked) == 2


def test_trust_from_the_bar(qtbot, window, tmp_path, monkeypatch):
    from studio.tools import is_trusted

    cfg = tmp_path / "cfg"
    monkeypatch.setenv("ORCHESTRA_CONFIG_DIR", str(cfg))
    folder = tmp_path / "received"
    assert window.open_file(sharing_flows.with_tool_code(folder))
    bar = window.notices
    answers = [False, True]
    monkeypatch.setattr(flow_notice, "ask_trust", lambda parent, items, and_run: (not and_run) and answers.pop(0))
    qtbot.mouseClick(bar.trust_button, Qt.LeftButton)
    assert not is_trusted(folder) and bar.code.isVisible()
    qtbot.mouseClick(bar.trust_button, Qt.LeftButton)
    assert is_trusted(folder) and not bar.code.isVisible()
    assert not (folder / "tools" / "ran.txt").exists()  # trusting runs nothing either


# -- flow tests ------------------------------------------------------------------------


def _cli_results(capsys, path) -> list[tuple[str, str, list[str]]]:
    """(PASS/FAIL, name, check lines) from `orchestra test FLOW --mock`."""
    assert cli.main(["test", str(path), "--mock"]) == 1
    out = capsys.readouterr().out
    results: list[tuple[str, str, list[str]]] = []
    for line in out.splitlines():
        m = re.match(r"^  (PASS|FAIL)  (.+?)(  \(.*\))?$", line)
        if m:
            results.append((m[1], m[2], []))
        elif line.startswith("        ") and results:
            results[-1][2].append(line.strip())
    return results


def test_a_test_run_that_ends_before_the_gui_looks_still_shows_every_result(qtbot, window, tmp_path, loopback, monkeypatch):
    """Cases that finish before the GUI thread adds its done-callback (a loaded machine, fast
    mock cases): the end must not overtake the results still queued from the loop thread."""
    path = sharing_flows.with_tests(tmp_path / "project")
    assert window.open_file(path)
    controller, panel = window.tests, window.tests_panel
    real_submit = controller._loop.submit

    def submit_and_wait(coro):
        fut = real_submit(coro)
        fut.result(timeout=30)  # every case is over before run_tests adds its callback
        return fut

    monkeypatch.setattr(controller._loop, "submit", submit_and_wait)
    with qtbot.waitSignal(controller.finished, timeout=30000) as done:
        qtbot.mouseClick(panel.run_button, Qt.LeftButton)
    assert [r.ok for _, r in sorted(done.args[0].items())] == [True, False]
    assert "1 passed" in panel.summary.text() and "1 failed" in panel.summary.text()
    assert window.tests_dock.windowTitle() == "Tests (1 failed)"
    assert panel.run_button.isEnabled() and not panel.stop_button.isEnabled()


def test_tests_panel_runs_the_cases_like_orchestra_test(qtbot, window, tmp_path, loopback, capsys):
    path = sharing_flows.with_tests(tmp_path / "project")
    assert window.open_file(path)
    panel = window.tests_panel
    tree = panel.tree
    assert [tree.topLevelItem(i).text(0) for i in range(tree.topLevelItemCount())] == ["greets by name", "says goodbye"]
    assert window.tests_dock.windowTitle() == "Tests (2)"
    assert "Mock" in panel.mode.text()  # a key exists, the toolbar is live, but tests stay mock by default
    qtbot.wait(100)
    assert not window.run_toolbar.mock_action.isChecked()
    with qtbot.waitSignal(window.tests.finished, timeout=30000) as done:
        qtbot.mouseClick(panel.run_button, Qt.LeftButton)
        assert panel.stop_button.isEnabled() and not panel.run_button.isEnabled()  # the GUI did not wait
    results = done.args[0]
    assert [r.ok for _, r in sorted(results.items())] == [True, False]
    passed, failed = tree.topLevelItem(0), tree.topLevelItem(1)
    assert passed.text(1) == "passed"
    assert failed.text(1) == 'failed: greeting is "Hello Ada", expected "Goodbye Ada"'
    assert failed.isExpanded()
    messages = [failed.child(i).text(1) for i in range(failed.childCount())]
    assert messages == ['greeting is "Hello Ada", expected "Goodbye Ada"', 'french contains "jour"']
    assert "1 passed" in panel.summary.text() and "1 failed" in panel.summary.text()
    assert window.tests_dock.windowTitle() == "Tests (1 failed)"
    assert loopback.count == 0  # mock: no model was called

    # the same as `orchestra test FLOW --mock`, case by case and message by message
    shown = []
    for i in range(tree.topLevelItemCount()):
        item = tree.topLevelItem(i)
        r = item.data(0, Qt.UserRole + 1)
        shown.append(("PASS" if r.ok else "FAIL", item.text(0),
                      [("✓ " if c.ok else "✗ ") + c.message for c in r.checks]))
        assert [item.child(k).text(1) for k in range(item.childCount())] == [c.message for c in r.checks]
    assert shown == _cli_results(capsys, path)

    # the person switches Mock off on the Run toolbar: the tests follow and call the model
    _mock_off(qtbot, window)
    assert "Live" in panel.mode.text()
    with qtbot.waitSignal(window.tests.finished, timeout=30000) as done:
        _action(window, "runTestsAction").trigger()
    assert loopback.count == 2
    first = done.args[0][0]
    assert not first.ok and 'french is "echo: In French: Hello Ada", expected "Bonjour"' in [c.message for c in first.checks]


def test_tests_panel_refuses_a_flow_with_missing_types(qtbot, window, tmp_path):
    path = sharing_flows.with_missing_type(tmp_path / "received")
    doc = json.loads(path.read_text())
    doc["tests"] = [{"name": "translates", "inputs": {}, "expect": [{"output": "result", "contains": "mer"}]}]
    path.write_text(json.dumps(doc))
    assert window.open_file(path)
    window.show_panel(window.tests_dock)  # the bottom strip starts hidden (issue 14): open the Tests tab
    qtbot.mouseClick(window.tests_panel.run_button, Qt.LeftButton)
    assert not window.tests.running
    assert "not installed" in window.tests_panel.message.text() and window.tests_panel.message.isVisible()


def test_flow_without_cases_says_how_to_add_them(qtbot, window, tmp_path):
    assert window.open_file(sharing_flows.with_subflow(tmp_path / "p"))
    window.show_panel(window.tests_dock)  # the bottom strip starts hidden (issue 14): open the Tests tab
    panel = window.tests_panel
    assert panel.empty.isVisible() and not panel.tree.isVisible() and not panel.run_button.isEnabled()
