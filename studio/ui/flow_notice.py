"""The bar above the canvas that says what an opened flow needs before it can run.

Two rows, each shown only when it has something to say: node types that are not
installed (with the packages the file's ``requires`` names, and a pip command to copy),
and code of the flow's own that would run (``tools/*.py`` beside it) in a folder that is
not trusted yet (with "Trust this folder…"). Non-modal: the flow stays open and
editable; Run refuses or asks (``sharing.py``). A row's ✕ hides it until the next open.
"""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QToolButton, QVBoxLayout, QWidget

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
        self.trust_button = self.code.add_button("Trust this folder…", "trustFolderButton", self.trust_requested,
                                                 "Let this folder's own code run (you are shown what it is first)")
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
        """``code``: studio.tools.flow_code.FlowCode items whose folder is not trusted."""
        if not code:
            self.code.hide()
            return
        folders = sorted({str(c.folder) for c in code})
        files = []
        for c in code:
            try:
                rel = c.path.relative_to(c.folder).as_posix()
            except ValueError:
                rel = str(c.path)
            entry = f"<code>{escape(rel)}</code> ({escape(c.node)})"
            if entry not in files:
                files.append(entry)
        self.code.text.setText(
            f"<b>This flow runs code of its own, which you have not trusted:</b> {', '.join(files)}. "
            "Nothing in it has run; Run asks first.<br>"
            f"Read it, then trust the folder{'s' * (len(folders) > 1)}: "
            + ", ".join(f"<code>{escape(f)}</code>" for f in folders))
        self.code.text.setToolTip("\n".join(str(c.path) for c in code))
        self.code.setVisible("code" not in self._dismissed)
