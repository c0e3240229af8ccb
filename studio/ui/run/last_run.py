"""The inspector's "Last run" tab: what the selected node got, gave, and how it went.

Shows one instance at a time -- the root run, or for nodes inside loops and fan-outs a
picker over iterations and items -- with its inputs and outputs (text as text, the rest
as pretty JSON), its error and every retried attempt, and its latency, tokens and cost.
While an LLM node runs, its streamed text grows here live. A second run from the
history can be picked to compare this node's output side by side.
"""

from __future__ import annotations

import difflib
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QComboBox, QFormLayout, QLabel, QPlainTextEdit, QScrollArea, QSizePolicy, QVBoxLayout,
                               QWidget)

from studio.core.catalogue.types import SKIP
from studio.core.running.runstate import Instance, RunState, fmt_cost, fmt_latency, fmt_value, scope_label

from .. import theme

_PORT_ORDER = {"text": 0, "json": 1, "approved": 0, "results": 0, "done": 0, "value": 0, "messages": 9, "error": 10}


def fmt_ports(values: dict[str, Any] | None, hide_skipped: bool = True) -> str:
    if not values:
        return ""
    keys = [k for k in values if not (hide_skipped and values[k] is SKIP)]
    keys.sort(key=lambda k: _PORT_ORDER.get(k, 5))
    if len(keys) == 1:
        return fmt_value(values[keys[0]])
    return "\n\n".join(f"▸ {k}\n{fmt_value(values[k])}" for k in keys)


def _box(name: str, height: int = 140) -> QPlainTextEdit:
    box = QPlainTextEdit()
    box.setObjectName(name)
    box.setReadOnly(True)
    box.setLineWrapMode(QPlainTextEdit.WidgetWidth)
    box.setMinimumHeight(60)
    box.setMaximumHeight(height)
    f = QFont("monospace")
    f.setStyleHint(QFont.Monospace)
    f.setPixelSize(12)
    box.setFont(f)
    return box


