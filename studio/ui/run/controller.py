"""Runs the open flow from the window and shows it live: the glue of the run UI.

* Run compiles the document's model into a plan (a snapshot: parameters are copied), so
  editing during a run is fine -- the run never sees the edits, and run state never
  enters the model or its undo stack.
* The plan runs on the worker's thread; event batches (one per frame at most) are
  folded into a RunState, and only the nodes an event touched are repainted.
* Run from a node pins the outputs the last run produced for every node that is not the
  selected node or downstream of it (upstream nodes and side branches), so nothing
  before it is called again; the executor reuses a pinned output only while its cache
  key (type, parameters, inputs) still matches, so an edited upstream node does run.
* Mock is switched on by default when a model the flow uses has no key (looked up off
  the GUI thread); the Run panel says which provider and nodes, until the person
  chooses for themselves.
* History opens a trace into a RunState without running anything.
* Before a run (``sharing.py``): a flow whose node types are not installed is refused
  with the packages to install; the flow's own tool code in an untrusted folder is run
  only after the person trusts the folder (asked once; declining runs nothing).
"""

from __future__ import annotations

import time
from html import escape
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QLabel

from studio.core.document import flowfile
from studio.core.document.model import ModelWatch
from studio.core.running.executor import RunOptions
from studio.core.running.plan import FlowInvalid, compile_plan, missing_inputs
from studio.core.running.runstate import RunState, fmt_cost, fmt_latency, fmt_tokens, new_trace_path, trace_folder

from .. import theme
from ..background import Background
from ..canvas.node_item import RunLook
from .approval_dialog import ApprovalDialog
from .history import list_runs, load_run
from .worker import RunWorker

MODEL_PARAMS = ("model",)


