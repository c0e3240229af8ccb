"""Running flows from the window against the loopback OpenAI-compatible server (issue 6).

Runs go to the run host process (studio.host.runhost) as in the studio; one test covers
the in-process thread mode too. These tests drive the window as a person would (toolbar
actions, the approval dialog, the history list) and wait with qtbot.
"""

from __future__ import annotations

import os
import re
import signal
import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

import run_flows
from support.mock_openai import Reply

from studio.core.document import commands as C

RUN_TIMEOUT = 60000


def _wait_done(qtbot, window, timeout=RUN_TIMEOUT):
    qtbot.waitUntil(lambda: not window.runs.running and window.runs.latest is not None and window.runs.latest.ended,
                    timeout=timeout)
    qtbot.wait(30)


def _run(qtbot, window, from_node: str | None = None):
    if from_node:
        window.scene.select_nodes([from_node])
        window.run_toolbar.run_from_action.trigger()
    else:
        window.run_toolbar.run_action.trigger()
    assert window.runs.running, window.run_panel.status.text()
    _wait_done(qtbot, window)
    return window.runs.latest


def _mock_off(qtbot, window):
    # the key look-up runs in the background; let it settle, then choose Live explicitly
    qtbot.wait(50)
    window.run_toolbar.mock_action.setChecked(True)
    window.run_toolbar.mock_action.setChecked(False)


def test_states_and_badges_reach_the_right_nodes(qtbot, window, loopback):
    run_flows.chain(window)
    _mock_off(qtbot, window)
    window.scene.select_nodes(["summarize"])
    steps, modified = window.document.stack.count(), window.document.modified
    state = _run(qtbot, window)
    assert state.status == "succeeded", state.error
    # run state stays out of the model and its undo stack
    assert (window.document.stack.count(), window.document.modified) == (steps, modified)
    assert state.outputs == {"headline": "echo: Headline for echo: Summarize the sea"}
    assert loopback.count == 2
    looks = {nid: window.scene.nodes[nid].run for nid in ("topic", "summarize", "headline", "out")}
    assert {nid: look.status for nid, look in looks.items()} == dict.fromkeys(looks, "done")
    for nid in ("summarize", "headline"):
        badge = looks[nid].badge
        assert re.match(r"^\d+(\.\d)? m?s · \d+ tok · \$0\.\d+$", badge), badge  # latency, tokens, cost
        nv = state.nodes[nid]
        assert nv.tokens_in > 0 and nv.cost_usd > 0
    assert "tok" not in looks["topic"].badge  # unpaid nodes show latency only
    status = window.runs.status_label.text()
    assert "Finished" in status and "4/4 nodes" in status and "tokens" in status and "$" in status
    # the streamed text was recorded, and the Last run tab shows the selected node
    assert state.instance("summarize").text.startswith("echo: Summarize")
    assert window.inspector_tabs.currentWidget() is window.last_run
    assert "echo: Summarize the sea" in window.last_run.output.toPlainText()
    assert "the sea" in window.last_run.inputs.toPlainText()


def test_run_from_a_node_does_not_call_upstream_again(qtbot, window, loopback):
    run_flows.chain(window)
    _mock_off(qtbot, window)
    first = _run(qtbot, window)
    assert first.status == "succeeded"
    assert (loopback.count_for("summarizer"), loopback.count_for("headliner")) == (1, 1)
    second = _run(qtbot, window, from_node="headline")
    assert second.status == "succeeded", second.error
    assert loopback.count_for("summarizer") == 1  # reused, not paid twice
    assert loopback.count_for("headliner") == 2
    assert window.scene.nodes["summarize"].run.status == "cached"
    assert window.scene.nodes["headline"].run.status == "done"
    assert second.outputs == first.outputs
    assert "reusing" in window.run_panel.status.text()
    # an edited upstream node no longer matches its pinned output: it runs again
    assert window.document.push(C.SetParam("summarize", "prompt", "Briefly summarize {{ topic }}")) is None
    third = _run(qtbot, window, from_node="headline")
    assert third.status == "succeeded"
    assert loopback.count_for("summarizer") == 2


