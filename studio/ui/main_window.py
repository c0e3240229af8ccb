"""The main window: palette | canvas | inspector, Problems/Run/Tests below, menus and files.

It owns one Document at a time and wires the parts together: the scene and
inspector follow the document's model, the undo group follows its stack, live
validation feeds the Problems list and the node badges, and an autosaver keeps a
recovery copy while there are unsaved changes. Layout and recent files live in
QSettings (injected, so tests never touch the user's settings).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QPointF, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence, QUndoGroup
from PySide6.QtWidgets import QDockWidget, QFileDialog, QLabel, QMainWindow, QTabWidget, QVBoxLayout, QWidget

from studio.core.errors import FlowFileError
from studio.core.catalogue.registry import default_registry

from . import dialogs, theme
from .canvas.scene import FlowScene
from .canvas.view import FlowView
from .document import Document
from .editor import Editor
from .flow_notice import NoticeBar
from .inspector import Inspector
from .palette import Palette
from .problems_panel import ProblemsPanel
from .recovery import Autosaver
from .run.controller import RunController
from .run.history import HistoryPanel
from .run.last_run import LastRunView
from .run.run_panel import RunPanel
from .run.toolbar import RunToolbar
from .sharing import SharingController
from .tests_panel import FlowTestRunner, TestsPanel
from .validation_runner import ValidationRunner

class _ClickLabel(QLabel):
    """A status-bar label that opens something when clicked (the problem count)."""

    def __init__(self, on_click):
        super().__init__("")
        self._on_click = on_click
        self.setCursor(Qt.PointingHandCursor)

    def mousePressEvent(self, event) -> None:
        self._on_click()


FILE_FILTER = "Orchestra flows (*.flow.json);;JSON files (*.json);;All files (*)"
MAX_RECENT = 10


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None, autosave_ms: int = 5000, autosaver: Autosaver | None = None,
                 deferred: bool = False):
        """``deferred``: build only the frame; ``finish_startup`` (after the first show)
        discovers node types and creates the document, so the window appears sooner."""
        super().__init__()
        self.setObjectName("mainWindow")
        self.settings = settings if settings is not None else QSettings("Orchestra", "Orchestra Studio")
        self.scene = FlowScene(self)
        self.editor = Editor(self.scene, self)
        self.view = FlowView(self.editor, self)
        self.notices = NoticeBar(self)  # what an opened flow needs before it can run
        canvas_host = QWidget(self)
        canvas_host.setObjectName("canvasHost")
        host_layout = QVBoxLayout(canvas_host)
        host_layout.setContentsMargins(0, 0, 0, 0)
        host_layout.setSpacing(0)
        host_layout.addWidget(self.notices)
        host_layout.addWidget(self.view, 1)
        self.setCentralWidget(canvas_host)
        self.undo_group = QUndoGroup(self)
        self.document: Document | None = None
        self.autosaver = autosaver or Autosaver()
        self._autosaved_index = -1

        self.palette = Palette(None, self)
        self.inspector = Inspector(self.editor, self)
        self.last_run = LastRunView(self)
        self.inspector_tabs = QTabWidget(self)
        self.inspector_tabs.setObjectName("inspectorTabs")
        self.inspector_tabs.addTab(self.inspector, "Parameters")
        self.inspector_tabs.addTab(self.last_run, "Last run")
        self.problems = ProblemsPanel(self)
        self.run_panel = RunPanel(self)
        self.history_panel = HistoryPanel(self)
        self.tests_panel = TestsPanel(self)
        self.run_toolbar = RunToolbar(self)
        self.addToolBar(Qt.TopToolBarArea, self.run_toolbar)
        self.palette_dock = self._dock("Nodes", "paletteDock", self.palette, Qt.LeftDockWidgetArea)
        self.inspector_dock = self._dock("Inspector", "inspectorDock", self.inspector_tabs, Qt.RightDockWidgetArea)
        self.problems_dock = self._dock("Problems", "problemsDock", self.problems, Qt.BottomDockWidgetArea)
        self.run_dock = self._dock("Run", "runDock", self.run_panel, Qt.BottomDockWidgetArea)
        self.history_dock = self._dock("History", "historyDock", self.history_panel, Qt.BottomDockWidgetArea)
        self.tests_dock = self._dock("Tests", "testsDock", self.tests_panel, Qt.BottomDockWidgetArea)
        # the canvas gets most of the window: the four bottom panels share one tabbed strip,
        # the side panels are narrow; every panel can be hidden (View menu, remembered)
        self.tabifyDockWidget(self.problems_dock, self.run_dock)
        self.tabifyDockWidget(self.run_dock, self.tests_dock)
        self.tabifyDockWidget(self.tests_dock, self.history_dock)
        self.problems_dock.raise_()  # Problems first; a run brings the Run tab forward
        self.resizeDocks([self.palette_dock, self.inspector_dock], [190, 320], Qt.Horizontal)
        self.resizeDocks([self.problems_dock], [180], Qt.Vertical)
        # the strip opens when it has something to say (a run, a refusal, tests, a click on
        # the problem count); until then the canvas has the height. Hidden or shown, the
        # choice is kept with the window's layout.
        for dock in self._bottom_docks():
            dock.hide()
        self.runs = RunController(self, self.settings, self)
        self.sharing = SharingController(self, self.notices, self)
        self.tests = FlowTestRunner(self, self.tests_panel, self)
        self.editor.default_model = lambda: str(self.settings.value("run/default_model", "") or "")

        self.validation = ValidationRunner(self)
        self.validation.finished.connect(self._show_problems)
        self.problems.node_activated.connect(self.reveal_node)
        self.palette.activated.connect(self._add_from_palette)
        self.scene.selectionChanged.connect(self.inspector.refresh_selection)
        self.editor.node_added.connect(self._node_added)
        self.editor.status.connect(lambda msg: self.statusBar().showMessage(msg, 8000))

        self.zoom_label = QLabel("100%")
        self.problem_label = _ClickLabel(lambda: self.show_panel(self.problems_dock))
        self.problem_label.setToolTip("Show the Problems panel")
        self.statusBar().addPermanentWidget(self.problem_label)
        self.statusBar().addPermanentWidget(self.zoom_label)
        self.view.zoom_changed.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f}%"))
        self._build_menus()
        from .chat.controller import install_chat  # the Chat panel (conversations)

        self.chat = install_chat(self)
        self.setAcceptDrops(True)

        self._autosave_timer = QTimer(self)
        self._autosave_timer.timeout.connect(self.autosave)
        if autosave_ms > 0:
            self._autosave_timer.start(autosave_ms)
        self.resize(1400, 860)
        self._restore_layout()
        if not deferred:
            self.finish_startup()

    def finish_startup(self) -> None:
        if self.document is not None:
            return
        self.palette.set_registry(default_registry())
        self.set_document(Document(parent=self))

    def _dock(self, title: str, name: str, widget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetClosable | QDockWidget.DockWidgetFloatable)
        self.addDockWidget(area, dock)
        return dock

    # -- menus -------------------------------------------------------------------------

    def _act(self, menu, text: str, slot, shortcut=None, name: str | None = None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda checked=False: slot())
        if name:
            action.setObjectName(name)
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        mb = self.menuBar()
        f = mb.addMenu("&File")
        self._act(f, "&New", self.new_flow, QKeySequence.New)
        self._act(f, "&Open…", self.open_dialog, QKeySequence.Open)
        self.recent_menu = f.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        f.addSeparator()
        self._act(f, "&Save", self.save, QKeySequence.Save)
        self._act(f, "Save &As…", self.save_as, QKeySequence.SaveAs)
        f.addSeparator()
        self._act(f, "&Export…", self.sharing.export_dialog, "Ctrl+E", "exportAction").setToolTip(
            "Write one self-contained file to share: subflows embedded, required packages listed, no keys")
        self._act(f, "Export as &Mermaid…", self.sharing.export_mermaid_dialog, None, "exportMermaidAction")
        self._act(f, "Copy Mermaid &Diagram", self.sharing.copy_mermaid, None, "copyMermaidAction")
        f.addSeparator()
        self._act(f, "&Quit", self.close, QKeySequence.Quit)

        e = mb.addMenu("&Edit")
        undo = self.undo_group.createUndoAction(self, "&Undo")
        undo.setShortcut(QKeySequence.Undo)
        redo = self.undo_group.createRedoAction(self, "&Redo")
        redo.setShortcut(QKeySequence.Redo)
        # Ctrl+Y as well as the platform's redo (Ctrl+Shift+Z here): both are in people's fingers
        keys = [*QKeySequence.keyBindings(QKeySequence.Redo), QKeySequence("Ctrl+Y"), QKeySequence("Ctrl+Shift+Z")]
        redo.setShortcuts(list({k.toString(): k for k in keys if not k.isEmpty()}.values()))
        e.addAction(undo)
        e.addAction(redo)
        self.undo_action, self.redo_action = undo, redo
        e.addSeparator()
        self._act(e, "Cu&t", self.editor.cut, QKeySequence.Cut, "cut")
        self._act(e, "&Copy", self.editor.copy, QKeySequence.Copy, "copy")
        self._act(e, "&Paste", self._paste, QKeySequence.Paste, "paste")
        self._act(e, "&Duplicate", self.editor.duplicate, "Ctrl+D", "duplicate")
        self._act(e, "De&lete", self.editor.delete_selection, QKeySequence.Delete, "delete")
        self._act(e, "Select &All", self.editor.select_all, QKeySequence.SelectAll, "selectAll")
        for a in e.actions():
            a.setShortcutContext(Qt.WidgetWithChildrenShortcut)
            self.view.addAction(a)  # canvas-scoped: text fields keep their own Ctrl+C/V/Z

        v = mb.addMenu("&View")
        self._act(v, "&Fit to View", self.view.fit, "F")
        self._act(v, "Zoom &In", lambda: self.view.set_zoom(1.25), QKeySequence.ZoomIn)
        self._act(v, "Zoom &Out", lambda: self.view.set_zoom(0.8), QKeySequence.ZoomOut)
        self._act(v, "Actual &Size (100%)", lambda: self.view.set_zoom(1.0 / self.view.zoom()), "Ctrl+0")
        v.addSeparator()
        self.minimap_action = self._act(v, "&Minimap", lambda: self.set_minimap(self.minimap_action.isChecked()),
                                        "Ctrl+Shift+M", "minimapAction")
        self.minimap_action.setCheckable(True)
        self.set_minimap(self.settings.value("view/minimap", True, type=bool))
        self._act(v, "Show or Hide &Side Panels", self.toggle_side_panels, "Ctrl+Shift+B", "toggleSidePanels")
        self._act(v, "Show or Hide &Bottom Panels", self.toggle_bottom_panels, "Ctrl+J", "toggleBottomPanels")
        v.addSeparator()
        for dock in (self.palette_dock, self.inspector_dock, self.problems_dock, self.run_dock, self.tests_dock,
                     self.history_dock):
            v.addAction(dock.toggleViewAction())

        r = mb.addMenu("&Run")
        tb = self.run_toolbar
        for action in (tb.run_action, tb.run_from_action, tb.stop_action):
            r.addAction(action)
        r.addSeparator()
        r.addAction(tb.mock_action)
        r.addSeparator()
        self._act(r, "Run &Tests", self._run_tests, "Ctrl+T", "runTestsAction")
        self._act(r, "Ser&ve this Flow…", self._serve_flow, None, "serveFlowAction")
        self._act(r, "&Batch…", self.open_batch, None, "batchAction")
        r.addSeparator()
        self._act(r, "&Settings…", self.open_settings, "Ctrl+,", "settingsAction")

        a = mb.addMenu("&Arrange")
        self._act(a, "&Auto-layout", self.auto_layout, "Ctrl+L")
        a.addSeparator()
        for mode, label in (("left", "Align &Left"), ("right", "Align &Right"), ("top", "Align &Top"),
                            ("bottom", "Align &Bottom"), ("hcenter", "Align Centres &Horizontally"),
                            ("vcenter", "Align Centres &Vertically")):
            self._act(a, label, lambda m=mode: self.editor.align(m))
        self._act(a, "Distribute Hori&zontally", lambda: self.editor.distribute("h"))
        self._act(a, "Distribute V&ertically", lambda: self.editor.distribute("v"))
        a.addSeparator()
        self._act(a, "Group in &Frame", lambda: self.editor.add_frame(self._canvas_center()), "Ctrl+G")
        self._act(a, "Add &Note", lambda: self.editor.add_note(self._canvas_center()))

        h = mb.addMenu("&Help")
        self._act(h, "&Keyboard Shortcuts", self.show_shortcuts, QKeySequence.HelpContents, "shortcutsAction")
        self._act(h, "&About Orchestra Studio", self.show_about, None, "aboutAction")

    # -- view and help -------------------------------------------------------------------

    def set_minimap(self, on: bool) -> None:
        self.minimap_action.setChecked(on)
        self.view.minimap.setVisible(on)
        self.view.minimap.place()
        self.settings.setValue("view/minimap", on)

    def _side_docks(self):
        return [self.palette_dock, self.inspector_dock]

    def _bottom_docks(self):
        return [self.problems_dock, self.run_dock, self.tests_dock, self.history_dock]

    def toggle_side_panels(self) -> None:
        show = not any(d.isVisible() for d in self._side_docks())
        for d in self._side_docks():
            d.setVisible(show)

    def show_panel(self, dock) -> None:
        """Bring a panel forward, opening the strip it lives in when it was hidden."""
        if dock in self._bottom_docks() and not dock.isVisible():
            for d in self._bottom_docks():
                d.show()
        dock.show()
        dock.raise_()

    def toggle_bottom_panels(self) -> None:
        show = not any(d.isVisible() for d in self._bottom_docks())
        for d in self._bottom_docks():
            d.setVisible(show)
        if show:
            self.problems_dock.raise_()

    def shortcut_list(self) -> list[tuple[str, str]]:
        """(keys, what) for every menu action with a shortcut, plus the canvas's own keys."""
        out = []
        for top in self.menuBar().actions():
            m = top.menu()
            if m is None:
                continue
            for a in m.actions():
                keys = ", ".join(k.toString(QKeySequence.NativeText) for k in a.shortcuts())
                if keys and a.text():
                    out.append((keys, f"{top.text().replace('&', '')} → {a.text().replace('&', '')}"))
        out += [("Tab", "Canvas → quick-add a node (type to search, Enter adds)"),
                ("Double-click", "Canvas → quick-add at that spot"),
                ("Drag from a port", "Wire it; drop on empty canvas to add a matching node"),
                ("Drag a wire's end", "Move it to another port, or drop it on empty canvas to remove it"),
                ("Space + drag, middle drag", "Pan"), ("Wheel", "Zoom"),
                ("Delete, Backspace", "Delete the selection"), ("Esc", "Cancel the wire being dragged")]
        return out

    def show_shortcuts(self) -> None:
        from html import escape

        from PySide6.QtWidgets import QMessageBox

        rows = "".join(f"<tr><td><b>{escape(k)}</b></td><td>&nbsp;&nbsp;{escape(w)}</td></tr>" for k, w in self.shortcut_list())
        box = QMessageBox(QMessageBox.Information, "Keyboard shortcuts", f"<table>{rows}</table>", QMessageBox.Close, self)
        box.setObjectName("shortcutsDialog")
        box.setModal(False)
        box.show()
        self._shortcuts_box = box

    def show_about(self) -> None:
        from PySide6.QtWidgets import QMessageBox

        QMessageBox.about(self, "About Orchestra Studio",
                          "Orchestra Studio: build, run and share AI flows.<br>Help → Keyboard Shortcuts lists every key.")

    def auto_layout(self) -> None:
        """Auto-layout, then fit: the nodes move, and the view follows them."""
        self.editor.auto_layout()
        self.view.fit(selection_only=len(self.scene.selected_node_ids()) >= 2)

    def _add_from_palette(self, type_id: str) -> None:
        """Palette Enter/double-click: near the selection or the view's centre, in free space."""
        sel = self.scene.selected_node_ids()
        if sel:
            r = self.scene.nodes[sel[-1]].sceneBoundingRect()
            near = QPointF(r.right() + 60, r.top())
        else:
            near = self.view.mapToScene(self.view.viewport().rect().center())
        self.editor.add_node(type_id, near, free_space=True)

    def _node_added(self, node_id: str) -> None:
        """A new node shows its Parameters (its Last run tab would be empty)."""
        self.inspector_tabs.setCurrentWidget(self.inspector)
        self.inspector_dock.show()

    def _serve_flow(self) -> None:
        from studio.ui.serve_dialog import open_serve_dialog

        open_serve_dialog(self)
    def open_batch(self):
        """Run → Batch…: the open flow over a dataset (studio/ui/batch)."""
        from .batch import open_batch_window

        return open_batch_window(self)

    def _run_tests(self) -> None:
        self.show_panel(self.tests_dock)
        self.tests.run_tests()

    def _paste(self) -> None:
        pos = self.view.mapFromGlobal(self.view.cursor().pos())
        at = self.view.mapToScene(pos) if self.view.viewport().rect().contains(pos) else None
        self.editor.paste(at)

    def _canvas_center(self) -> QPointF:
        return self.view.mapToScene(self.view.viewport().rect().center())

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for path in self.recent_files():
            self.recent_menu.addAction(path, lambda p=path: self.open_file(Path(p)))
        if not self.recent_menu.actions():
            self.recent_menu.addAction("(none)").setEnabled(False)

    # -- documents ---------------------------------------------------------------------

    def set_document(self, document: Document) -> None:
        old = self.document
        if old is not None:
            old.modified_changed.disconnect(self._update_title)
            self.undo_group.removeStack(old.stack)
            old.close()
            old.deleteLater()
        self.document = document
        self.editor.set_document(document)
        self.undo_group.addStack(document.stack)
        self.undo_group.setActiveStack(document.stack)
        document.modified_changed.connect(self._update_title)
        self.inspector.set_model(document.model)
        self.validation.set_model(document.model)
        self._autosaved_index = -1
        self._update_title()
        self.runs.document_changed()
        self.sharing.document_changed()
        self.tests.document_changed()
        if getattr(self, "chat", None) is not None:
            self.chat.document_changed()

    def _update_title(self, *_: object) -> None:
        doc = self.document
        if doc is None:
            return
        self.setWindowTitle(f"{doc.display_name()}[*] — Orchestra Studio")
        self.setWindowModified(doc.modified)

    def maybe_save(self) -> bool:
        """True when it is fine to drop the current document (saved or discarded)."""
        doc = self.document
        if doc is None or not doc.modified:
            return True
        answer = dialogs.ask_save_changes(self, doc.display_name())
        if answer == "save":
            return self.save()
        return answer == "discard"

    def new_flow(self) -> None:
        if self.maybe_save():
            self._drop_recovery()
            self.set_document(Document(parent=self))
            self.view.fit()

    def open_dialog(self) -> None:
        start = str(self.document.path.parent) if self.document and self.document.path else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open flow", start, FILE_FILTER)
        if path:
            self.open_file(Path(path))

    def open_file(self, path: Path, ask: bool = True) -> bool:
        """Open a flow; a bad file shows the FlowFileError and leaves the canvas as it was."""
        path = Path(path)
        try:
            document = Document.open(path, self)
        except FlowFileError as exc:
            dialogs.error(self, "Cannot open flow", str(exc))
            self.statusBar().showMessage(f"Could not open {path.name}", 8000)
            return False
        if ask and not self.maybe_save():
            document.deleteLater()
            return False
        self._drop_recovery()
        self.set_document(document)
        self.add_recent(path)
        self.view.fit_readable()
        self.statusBar().showMessage(f"Opened {path}", 5000)
        return True

    def open_document(self, document: Document) -> None:
        """Show an already built document (an example, a recovered file)."""
        self.set_document(document)
        self.view.fit_readable()

    def save(self) -> bool:
        doc = self.document
        if doc.path is None:
            return self.save_as()
        return self._save_to(doc.path)

    def save_as(self) -> bool:
        doc = self.document
        start = str(doc.path) if doc.path else f"{doc.display_name().lower().replace(' ', '_')}.flow.json"
        path, _ = QFileDialog.getSaveFileName(self, "Save flow", start, FILE_FILTER)
        if not path:
            return False
        if not path.endswith(".json"):
            path += ".flow.json"
        return self._save_to(Path(path))

    def _save_to(self, path: Path) -> bool:
        doc = self.document
        old_path = doc.path
        from studio.core.userdata.secret_scan import SecretsInFlow

        try:
            doc.save(path)
        except SecretsInFlow as refused:  # a key in the flow: ask, offer to move it into a named secret
            from .secret_prompt import resolve_on_save

            answer = resolve_on_save(self, refused)
            if answer == "cancel":
                return False
            if answer == "moved":
                return self._save_to(path)
            try:
                doc.save(path, allow_secrets=True)
            except OSError as exc:
                dialogs.error(self, "Cannot save flow", f"{path}: {exc.strerror or exc}")
                return False
        except OSError as exc:
            dialogs.error(self, "Cannot save flow", f"{path}: {exc.strerror or exc}")
            return False
        self.autosaver.discard(old_path)
        self.autosaver.discard(path)
        self.add_recent(path)
        self._update_title()
        self.statusBar().showMessage(f"Saved {path}", 5000)
        return True

    # -- recent files and layout -------------------------------------------------------

    def recent_files(self) -> list[str]:
        value = self.settings.value("recent_files", [])
        if isinstance(value, str):
            value = [value]
        return [v for v in (value or []) if isinstance(v, str)]

    def add_recent(self, path: Path) -> None:
        p = str(Path(path).resolve())
        files = [p] + [f for f in self.recent_files() if f != p]
        self.settings.setValue("recent_files", files[:MAX_RECENT])
        self.settings.setValue("last_flow", p)

    def _restore_layout(self) -> None:
        geometry = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        if isinstance(geometry, (QByteArray, bytes)):
            self.restoreGeometry(geometry)
        if isinstance(state, (QByteArray, bytes)):
            self.restoreState(state)

    def save_layout(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.sync()

    def closeEvent(self, event) -> None:
        if not self.maybe_save():
            event.ignore()
            return
        self.save_layout()
        self._drop_recovery()
        self._autosave_timer.stop()
        self.tests.shutdown()
        self.sharing.shutdown()
        self.runs.shutdown()
        event.accept()

    def open_settings(self) -> None:
        from .settings_dialog import SettingsDialog

        dlg = getattr(self, "_settings_dialog", None)
        if dlg is None or not dlg.isVisible():
            dlg = self._settings_dialog = SettingsDialog(self.settings, self)
            dlg.saved.connect(self._settings_saved)
        dlg.show()
        dlg.raise_()

    def _settings_saved(self) -> None:
        tb = self.run_toolbar
        tb.budget.setValue(float(self.settings.value("run/budget", 0.0) or 0.0))
        tb.concurrency.setValue(int(self.settings.value("run/concurrency", 16) or 16))
        self.runs._keys_signature = None
        self.runs._check_keys()

    # -- autosave ------------------------------------------------------------------------

    def autosave(self) -> None:
        doc = self.document
        if doc is None or not doc.modified:
            return
        if doc.stack.index() == self._autosaved_index and self._autosaved_index >= 0:
            return
        try:
            self.autosaver.save(doc.model, doc.path)
            self._autosaved_index = doc.stack.index()
        except OSError:
            pass  # autosave is best effort; the next tick tries again

    def _drop_recovery(self) -> None:
        if self.document is not None:
            self.autosaver.discard(self.document.path)

    # -- problems ------------------------------------------------------------------------

    def _show_problems(self, problems: list) -> None:
        self.problems.set_problems(problems)
        by_node: dict[str, list] = {}
        for p in problems:
            if p.node:
                by_node.setdefault(p.node, []).append(p)
        self.scene.set_problems(by_node)
        errors = sum(1 for p in problems if p.severity == "error")
        warnings = len(problems) - errors
        self.problem_label.setText(f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"
                                   if problems else "✓ no problems")
        self.problem_label.setStyleSheet(f"color: {theme.ERROR.name() if errors else theme.WARNING.name() if warnings else '#9aa3ad'}")
        self.problems_dock.setWindowTitle(f"Problems ({len(problems)})" if problems else "Problems")

    def reveal_node(self, node_id: str) -> None:
        if node_id in self.scene.nodes:
            self.scene.select_nodes([node_id])
            self.view.center_on_node(node_id)

    # -- file drops ----------------------------------------------------------------------

    def dragEnterEvent(self, event) -> None:
        if any(u.isLocalFile() and u.toLocalFile().endswith(".json") for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        for url in event.mimeData().urls():
            if url.isLocalFile() and url.toLocalFile().endswith(".json"):
                self.open_file(Path(url.toLocalFile()))
                event.acceptProposedAction()
                return
