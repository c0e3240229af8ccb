"""The Tests panel: the flow's own test cases (``tests`` in the file), run from the studio.

* Lists every case of ``studio.core.sharing.flowtests`` with its expectations; **Run tests**
  runs them one after another with ``run_case`` -- the function ``orchestra test`` uses
  -- so each case shows the same pass/fail and the same messages as
  ``orchestra test FLOW --mock``.
* **Mock by default**: tests run in mock mode unless the person has switched Mock off
  on the Run toolbar themselves (then they call the models, and the panel says that it
  costs money). The automatic choice the toolbar makes from the API keys never turns
  tests live.
* Off the GUI thread: cases run on an asyncio loop in a thread of their own (the run
  host child process only knows whole runs with approvals sent to the window, while a
  case approves by itself); each result crosses back in a queued signal, so the list
  fills in case by case and the window never waits. Stop cancels the case in flight
  and the rest.
* The same gate as Run: missing node types refuse with the reason, untrusted flow code
  asks first (``sharing.py``).
"""

from __future__ import annotations

import asyncio
from html import escape
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from studio.core.document.model import ModelWatch
from studio.core.running.runstate import fmt_cost

from . import theme
from .loop_thread import LoopThread

RESULT_ROLE = Qt.UserRole + 1


def _expect_text(e: dict[str, Any]) -> str:
    where = str(e.get("output", "?")) + (f" {e['json_path']}" if "json_path" in e else "")
    for key in ("equals", "contains", "regex"):
        if key in e:
            value = e[key]
            return f"{where} {key} {value!r}" if key != "regex" else f"{where} matches /{value}/"
    return f"{where}: (no check)"