def test_stop_ends_the_run_within_a_second(qtbot, window, loopback):
    run_flows.chain(window)
    _mock_off(qtbot, window)
    loopback.on_model("summarizer", Reply.hanging())
    window.run_toolbar.run_action.trigger()
    qtbot.waitUntil(lambda: window.runs.state.nodes["summarize"].status == "running" and loopback.count >= 1,
                    timeout=RUN_TIMEOUT)
    assert window.scene.nodes["summarize"].run.status == "running"
    assert window.run_toolbar.stop_action.isEnabled()
    t0 = time.perf_counter()
    window.run_toolbar.stop_action.trigger()
    qtbot.waitUntil(lambda: not window.runs.running and window.runs.latest.ended, timeout=5000)
    elapsed = time.perf_counter() - t0
    assert elapsed < 1.0, elapsed
    state = window.runs.latest
    assert state.status == "cancelled"
    assert window.scene.nodes["summarize"].run.status == "stopped"
    assert window.scene.nodes["headline"].run.status == "queued"
    assert "Stopped" in window.runs.status_label.text()
    assert window.run_toolbar.run_action.isEnabled() and not window.run_toolbar.stop_action.isEnabled()


def _approval_dialog(qtbot, window):
    qtbot.waitUntil(lambda: bool(window.runs.dialogs), timeout=RUN_TIMEOUT)
    dlg = next(iter(window.runs.dialogs.values()))
    assert dlg.isVisible() and not dlg.isModal()  # the rest of the window keeps working
    assert window.scene.nodes["gate"].run.status == "waiting"
    return dlg


@pytest.mark.parametrize("how", ["approve", "edit", "reject"])
def test_approval_paths(qtbot, window, loopback, how):
    run_flows.approval(window)
    window.run_toolbar.run_action.trigger()
    dlg = _approval_dialog(qtbot, window)
    assert "Ship it" in dlg.editor.toPlainText()
    # the window is not blocked: the canvas still takes edits while the dialog waits
    assert window.document.push(C.SetTitle("ok", "Approved value")) is None
    if how == "approve":
        QTest.mouseClick(dlg.approve_btn, Qt.LeftButton)
    elif how == "edit":
        dlg.editor.setPlainText("Ship it on Monday")
        assert dlg.approve_btn.text() == "Approve edited"
        QTest.mouseClick(dlg.approve_btn, Qt.LeftButton)
    else:
        dlg.reason.setText("not yet")
        QTest.mouseClick(dlg.reject_btn, Qt.LeftButton)
    _wait_done(qtbot, window)
    state = window.runs.latest
    assert state.status == "succeeded", state.error
    expected = {"approve": {"ok": "Ship it"}, "edit": {"ok": "Ship it on Monday"}, "reject": {"no": "Ship it"}}[how]
    assert state.outputs == expected
    decision = state.instance("gate").approval
    assert decision["action"] == ("reject" if how == "reject" else "approve") and decision["by"] == "human"
    skipped = "ok" if how == "reject" else "no"
    assert window.scene.nodes[skipped].run.status == "skipped"
    assert not window.runs.dialogs


def test_fanout_counts_failures_and_instances(qtbot, window, loopback):
    run_flows.fanout(window, items=("alpha", "beta", "gamma", "delta"), policy="keep")

    def worker(seen):
        text = seen.body["messages"][-1]["content"]
        return Reply.bad_request("no beta today") if "beta" in text else Reply.text(f"facts on {text.split()[-1]}")

    loopback.on_model("worker", worker)
    _mock_off(qtbot, window)
    state = _run(qtbot, window)
    assert state.status == "succeeded", state.error
    assert window.scene.nodes["each"].run.progress == "4 of 4 · 1 failed"
    assert window.scene.nodes["gather"].run.progress == "4 of 4 · 1 failed"
    research = state.nodes["research"]
    assert (research.done, research.failed) == (3, 1)
    assert "4 runs" in window.scene.nodes["research"].run.progress
    # the Last run tab offers every item of the fan-out
    window.scene.select_nodes(["research"])
    picker = window.last_run.picker
    assert picker.count() == 4 and picker.isVisibleTo(window.last_run)
    # counted from 1 as people count (issue 14, item 8): the second item reads "item 2"
    assert [picker.itemText(i) for i in range(4)] == [f"item {n} of each" for n in (1, 2, 3, 4)]
    window.last_run.pick((("each", 1),))
    assert "no beta today" in window.last_run.error.text()
    window.last_run.pick((("each", 2),))
    assert "facts on gamma" in window.last_run.output.toPlainText()


