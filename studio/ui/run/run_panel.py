"""The Run panel: the run-inputs form (from the flow's Input nodes), why Mock is on,
and the outcome of the shown run (status, outputs, error).

The form is rebuilt only when the set of Input nodes or their name/type/default changes;
typed values survive the rebuild (they are kept by input name for the session, not in
the flow: run inputs are not part of the document).
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit,
                               QPlainTextEdit, QSplitter, QVBoxLayout, QWidget)

from .. import theme
from studio.core.running.runstate import RunState, cost_note, fmt_cost, fmt_latency, fmt_tokens, fmt_value

_MISSING = object()


class InputsForm(QGroupBox):
    def __init__(self, parent: QWidget | None = None):
        super().__init__("Run inputs", parent)
        self.setObjectName("runInputs")
        self._layout = QFormLayout(self)
        self._signature: tuple | None = None
        self._getters: dict[str, Any] = {}
        self._widgets: dict[str, QWidget] = {}
        self.values: dict[str, str] = {}  # what the person typed, by input name
        self.errors: dict[str, str] = {}
        self._empty = QLabel("This flow has no Input nodes.")

    def set_inputs(self, specs: list[dict[str, Any]]) -> None:
        """specs: [{name, type, default, description}] of the flow's Input nodes."""
        sig = tuple((s["name"], s["type"], json.dumps(s.get("default"), sort_keys=True, default=repr), s.get("description", ""))
                    for s in specs)
        if sig == self._signature:
            return
        self._signature = sig
        while self._layout.rowCount():
            self._layout.removeRow(0)
        self._getters.clear()
        self._widgets.clear()
        if not specs:
            self._empty = QLabel("This flow has no Input nodes.")
            self._empty.setStyleSheet("color: #9aa3ad")
            self._layout.addRow(self._empty)
            return
        for s in specs:
            self._add(s)

    def _add(self, spec: dict[str, Any]) -> None:
        name, kind, default = spec["name"], spec["type"], spec.get("default")
        typed = self.values.get(name, _MISSING)
        if kind == "boolean":
            w: QWidget = QCheckBox()
            w.setChecked(bool(default) if typed is _MISSING else typed == "true")
            w.toggled.connect(lambda on, n=name: self.values.__setitem__(n, "true" if on else "false"))
            self._getters[name] = lambda w=w: w.isChecked()
        elif kind == "number":
            w = QDoubleSpinBox()
            w.setRange(-1e12, 1e12)
            w.setDecimals(4)
            w.setValue(float(default or 0) if typed is _MISSING else float(typed))
            w.valueChanged.connect(lambda v, n=name: self.values.__setitem__(n, str(v)))
            self._getters[name] = lambda w=w: (int(w.value()) if w.value().is_integer() else w.value())
        elif kind in ("json", "list", "messages", "any"):
            w = QPlainTextEdit()
            w.setMaximumHeight(90)
            w.setPlaceholderText("JSON" + (" (e.g. [\"a\", \"b\"])" if kind == "list" else ""))
            text = typed if typed is not _MISSING else ("" if default is None else json.dumps(default, ensure_ascii=False))
            w.setPlainText(text)
            w.textChanged.connect(lambda w=w, n=name: self.values.__setitem__(n, w.toPlainText()))
            self._getters[name] = lambda w=w, k=kind: _parse_json(w.toPlainText(), k)
        else:  # text
            w = QLineEdit()
            w.setPlaceholderText("(required)" if default is None else "")
            w.setText(typed if typed is not _MISSING else ("" if default is None else str(default)))
            w.textChanged.connect(lambda t, n=name: self.values.__setitem__(n, t))
            self._getters[name] = lambda w=w, d=default: w.text() if (w.text() or d is None) else d
        w.setObjectName(f"input_{name}")
        if spec.get("description"):
            w.setToolTip(spec["description"])
        self._widgets[name] = w
        self._layout.addRow(name, w)

    def widget(self, name: str) -> QWidget | None:
        return self._widgets.get(name)

    def collect(self) -> tuple[dict[str, Any], list[str]]:
        """(values by input name, problems)."""
        out: dict[str, Any] = {}
        problems = []
        for name, get in self._getters.items():
            try:
                value = get()
            except ValueError as exc:
                problems.append(f"{name}: {exc}")
                continue
            if value is not None and value != "":
                out[name] = value
        return out, problems


def _parse_json(text: str, kind: str) -> Any:
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        if kind == "list":  # one item per line is friendlier than JSON for a list of strings
            return [line for line in text.splitlines() if line.strip()]
        if kind == "any":
            return text
        raise ValueError("not valid JSON") from None


class RunPanel(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("runPanel")
        self.inputs = InputsForm()
        self.mock_reason = QLabel("")
        self.mock_reason.setObjectName("mockReason")
        self.mock_reason.setWordWrap(True)
        self.status = QLabel("Not run yet. Press Run (F5).")
        self.status.setObjectName("runOutcome")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.outputs = QPlainTextEdit()
        self.outputs.setObjectName("runOutputs")
        self.outputs.setReadOnly(True)
        self.outputs.setPlaceholderText("The flow's outputs appear here when a run ends.")
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(self.inputs)
        lv.addWidget(self.mock_reason)
        lv.addStretch(1)
        right = QWidget()
        rv = QVBoxLayout(right)
        rv.setContentsMargins(0, 0, 0, 0)
        rv.addWidget(self.status)
        rv.addWidget(self.outputs, 1)
        split = QSplitter(Qt.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setSizes([380, 620])
        h = QHBoxLayout(self)
        h.setContentsMargins(6, 6, 6, 6)
        h.addWidget(split)

    def set_mock_reason(self, text: str, on: bool) -> None:
        self.mock_reason.setText(text)
        self.mock_reason.setStyleSheet(f"color: {theme.WARNING.name() if on else '#9aa3ad'}")

    def show_state(self, state: RunState | None, note: str = "") -> None:
        if state is None:
            self.status.setText(note or "Not run yet. Press Run (F5).")
            self.outputs.setPlainText("")
            return
        color = theme.run_color({"succeeded": "done", "failed": "failed", "budget_exceeded": "failed",
                                 "cancelled": "stopped", "running": "running"}.get(state.status, "queued")).name()
        head = f"<span style='color:{color}'>● {state.status.replace('_', ' ')}</span>"
        if state.live and not state.started and not state.ended:
            head = f"<span style='color:{color}'>● starting…</span>"
            self.status.setText((f"{note}<br>" if note else "") + head +
                                " · preparing the run (the run host loads the model library the first time)")
            return
        bits = [f"{fmt_latency(state.elapsed())}", f"{fmt_tokens(state.tokens_in + state.tokens_out)} tokens",
                fmt_cost(state.cost_usd, state.cost_unknown, estimate=state.mock)]
        if state.mock:
            bits.append(cost_note(True))
        text = head + " · " + " · ".join(bits)
        if note:
            text = f"{note}<br>{text}"
        if state.error:
            where = f" at <b>{state.error_node}</b>" if state.error_node else ""
            text += f"<br><span style='color:{theme.ERROR.name()}'>Error{where}: {_esc(state.error)}</span>"
        self.status.setText(text)
        if state.ended:
            self.outputs.setPlainText("\n\n".join(f"▸ {k}\n{fmt_value(v)}" for k, v in state.outputs.items())
                                      if state.outputs else "(no outputs)")
        elif self.outputs.toPlainText():
            self.outputs.setPlainText("")


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