class TestsPanel(QWidget):
    run_requested = Signal()
    stop_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("testsPanel")
        self.run_button = QPushButton("Run tests", self)
        self.run_button.setObjectName("runTestsButton")
        self.run_button.setToolTip("Run every test case of this flow (as `orchestra test FLOW --mock`)")
        self.stop_button = QPushButton("Stop", self)
        self.stop_button.setObjectName("stopTestsButton")
        self.stop_button.setEnabled(False)
        self.mode = QLabel(self)
        self.mode.setObjectName("testsMode")
        self.summary = QLabel(self)
        self.summary.setObjectName("testsSummary")
        self.summary.setTextFormat(Qt.RichText)
        bar = QHBoxLayout()
        bar.setContentsMargins(6, 4, 6, 4)
        bar.setSpacing(8)
        bar.addWidget(self.run_button)
        bar.addWidget(self.stop_button)
        bar.addWidget(self.mode)
        bar.addStretch(1)
        bar.addWidget(self.summary)
        self.message = QLabel(self)
        self.message.setObjectName("testsMessage")
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.RichText)
        self.message.setContentsMargins(8, 2, 8, 4)
        self.message.hide()
        self.tree = QTreeWidget(self)
        self.tree.setObjectName("testsTree")
        self.tree.setHeaderLabels(["Case", "Result"])
        self.tree.setColumnWidth(0, 260)
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        self.empty = QLabel("This flow has no test cases. Add a <code>tests</code> list to the flow file: each case "
                            "gives <code>inputs</code> and <code>expect</code>ations on outputs "
                            "(<code>equals</code>, <code>contains</code>, <code>regex</code>, <code>json_path</code>).", self)
        self.empty.setObjectName("dim")
        self.empty.setWordWrap(True)
        self.empty.setContentsMargins(8, 8, 8, 8)
        self.empty.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.message)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.empty, 1)
        self.run_button.clicked.connect(lambda: self.run_requested.emit())
        self.stop_button.clicked.connect(lambda: self.stop_requested.emit())
        self.cases: list[dict[str, Any]] = []
        self.results: dict[int, Any] = {}
        self._mock = True
        self.set_cases([])

    # -- what is shown ----------------------------------------------------------------

    def set_cases(self, cases: list[dict[str, Any]]) -> None:
        """The flow's cases, not run yet (results of an earlier flow are dropped)."""
        self.cases = list(cases)
        self.results = {}
        self.tree.clear()
        for i, case in enumerate(self.cases):
            item = QTreeWidgetItem([str(case.get("name") or f"case {i + 1}"), "not run"])
            item.setIcon(0, theme.result_icon("queued"))
            item.setForeground(1, theme.TEXT_DIM)
            for e in case.get("expect") or []:
                if isinstance(e, dict):
                    child = QTreeWidgetItem(["", _expect_text(e)])
                    child.setForeground(1, theme.TEXT_DIM)
                    item.addChild(child)
            inputs = case.get("inputs") or {}
            item.setToolTip(0, "inputs: " + ", ".join(f"{k}={v!r}" for k, v in inputs.items()) if inputs else "no inputs")
            self.tree.addTopLevelItem(item)
        has = bool(self.cases)
        self.tree.setVisible(has)
        self.empty.setVisible(not has)
        self.run_button.setEnabled(has)
        self.summary.setText(f"{len(self.cases)} case{'s' * (len(self.cases) != 1)}" if has else "")
        self.show_message("")

    def set_mode(self, mock: bool) -> None:
        self._mock = mock
        if mock:
            self.mode.setText("Mock: LLM nodes give their mock responses (no key, nothing paid; costs shown are estimates)")
            self.mode.setStyleSheet(f"color: {theme.TEXT_DIM.name()}")
        else:
            self.mode.setText("Live: Mock is off on the Run toolbar, so cases call the models (this costs money)")
            self.mode.setStyleSheet(f"color: {theme.WARNING.name()}")

    def show_message(self, html: str) -> None:
        self.message.setText(html)
        self.message.setVisible(bool(html))

    def set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running and bool(self.cases))
        self.stop_button.setEnabled(running)
        if running:
            self.results = {}
            for i in range(self.tree.topLevelItemCount()):
                item = self.tree.topLevelItem(i)
                item.setText(1, "waiting")
                item.setIcon(0, theme.result_icon("queued"))
                item.setForeground(1, theme.TEXT_DIM)
                self._reset_children(i)

    def _reset_children(self, i: int) -> None:
        item = self.tree.topLevelItem(i)
        item.takeChildren()
        case = self.cases[i] if i < len(self.cases) else {}
        for e in case.get("expect") or []:
            if isinstance(e, dict):
                child = QTreeWidgetItem(["", _expect_text(e)])
                child.setForeground(1, theme.TEXT_DIM)
                item.addChild(child)

    def case_started(self, i: int) -> None:
        item = self.tree.topLevelItem(i)
        if item is not None:
            item.setText(1, "running…")
            item.setIcon(0, theme.result_icon("running"))

    def case_finished(self, i: int, result) -> None:
        """``result``: a studio.core.sharing.flowtests.CaseResult."""
        self.results[i] = result
        item = self.tree.topLevelItem(i)
        if item is None:
            return
        item.setData(0, RESULT_ROLE, result)
        item.setIcon(0, theme.result_icon("pass" if result.ok else "fail"))
        item.takeChildren()
        first_failure = None
        for c in result.checks:
            child = QTreeWidgetItem(["", c.message])
            child.setIcon(1, theme.result_icon("pass" if c.ok else "fail", 12))
            child.setForeground(1, theme.TEXT if not c.ok else theme.TEXT_DIM)
            item.addChild(child)
            if not c.ok and first_failure is None:
                first_failure = c.message
        expected = (self.cases[i].get("status", "succeeded") if i < len(self.cases) else "succeeded")
        if result.status != expected:
            why = f"the run {result.status}" + (f": {result.error}" if result.error else "") + f" (expected {expected})"
            child = QTreeWidgetItem(["", why])
            child.setIcon(1, theme.result_icon("fail", 12))
            item.insertChild(0, child)
            first_failure = why
        elif result.error:
            item.addChild(QTreeWidgetItem(["", f"{result.status}: {result.error}"]))
        if result.ok:
            item.setText(1, "passed")
            item.setForeground(1, theme.RUN_COLORS["done"])
        else:
            item.setText(1, f"failed: {first_failure or 'see below'}")
            item.setForeground(1, theme.ERROR)
            item.setExpanded(True)
        tip = "outputs:\n" + "\n".join(f"  {k} = {v!r}"[:300] for k, v in result.outputs.items()) if result.outputs else "no outputs"
        if result.cost_usd:
            tip += f"\ncost: {fmt_cost(result.cost_usd, estimate=self._mock)}" + (" (mock: nothing was paid)" if self._mock else "")
        item.setToolTip(1, tip)
        self._summarize()

    def _summarize(self, stopped: bool = False) -> None:
        n = len(self.cases)
        passed = sum(1 for r in self.results.values() if r.ok)
        failed = len(self.results) - passed
        parts = [f"{n} case{'s' * (n != 1)}"]
        if self.results:
            parts.append(f"<span style='color:{theme.RUN_COLORS['done'].name()}'>{passed} passed</span>")
            parts.append(f"<span style='color:{theme.ERROR.name() if failed else theme.TEXT_DIM.name()}'>{failed} failed</span>")
        if stopped:
            parts.append("stopped")
        self.summary.setText(" · ".join(parts))

    def finished(self, stopped: bool) -> None:
        self.run_button.setEnabled(bool(self.cases))
        self.stop_button.setEnabled(False)
        for i in range(self.tree.topLevelItemCount()):
            if i not in self.results:
                item = self.tree.topLevelItem(i)
                item.setText(1, "not run (stopped)" if stopped else "not run")
                item.setIcon(0, theme.result_icon("queued"))
        self._summarize(stopped)


