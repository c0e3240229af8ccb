"""The bar above the canvas that says what an opened flow needs before it can run.

Two rows, each shown only when it has something to say: node types that are not
installed (with the packages the file's ``requires`` names, and a pip command to copy),
and code of the flow's own that would run and is not trusted yet -- ``tools/*.py`` beside
it, ``run_python`` code in it, or a ``run_python`` step a model feeds (with "Review and
trust…"). Non-modal: the flow stays open and editable; Run refuses or asks
(``sharing.py``). A row's ✕ hides it until the next open.

``TrustDialog`` is that question: every piece of code, shown in full, before the person
trusts it (``ask_trust``; tests replace that function).
"""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFrame, QHBoxLayout, QLabel, QListWidget, QPlainTextEdit,
                               QPushButton, QSizePolicy, QSplitter, QToolButton, QVBoxLayout, QWidget)

from . import theme


class NoticeRow(QFrame):
    dismissed = Signal()

    def __init__(self, name: str, severity: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName(name)
        self.setProperty("severity", severity)
        self.setFrameShape(QFrame.NoFrame)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.setSpacing(10)
        icon = QLabel(self)
        icon.setPixmap(theme.severity_icon(severity, 16).pixmap(16, 16))
        icon.setAlignment(Qt.AlignTop)
        icon.setContentsMargins(0, 2, 0, 0)
        layout.addWidget(icon, 0, Qt.AlignTop)
        self.text = QLabel(self)
        self.text.setObjectName(f"{name}Text")
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.RichText)
        self.text.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.text.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Preferred)
        self.text.setMinimumWidth(200)
        layout.addWidget(self.text, 1)
        self._buttons = QHBoxLayout()
        self._buttons.setSpacing(6)
        layout.addLayout(self._buttons)
        close = QToolButton(self)
        close.setObjectName(f"{name}Close")
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Hide this message (it comes back when the flow is opened again)")
        close.clicked.connect(self._dismiss)
        layout.addWidget(close, 0, Qt.AlignTop)
        self.hide()

    def add_button(self, text: str, name: str, signal, tip: str = "") -> QPushButton:
        b = QPushButton(text, self)
        b.setObjectName(name)
        b.setToolTip(tip)
        b.clicked.connect(lambda checked=False: signal.emit())
        self._buttons.addWidget(b, 0, Qt.AlignTop)
        return b

    def _dismiss(self) -> None:
        self.hide()
        self.dismissed.emit()


class NoticeBar(QWidget):
    """Holds the rows; the window puts it above the canvas."""

    copy_install_requested = Signal()
    trust_requested = Signal()
    show_folder_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("flowNotices")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.missing = NoticeRow("missingTypesNotice", "error", self)
        self.code = NoticeRow("flowCodeNotice", "warning", self)
        layout.addWidget(self.missing)
        layout.addWidget(self.code)
        self.missing.dismissed.connect(lambda: self._dismissed.add("missing"))
        self.code.dismissed.connect(lambda: self._dismissed.add("code"))
        self._dismissed: set[str] = set()
        self.copy_install = self.missing.add_button("Copy install command", "copyInstallButton", self.copy_install_requested,
                                                    "Copy the pip command that installs the missing packages")
        self.trust_button = self.code.add_button("Review and trust…", "trustFolderButton", self.trust_requested,
                                                 "Read the code this flow would run, then let it run")
        self.open_folder = self.code.add_button("Show folder", "showFolderButton", self.show_folder_requested,
                                                "Open the flow's folder to read its code")

    def reset(self) -> None:
        """A flow was opened: show every row again."""
        self._dismissed.clear()

    def show_missing(self, missing: list) -> None:
        """``missing``: studio.core.sharing.needs.MissingType items."""
        if not missing:
            self.missing.hide()
            return
        items = "".join(f"<li>{escape(m.describe())}</li>" for m in missing)
        hints = [m.install_hint() for m in missing if m.install_hint()]
        how = (f"Install {'them' if len(hints) > 1 else 'it'}: <code>{escape('; '.join(hints))}</code>, then open the flow again."
               if hints else "Find the package that provides it, install it, then open the flow again.")
        n = len(missing)
        self.missing.text.setText(
            f"<b>This flow cannot run: {n} node type{'s' * (n != 1)} {'are' if n != 1 else 'is'} not installed.</b>"
            f"<ul style='margin: 2px 0 2px -24px'>{items}</ul>{how}")
        self.copy_install.setVisible(bool(hints))
        self.copy_install.setProperty("command", "\n".join(hints))
        self.missing.setVisible("missing" not in self._dismissed)

    def show_code(self, code: list) -> None:
        """``code``: studio.tools.flow_code.FlowCode items that are not trusted."""
        if not code:
            self.code.hide()
            return
        folders = sorted({str(c.folder) for c in code if c.folder is not None})
        files = []
        for c in code:
            entry = f"<code>{escape(_shown(c))}</code> ({escape(c.node)})"
            if entry not in files:
                files.append(entry)
        where = (f"Read it, then trust it: {', '.join(f'<code>{escape(f)}</code>' for f in folders)}" if folders
                 else "Save the flow in a folder, then trust it")
        self.code.text.setText(
            f"<b>This flow runs code that you have not trusted:</b> {', '.join(files)}. "
            f"Nothing in it has run; Run asks first.<br>{where}.")
        self.code.text.setToolTip("\n".join(str(c.path or c.label) for c in code))
        self.open_folder.setVisible(any(c.path is not None for c in code))
        self.code.setVisible("code" not in self._dismissed)


