"""Run > Serve this flow…: serve the open flow over HTTP and show how to call it.

The server is the real ``orchestra serve`` in its own process (QProcess), so serving
never competes with the canvas for the GUI thread and stops like any server: Stop (or
closing this window, or quitting the studio) sends SIGTERM, which lets running requests
finish. Served runs write their traces where the History panel reads them. The token
comes from the keyring (or ORCHESTRA_SERVE_TOKEN), looked up off the GUI thread; it is
shown masked, with a Copy button, and the ready-made snippets carry it in a variable.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from PySide6.QtCore import QProcess, QProcessEnvironment, Qt, Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (QCheckBox, QDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit,
                               QPushButton, QSpinBox, QTabWidget, QVBoxLayout, QWidget)

from studio.ui.background import Background

READY_MARK = "Uvicorn running on"


def curl_snippet(url: str, name: str, example: dict) -> str:
    body = json.dumps({"inputs": example}, ensure_ascii=False)
    return (f'export ORCHESTRA_TOKEN="<the token above>"\n'
            f"curl -s {url}/flows/{name}/runs \\\n"
            f'  -H "Authorization: Bearer $ORCHESTRA_TOKEN" \\\n'
            f"  -H 'Content-Type: application/json' \\\n"
            f"  -d '{body}'\n\n"
            f"# events as they happen (server-sent events):\n"
            f"curl -sN '{url}/flows/{name}/runs?stream=true' \\\n"
            f'  -H "Authorization: Bearer $ORCHESTRA_TOKEN" -d \'{body}\'')


def python_snippet(url: str, name: str, example: dict, chat_input: str | None, memory: bool = False) -> str:
    if chat_input is not None:
        message = example.get(chat_input) or "Hello!"
        session = '    user="session-1",  # the conversation: each user keeps its own memory\n' if memory else ""
        return ("import os\nfrom openai import OpenAI\n\n"
                f'client = OpenAI(base_url="{url}/v1", api_key=os.environ["ORCHESTRA_TOKEN"])\n'
                f"reply = client.chat.completions.create(\n"
                f'    model="{name}",\n'
                f"    messages=[{{\"role\": \"user\", \"content\": {json.dumps(message, ensure_ascii=False)}}}],\n"
                f"{session}"
                f")\nprint(reply.choices[0].message.content)")
    return ("import os\nimport httpx\n\n"
            f"r = httpx.post(\n    \"{url}/flows/{name}/runs\",\n"
            f"    headers={{\"Authorization\": f\"Bearer {{os.environ['ORCHESTRA_TOKEN']}}\"}},\n"
            f"    json={{\"inputs\": {json.dumps(example, ensure_ascii=False)}}},\n    timeout=600,\n)\n"
            f"print(r.json()[\"outputs\"])")


class ServeDialog(QDialog):
    """Start/stop ``orchestra serve`` for one flow file; URL, token and snippets."""

    state_changed = Signal(str)  # "stopped" | "starting" | "serving" | "failed"

    def __init__(self, flow_path: Path, model, mock: bool = False, parent: QWidget | None = None,
                 background: Background | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("serveDialog")
        self.setWindowTitle(f"Serve {flow_path.name}")
        self.flow_path = Path(flow_path)
        self.model = model
        self.name = self.flow_path.name.removesuffix(".flow.json") if self.flow_path.name.endswith(".flow.json") \
            else self.flow_path.stem
        self.state = "stopped"
        self.token: str | None = None
        self._output: list[str] = []
        self._partial = ""  # the server's output after its last newline
        self.process: QProcess | None = None
        self._bg = background or Background(self)

        from studio.core.document.interface import chat_interface

        self.chat = chat_interface(model)
        self.example = {}
        for node in model.nodes.values():
            if model.node_type(node.id).kind == "input":
                params = model.params(node.id)  # resolved: the schema's defaults filled
                self.example[str(params["name"] or node.id)] = params["default"] if params["default"] is not None else "…"

        self.port = QSpinBox(objectName="servePort")
        self.port.setRange(1024, 65535)
        self.port.setValue(8787)
        self.mock = QCheckBox("Mock mode (no keys, no cost)", objectName="serveMock")
        self.mock.setChecked(mock)
        self.start_button = QPushButton("Start", objectName="serveStart")
        self.start_button.clicked.connect(self.toggle)
        self.status = QLabel("Not serving.", objectName="serveStatus")
        self.status.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.url = QLineEdit(objectName="serveUrl")
        self.url.setReadOnly(True)
        self.token_field = QLineEdit(objectName="serveToken")
        self.token_field.setReadOnly(True)
        self.token_field.setEchoMode(QLineEdit.Password)
        self.token_field.setPlaceholderText("looking up the token…")
        self.show_token = QCheckBox("Show", objectName="serveShowToken")
        self.show_token.toggled.connect(lambda on: self.token_field.setEchoMode(QLineEdit.Normal if on else QLineEdit.Password))
        self.copy_token = QPushButton("Copy", objectName="serveCopyToken")
        self.copy_token.setEnabled(False)
        self.copy_token.clicked.connect(lambda: self._copy(self.token or ""))

        mono = QFontDatabase.systemFont(QFontDatabase.FixedFont)
        self.tabs = QTabWidget(objectName="serveSnippets")
        self.curl_text = self._snippet_box(mono)
        self.python_text = self._snippet_box(mono)
        self.tabs.addTab(self._with_copy(self.curl_text), "curl")
        self.tabs.addTab(self._with_copy(self.python_text),
                         "Python (OpenAI SDK)" if self.chat is not None else "Python (httpx)")
        self.log = QPlainTextEdit(objectName="serveLog")
        self.log.setReadOnly(True)
        self.log.setFont(mono)
        self.log.setMaximumBlockCount(500)
        self.log.setPlaceholderText("The server's log appears here.")

        form = QFormLayout()
        row = QHBoxLayout()
        row.addWidget(self.port)
        row.addWidget(self.mock)
        row.addStretch(1)
        row.addWidget(self.start_button)
        form.addRow("Port", row)
        form.addRow("Status", self.status)
        form.addRow("URL", self.url)
        token_row = QHBoxLayout()
        token_row.addWidget(self.token_field, 1)
        token_row.addWidget(self.show_token)
        token_row.addWidget(self.copy_token)
        form.addRow("Token", token_row)
        note = QLabel("Every request needs <code>Authorization: Bearer &lt;token&gt;</code>. The server listens on "
                      "127.0.0.1 only and runs while this window is open; served runs appear in History.")
        note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(self.tabs, 3)
        layout.addWidget(QLabel("Server log"))
        layout.addWidget(self.log, 1)
        self.resize(720, 640)
        self._refresh_snippets()
        self._bg.submit(self._lookup_token, self._token_found, self._token_failed)

    # -- token -------------------------------------------------------------------------

    @staticmethod
    def _lookup_token() -> str:
        from studio.serve.auth import server_token

        return server_token()[0]

    def _token_found(self, token: str) -> None:
        self.token = token
        self.token_field.setText(token)
        self.copy_token.setEnabled(True)

    def _token_failed(self, exc: BaseException) -> None:
        self.token_field.setPlaceholderText("no token")
        self.status.setText(str(exc))
        self.start_button.setEnabled(False)

    # -- the server --------------------------------------------------------------------

    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port.value()}"

    def toggle(self) -> None:
        if self.process is not None and self.process.state() != QProcess.NotRunning:
            self.stop()
        else:
            self.start()

    def start(self) -> None:
        if self.process is not None and self.process.state() != QProcess.NotRunning:
            return
        self._output.clear()
        self.log.clear()
        proc = QProcess(self)
        proc.setProcessChannelMode(QProcess.MergedChannels)
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONUNBUFFERED", "1")
        if self.token and not os.environ.get("ORCHESTRA_SERVE_TOKEN"):
            # the child would find the same token in the keyring; handing it over spares a
            # second keyring prompt on desktops that ask per process
            env.insert("ORCHESTRA_SERVE_TOKEN", self.token)
        proc.setProcessEnvironment(env)
        proc.readyRead.connect(self._read_output)
        proc.finished.connect(self._finished)
        args = ["-m", "studio.cli", "serve", str(self.flow_path), "--port", str(self.port.value())]
        if self.mock.isChecked():
            args.append("--mock")
        self.process = proc
        self._set_state("starting")
        proc.start(sys.executable, args)

    def stop(self) -> None:
        proc = self.process
        if proc is not None and proc.state() != QProcess.NotRunning:
            self.status.setText("Stopping: running requests may finish…")
            proc.terminate()  # SIGTERM: the server drains, then exits 0

    def stop_and_wait(self, ms: int = 35000) -> None:
        proc = self.process
        if proc is not None and proc.state() != QProcess.NotRunning:
            proc.terminate()
            if not proc.waitForFinished(ms):
                proc.kill()
                proc.waitForFinished(2000)

    def _read_output(self) -> None:
        proc = self.process
        if proc is None:
            return
        text = bytes(proc.readAll()).decode("utf-8", "replace")
        self._output.append(text)
        self._partial += text
        *lines, self._partial = self._partial.split("\n")
        for line in lines:
            if line.strip():
                self.log.appendPlainText(line)
        if self.state == "starting" and READY_MARK in "".join(self._output):
            self._set_state("serving")

    def _finished(self, code: int, _status) -> None:
        if self.state == "starting" or code != 0:
            tail = "".join(self._output).strip().splitlines()[-1:] or ["no output"]
            self._set_state("failed", f"The server stopped (exit {code}): {tail[0]}")
        else:
            self._set_state("stopped")

    def _set_state(self, state: str, message: str | None = None) -> None:
        self.state = state
        self.port.setEnabled(state in ("stopped", "failed"))
        self.mock.setEnabled(state in ("stopped", "failed"))
        self.start_button.setText("Stop" if state in ("starting", "serving") else "Start")
        texts = {"stopped": "Not serving.", "starting": "Starting…",
                 "serving": f"Serving {self.name}{' in mock mode' if self.mock.isChecked() else ''}.",
                 "failed": "The server stopped."}
        self.status.setText(message or texts[state])
        self.url.setText(self.base_url() if state == "serving" else "")
        self._refresh_snippets()
        self.state_changed.emit(state)

    # -- snippets ----------------------------------------------------------------------

    def _refresh_snippets(self) -> None:
        url = self.base_url()
        self.curl_text.setPlainText(curl_snippet(url, self.name, self.example))
        self.python_text.setPlainText(python_snippet(url, self.name, self.example,
                                                     self.chat.input if self.chat is not None else None,
                                                     self.chat is not None and self.chat.has_memory))

    @staticmethod
    def _snippet_box(font) -> QPlainTextEdit:
        box = QPlainTextEdit()
        box.setReadOnly(True)
        box.setFont(font)
        box.setLineWrapMode(QPlainTextEdit.NoWrap)
        return box

    def _with_copy(self, box: QPlainTextEdit) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(box)
        button = QPushButton("Copy snippet")
        button.clicked.connect(lambda: self._copy(box.toPlainText()))
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(button)
        lay.addLayout(row)
        return page

    @staticmethod
    def _copy(text: str) -> None:
        QGuiApplication.clipboard().setText(text)

    def closeEvent(self, event) -> None:
        self.stop_and_wait()
        super().closeEvent(event)


def open_serve_dialog(window) -> ServeDialog | None:
    """Run > Serve this flow…: the flow must be saved (the server serves the file)."""
    from PySide6.QtWidgets import QApplication, QMessageBox

    doc = window.document
    if doc is None:
        return None
    if doc.path is None or doc.modified:
        answer = QMessageBox.question(window, "Serve this flow",
                                      "The server serves the flow's file. Save the flow first?",
                                      QMessageBox.Save | QMessageBox.Cancel, QMessageBox.Save)
        if answer != QMessageBox.Save or not window.save():
            return None
    old: ServeDialog | None = getattr(window, "_serve_dialog", None)
    if old is not None and old.flow_path == doc.path:
        old.show()
        old.raise_()
        return old
    if old is not None:
        old.close()
    mock = window.run_toolbar.mock_action.isChecked()
    dialog = ServeDialog(doc.path, doc.model, mock=mock, parent=window)
    dialog.setAttribute(Qt.WA_DeleteOnClose, False)
    app = QApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(dialog.stop_and_wait)  # quitting the studio drains the server too
    window._serve_dialog = dialog
    dialog.show()
    return dialog
