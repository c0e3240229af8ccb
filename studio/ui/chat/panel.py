"""The Chat panel's widgets: the session bar, the message list, the composer.

Pure view: it shows what the ChatController tells it and emits what the person asks for
(send, stop, new/switch/rename/delete a session, open a reply's run). Replies grow
token by token in their bubble; each finished reply gets a line with its tokens, cost and
a link to its run.
"""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (QComboBox, QFrame, QHBoxLayout, QLabel, QMenu, QPlainTextEdit, QPushButton, QScrollArea,
                               QSizePolicy, QToolButton, QVBoxLayout, QWidget)

from .. import theme

USER_BG = "#2d4a6e"
ASSISTANT_BG = "#2b3038"
ERROR_BG = "#4a2a2d"


class Bubble(QFrame):
    """One message: the text, and for replies a meta line (tokens, cost, run link)."""

    def __init__(self, role: str, text: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.role = role
        self.setObjectName(f"chatBubble_{role}")
        bg = {"user": USER_BG, "assistant": ASSISTANT_BG}.get(role, ERROR_BG)
        self.setStyleSheet(f"QFrame#{self.objectName()} {{ background: {bg}; border-radius: 8px; }}")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 7, 10, 7)
        lay.setSpacing(3)
        who = QLabel({"user": "You", "assistant": "Assistant"}.get(role, "Problem"))
        who.setStyleSheet(f"color: {theme.TEXT_DIM.name()}; font-size: 11px; background: transparent;")
        lay.addWidget(who)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.PlainText)
        self.text.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.text.setStyleSheet(f"color: {theme.TEXT.name()}; background: transparent;")
        self.text.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Minimum)
        lay.addWidget(self.text)
        self.meta = QLabel()
        self.meta.setObjectName("chatMeta")
        self.meta.setTextFormat(Qt.RichText)
        self.meta.setStyleSheet(f"color: {theme.TEXT_DIM.name()}; font-size: 11px; background: transparent;")
        self.meta.hide()
        lay.addWidget(self.meta)
        self._pieces: list[str] = []
        self.set_text(text)

    def set_text(self, text: str) -> None:
        self._pieces = [text]
        self.text.setText(text)

    def append(self, piece: str) -> None:
        self._pieces.append(piece)
        self.text.setText("".join(self._pieces) + " ▍")

    def plain(self) -> str:
        return "".join(self._pieces)

    def set_meta(self, html: str) -> None:
        self.meta.setText(html)
        self.meta.setVisible(bool(html))


class Composer(QPlainTextEdit):
    """The message box: Enter sends, Shift+Enter starts a new line."""

    submitted = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key_Return, Qt.Key_Enter) and not event.modifiers() & Qt.ShiftModifier:
            self.submitted.emit()
            return
        super().keyPressEvent(event)