def _shown(c) -> str:
    if c.path is not None and c.folder is not None:
        try:
            return c.path.relative_to(c.folder).as_posix()
        except ValueError:
            return str(c.path)
    return c.label


class TrustDialog(QDialog):
    """Every piece of code the flow would run, in full, and one question: trust it?"""

    def __init__(self, items: list, and_run: bool, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("trustDialog")
        self.setWindowTitle("Trust this code?")
        self.resize(860, 560)
        self.items = items
        folders = sorted({str(c.folder) for c in items if c.folder is not None})
        head = QLabel(
            "<b>This flow would run code that you have not trusted.</b> Read it before you say yes: "
            "<code>tools/*.py</code> files run with your permissions (they can read and change your files); "
            "<code>run_python</code> code runs in a sandbox without network, your home folder or your keys. "
            "Trust is remembered for exactly this code: if it changes, you are asked again.<br>"
            + ("Recorded for: " + ", ".join(f"<code>{escape(f)}</code>" for f in folders) if folders else
               "<b>This flow is not saved: save it in a folder first.</b>"))
        head.setWordWrap(True)
        head.setTextFormat(Qt.RichText)
        self.list = QListWidget()
        self.list.setObjectName("trustItems")
        for c in items:
            self.list.addItem(f"{_shown(c)}  ·  {c.node}")
        self.code = QPlainTextEdit()
        self.code.setObjectName("trustCode")
        self.code.setReadOnly(True)
        self.code.setLineWrapMode(QPlainTextEdit.NoWrap)
        self.code.setFont(QFontDatabase.systemFont(QFontDatabase.FixedFont))
        self.list.currentRowChanged.connect(self._show)
        split = QSplitter()
        split.addWidget(self.list)
        split.addWidget(self.code)
        split.setSizes([260, 600])
        buttons = QDialogButtonBox()
        self.yes = buttons.addButton("Trust and run" if and_run else "Trust this code", QDialogButtonBox.AcceptRole)
        self.yes.setObjectName("trustYes")
        self.yes.setEnabled(bool(folders) and all(c.folder is not None for c in items))
        self.no = buttons.addButton("Don't run" if and_run else "Cancel", QDialogButtonBox.RejectRole)
        self.no.setObjectName("trustNo")
        self.no.setDefault(True)
        self.no.setFocus()
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        v = QVBoxLayout(self)
        v.addWidget(head)
        v.addWidget(split, 1)
        v.addWidget(buttons)
        if items:
            self.list.setCurrentRow(0)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.yes.setAutoDefault(False)  # Enter must never trust: the safe answer is the default
        self.no.setDefault(True)
        self.no.setFocus()

    def _show(self, row: int) -> None:
        if 0 <= row < len(self.items):
            self.code.setPlainText(self.items[row].code)


def ask_trust(parent: QWidget | None, items: list, and_run: bool) -> bool:
    """May the flow's untrusted ``items`` (``FlowCode``) run? False unless the person says so."""
    return TrustDialog(items, and_run, parent).exec() == QDialog.Accepted
