"""Run > Serve this flow…: the studio starts the real server for the open flow, shows the
URL, the token (masked, with Copy) and snippets that work, and served runs reach History."""

from __future__ import annotations

import os
import shutil

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import httpx  # noqa: E402
import pytest  # noqa: E402

from serving import ROOT, TOKEN, free_port  # noqa: E402

SHOTS = os.environ.get("ORCHESTRA_SHOTS_DIR", "/work/notes/shots")


@pytest.fixture
def served_env(tmp_path, monkeypatch):
    monkeypatch.setenv("ORCHESTRA_SERVE_TOKEN", TOKEN)
    monkeypatch.setenv("ORCHESTRA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ORCHESTRA_CONFIG_DIR", str(tmp_path / "config"))
    for var in [k for k in os.environ if k.endswith("_API_KEY")]:
        monkeypatch.delenv(var)
    flow = tmp_path / "hello.flow.json"
    shutil.copy(ROOT / "projects" / "hello.flow.json", flow)
    return flow


def test_serve_dialog_starts_the_server_and_its_snippets_work(qtbot, served_env):
    from studio.core.document.flowfile import load_flow
    from studio.ui.run.history import list_runs
    from studio.ui.serve_dialog import ServeDialog

    dialog = ServeDialog(served_env, load_flow(served_env), mock=True)
    qtbot.addWidget(dialog)
    dialog.port.setValue(free_port())
    dialog.show()
    qtbot.waitUntil(lambda: dialog.token == TOKEN, timeout=10000)
    assert dialog.token_field.echoMode() == dialog.token_field.EchoMode.Password  # masked until asked
    dialog.copy_token.click()
    from PySide6.QtGui import QGuiApplication

    assert QGuiApplication.clipboard().text() == TOKEN
    dialog.start_button.click()
    qtbot.waitUntil(lambda: dialog.state in ("serving", "failed"), timeout=90000)
    assert dialog.state == "serving", dialog.log.toPlainText()
    url = dialog.url.text()
    assert url == f"http://127.0.0.1:{dialog.port.value()}"
    assert f"{url}/flows/hello/runs" in dialog.curl_text.toPlainText()
    assert 'model="hello"' in dialog.python_text.toPlainText()  # hello has a chat interface: the OpenAI SDK
    r = httpx.post(f"{url}/flows/hello/runs", headers={"Authorization": f"Bearer {dialog.token}"},
                   json={"inputs": {"topic": "studios"}}, timeout=60)
    assert r.status_code == 200 and r.json()["outputs"]["greeting"].startswith("Hello! Here is a thought about studios")
    from studio.core.running.trace import trace_folder

    runs = list_runs(trace_folder(served_env))  # the runs of this file, as its History lists them
    assert [info.run_id for info in runs] == [r.json()["run_id"]] and runs[0].mock
    dialog.resize(760, 660)
    os.makedirs(SHOTS, exist_ok=True)
    dialog.grab().save(os.path.join(SHOTS, "serve_dialog.png"))
    dialog.tabs.setCurrentIndex(1)
    dialog.grab().save(os.path.join(SHOTS, "serve_dialog_python.png"))
    dialog.start_button.click()  # Stop: SIGTERM, drain, exit 0
    qtbot.waitUntil(lambda: dialog.state in ("stopped", "failed"), timeout=60000)
    assert dialog.state == "stopped", dialog.status.text()


def test_a_server_that_cannot_start_says_why(qtbot, served_env, tmp_path):
    from studio.core.document.flowfile import load_flow
    from studio.ui.serve_dialog import ServeDialog

    model = load_flow(served_env)
    served_env.write_text("{ no longer a flow", encoding="utf-8")
    dialog = ServeDialog(served_env, model, mock=True)
    qtbot.addWidget(dialog)
    dialog.port.setValue(free_port())
    qtbot.waitUntil(lambda: dialog.token is not None, timeout=10000)
    dialog.start()
    qtbot.waitUntil(lambda: dialog.state in ("serving", "failed"), timeout=60000)
    assert dialog.state == "failed"
    assert "exit 2" in dialog.status.text() and "hello.flow.json" in dialog.status.text()


def test_run_menu_serve_this_flow_opens_the_dialog_for_the_open_file(qtbot, served_env, tmp_path, monkeypatch):
    from PySide6.QtCore import QSettings
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QMessageBox

    from studio.ui import dialogs
    from studio.ui.main_window import MainWindow
    from studio.ui.model_catalog import ModelCatalog

    monkeypatch.setenv("ORCHESTRA_RECOVERY_DIR", str(tmp_path / "recovery"))
    monkeypatch.setattr(ModelCatalog, "enabled", False)
    monkeypatch.setattr(dialogs, "ask_save_changes", lambda parent, name: "discard")
    monkeypatch.setattr(dialogs, "ask_restore", lambda parent, what, when: False)
    window = MainWindow(QSettings(str(tmp_path / "studio.ini"), QSettings.IniFormat), autosave_ms=0)
    qtbot.addWidget(window)
    assert window.open_file(served_env, ask=False)
    action = window.findChild(QAction, "serveFlowAction")
    assert action is not None and action.text().replace("&", "") == "Serve this Flow…"
    action.trigger()
    dialog = window._serve_dialog
    assert dialog.flow_path == served_env and dialog.name == "hello" and dialog.isVisible()
    assert dialog.state == "stopped"  # nothing starts until Start is pressed
    dialog.close()
    # an edited flow is saved first (the server serves the file), after asking
    from studio.core.document.commands import SetFlowInfo

    window.document.push(SetFlowInfo(description="Served after an edit"))
    assert window.document.modified
    asked: list = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a[2]) or QMessageBox.Save)
    action.trigger()
    assert asked and "Save the flow first" in asked[0]
    assert not window.document.modified and "Served after an edit" in served_env.read_text()
    assert window._serve_dialog.isVisible()
    window._serve_dialog.close()
