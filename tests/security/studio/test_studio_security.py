"""The studio side of issue 12: it asks before untrusted code runs, showing the code; Save asks
about a secret and moves it into the keyring; Settings stores named secrets."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from PySide6.QtWidgets import QPlainTextEdit

from studio.ui import flow_notice, secret_prompt

SHOTS = Path("/work/notes/shots")

HOSTILE = "import glob\nprint(len(glob.glob('/proc/*/environ')))\nprint('ran in the sandbox')\n"


def python_flow(path: Path, code: str) -> Path:
    doc = {"format": "orchestra-flow", "version": 1, "name": "received",
           "nodes": [{"id": "steal", "type": "tool", "params": {"tool": "run_python", "arguments": {"code": code}}},
                     {"id": "out", "type": "output", "params": {"name": "result"}}],
           "edges": [{"from": "steal.result", "to": "out.value"}]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return path


def _wait_run(qtbot, window):
    qtbot.waitUntil(lambda: not window.runs.running and window.runs.latest is not None and window.runs.latest.ended,
                    timeout=60000)
    return window.runs.latest


def _shot(widget, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    widget.grab().save(str(SHOTS / f"12-{name}.png"))


def test_untrusted_run_python_asks_showing_the_code_and_declining_runs_nothing(qtbot, window, tmp_path, loopback,
                                                                                monkeypatch):
    flow = python_flow(tmp_path / "received" / "hostile.flow.json", HOSTILE)
    assert window.open_file(flow)
    bar = window.notices.code
    assert bar.isVisible() and "run_python code" in bar.text.text()
    _shot(window.notices, "notice-bar")

    # the real dialog, as the person sees it: the code in full, "Don't run" the default
    items = window.sharing.untrusted
    dialog = flow_notice.TrustDialog(items, True, window)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.findChild(QPlainTextEdit, "trustCode").toPlainText() == HOSTILE
    assert dialog.no.isDefault() and dialog.yes.isEnabled()
    _shot(dialog, "trust-dialog")
    dialog.reject()

    asked = []
    monkeypatch.setattr(flow_notice, "ask_trust", lambda parent, items, and_run: asked.append((items, and_run)) or False)
    window.run_toolbar.run_action.trigger()
    assert len(asked) == 1 and asked[0][1] is True
    assert [(c.kind, c.code) for c in asked[0][0]] == [("python", HOSTILE)]
    qtbot.wait(200)
    assert not window.runs.running and window.runs.latest is None  # declined: nothing ran
    assert "did not trust" in window.run_panel.status.text()

    monkeypatch.setattr(flow_notice, "ask_trust", lambda parent, items, and_run: asked.append((items, and_run)) or True)
    window.run_toolbar.run_action.trigger()
    state = _wait_run(qtbot, window)
    assert state.status == "succeeded", state.error
    assert state.outputs["result"]["stdout"].endswith("ran in the sandbox\n")
    assert not bar.isVisible()
    window.run_toolbar.run_action.trigger()  # trusted now: no second question
    assert _wait_run(qtbot, window).status == "succeeded" and len(asked) == 2


def test_save_asks_about_a_pasted_token_and_moves_it_into_the_keyring(qtbot, window, tmp_path, memory_keyring,
                                                                       monkeypatch):
    token = "ghp_" + uuid.uuid4().hex + uuid.uuid4().hex[:8]
    flow = tmp_path / "mine" / "api.flow.json"
    flow.parent.mkdir()
    doc = {"format": "orchestra-flow", "version": 1, "name": "api",
           "nodes": [{"id": "call", "type": "tool", "params": {"tool": "http_request", "arguments": {
               "url": "http://127.0.0.1:9/", "headers": {"Authorization": f"Bearer {token}"}}}}], "edges": []}
    flow.write_text(json.dumps(doc))  # received like this: the file holds the token
    assert window.open_file(flow)
    target = tmp_path / "mine" / "saved.flow.json"

    # the real dialog first, for a look
    from studio.core.document.flowfile import to_document
    from studio.core.userdata.secret_scan import scan_document

    findings = scan_document(to_document(window.document.model))
    dialog = secret_prompt.SecretsOnSaveDialog(findings, window)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.chosen_names() == {0: "CALL_AUTHORIZATION"} and token not in dialog.table.item(0, 2).text()
    _shot(dialog, "secret-on-save")
    dialog.reject()

    answers = [("cancel", {}), ("move", {0: "API_TOKEN"})]
    asked = []
    monkeypatch.setattr(secret_prompt, "ask_secrets", lambda parent, found: asked.append(found) or answers.pop(0))
    assert window._save_to(target) is False and not target.exists()  # cancelled: nothing written
    assert window._save_to(target) is True
    assert [f.path for f in asked[0]] == ["$.nodes[0].params.arguments.headers.Authorization"]
    saved = target.read_text()
    assert token not in saved and "Bearer {{ secrets.API_TOKEN }}" in saved
    assert memory_keyring.store[("orchestra-studio", "secret:API_TOKEN")] == token
    window.document.stack.undo()  # one undoable edit: the token is back in the window, not in the file
    assert token in json.dumps(window.document.model.nodes["call"].params)


def test_settings_stores_lists_and_deletes_a_named_secret(qtbot, settings, memory_keyring):
    from studio.ui.settings_dialog import SettingsDialog

    d = SettingsDialog(settings)
    qtbot.addWidget(d)
    d.show()
    d.tabs.setCurrentIndex(1)
    d.secret_name.setText("GITHUB_TOKEN")
    d.secret_value.setText("ghp_" + "a1" * 20)
    d.store_secret()
    qtbot.waitUntil(lambda: d.secret_rows() == [("GITHUB_TOKEN", "OS keyring")], timeout=10000)
    assert memory_keyring.store[("orchestra-studio", "secret:GITHUB_TOKEN")] == "ghp_" + "a1" * 20
    assert d.secret_value.text() == "" and "{{ secrets.GITHUB_TOKEN }}" in d.secret_status.text()
    _shot(d, "settings-secrets")
    d.secrets_table.setCurrentCell(0, 0)
    d.delete_selected_secret()
    qtbot.waitUntil(lambda: d.secret_rows() == [], timeout=10000)
    assert ("orchestra-studio", "secret:GITHUB_TOKEN") not in memory_keyring.store
    d.close()
