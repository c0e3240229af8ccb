"""The Chat panel's behaviour: a turn is a normal run of the open flow.

Why through the RunController: a chat turn must light the canvas, fill Last run and the
badges, honour Mock, the budget and the API base, and land in History exactly like a run
from the toolbar. So the panel only supplies the turn's inputs (the message on the flow's
chat input, other inputs from the Run panel's form) and the session's run settings, and
listens to the same event batches for the reply's tokens.

History comes from the flow's Memory (the SQLite store under the user data folder); a
flow without Memory nodes still chats, its turns kept in this window only. Each turn's
cost and tokens are recorded in the store, so per-session totals survive restarts.
"""

from __future__ import annotations

import re
import time
from html import escape

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QInputDialog, QMessageBox, QToolButton

from studio.core.document.interface import DEFAULT_SESSION, ChatInterface, chat_interface, why_no_chat
from studio.core.document.model import ModelWatch
from studio.core.running import events as ev

from .. import theme
from studio.core.running.runstate import fmt_cost
from .panel import ChatPanel, meta_html


class ChatController(QObject):
    def __init__(self, window, parent: QObject | None = None):
        super().__init__(parent)
        self.window = window
        self.runs = window.runs
        self.panel = ChatPanel()
        self.iface: ChatInterface | None = None
        self.session = DEFAULT_SESSION
        self.local: dict[tuple[str, str], list[tuple[str, str, str]]] = {}  # (flow, session) -> messages (no memory)
        self.pending = None  # the reply bubble of the turn in flight
        self._pending_text: list[str] = []
        self._turn_no = 0
        self._watch = ModelWatch()
        self._settle = QTimer(self)  # edits come in bursts (typing in the inspector): look once they settle
        self._settle.setSingleShot(True)
        self._settle.setInterval(300)
        self._settle.timeout.connect(self._flow_edited)
        mock = QToolButton()
        mock.setDefaultAction(window.run_toolbar.mock_action)  # the same Mock switch as the toolbar
        mock.setObjectName("chatMock")
        self.panel.add_to_bar(mock)
        window.run_toolbar.mock_action.toggled.connect(lambda _: self._show_info())

        p = self.panel
        p.send_requested.connect(self.send)
        p.stop_requested.connect(self.runs.stop)
        p.session_chosen.connect(self.switch_session)
        p.new_requested.connect(lambda: self.new_session())
        p.rename_requested.connect(self._ask_rename)
        p.delete_requested.connect(self._ask_delete)
        p.delete_old_requested.connect(self._ask_delete_old)
        p.run_link_activated.connect(self.open_run)
        self.runs.worker.events.connect(self._on_events)
        self.runs.run_ended.connect(self._on_run_ended)

    # -- the open flow ----------------------------------------------------------------

    @property
    def model(self):
        return self.window.document.model

    def document_changed(self) -> None:
        self._watch.watch(self.model, self._model_event)
        self.session = DEFAULT_SESSION
        self.refresh()

    def _model_event(self, event) -> None:
        if event.kind in ("reset", "node_added", "node_removed", "edge_added", "edge_removed", "node_changed",
                          "node_renamed", "flow_changed"):
            self._settle.start()

    def _flow_edited(self) -> None:
        old = self.iface
        self.iface = chat_interface(self.model)
        if (old is None) != (self.iface is None) or (old and self.iface and old.flow_key != self.iface.flow_key):
            self.refresh()
        else:
            self._show_info()

    def refresh(self) -> None:
        """Re-read the flow's interface, the sessions and the current session's history."""
        self.iface = chat_interface(self.model)
        self._show_info()
        self._show_sessions()
        self._show_history()

    def store(self):
        if self.iface is None:
            return None
        from studio.core.userdata.conversations import open_store

        return open_store(self.iface.flow_key, busy_timeout_s=2.0)

    def memory_name(self) -> str | None:
        if self.iface is None or not self.iface.has_memory:
            return None
        model = self.model
        for nid in self.iface.memory_nodes:  # a Memory node first, else a Remember node
            if model.nodes[nid].type == "memory":
                return str(model.params(nid)["memory"])
        return str(model.params(self.iface.memory_nodes[0])["memory"])

    def _show_info(self) -> None:
        p = self.panel
        if self.iface is None:
            why = why_no_chat(self.model) or "no flow"
            p.set_info(f"<span style='color:{theme.WARNING.name()}'>This flow cannot chat: {escape(why)}.</span>")
            p.set_enabled_for_chat(False)
            return
        p.set_enabled_for_chat(not self.runs.running)
        mock = self.window.run_toolbar.mock_action.isChecked()
        memory = (f"remembers the conversation (memory <b>{escape(self.memory_name() or '')}</b>)"
                  if self.iface.has_memory else "has no Memory node: each turn stands alone")
        p.set_info(f"Your message goes to <b>{escape(self.iface.input)}</b>, the reply comes from "
                   f"<b>{escape(self.iface.output)}</b>; this flow {memory}. "
                   + ("<b>Mock</b>: models answer with their mock responses." if mock else
                      "Live: models are called (it costs money)."))

    # -- sessions -----------------------------------------------------------------------

    def session_names(self) -> list[str]:
        names: list[str] = []
        store = self.store()
        if store is not None:
            try:
                names = [s.session for s in store.sessions()]
            except Exception as exc:  # noqa: BLE001 - a broken store is shown, the chat goes on
                self._problem(str(exc))
        if self.iface is not None:
            names += [s for (flow, s) in self.local if flow == self.iface.flow_key and s not in names]
        return names

    def _show_sessions(self) -> None:
        self.panel.set_sessions(self.session_names(), self.session)

    def switch_session(self, name: str) -> None:
        if not name or self.runs.running:
            return
        self.session = name
        self._show_sessions()
        self._show_history()

    def new_session(self, name: str | None = None) -> str:
        taken = set(self.session_names())
        if not name:
            base = time.strftime("chat %Y-%m-%d %H:%M")
            name, n = base, 2
            while name in taken:
                name, n = f"{base} ({n})", n + 1
        if self.iface is not None:
            self.local.setdefault((self.iface.flow_key, name), [])
        self.switch_session(name)
        return name

    def rename_session(self, new: str) -> bool:
        new = new.strip()
        if not new or new == self.session or self.iface is None:
            return False
        store = self.store()
        try:
            store.rename_session(self.session, new)
        except Exception as exc:  # noqa: BLE001 - e.g. the name is taken: said, nothing changes
            self._problem(str(exc))
            return False
        key = (self.iface.flow_key, self.session)
        if key in self.local:
            self.local[(self.iface.flow_key, new)] = self.local.pop(key)
        self.session = new
        self._show_sessions()
        self._show_history()
        return True

    def delete_session(self) -> None:
        if self.iface is None:
            return
        try:
            self.store().delete_sessions([self.session])
        except Exception as exc:  # noqa: BLE001
            self._problem(str(exc))
            return
        self.local.pop((self.iface.flow_key, self.session), None)
        names = self.session_names()
        self.session = names[0] if names else DEFAULT_SESSION
        self._show_sessions()
        self._show_history()

    def delete_older_than(self, days: float) -> list[str]:
        """Delete the flow's sessions not used for ``days`` days; returns their names."""
        if self.iface is None:
            return []
        try:
            gone = self.store().delete_older_than(days)
        except Exception as exc:  # noqa: BLE001
            self._problem(str(exc))
            return []
        if self.session in gone:
            names = self.session_names()
            self.session = names[0] if names else DEFAULT_SESSION
        self._show_sessions()
        self._show_history()
        self.window.statusBar().showMessage(f"Deleted {len(gone)} conversation(s) unused for {days:g} days", 6000)
        return gone

    def _ask_delete_old(self) -> None:
        days, ok = QInputDialog.getInt(self.panel, "Delete old conversations",
                                       "Delete conversations not used for this many days:", 30, 0, 3650)
        if ok:
            self.delete_older_than(days)

    def _ask_rename(self) -> None:
        name, ok = QInputDialog.getText(self.panel, "Rename conversation", "New name:", text=self.session)
        if ok:
            self.rename_session(name)

    def _ask_delete(self) -> None:
        answer = QMessageBox.question(self.panel, "Delete conversation",
                                      f"Delete the conversation “{self.session}” and its history? This cannot be undone.")
        if answer == QMessageBox.Yes:
            self.delete_session()

    # -- history --------------------------------------------------------------------------

    def _show_history(self) -> None:
        p = self.panel
        p.clear_messages()
        self._turn_no = 0
        if self.iface is None:
            p.set_totals("")
            return
        costs: dict[str, tuple[float | None, int, int]] = {}
        store = self.store()
        try:
            costs = store.run_costs(self.session)
            memory = self.memory_name()
            stored = store.messages(self.session, memory, limit_turns=200) if memory else []
        except Exception as exc:  # noqa: BLE001
            self._problem(str(exc))
            stored = []
        for m in stored:
            if m.role not in ("user", "assistant"):
                continue
            meta = ""
            if m.role == "assistant":
                c = costs.get(m.run_id or "")
                meta = meta_html(m.turn, c[1] if c else 0, c[2] if c else 0,
                                 fmt_cost(c[0], 1 if c[0] is None else 0) if c else "", m.run_id)
                self._turn_no = m.turn
            p.add_message(m.role, m.content, meta)
        for role, text, meta in self.local.get((self.iface.flow_key, self.session), []):
            p.add_message(role, text, meta)
            if role == "assistant":
                self._turn_no += 1
        self._show_totals(costs)

    def _show_totals(self, costs: dict | None = None) -> None:
        if costs is None:
            try:
                costs = self.store().run_costs(self.session) if self.iface else {}
            except Exception:  # noqa: BLE001
                costs = {}
        known = [c[0] for c in costs.values() if c[0] is not None]
        unknown = sum(1 for c in costs.values() if c[0] is None)
        tin = sum(c[1] for c in costs.values())
        tout = sum(c[2] for c in costs.values())
        self.panel.set_totals(f"Session “{self.session}”: {len(costs)} turn(s) · {tin} in / {tout} out tokens · "
                              f"{fmt_cost(sum(known), unknown)}")

    def _problem(self, text: str) -> None:
        self.panel.add_message("problem", text)

    # -- a turn ---------------------------------------------------------------------------

    def send(self, text: str) -> bool:
        if self.runs.running:
            return False
        self.iface = chat_interface(self.model)
        if self.iface is None:
            self._show_info()
            return False
        iface = self.iface
        collected, _ = self.runs.panel.inputs.collect()
        extra = {k: v for k, v in collected.items() if k in iface.extra_inputs}
        self.panel.add_message("user", text)
        bubble = self.panel.add_message("assistant", "")
        bubble.append("")
        self.pending = bubble
        self._pending_text = []
        self._pending_message = text
        started = self.runs.run(inputs=iface.run_inputs(text, extra), settings=iface.run_settings(self.session))
        if not started:  # the Run panel says why (invalid flow, a missing input, an untrusted folder)
            self.pending = None
            self.panel.remove_message(bubble)
            why = re.sub(r"<[^>]+>", "", self.runs.panel.status.text()).strip() or "see the Run and Problems panels"
            self._problem(why if why.startswith("Not run") else f"Not run: {why}")
            return False
        self.panel.set_busy(True)
        return True

    def _on_events(self, batch) -> None:
        bubble = self.pending
        if bubble is None or self.iface is None:
            return
        reply_nodes = self.iface.reply_nodes
        for e in batch:
            if e.type != ev.NODE_PROGRESS or e.node not in reply_nodes or e.scope:
                continue
            kind = e.data.get("kind")
            if kind == "token":
                piece = str(e.data.get("text") or "")
                self._pending_text.append(piece)
                self.panel.stream(bubble, piece)
            elif kind == "stream_reset":
                self._pending_text = []
                bubble.set_text("")

    def _on_run_ended(self, state) -> None:
        bubble, self.pending = self.pending, None
        self.panel.set_busy(False)
        self.panel.set_enabled_for_chat(self.iface is not None)
        if bubble is None or self.iface is None:
            return
        reply = state.outputs.get(self.iface.output)
        if state.status == "succeeded":
            text = reply if isinstance(reply, str) else ("" if reply is None else str(reply))
        elif state.status == "cancelled":
            text = "".join(self._pending_text) + " [stopped]"
        else:
            text = "".join(self._pending_text)
            where = f" at {state.error_node}" if state.error_node else ""
            self.panel.add_message("problem", f"The turn {state.status}{where}: {state.error or ''}")
        bubble.set_text(text)
        unknown = state.cost_unknown
        cost = state.cost_usd if state.cost_usd or not unknown else None
        self._turn_no += 1
        meta = meta_html(self._turn_no, state.tokens_in, state.tokens_out, fmt_cost(cost, unknown, estimate=state.mock), state.run_id)
        bubble.set_meta(meta)
        if not self.iface.has_memory and state.status == "succeeded":
            key = (self.iface.flow_key, self.session)
            self.local.setdefault(key, []).extend([("user", self._pending_message, ""), ("assistant", text, meta)])
        if state.run_id:
            try:
                self.store().record_run(state.run_id, self.session, cost, state.tokens_in, state.tokens_out)
            except Exception as exc:  # noqa: BLE001
                self._problem(str(exc))
        self._show_sessions()
        self._show_totals()

    # -- a reply's run ----------------------------------------------------------------------

    def open_run(self, run_id: str) -> None:
        """Show a reply's run: badges on the canvas and the Last run tab."""
        window = self.window

        def reveal() -> None:
            window.inspector_dock.show()
            window.inspector_dock.raise_()
            window.inspector_tabs.setCurrentWidget(window.last_run)

        latest = self.runs.latest
        if latest is not None and latest.run_id == run_id:
            self.runs.show_latest()
            reveal()
            return
        from ..run.history import list_runs

        def found(runs) -> None:
            match = next((r for r in runs if r.run_id == run_id), None)
            if match is None:
                window.statusBar().showMessage(f"The run {run_id} is no longer in the history", 6000)
                return
            self.runs.open_history(match)
            reveal()

        folder = self.runs.trace_folder()  # the runs of this flow's file, as History lists them
        self.runs.background.submit(lambda: list_runs(folder), found)


def install_chat(window) -> ChatController:
    """The Chat dock beside the inspector, with its View menu entry (the window's one hook)."""
    chat = ChatController(window, window)
    dock = QDockWidget("Chat", window)
    dock.setObjectName("chatDock")
    dock.setWidget(chat.panel)
    dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetClosable | QDockWidget.DockWidgetFloatable)
    window.addDockWidget(Qt.RightDockWidgetArea, dock)
    window.splitDockWidget(window.inspector_dock, dock, Qt.Horizontal)
    window.resizeDocks([window.inspector_dock, dock], [320, 380], Qt.Horizontal)
    chat.dock = dock
    toggle = dock.toggleViewAction()
    toggle.setShortcut("Ctrl+Shift+C")
    for action in window.menuBar().actions():
        if action.text().replace("&", "") == "View" and action.menu() is not None:
            action.menu().addAction(toggle)
    dock.hide()  # opened from View → Chat (or when a chat flow is opened, by the person)
    window.resizeDocks([window.inspector_dock], [320], Qt.Horizontal)  # the canvas gets the chat's share back
    return chat
