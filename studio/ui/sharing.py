"""Sharing flows from the studio: export, Mermaid, and what a received flow needs.

* **Export…** writes what ``orchestra export FLOW -o OUT`` writes, through the same core
  function (``studio.core.sharing.export.export_for_sharing``): subflows embedded, ``requires``,
  the description, and a refusal (nothing written) when a known API key appears
  anywhere in it. It exports the flow as it is in the window, unsaved edits included;
  the work (keyring look-up, reading subflow files) runs on a snapshot off the GUI
  thread.
* **Export as Mermaid… / Copy Mermaid Diagram** use ``studio.core.sharing.mermaid``; a ``.md``
  file and the clipboard get a fenced ```` ```mermaid ```` block, ready for a README.
* **Before anything runs**: on open (and after edits) the bar above the canvas names
  node types that are not installed (``studio.core.sharing.needs``) and code the flow would
  run that the person has not trusted (``studio.tools.flow_code``: tools/*.py, run_python
  code, a run_python step a model feeds). Run and Run tests refuse a flow with missing
  types, with the reason, and ask (``flow_notice.ask_trust``, which shows the code) before
  untrusted code first runs; declining runs nothing. Finding all this only reads files --
  opening a flow never runs its code.
* **Save** of a flow holding a key-shaped string asks (``ask_secrets_on_save``): move each
  value into a named secret (stored in the keyring, ``{{ secrets.NAME }}`` left in its
  place), save it anyway, or cancel.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices

from studio.core.document.model import ModelWatch

from . import clipboard, dialogs, flow_notice
from .background import Background
from .flow_notice import NoticeBar

EXPORT_FILTER = "Orchestra flows (*.flow.json);;JSON files (*.json);;All files (*)"
MERMAID_FILTER = "Mermaid diagrams (*.mmd);;Markdown (*.md);;All files (*)"


def mermaid_block(text: str) -> str:
    return f"```mermaid\n{text.rstrip()}\n```\n"


class SharingController(QObject):
    exported = Signal(str)  # the path written
    export_failed = Signal(str)  # why nothing was written

    def __init__(self, window, notices: NoticeBar, parent: QObject | None = None):
        super().__init__(parent)
        self.window = window
        self.notices = notices
        self.background = Background(self, workers=1)
        self.missing: list = []  # MissingType, as last shown
        self.untrusted: list = []  # FlowCode whose folder is not trusted, as last shown
        self._signature: tuple | None = None
        self._watch = ModelWatch()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(400)
        self._timer.timeout.connect(self.refresh)
        notices.trust_requested.connect(self.trust_from_bar)
        notices.copy_install_requested.connect(self._copy_install)
        notices.show_folder_requested.connect(self._show_folder)

    @property
    def model(self):
        return self.window.document.model

    # -- what the flow needs -----------------------------------------------------------

    def document_changed(self) -> None:
        self._watch.watch(self.model, lambda ev: self._timer.start())
        self._signature = None
        self.notices.reset()
        self.refresh()

    def _needs_signature(self) -> tuple:
        """What the answer depends on: node types, tool names, subflow files, the folder."""
        model = self.model
        parts = []
        for nid in sorted(model.nodes):
            node = model.nodes[nid]
            p = node.params
            extra = None
            if node.type == "tool":
                extra = p.get("tool")
            elif node.type == "agent":
                extra = tuple(t for t in p.get("tools") or [] if isinstance(t, str)) if isinstance(p.get("tools"), list) else None
            elif node.type == "subflow":
                extra = (p.get("path"), id(p.get("flow")))
            parts.append((nid, node.type, repr(extra)))
        return (str(model.base_dir), tuple(parts))

    def refresh(self, force: bool = False) -> None:
        sig = self._needs_signature()
        if sig == self._signature and not force:
            return
        self._signature = sig
        self._compute()

    def _compute(self) -> None:
        from studio.core.sharing.needs import missing_types
        from studio.tools.flow_code import untrusted_code

        model = self.model
        self.missing = missing_types(model)
        try:
            self.untrusted = untrusted_code(model)
        except OSError:
            self.untrusted = []
        self.notices.show_missing(self.missing)
        self.notices.show_code(self.untrusted)

    def missing_reason(self) -> str | None:
        """Why the flow cannot run at all (node types not installed), or None."""
        self._signature = None
        self.refresh()
        if not self.missing:
            return None
        what = "; ".join(m.describe() for m in self.missing)
        return f"this flow needs node types that are not installed: {what}. Install the package(s), then open the flow again."

    def confirm_trust(self) -> str | None:
        """Ask before untrusted code first runs (showing it); None when it may run."""
        self._signature = None
        self.refresh()
        code = self.untrusted
        if not code:
            return None
        if not flow_notice.ask_trust(self.window, code, True):
            return (f"you did not trust the code this flow would run "
                    f"({', '.join(sorted({flow_notice._shown(c) for c in code}))}), so nothing ran.")
        return self._trust(code)

    def trust_from_bar(self) -> None:
        code = self.untrusted
        if not code:
            return
        if flow_notice.ask_trust(self.window, code, False):
            why = self._trust(code)
            if why:
                dialogs.error(self.window, "Cannot trust the code", why)

    def _trust(self, code: list) -> str | None:
        from studio.core.errors import OrchestraError
        from studio.tools.trust import trust_code

        try:
            folders = trust_code(code)
        except (OrchestraError, OSError) as exc:
            return f"could not trust it: {exc}"
        self.refresh(force=True)
        self.window.statusBar().showMessage(f"Trusted the reviewed code in {', '.join(map(str, folders))}", 6000)
        return None

    def _copy_install(self) -> None:
        command = self.notices.copy_install.property("command") or ""
        if command:
            clipboard.put_text(str(command))
            self.window.statusBar().showMessage("Copied the install command", 5000)

    def _show_folder(self) -> None:
        folders = sorted({c.folder for c in self.untrusted if c.folder is not None})
        if folders:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(folders[0])))

    # -- export ------------------------------------------------------------------------

    def _start_path(self, suffix: str) -> str:
        doc = self.window.document
        stem = doc.display_name().lower().replace(" ", "_") or "flow"
        folder = doc.path.parent if doc.path is not None else Path.home()
        return str(folder / f"{stem}{suffix}")

    def export_dialog(self) -> None:
        path = dialogs.save_file_name(self.window, "Export flow for sharing", self._start_path(".shared.flow.json"),
                                      EXPORT_FILTER)
        if path:
            if not path.endswith(".json"):
                path += ".flow.json"
            self.export_to(Path(path))

    def export_to(self, path: Path) -> None:
        """Write the shareable file off the GUI thread; errors go to a dialog, nothing is written."""
        from studio.core.document import flowfile
        from studio.core.errors import FlowFileError
        from studio.core.sharing.export import ExportError, export_for_sharing

        model = self.model
        try:  # a snapshot: the person may edit on while the export is made
            snapshot = flowfile.model_from_document(flowfile.to_document(model), registry=model.registry,
                                                    base_dir=model.base_dir)
        except FlowFileError as exc:
            self._export_error(str(exc))
            return

        def job() -> tuple[str, str]:
            from studio.core.sharing.export import files_note

            text = export_for_sharing(snapshot)
            flowfile.atomic_write(path, text.encode("utf-8"))
            return str(path), files_note(snapshot)

        def failed(exc: BaseException) -> None:
            if isinstance(exc, OSError):
                self._export_error(f"{path}: {exc.strerror or exc}")
            elif isinstance(exc, (ExportError, FlowFileError)):
                self._export_error(str(exc))
            else:
                self._export_error(f"{type(exc).__name__}: {exc}")

        self.window.statusBar().showMessage("Exporting…", 3000)
        self.background.submit(job, self._exported, failed)

    def _exported(self, done: tuple[str, str]) -> None:
        path, note = done
        if note:
            self.window.statusBar().showMessage(f"Exported {path}; {note}", 15000)
        else:
            self.window.statusBar().showMessage(f"Exported {path} (self-contained; no keys in it)", 8000)
        self.exported.emit(path)

    def _export_error(self, why: str) -> None:
        self.window.statusBar().showMessage("Not exported", 6000)
        self.export_failed.emit(why)
        dialogs.error(self.window, "Cannot export the flow", f"Nothing was written.\n\n{why}")

    def _mermaid(self) -> str | None:
        from studio.core.sharing.mermaid import to_mermaid

        try:
            return to_mermaid(self.model)
        except Exception as exc:  # noqa: BLE001 - a broken flow: say so, never crash
            dialogs.error(self.window, "Cannot draw the flow", f"{type(exc).__name__}: {exc}")
            return None

    def export_mermaid_dialog(self) -> None:
        path = dialogs.save_file_name(self.window, "Export as Mermaid diagram", self._start_path(".mmd"), MERMAID_FILTER)
        if path:
            self.export_mermaid_to(Path(path))

    def export_mermaid_to(self, path: Path) -> bool:
        from studio.core.document.flowfile import atomic_write

        text = self._mermaid()
        if text is None:
            return False
        if path.suffix.lower() in (".md", ".markdown"):
            text = mermaid_block(text)
        try:
            atomic_write(path, text.encode("utf-8"))
        except OSError as exc:
            dialogs.error(self.window, "Cannot export the diagram", f"{path}: {exc.strerror or exc}")
            return False
        self.window.statusBar().showMessage(f"Wrote the Mermaid diagram to {path}", 6000)
        return True

    def copy_mermaid(self) -> bool:
        text = self._mermaid()
        if text is None:
            return False
        clipboard.put_text(mermaid_block(text))
        self.window.statusBar().showMessage("Copied the Mermaid diagram (a ```mermaid block for Markdown)", 6000)
        return True

    def shutdown(self) -> None:
        self._timer.stop()
        self.background.close()