class ChatPanel(QWidget):
    send_requested = Signal(str)
    stop_requested = Signal()
    session_chosen = Signal(str)
    new_requested = Signal()
    rename_requested = Signal()
    delete_requested = Signal()
    delete_old_requested = Signal()
    run_link_activated = Signal(str)  # run id

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("chatPanel")
        root = QVBoxLayout(self)
        root.setContentsMargins(6, 6, 6, 6)
        root.setSpacing(6)

        bar = QHBoxLayout()
        self._bar = bar
        bar.addWidget(QLabel("Session"))
        self.sessions = QComboBox()
        self.sessions.setObjectName("chatSessions")
        self.sessions.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self.sessions.activated.connect(lambda i: self.session_chosen.emit(self.sessions.itemData(i)))
        bar.addWidget(self.sessions, 1)
        self.new_button = self._tool("New", "Start a new conversation", self.new_requested)
        self.rename_button = self._tool("Rename", "Rename this conversation", self.rename_requested)
        self.delete_button = self._tool("Delete", "Delete this conversation and its history", self.delete_requested)
        self.delete_button.setPopupMode(QToolButton.MenuButtonPopup)
        menu = QMenu(self.delete_button)
        menu.addAction("Delete this conversation", self.delete_requested.emit)
        menu.addAction("Delete conversations not used for…", self.delete_old_requested.emit)
        self.delete_button.setMenu(menu)
        for b in (self.new_button, self.rename_button, self.delete_button):
            bar.addWidget(b)
        root.addLayout(bar)

        self.info = QLabel()
        self.info.setObjectName("chatInfo")
        self.info.setWordWrap(True)
        self.info.setTextFormat(Qt.RichText)
        self.info.setStyleSheet(f"color: {theme.TEXT_DIM.name()}; font-size: 11px;")
        root.addWidget(self.info)

        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.scroll.setObjectName("chatMessages")
        holder = QWidget()
        holder.setObjectName("chatMessageHolder")
        self.list = QVBoxLayout(holder)
        self.list.setContentsMargins(2, 2, 2, 2)
        self.list.setSpacing(8)
        self.list.addStretch(1)  # first: a short conversation sits at the bottom, next to the composer
        self.scroll.setWidget(holder)
        root.addWidget(self.scroll, 1)
        self.bubbles: list[Bubble] = []

        self.composer = Composer()
        self.composer.setObjectName("chatComposer")
        self.composer.setPlaceholderText("Message… (Enter sends, Shift+Enter for a new line)")
        self.composer.setFixedHeight(64)
        self.composer.submitted.connect(self._send)
        row = QHBoxLayout()
        row.addWidget(self.composer, 1)
        buttons = QVBoxLayout()
        self.send_button = QPushButton("Send")
        self.send_button.setObjectName("chatSend")
        self.send_button.clicked.connect(self._send)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("chatStop")
        self.stop_button.clicked.connect(self.stop_requested)
        self.stop_button.setEnabled(False)
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.stop_button)
        row.addLayout(buttons)
        root.addLayout(row)

        self.totals = QLabel()
        self.totals.setObjectName("chatTotals")
        self.totals.setStyleSheet(f"color: {theme.TEXT_DIM.name()}; font-size: 11px;")
        root.addWidget(self.totals)
        self._scroll_timer = QTimer(self)
        self._scroll_timer.setSingleShot(True)
        self._scroll_timer.setInterval(0)
        self._scroll_timer.timeout.connect(self._to_bottom)

    def _tool(self, text: str, tip: str, signal) -> QToolButton:
        b = QToolButton()
        b.setText(text)
        b.setToolTip(tip)
        b.clicked.connect(signal)
        return b

    # -- what the controller sets ---------------------------------------------------

    def add_to_bar(self, widget: QWidget) -> None:
        self._bar.addWidget(widget)

    def set_sessions(self, names: list[str], current: str) -> None:
        self.sessions.blockSignals(True)
        self.sessions.clear()
        for name in names:
            self.sessions.addItem(name, name)
        index = self.sessions.findData(current)
        if index < 0:
            self.sessions.addItem(current, current)
            index = self.sessions.count() - 1
        self.sessions.setCurrentIndex(index)
        self.sessions.blockSignals(False)

    def set_info(self, html: str) -> None:
        self.info.setText(html)

    def set_busy(self, busy: bool) -> None:
        self.send_button.setEnabled(not busy)
        self.stop_button.setEnabled(busy)
        for b in (self.new_button, self.rename_button, self.delete_button, self.sessions):
            b.setEnabled(not busy)

    def set_enabled_for_chat(self, ok: bool) -> None:
        self.composer.setEnabled(ok)
        self.send_button.setEnabled(ok)

    def clear_messages(self) -> None:
        for b in self.bubbles:
            self.list.removeWidget(b)
            b.deleteLater()
        self.bubbles.clear()

    def add_message(self, role: str, text: str, meta_html: str = "") -> Bubble:
        bubble = Bubble(role, text)
        bubble.meta.linkActivated.connect(self._link)
        if meta_html:
            bubble.set_meta(meta_html)
        self.list.addWidget(bubble)
        self.bubbles.append(bubble)
        self._scroll_timer.start()
        return bubble

    def remove_message(self, bubble: Bubble) -> None:
        if bubble in self.bubbles:
            self.bubbles.remove(bubble)
            self.list.removeWidget(bubble)
            bubble.deleteLater()

    def stream(self, bubble: Bubble, piece: str) -> None:
        bubble.append(piece)
        self._scroll_timer.start()

    def set_totals(self, text: str) -> None:
        self.totals.setText(text)

    # -- internals ----------------------------------------------------------------------

    def _send(self) -> None:
        text = self.composer.toPlainText().strip()
        if not text or not self.send_button.isEnabled():
            return
        self.composer.clear()
        self.send_requested.emit(text)

    def _link(self, href: str) -> None:
        if href.startswith("run:"):
            self.run_link_activated.emit(href[4:])

    def _to_bottom(self) -> None:
        bar = self.scroll.verticalScrollBar()
        bar.setValue(bar.maximum())


def meta_html(turn: int | None, tokens_in: int, tokens_out: int, cost: str, run_id: str | None) -> str:
    bits = []
    if turn:
        bits.append(f"turn {turn}")
    if tokens_in or tokens_out:
        bits.append(f"{tokens_in} in / {tokens_out} out tokens")
    if cost:
        bits.append(escape(cost))
    if run_id:
        bits.append(f"<a href='run:{escape(run_id)}' style='color:{theme.NODE_SELECTED.name()}'>run {escape(run_id)}</a>")
    return " · ".join(bits)