class LastRunView(QWidget):
    compare_requested = Signal(object)  # TraceInfo, or None to stop comparing

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("lastRun")
        self.state: RunState | None = None
        self.node: str | None = None
        self.loops: set[str] = set()
        self.scope: tuple | None = None  # the picked instance; None follows the newest
        self._picker_count = 0
        self._compare_state: RunState | None = None
        self._shown_stream_len = -1
        # (src, src_port, dst, dst_port) of the wires into a node: set by the controller, so a
        # node that failed before it started still shows the values that reached it
        self.edges_into = lambda node: []

        self.title = QLabel("")
        self.title.setObjectName("lastRunTitle")
        self.summary = QLabel("")
        self.summary.setObjectName("lastRunSummary")
        self.summary.setWordWrap(True)
        self.picker = QComboBox()
        self.picker.setObjectName("instancePicker")
        self.picker.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self.picker.activated.connect(self._picked)
        self.output = _box("lastRunOutput", 320)
        self.inputs = _box("lastRunInputs", 200)
        self.error = QLabel("")
        self.error.setObjectName("lastRunError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {theme.ERROR.name()}")
        self.retries = QLabel("")
        self.retries.setObjectName("lastRunRetries")
        self.retries.setWordWrap(True)
        self.compare = QComboBox()
        self.compare.setObjectName("compareWith")
        self.compare.activated.connect(self._compare_picked)
        self.compare_status = QLabel("")
        self.compare_status.setObjectName("compareStatus")
        self.compare_status.setWordWrap(True)
        self.compare_output = _box("compareOutput", 240)
        self.empty = QLabel("Run the flow (F5) to see what each node received and produced.")
        self.empty.setWordWrap(True)
        self.empty.setStyleSheet("color: #9aa3ad")

        host = QWidget()
        v = QVBoxLayout(host)
        v.setContentsMargins(10, 10, 10, 10)
        v.setSpacing(6)
        v.addWidget(self.empty)
        v.addWidget(self.title)
        v.addWidget(self.summary)
        form = QFormLayout()
        form.addRow("Instance", self.picker)
        self._picker_row = form
        v.addLayout(form)
        self.out_label = QLabel("Output")
        v.addWidget(self.out_label)
        v.addWidget(self.output)
        self.inputs_label = QLabel("Inputs")
        v.addWidget(self.inputs_label)
        v.addWidget(self.inputs)
        v.addWidget(self.error)
        v.addWidget(self.retries)
        v.addWidget(QLabel("Compare output with another run"))
        v.addWidget(self.compare)
        v.addWidget(self.compare_status)
        v.addWidget(self.compare_output)
        v.addStretch(1)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.NoFrame)
        scroll.setWidget(host)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self._runs: list = []
        self.refresh()

    # -- inputs from the controller ---------------------------------------------------

    def set_state(self, state: RunState | None, loops: set[str] | None = None) -> None:
        self.state = state
        self.loops = set(loops or ())
        self.scope = None
        self._picker_count = -1
        self._compare_state = None
        self.compare.setCurrentIndex(0) if self.compare.count() else None
        self.refresh()

    def set_node(self, node: str | None) -> None:
        if node != self.node:
            self.node = node
            self.scope = None
            self._picker_count = -1
            self.refresh()

    def set_runs(self, runs: list) -> None:
        """History entries offered for comparison."""
        self._runs = runs
        current = self.compare.currentData()
        self.compare.blockSignals(True)
        self.compare.clear()
        self.compare.addItem("(no comparison)", None)
        for info in runs:
            self.compare.addItem(info.label(), info)
        if current is not None:
            for i in range(self.compare.count()):
                d = self.compare.itemData(i)
                if d is not None and d.path == current.path:
                    self.compare.setCurrentIndex(i)
        self.compare.blockSignals(False)

    def show_compare(self, other: RunState | None) -> None:
        self._compare_state = other
        self._refresh_compare()

    # -- drawing ----------------------------------------------------------------------

    def _current(self) -> Instance | None:
        if self.state is None or self.node is None:
            return None
        return self.state.instance(self.node, self.scope)

    def refresh(self, dirty: set[str] | None = None) -> None:
        """Redraw (only when ``dirty`` is None or names the shown node)."""
        if dirty is not None and self.node not in dirty:
            return
        state, node = self.state, self.node
        has = state is not None and node is not None and bool(state.scopes_of(node))
        for w in (self.title, self.summary, self.picker, self.output, self.inputs, self.out_label, self.inputs_label):
            w.setVisible(has)
        self.empty.setVisible(not has)
        if not has:
            self.empty.setText("Select a node to see its last run." if state is not None and node is None else
                               "This node did not run in the shown run." if state is not None else
                               "Run the flow (F5) to see what each node received and produced.")
            self.error.hide()
            self.retries.hide()
            self._refresh_compare()
            return
        self._fill_picker()
        inst = self._current()
        nv = state.nodes.get(node)
        if inst is None:
            return
        color = theme.run_color(inst.status).name()
        self.title.setText(f"<b>{node}</b> &nbsp;<span style='color:{color}'>● {inst.status}</span>"
                           f"{' &nbsp;<span style=color:#9aa3ad>(replayed from history)</span>' if not state.live else ''}")
        bits = []
        if inst.latency_s is not None:
            bits.append(fmt_latency(inst.latency_s))
        if inst.attempts > 1:
            bits.append(f"{inst.attempts} attempts")
        if inst.tokens_in or inst.tokens_out:
            bits.append(f"{inst.tokens_in} in / {inst.tokens_out} out tokens")
        if inst.tokens_in or inst.tokens_out or inst.cost_usd:
            bits.append(fmt_cost(inst.cost_usd, estimate=state.mock))
        if inst.cached:
            bits.append("reused from an earlier run")
        if inst.skip_reason:
            bits.append(f"skipped: {inst.skip_reason}")
        if nv is not None and nv.instances > 1:
            bits.append(f"node total: {nv.instances} runs, {fmt_cost(nv.cost_usd, nv.cost_unknown, estimate=state.mock)}")
        if inst.approval and inst.approval.get("action"):
            bits.append(f"approval: {inst.approval['action']} by {inst.approval.get('by')}")
        self.summary.setText(" · ".join(bits))
        self._show_output(inst)
        received = inst.inputs or state.received_inputs(node, inst.scope, self.edges_into(node))
        self.inputs_label.setText("Inputs" if inst.inputs or not received else "Inputs (the values that reached it)")
        self.inputs.setPlainText(fmt_ports(received, hide_skipped=False) if received else "(none)")
        self.error.setVisible(bool(inst.error))
        self.error.setText(f"Error{' (sent on the error port)' if inst.handled else ''}: {inst.error}" if inst.error else "")
        self.retries.setVisible(bool(inst.retries))
        self.retries.setText("Retries:\n" + "\n".join(
            f"attempt {r.get('attempt')}: {r.get('error')} (retried after {r.get('retry_in_s')} s)" for r in inst.retries)
            if inst.retries else "")
        self._refresh_compare()

    def _show_output(self, inst: Instance) -> None:
        if inst.status == "running":
            text = inst.text
            self.out_label.setText("Output (streaming…)" if text else "Output (running…)")
            self._set_text(self.output, text)
            self._shown_stream_len = len(text)
        else:
            self.out_label.setText("Output")
            text = fmt_ports(inst.outputs) if inst.outputs is not None else ""
            if not text and inst.status == "failed":
                text = "(no output: the node failed -- the error is below)"
            self._set_text(self.output, text, top=True)
            self._shown_stream_len = -1

    @staticmethod
    def _set_text(box: QPlainTextEdit, text: str, top: bool = False) -> None:
        if box.toPlainText() != text:
            box.setPlainText(text)
            bar = box.verticalScrollBar()
            bar.setValue(bar.minimum() if top else bar.maximum())

    def on_stream(self, touched: set) -> None:
        """Streamed tokens arrived: grow the shown text when they are this instance's."""
        inst = self._current()
        if inst is None or inst.status != "running" or (inst.node, inst.scope) not in touched:
            return
        text = inst.text
        if self._shown_stream_len >= 0 and len(text) > self._shown_stream_len and \
                self.output.toPlainText() == text[:self._shown_stream_len]:
            cursor = self.output.textCursor()
            cursor.movePosition(cursor.MoveOperation.End)
            cursor.insertText(text[self._shown_stream_len:])
            self.output.verticalScrollBar().setValue(self.output.verticalScrollBar().maximum())
        else:
            self.output.setPlainText(text)
        self._shown_stream_len = len(text)
        self.out_label.setText("Output (streaming…)")

    def _fill_picker(self) -> None:
        scopes = self.state.scopes_of(self.node) if self.state and self.node else []
        show = len(scopes) > 1 or (len(scopes) == 1 and scopes[0] != ())
        self.picker.setVisible(show)
        label = self._picker_row.labelForField(self.picker)
        if label is not None:
            label.setVisible(show)
        if len(scopes) == self._picker_count:
            return
        self.picker.blockSignals(True)
        if self._picker_count <= 0 or len(scopes) < self._picker_count:
            self.picker.clear()
            self._picker_count = 0
        for scope in scopes[self._picker_count:]:
            self.picker.addItem(scope_label(scope, self.loops), scope)
        self._picker_count = len(scopes)
        if self.scope is None:
            self.picker.setCurrentIndex(self.picker.count() - 1)
        self.picker.blockSignals(False)

    def _picked(self, index: int) -> None:
        self.scope = self.picker.itemData(index)
        self.refresh()

    def pick(self, scope: tuple) -> None:
        """Show one instance (tests, and clicks elsewhere)."""
        self.scope = tuple(scope)
        for i in range(self.picker.count()):
            if self.picker.itemData(i) == self.scope:
                self.picker.setCurrentIndex(i)
        self.refresh()

    # -- comparison -------------------------------------------------------------------

    def _compare_picked(self, index: int) -> None:
        info = self.compare.itemData(index)
        self._compare_state = None
        self.compare_requested.emit(info)
        self._refresh_compare()

    def _refresh_compare(self) -> None:
        other = self._compare_state
        inst = self._current()
        active = self.compare.currentData() is not None
        self.compare_output.setVisible(active)
        self.compare_status.setVisible(active)
        if not active:
            return
        if other is None:
            self.compare_status.setText("Reading that run…")
            self.compare_output.setPlainText("")
            return
        scope = inst.scope if inst is not None else ()
        theirs = other.instance(self.node, scope) if self.node else None
        if theirs is None and self.node:
            theirs = other.instance(self.node)
        mine_text = fmt_ports(inst.outputs) if inst is not None and inst.outputs is not None else ""
        their_text = fmt_ports(theirs.outputs) if theirs is not None and theirs.outputs is not None else ""
        if theirs is None:
            self.compare_status.setText("This node did not run in that run.")
            self.compare_output.setPlainText("")
            return
        if mine_text == their_text:
            self.compare_status.setText("Same output in both runs.")
            self.compare_output.setPlainText(their_text)
            return
        diff = list(difflib.unified_diff(their_text.splitlines(), mine_text.splitlines(), "that run", "this run", lineterm="", n=2))
        changed = sum(1 for line in diff if line[:1] in "+-" and not line.startswith(("+++", "---")))
        self.compare_status.setText(f"Outputs differ ({changed} line(s)); that run's output, then the diff:")
        self.compare_output.setPlainText(their_text + "\n\n" + "\n".join(diff))