class RunController(QObject):
    run_started = Signal()
    run_ended = Signal(object)  # RunState

    def __init__(self, window, settings, parent: QObject | None = None):
        super().__init__(parent)
        self.window = window
        self.settings = settings
        self.scene = window.scene
        self.toolbar = window.run_toolbar
        self.panel = window.run_panel
        self.history = window.history_panel
        self.last_run = window.last_run
        self.worker = RunWorker(self)
        self.worker.events.connect(self._on_events)
        self.worker.finished.connect(self._on_finished)
        self.background = Background(self)
        self.state: RunState | None = None  # what the canvas shows (live, latest or replayed)
        self.latest: RunState | None = None  # the newest run of this session
        self.viewing: Path | None = None  # a history trace being shown
        self.dialogs: dict[tuple[str, tuple], ApprovalDialog] = {}
        self._loops: set[str] = set()
        self._collect_of_fanout: dict[str, str] = {}  # collect -> its fan-out
        self._tail_of: dict[str, str] = {}  # fan-out -> its collect
        self._note = ""
        self.missing_keys: dict[str, list[str]] = {}
        self._mock_chosen = False  # the person toggled Mock: stop choosing for them
        self._mock_setting = False
        self._keys_signature: tuple | None = None
        self._watch = ModelWatch()
        self.status_label = QLabel("")
        self.status_label.setObjectName("runStatus")
        window.statusBar().addPermanentWidget(self.status_label)
        self._tick = QTimer(self)
        self._tick.setInterval(200)
        self._tick.timeout.connect(self._update_status)
        self._model_timer = QTimer(self)
        self._model_timer.setSingleShot(True)
        self._model_timer.setInterval(400)
        self._model_timer.timeout.connect(self._model_settled)

        tb = self.toolbar
        tb.run_action.triggered.connect(lambda: self.run())
        tb.run_from_action.triggered.connect(lambda: self.run_from_selected())
        tb.stop_action.triggered.connect(self.stop)
        tb.mock_action.toggled.connect(self._mock_toggled)
        tb.budget.setValue(float(settings.value("run/budget", 0.0) or 0.0))
        tb.concurrency.setValue(int(settings.value("run/concurrency", 16) or 16))
        self.history.open_requested.connect(self.open_history)
        self.history.refresh_requested.connect(self.refresh_history)
        self.history.back_requested.connect(self.show_latest)
        self.last_run.compare_requested.connect(self._compare)
        self.scene.selectionChanged.connect(self._selection_changed)
        self.last_run.edges_into = lambda node: [tuple(e) for e in self.model.edges_into(node)] \
            if node in self.model.nodes else []

    # -- the document -------------------------------------------------------------------

    @property
    def model(self):
        return self.window.document.model

    def document_changed(self) -> None:
        """A different flow is open: forget the shown run and look at it afresh."""
        self._watch.watch(self.model, lambda ev: self._model_timer.start())
        self.state = self.latest = None
        self.viewing = None
        self.scene.clear_run()
        self.last_run.set_state(None)
        self.panel.show_state(None)
        self._mock_chosen = False
        self._keys_signature = None
        self.status_label.setText("")
        self._model_settled()
        self.refresh_history()

    def _model_settled(self) -> None:
        if self.background._closed:
            return
        self.panel.inputs.set_inputs(self._input_specs())
        self._check_keys()

    def _input_specs(self) -> list[dict[str, Any]]:
        out = []
        model = self.model
        for nid, node in sorted(model.nodes.items(), key=lambda kv: (kv[1].y, kv[1].x)):
            if node.type == "input":
                p = node.params
                out.append({"name": str(p.get("name") or nid), "type": p.get("type", "text"), "default": p.get("default"),
                            "description": p.get("description", "")})
        return out

    # -- mock by default when a key is missing -----------------------------------------

    def api_base(self) -> str:
        return str(self.settings.value("run/api_base", "") or "")

    def _models_used(self) -> list[tuple[str, str, str]]:
        """(model, node, node's api_base) for every model a node of the flow would call."""
        out = []
        from ..param_rules import applies

        for nid, node in self.model.nodes.items():
            p = self.model.params(nid)  # resolved: a Branch that omits its model still calls the default one
            if not applies(node.type, "model", p):
                continue  # a Branch in expression mode calls no model: no key needed
            model = p.get("model")
            if not isinstance(model, str) or not model.strip():
                continue
            base = str(p.get("api_base") or "")
            out.append((model.strip(), nid, base))
            for fb in p.get("fallback_models") or []:
                if isinstance(fb, str) and fb.strip():
                    out.append((fb.strip(), nid, base))
        return out

    def _check_keys(self) -> None:
        used = self._models_used()
        run_base = self.api_base()
        sig = (tuple(sorted(used)), run_base)
        if sig == self._keys_signature:
            return
        self._keys_signature = sig
        if used:
            if self.worker.mode == "process":
                self.worker.prestart()  # the run host imports litellm now, so the first run does not wait
            else:
                from studio.llm.runtime import warm_up

                warm_up()  # import litellm now, on its own thread, so the first run does not wait

        def look() -> dict[str, list[str]]:
            from studio.core.userdata.credentials import key_info
            from studio.llm.providers import needs_key, provider_of

            missing: dict[str, list[str]] = {}
            for model, nid, base in used:
                provider = provider_of(model)
                if not provider or not needs_key(provider, run_base or base or None):
                    continue
                if key_info(provider).source == "none":
                    missing.setdefault(provider, [])
                    if nid not in missing[provider]:
                        missing[provider].append(nid)
            return missing

        self.background.submit(look, lambda missing, s=sig: self._keys_known(s, missing),
                               lambda exc: self._keys_known(sig, None, str(exc)))

    def _keys_known(self, sig, missing: dict[str, list[str]] | None, problem: str = "") -> None:
        if sig != self._keys_signature:
            return  # the flow changed meanwhile; a newer look-up is on its way
        self.missing_keys = missing or {}
        if missing:
            what = "; ".join(f"{prov} (used by {', '.join(nodes[:4])}{'…' if len(nodes) > 4 else ''})"
                             for prov, nodes in missing.items())
            reason = (f"Mock is on because there is no API key for {what}. Add one in Settings → API keys "
                      f"or set the provider's environment variable, then switch Mock off.")
        elif problem:
            reason = f"Could not check the API keys: {problem}"
        else:
            reason = ""
        if not self._mock_chosen:
            self._set_mock(bool(missing))
            self._mock_reason_auto = reason
            self.panel.set_mock_reason(reason if missing else ("Mock is off: every model the flow uses has a key."
                                                               if self._models_used() else ""), bool(missing))
        elif missing and not self.toolbar.mock_action.isChecked():
            self.panel.set_mock_reason(f"Mock is off, but there is no API key for {what}: those nodes will fail.", True)

    def _set_mock(self, on: bool) -> None:
        self._mock_setting = True
        self.toolbar.mock_action.setChecked(on)
        self._mock_setting = False

    def _mock_toggled(self, on: bool) -> None:
        if self._mock_setting:
            return
        self._mock_chosen = True
        self.panel.set_mock_reason("Mock is on (your choice): LLM nodes answer with their mock responses." if on else
                                   "Mock is off (your choice): LLM nodes call their models.", False)

    # -- running ------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.worker.busy

    @property
    def mock_chosen(self) -> bool:
        """The person toggled Mock themselves (the Tests panel follows only that choice)."""
        return self._mock_chosen

    def _not_run(self, why: str) -> bool:
        self.panel.show_state(None, f"<span style='color:{theme.ERROR.name()}'>Not run: {escape(why)}</span>")
        self.window.statusBar().showMessage(f"Not run: {why}", 8000)
        self.window.show_panel(self.window.run_dock)
        return False

    def run(self, pinned: dict[str, dict[str, Any]] | None = None, note: str = "",
            inputs: dict[str, Any] | None = None, settings: dict[str, Any] | None = None) -> bool:
        """Run the open flow; ``inputs``/``settings`` given (the Chat panel's turn) replace the
        Run panel's input form and add to the run's settings."""
        if self.running:
            return False
        model = self.model
        sharing = getattr(self.window, "sharing", None)
        why = sharing.missing_reason() if sharing is not None else None
        if why:  # before compiling: the reason, not "the flow has N error(s)"
            return self._not_run(why)
        try:
            plan = compile_plan(model)
        except FlowInvalid as exc:
            self.panel.show_state(None, f"<span style='color:{theme.ERROR.name()}'>Not run: {exc}. "
                                        "See the Problems panel.</span>")
            self.window.statusBar().showMessage(f"Not run: {exc}", 8000)
            self.window.show_panel(self.window.problems_dock)
            return False
        if inputs is None:
            self.panel.inputs.set_inputs(self._input_specs())  # current even inside the edit debounce
            inputs, problems = self.panel.inputs.collect()
        else:
            problems = []
        missing = missing_inputs(plan, inputs)
        if missing or problems:
            why = "; ".join(problems + ([f"the flow needs input(s): {', '.join(missing)}"] if missing else []))
            self.panel.show_state(None, f"<span style='color:{theme.ERROR.name()}'>Not run: {why}</span>")
            self.window.show_panel(self.window.run_dock)
            return False
        why = sharing.confirm_trust() if sharing is not None else None
        if why:  # the flow's own code, in a folder the person did not trust: nothing runs
            return self._not_run(why)
        try:
            from studio.core.userdata.credentials import known_secrets

            # the run host asks the keyring itself, off the GUI thread (a locked wallet can block)
            secrets = sorted(known_secrets(include_keyring=self.worker.mode == "thread"))
        except Exception:  # redaction of env keys must not stop a run
            secrets = []
        extra_settings, settings = settings, {}
        if self.api_base():
            settings["api_base"] = self.api_base()
        settings.update(extra_settings or {})
        budget = self.toolbar.budget_usd()
        options = RunOptions(inputs=inputs, concurrency=self.toolbar.concurrency.value(), budget_usd=budget,
                             mock=self.toolbar.mock_action.isChecked(), pinned=dict(pinned or {}), settings=settings,
                             trace=new_trace_path(self.trace_folder()), secrets=secrets)
        self._close_dialogs()
        self._structure(model)
        state = RunState(plan.nodes.keys(), live=True, budget_usd=budget)
        self.state = self.latest = state
        self.viewing = None
        self.scene.clear_run()
        queued = RunLook("queued")
        for nid in plan.nodes:
            self.scene.set_run_look(nid, queued)
        self.last_run.set_state(state, self._loops)
        self._note = note
        self.panel.show_state(state, note)
        try:
            self.worker.start(plan, options, flowfile.to_document(model))
        except Exception as exc:  # noqa: BLE001 - shown, never a crash
            state.status, state.error, state.ended = "failed", f"could not start: {exc}", True
            self.panel.show_state(state)
            return False
        self.toolbar.set_running(True)
        self._tick.start()
        self._update_status()
        self.window.inspector_tabs.setCurrentWidget(self.last_run)
        self.window.show_panel(self.window.run_dock)
        self.run_started.emit()
        return True

    def run_from_selected(self) -> bool:
        sel = self.scene.selected_node_ids()
        if len(sel) != 1:
            self.window.statusBar().showMessage("Select one node to run from", 6000)
            return False
        return self.run_from(sel[0])

    def run_from(self, node_id: str) -> bool:
        source = self.latest or self.state
        if source is None:
            runs = list_runs(self.trace_folder())
            if runs:
                source = load_run(runs[0].path)
        if source is None:
            self.window.statusBar().showMessage("No earlier run to reuse: running the whole flow", 6000)
            return self.run()
        pinned = self.pins_for(node_id, source)
        note = f"Run from <b>{node_id}</b>: reusing {len(pinned)} output(s) of the run at " \
               f"{time.strftime('%H:%M:%S', time.localtime(source.started_at))}"
        return self.run(pinned, note)

    def pins_for(self, node_id: str, source: RunState) -> dict[str, dict[str, Any]]:
        """Last run's outputs for every node that is neither ``node_id`` nor downstream of it."""
        import networkx as nx

        from studio.core.document.graph import analyze

        model = self.model
        st = analyze(model)
        g = st.graph
        again = {node_id} | (nx.descendants(g, node_id) if node_id in g else set())
        # a node inside a loop body or fan-out region runs with its scope: its head reruns
        for sid in st.chain(node_id) if node_id in st.scope_of else []:
            info = st.scopes.get(sid)
            if info is not None:
                again |= set(info.closure) | set(nx.descendants(g, sid))
        done = source.root_outputs()
        pins = {}
        for nid, node in model.nodes.items():
            if nid in again or nid not in done:
                continue
            if model.node_type(nid).kind == "output":
                continue  # cheap, and its value must reach the run's outputs
            pins[nid] = done[nid]
        return pins

    def stop(self) -> None:
        if self.running:
            self.worker.cancel()
            self.window.statusBar().showMessage("Stopping…", 3000)

    def _on_events(self, batch) -> None:
        state = self.state
        if state is None or not state.live:
            # a history run is being shown: keep folding into the live state silently
            target = self.latest
            if target is not None:
                target.feed(batch)
                target.take_dirty(), target.take_flashes(), target.stream_touched.clear()
                self._approvals(target)
            return
        state.feed(batch)
        self._apply(state)

    def _apply(self, state: RunState) -> None:
        dirty = state.take_dirty()
        for nid in dirty:
            self.scene.set_run_look(nid, self.look(state, nid))
            tail = self._tail_of.get(nid)
            if tail is not None:
                self.scene.set_run_look(tail, self.look(state, tail))
        flashes = state.take_flashes()
        if flashes and state.live:
            self.scene.flash_wires(set(flashes))
        if state.live:
            self._approvals(state)
        self.last_run.refresh(dirty)
        if state.stream_touched:
            self.last_run.on_stream(state.stream_touched)
            state.stream_touched.clear()
        if state.ended:
            self.panel.show_state(state, getattr(self, "_note", "") if state is self.latest else "")

    def _approvals(self, state: RunState) -> None:
        for node, scope, req in state.approvals_opened:
            if (node, scope) in self.dialogs:
                continue
            title = self.model.nodes[node].title if node in self.model.nodes and self.model.nodes[node].title else node
            dlg = ApprovalDialog(node, scope, title, req.get("message", ""), req.get("value"), self.window)
            dlg.answered.connect(self._approval_answered)
            dlg.destroyed.connect(lambda *_, k=(node, scope): self.dialogs.pop(k, None))
            self.dialogs[(node, scope)] = dlg
            dlg.show()
            dlg.raise_()
        state.approvals_opened.clear()
        for key in state.approvals_closed:
            dlg = self.dialogs.pop(key, None)
            if dlg is not None:
                dlg.dismiss()
        state.approvals_closed.clear()

    def _approval_answered(self, node: str, scope, decision) -> None:
        self.dialogs.pop((node, tuple(scope)), None)
        self.worker.resolve_approval(node, tuple(scope), decision)

    def _close_dialogs(self) -> None:
        for dlg in list(self.dialogs.values()):
            dlg.dismiss()
        self.dialogs.clear()

    def _on_finished(self, result) -> None:
        self.toolbar.set_running(False)
        self._tick.stop()
        state = self.latest
        if state is not None and not state.ended:
            # the run could not even start or ended without its end event (a bug): say so
            state.ended = True
            state.status = "failed"
            state.error = str(result) if isinstance(result, BaseException) else getattr(result, "error", None)
        if state is not None and not isinstance(result, BaseException):
            state.trace_path = getattr(result, "trace_path", None)
        self._close_dialogs()
        if state is not None and self.state is state:
            self._apply(state)
            self.panel.show_state(state, getattr(self, "_note", ""))
        self._update_status()
        self.refresh_history()
        msg = {"succeeded": "Run finished", "cancelled": "Run stopped", "budget_exceeded": "Budget spent: run stopped"}
        if state is not None:
            self.window.statusBar().showMessage(msg.get(state.status, f"Run {state.status}"), 6000)
            self.run_ended.emit(state)

    # -- what a node shows ---------------------------------------------------------------

    def _structure(self, model) -> None:
        self._loops, self._tail_of = set(), {}
        try:
            from studio.core.document.graph import analyze

            st = analyze(model)
        except Exception:  # a broken flow still shows what it can
            return
        for sid, info in st.scopes.items():
            if info.kind == "loop":
                self._loops.add(sid)
            elif info.tail:
                self._tail_of[sid] = info.tail
                self._collect_of_fanout[info.tail] = sid

    def look(self, state: RunState, nid: str) -> RunLook:
        nv = state.nodes.get(nid)
        if nv is None:
            return RunLook("queued")
        status = nv.status
        progress = ""
        fan = nv.fanout
        head = self._collect_of_fanout.get(nid)
        if fan is None and head is not None and head in state.nodes:
            fan = state.nodes[head].fanout
            if fan is not None and status == "queued" and state.nodes[head].status == "running":
                status = "running"
        if fan is not None:
            done, failed, total = fan
            progress = f"{done + failed} of {total}" + (f" · {failed} failed" if failed else "")
        elif nv.iteration is not None:
            it, cap = nv.iteration
            progress = f"iteration {it}" + (f" of {cap}" if cap else "")
        elif nv.running + nv.instances > 1:
            progress = f"{nv.instances} runs" + (f" · {nv.running} running" if nv.running else "") + \
                       (f" · {nv.failed} failed" if nv.failed else "")
        elif status == "waiting":
            progress = "waiting for approval"
        bits = []
        n = nv.instances
        if n and status not in ("queued", "skipped") and fan is None and nv.iteration is None \
                and (nv.done or nv.cached or nv.latency_s):  # a node that failed before it started took no time
            bits.append(fmt_latency(nv.latency_s / n) + (" avg" if n > 1 else ""))
        elif fan is not None or nv.iteration is not None:
            if nv.latency_s:
                bits.append(fmt_latency(nv.latency_s))
        if nv.tokens_in or nv.tokens_out:
            bits.append(f"{fmt_tokens(nv.tokens_in + nv.tokens_out)} tok")
        if nv.tokens_in or nv.tokens_out or nv.cost_usd or nv.cost_unknown:
            bits.append(fmt_cost(nv.cost_usd if nv.cost_usd or not nv.cost_unknown else None, nv.cost_unknown,
                                 estimate=state.mock))
        if nv.cached and not nv.done:
            bits.append("cached")
        if nv.retries:
            bits.append(f"{nv.retries} retr{'y' if nv.retries == 1 else 'ies'}")
        if status == "skipped":
            bits.append("skipped")
        return RunLook(status, progress, " · ".join(bits))

    def _update_status(self) -> None:
        state = self.state
        if state is None:
            self.status_label.setText("")
            return
        done, total = state.nodes_done()
        cost = fmt_cost(state.cost_usd, state.cost_unknown, estimate=state.mock)
        budget = state.budget_usd
        over = budget is not None and state.cost_usd >= budget
        cost_text = f"{cost} of ${budget:g}" if budget is not None else cost
        verb = {"running": "Running", "succeeded": "Finished", "failed": "Failed", "cancelled": "Stopped",
                "budget_exceeded": "Budget spent", "incomplete": "Incomplete"}.get(state.status, state.status)
        prefix = "History: " if not state.live else ""
        if state.live and not state.started and not state.ended:
            # the run host may still be loading litellm: no node is pending yet, no clock runs
            self.status_label.setText(f"Starting… · {total} nodes · preparing the run")
            if state is self.latest:
                self.panel.show_state(state, getattr(self, "_note", ""))
            return
        text = (f"{prefix}{verb} · {fmt_latency(state.elapsed())} · {done}/{total} nodes · "
                f"{fmt_tokens(state.tokens_in + state.tokens_out)} tokens · "
                f"<span style='color:{theme.ERROR.name() if over else theme.TEXT.name()}'>{cost_text}</span>")
        self.status_label.setText(text)
        if state.live and not state.ended and state is self.latest:
            # the Run panel's header counts along with the status bar (its outputs wait for the end)
            self.panel.show_state(state, getattr(self, "_note", ""))

    # -- history ------------------------------------------------------------------------

    def trace_folder(self) -> Path:
        """This flow's runs: keyed by its file (an unsaved flow by its document id)."""
        doc = self.window.document
        return trace_folder(doc.path, doc.doc_id, self.model.name)

    def refresh_history(self) -> None:
        folder = self.trace_folder()

        def done(runs) -> None:
            self.history.set_runs(runs, self.viewing)
            self.last_run.set_runs(runs)

        self.background.submit(lambda: list_runs(folder), done)

    def open_history(self, info) -> None:
        if info is None:
            return
        node_ids = list(self.model.nodes)

        def shown(state: RunState) -> None:
            self._structure(self.model)
            self.state = state
            self.viewing = info.path
            self.scene.clear_run()
            for nid in state.nodes:
                if nid in self.scene.nodes:
                    self.scene.set_run_look(nid, self.look(state, nid))
            state.take_dirty(), state.take_flashes()
            state.approvals_opened.clear()
            state.approvals_closed.clear()
            self.last_run.set_state(state, self._loops)
            self._selection_changed()
            self.panel.show_state(state, f"Replayed from history ({info.when}); nothing was run.")
            self._update_status()
            self.history.set_runs(self.history.runs, self.viewing)
            self.window.statusBar().showMessage(f"Showing the run of {info.when} (nothing runs)", 6000)

        self.background.submit(lambda: load_run(info.path, node_ids), shown,
                               lambda exc: self.window.statusBar().showMessage(f"Cannot read that run: {exc}", 8000))

    def show_latest(self) -> None:
        state = self.latest
        self.viewing = None
        self.scene.clear_run()
        self.state = state
        if state is None:
            self.last_run.set_state(None)
            self.panel.show_state(None)
            self._update_status()
            return
        for nid in state.nodes:
            self.scene.set_run_look(nid, self.look(state, nid))
        self.last_run.set_state(state, self._loops)
        self._selection_changed()
        self.panel.show_state(state, getattr(self, "_note", ""))
        self._update_status()
        self.history.set_runs(self.history.runs, None)

    def _compare(self, info) -> None:
        if info is None:
            self.last_run.show_compare(None)
            return
        self.background.submit(lambda: load_run(info.path), self.last_run.show_compare,
                               lambda exc: self.window.statusBar().showMessage(f"Cannot read that run: {exc}", 8000))

    # -- selection ----------------------------------------------------------------------

    def _selection_changed(self) -> None:
        try:
            sel = self.scene.selected_node_ids()
        except RuntimeError:  # the scene is going away
            return
        self.last_run.set_node(sel[0] if len(sel) == 1 else None)

    def shutdown(self) -> None:
        self._tick.stop()
        self._close_dialogs()
        self.worker.shutdown()
        self.background.close()