def test_loop_shows_its_iteration(qtbot, window, loopback):
    run_flows.loop(window)
    state = _run(qtbot, window)
    assert state.status == "succeeded", state.error
    assert state.outputs == {"final": "draft+++"}
    assert window.scene.nodes["polish"].run.progress == "iteration 3 of 3"
    window.scene.select_nodes(["improve"])
    assert window.last_run.picker.count() == 3
    assert window.last_run.picker.itemText(0) == "iteration 1 of polish"


def test_history_replay_makes_no_request_and_compares_runs(qtbot, window, loopback):
    run_flows.chain(window)
    _mock_off(qtbot, window)
    first = _run(qtbot, window)
    qtbot.waitUntil(lambda: window.run_panel.inputs.widget("topic") is not None, timeout=5000)
    window.run_panel.inputs.widget("topic").setText("mountains")
    second = _run(qtbot, window)
    assert first.status == second.status == "succeeded"
    qtbot.waitUntil(lambda: len(window.history_panel.runs) == 2, timeout=10000)
    requests = loopback.count
    older = window.history_panel.runs[1]  # newest first
    assert older.status == "succeeded" and older.cost_usd and older.cost_usd > 0
    window.history_panel.open_requested.emit(older)
    qtbot.waitUntil(lambda: window.runs.state is not None and not window.runs.state.live, timeout=10000)
    shown = window.runs.state
    assert shown.outputs == first.outputs
    assert all(window.scene.nodes[n].run.status == "done" for n in ("topic", "summarize", "headline", "out"))
    assert "History" in window.runs.status_label.text()
    assert loopback.count == requests  # nothing ran
    window.scene.select_nodes(["summarize"])
    assert "the sea" in window.last_run.output.toPlainText()
    # compare this node's output with the newer run
    combo = window.last_run.compare
    index = next(i for i in range(combo.count()) if combo.itemData(i) is not None
                 and combo.itemData(i).path == window.history_panel.runs[0].path)
    combo.setCurrentIndex(index)
    combo.activated.emit(index)
    qtbot.waitUntil(lambda: "differ" in window.last_run.compare_status.text(), timeout=10000)
    assert "mountains" in window.last_run.compare_output.toPlainText()
    window.history_panel.back_requested.emit()
    assert window.runs.state is second
    assert loopback.count == requests


def test_editing_during_a_run_does_not_disturb_it(qtbot, window, loopback):
    run_flows.chain(window)
    _mock_off(qtbot, window)
    loopback.on_model("summarizer", Reply(latency=0.6))
    window.run_toolbar.run_action.trigger()
    qtbot.waitUntil(lambda: loopback.count >= 1, timeout=RUN_TIMEOUT)
    assert window.document.push(C.SetParam("headline", "prompt", "Title: {{ text }}")) is None
    assert window.document.push(C.MoveNodes({"out": (900.0, 300.0)})) is None
    _wait_done(qtbot, window)
    state = window.runs.latest
    assert state.status == "succeeded"
    assert loopback.requests[-1].body["messages"][-1]["content"].startswith("Headline for")  # the snapshot
    assert window.document.model.nodes["headline"].params["prompt"] == "Title: {{ text }}"


