"""Run → Batch… in the studio: dataset, mapping, estimate, run, table, open a row, export.

Screenshots of the window mid-run and at the end go to $ORCHESTRA_SHOTS (default: the
test's temporary folder) for a person to look at; the assertions check what they show.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

from .conftest import flow_doc, read_results, write_flow, write_jsonl  # noqa: E402

ROWS = 160


@pytest.fixture
def window(qtbot, qapp, tmp_path, monkeypatch):
    from PySide6.QtCore import QSettings

    from studio.ui import dialogs, theme
    from studio.ui.main_window import MainWindow
    from studio.ui.model_catalog import ModelCatalog

    monkeypatch.setenv("ORCHESTRA_RECOVERY_DIR", str(tmp_path / "recovery"))
    monkeypatch.setenv("ORCHESTRA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ORCHESTRA_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setattr(ModelCatalog, "enabled", False)
    monkeypatch.setattr(dialogs, "ask_save_changes", lambda parent, name: "discard")
    monkeypatch.setattr(dialogs, "ask_restore", lambda parent, what, when: False)

    def unexpected(*args, **kwargs):
        raise AssertionError(f"unexpected dialog: {args[1:]}")

    monkeypatch.setattr(dialogs, "error", unexpected)
    qapp.setStyle("Fusion")
    qapp.setStyleSheet(theme.load_stylesheet())
    w = MainWindow(QSettings(str(tmp_path / "studio.ini"), QSettings.IniFormat), autosave_ms=0)
    qtbot.addWidget(w)
    w.resize(1400, 860)
    w.show()
    qtbot.waitExposed(w)
    return w


def ticket_flow(path: Path) -> Path:
    doc = flow_doc("Ticket router", [
        ("ticket", "input", {"name": "ticket", "type": "text"}),
        ("prompt", "template", {"template": "Route this ticket: {{ ticket }}"}),
        ("classify", "llm", {"model": "gpt-4o-mini", "prompt": "{{ text }}", "mock_responses": ["billing"]}),
        ("pause", "delay", {"seconds": 0.02}),
        ("route", "output", {"name": "route"}),
    ], [("ticket.value", "prompt.ticket"), ("prompt.text", "classify.text"), ("classify.text", "pause.value"),
        ("pause.value", "route.value")])
    for i, node in enumerate(doc["nodes"]):
        node["layout"] = {"x": 260.0 * i, "y": 40.0 * (i % 2)}
    return write_flow(path, doc)


def test_batch_window_runs_evaluates_opens_rows_and_exports(qtbot, window, tmp_path):
    from PySide6.QtCore import Qt

    SHOTS = Path(os.environ.get("ORCHESTRA_SHOTS") or tmp_path / "shots")
    SHOTS.mkdir(parents=True, exist_ok=True)
    flow = ticket_flow(tmp_path / "router.flow.json")
    assert window.open_file(flow, ask=False)
    rows = [{"id": i, "ticket": f"I was charged twice on invoice {1000 + i}",
             "expected.route": "technical" if i % 7 == 3 else "billing"} for i in range(ROWS)]
    rows[11] = {"id": 11, "ticket": None, "expected.route": "billing"}  # a row that cannot run
    data = write_jsonl(tmp_path / "tickets.jsonl", rows)

    win = window.open_batch()
    qtbot.waitExposed(win)
    assert win.set_dataset(data)
    qtbot.waitUntil(lambda: win.data_info.text() == f"{ROWS} rows · JSONL", timeout=10000)  # counted off the GUI thread
    assert win.preview.rowCount() == 8 and win.preview.item(2, 2).text().startswith("I was charged twice")
    assert "Checks: expected.route → route" in win.mapping_note.text() and "Not used: id" in win.mapping_note.text()
    # a mapping that cannot work is named, and Run waits for a fix
    win.set_column("ticket", None)
    assert "required input 'ticket' has no column" in win.mapping_note.text()
    assert not win.run_btn.isEnabled()
    win.set_column("ticket", "ticket")
    assert win.run_btn.isEnabled()

    win.estimate()
    qtbot.waitUntil(lambda: "per row" in win.estimate_label.text(), timeout=60000)
    assert f"for all {ROWS} rows" in win.estimate_label.text()

    win.mock.setChecked(True)
    win.concurrency.setValue(2)
    assert win.run()
    qtbot.waitUntil(lambda: len(win.model.records) >= 30, timeout=60000)
    assert win.runner.running and win.stop_btn.isEnabled() and not win.run_btn.isEnabled()
    win.grab().save(str(SHOTS / "batch-midrun.png"))
    qtbot.waitUntil(lambda: not win.runner.running, timeout=120000)
    assert win.totals.text().startswith("Done.")
    win.grab().save(str(SHOTS / "batch-end.png"))
    # a mock batch paid nothing: its costs say they are estimates, as everywhere else
    from studio.ui.batch.results_model import COLUMNS

    cost_column = list(COLUMNS).index("Cost")
    assert win.model.data(win.model.index(0, cost_column)).startswith("est. $")
    assert "cost est. $" in win.totals.text()

    recs = read_results(win.out_dir / "results.jsonl")
    assert len(recs) == len(win.model.records) == ROWS
    wrong = sum(1 for i in range(ROWS) if i % 7 == 3 and i != 11)
    assert win.batch.stats.failed == 1 and win.batch.stats.passed == ROWS - 1 - wrong
    assert f"pass rate {100 * (ROWS - 1 - wrong) / (ROWS - 1):.1f}%" in win.totals.text()

    # sort by latency, largest first: numbers sort as numbers
    win.table.sortByColumn(3, Qt.DescendingOrder)
    lat = [win.proxy.index(r, 3).data(Qt.UserRole + 1) for r in range(win.proxy.rowCount())]
    assert lat == sorted(lat, reverse=True)
    # filter: only rows whose checks failed; then a text search inside them
    win.status_filter.setCurrentText("Failed checks")
    assert win.proxy.rowCount() == wrong
    assert all(win.proxy.index(r, 2).data() == "FAIL" for r in range(win.proxy.rowCount()))
    win.search.setText("technical")
    assert win.proxy.rowCount() == wrong  # the failed check names the expected value
    win.search.setText("")
    win.status_filter.setCurrentText("Failed")
    assert win.proxy.rowCount() == 1 and "required input 'ticket'" in win.proxy.index(0, 8).data()
    win.status_filter.setCurrentText("All rows")

    # export what the table shows
    out_csv = tmp_path / "export.csv"
    assert win.export_csv(out_csv) == ROWS
    with open(out_csv, newline="") as fh:
        exported = list(csv.DictReader(fh))
    assert len(exported) == ROWS and {r["status"] for r in exported} == {"succeeded", "failed"}

    # click a row: its run opens in the main window, nothing runs again
    win.table.sortByColumn(0, Qt.AscendingOrder)
    index = win.proxy.index(5, 1)
    win.table.clicked.emit(index)
    qtbot.waitUntil(lambda: window.runs.state is not None and not window.runs.state.live, timeout=10000)
    rec = win.model.record(win.proxy.mapToSource(index).row())
    assert rec["row"] == 5
    assert window.runs.state.outputs == rec["outputs"] == {"route": "billing"}
    assert all(window.scene.nodes[n].run.status == "done" for n in ("ticket", "prompt", "classify", "pause", "route"))
    window.scene.select_nodes(["prompt"])
    assert "invoice 1005" in window.last_run.output.toPlainText()
    window.inspector_tabs.setCurrentWidget(window.last_run)
    window.view.fit()
    window.grab().save(str(SHOTS / "batch-row-opened.png"))
    win.close()


def test_stop_keeps_the_rows_done_and_says_so(qtbot, window, tmp_path):
    flow = ticket_flow(tmp_path / "router.flow.json")
    assert window.open_file(flow, ask=False)
    data = write_jsonl(tmp_path / "tickets.jsonl", [{"ticket": f"t{i}"} for i in range(400)])
    win = window.open_batch()
    assert win.set_dataset(data)
    win.mock.setChecked(True)
    win.concurrency.setValue(1)
    assert win.run()
    qtbot.waitUntil(lambda: len(win.model.records) >= 5, timeout=60000)
    win.stop_btn.click()
    qtbot.waitUntil(lambda: not win.runner.running, timeout=30000)
    assert win.totals.text().startswith("Stopped.")
    written = read_results(win.out_dir / "results.jsonl")
    assert 5 <= len(written) < 400 and len(written) == len(win.model.records)
    assert win.run_btn.isEnabled() and not win.stop_btn.isEnabled()
    win.close()