class FlowTestRunner(QObject):
    """Runs the open flow's test cases on a loop thread of its own and feeds the panel."""

    finished = Signal(object)  # {index: CaseResult}
    _started = Signal(int, int)  # token, case index
    _case_done = Signal(int, int, object)  # token, case index, CaseResult
    _all_done = Signal(int, bool)  # token, cancelled

    def __init__(self, window, panel: TestsPanel, parent: QObject | None = None):
        super().__init__(parent)
        self.window = window
        self.panel = panel
        self._token = 0
        self._future = None
        self._loop = LoopThread("orchestra-tests")
        self._watch = ModelWatch()
        self._cases_sig: str | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(400)
        self._timer.timeout.connect(self._model_settled)
        # queued, all three, whichever thread emits: the cases report from the loop thread,
        # but "all done" may be emitted here, at once, when the cases ended before the
        # callback was added -- direct, it overtook the case results still in the queue and
        # showed a finished run with none of them (seen under load in CI)
        self._started.connect(self._on_started, Qt.QueuedConnection)
        self._case_done.connect(self._on_case_done, Qt.QueuedConnection)
        self._all_done.connect(self._on_all_done, Qt.QueuedConnection)
        panel.run_requested.connect(self.run_tests)
        panel.stop_requested.connect(self.stop)
        window.run_toolbar.mock_action.toggled.connect(lambda _: self._update_mode())

    @property
    def model(self):
        return self.window.document.model

    @property
    def running(self) -> bool:
        return self._future is not None

    def mock(self) -> bool:
        """Mock unless the person switched Mock off on the Run toolbar themselves."""
        runs = self.window.runs
        return runs.toolbar.mock_action.isChecked() or not runs.mock_chosen

    def _update_mode(self) -> None:
        self.panel.set_mode(self.mock())

    def document_changed(self) -> None:
        self.stop()
        if self._future is not None:  # whatever the old flow's run still reports is ignored
            self._future = None
            self._token += 1
            self.panel.set_running(False)
        self._watch.watch(self.model, lambda ev: self._timer.start())
        self._cases_sig = None
        self._model_settled()
        self._update_mode()

    def _cases(self) -> list[dict[str, Any]]:
        from studio.core.sharing.flowtests import cases_of

        return cases_of(self.model.meta)

    def _model_settled(self) -> None:
        import json

        cases = self._cases()
        sig = json.dumps(cases, sort_keys=True, default=repr)
        if sig == self._cases_sig:
            if self.panel.results and not self.running:
                self.panel.show_message(f"<span style='color:{theme.TEXT_DIM.name()}'>The flow changed since these results; "
                                        "run the tests again.</span>")
            return
        self._cases_sig = sig
        if not self.running:
            self.panel.set_cases(cases)
        self._update_dock_title()

    def _refuse(self, why: str) -> bool:
        self.panel.show_message(f"<span style='color:{theme.ERROR.name()}'>Not run: {escape(why)}</span>")
        self.window.statusBar().showMessage(f"Tests not run: {why}", 8000)
        return False

    def run_tests(self) -> bool:
        from studio.core.running.plan import FlowInvalid, compile_plan

        if self.running:
            return False
        self._timer.stop()
        self._cases_sig = None
        self._model_settled()
        cases = self.panel.cases
        if not cases:
            return self._refuse("this flow has no test cases")
        sharing = self.window.sharing
        why = sharing.missing_reason()
        if why:
            return self._refuse(why)
        try:
            plan = compile_plan(self.model)
        except FlowInvalid as exc:
            self.window.show_panel(self.window.problems_dock)
            return self._refuse(f"{exc}. See the Problems panel.")
        why = sharing.confirm_trust()
        if why:
            return self._refuse(why)
        mock = self.mock()
        self._update_mode()
        settings: dict[str, Any] = {}
        api_base = self.window.runs.api_base()
        if api_base and not mock:
            settings["api_base"] = api_base
        self._token += 1
        token = self._token
        self.panel.show_message("")
        self.panel.set_running(True)
        self._update_dock_title(running=True)
        started, case_done = self._started, self._case_done

        async def go() -> None:
            from studio.core.sharing.flowtests import CaseResult, run_case

            for i, case in enumerate(cases):
                started.emit(token, i)
                try:
                    result = await run_case(plan, case, mock, settings)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - a case that cannot run fails, with the reason
                    result = CaseResult(str(case.get("name") or "case"), False, "failed", error=f"{type(exc).__name__}: {exc}")
                case_done.emit(token, i, result)

        fut = self._loop.submit(go())
        self._future = fut
        fut.add_done_callback(lambda f, t=token: self._emit_done(t, f.cancelled()))
        return True

    def _emit_done(self, token: int, cancelled: bool) -> None:
        try:
            self._all_done.emit(token, cancelled)
        except RuntimeError:  # the window is gone
            pass

    def stop(self) -> None:
        fut = self._future
        if fut is not None and not fut.done():
            fut.cancel()

    def _on_started(self, token: int, i: int) -> None:
        if token == self._token:
            self.panel.case_started(i)

    def _on_case_done(self, token: int, i: int, result) -> None:
        if token == self._token:
            self.panel.case_finished(i, result)

    def _on_all_done(self, token: int, cancelled: bool) -> None:
        if token != self._token:
            return
        fut, self._future = self._future, None
        if cancelled:
            self._token += 1  # what the cancelled task still reports is ignored
        error = None
        if fut is not None and not cancelled:
            try:
                fut.result()
            except BaseException as exc:  # noqa: BLE001 - shown
                error = exc
        self.panel.finished(cancelled)
        if error is not None:
            self._refuse(f"{type(error).__name__}: {error}")
        self._update_dock_title()
        results = dict(self.panel.results)
        failed = sum(1 for r in results.values() if not r.ok)
        if not cancelled and error is None:
            self.window.statusBar().showMessage(
                f"Tests: {len(results) - failed} passed, {failed} failed", 6000)
        self.finished.emit(results)

    def _update_dock_title(self, running: bool = False) -> None:
        dock = getattr(self.window, "tests_dock", None)
        if dock is None:
            return
        results = self.panel.results
        if running:
            title = "Tests (running)"
        elif results:
            failed = sum(1 for r in results.values() if not r.ok)
            title = f"Tests ({failed} failed)" if failed else f"Tests ({len(results)} passed)"
        else:
            title = f"Tests ({len(self.panel.cases)})" if self.panel.cases else "Tests"
        dock.setWindowTitle(title)

    def shutdown(self) -> None:
        self._timer.stop()
        self._token += 1  # the window is closing: nothing more is shown
        self._future = None
        self._loop.close()