def test_mock_is_on_when_no_key_and_the_panel_says_why(qtbot, window, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    run_flows.chain(window)
    qtbot.waitUntil(lambda: window.run_toolbar.mock_action.isChecked(), timeout=10000)
    reason = window.run_panel.mock_reason.text()
    assert "no API key for openai" in reason and "summarize" in reason
    state = _run(qtbot, window)
    assert state.status == "succeeded" and state.mock


def test_budget_and_inputs_form(qtbot, window, loopback):
    run_flows.chain(window)
    _mock_off(qtbot, window)
    qtbot.waitUntil(lambda: window.run_panel.inputs.widget("topic") is not None, timeout=5000)
    import json
    import os
    from pathlib import Path

    prices = Path(os.environ["ORCHESTRA_CONFIG_DIR"]) / "pricing.json"
    prices.write_text(json.dumps({"openai/*": {"input_per_1m": 100.0, "output_per_1m": 200.0}}))
    os.utime(prices, (time.time() + 5, time.time() + 5))  # a new mtime: the price table is re-read
    window.run_toolbar.budget.setValue(0.0001)  # spent by the first call
    state = _run(qtbot, window)
    assert state.status == "budget_exceeded"
    assert loopback.count == 1
    assert "of $0.0001" in window.runs.status_label.text()
    assert "Budget" in window.run_panel.status.text() or "budget" in window.run_panel.status.text()


def test_screenshots_mid_run_and_finished(qtbot, window, loopback, tmp_path):
    """PNG screenshots of a fan-out mid-run and finished (also to $ORCHESTRA_SCREENSHOT_DIR)."""
    import os
    from pathlib import Path

    run_flows.fanout(window, items=("alpha", "beta", "gamma", "delta", "epsilon", "zeta"), concurrency=2)
    loopback.on_model("worker", lambda seen: Reply.text(
        "Three facts: " + seen.body["messages"][-1]["content"].split()[-1] + " is old, large and well studied.", latency=0.5))
    _mock_off(qtbot, window)
    window.inspector_dock.raise_()
    window.scene.select_nodes(["research"])
    window.run_toolbar.run_action.trigger()
    qtbot.waitUntil(lambda: (window.runs.state.nodes["each"].fanout or (0, 0, 0))[0] >= 2, timeout=RUN_TIMEOUT)
    qtbot.wait(250)
    out = [tmp_path]
    if os.environ.get("ORCHESTRA_SCREENSHOT_DIR"):
        out.append(Path(os.environ["ORCHESTRA_SCREENSHOT_DIR"]))
    for folder in out:
        folder.mkdir(parents=True, exist_ok=True)
        assert window.grab().save(str(folder / "run_mid.png"))
    assert window.scene.nodes["each"].run.status == "running"
    _wait_done(qtbot, window)
    window.scene.select_nodes(["digest"])
    qtbot.wait(100)
    for folder in out:
        assert window.grab().save(str(folder / "run_finished.png"))
    assert window.runs.latest.status == "succeeded"


def test_runs_go_to_the_run_host_and_survive_its_crash(qtbot, window, loopback):
    from studio.ui.run import worker as worker_mod

    run_flows.chain(window)
    _mock_off(qtbot, window)
    assert window.runs.worker.mode == "process"
    loopback.on_model("summarizer", Reply.hanging())
    window.run_toolbar.run_action.trigger()
    qtbot.waitUntil(lambda: loopback.count >= 1, timeout=RUN_TIMEOUT)
    proc = worker_mod.hub().client.proc
    assert proc is not None and proc.pid != os.getpid()
    os.kill(proc.pid, signal.SIGKILL)  # the host dies mid-run: the window says so and lives on
    _wait_done(qtbot, window, timeout=10000)
    state = window.runs.latest
    assert state.status == "failed" and "run host stopped" in (state.error or "")
    loopback.on_model("summarizer", Reply.text("fine"))
    again = _run(qtbot, window)  # the next run starts a new host
    assert again.status == "succeeded", again.error
    assert worker_mod.hub().client.proc is not proc


def test_thread_mode_runs_the_same_flow(qtbot, monkeypatch, settings, loopback):
    monkeypatch.setenv("ORCHESTRA_RUN_HOST", "thread")
    from studio.ui.main_window import MainWindow

    w = MainWindow(settings, autosave_ms=0)
    qtbot.addWidget(w)
    w.show()
    assert w.runs.worker.mode == "thread"
    run_flows.chain(w)
    _mock_off(qtbot, w)
    state = _run(qtbot, w)
    assert state.status == "succeeded", state.error
    assert state.outputs == {"headline": "echo: Headline for echo: Summarize the sea"}
    assert loopback.count == 2
