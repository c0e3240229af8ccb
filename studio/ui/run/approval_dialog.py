"""An Approval node asks a person: approve, edit the value, or reject -- without blocking.

The dialog is modeless: the rest of the window keeps working (other branches of the run
go on, the canvas pans, the inspector shows values). Its answer goes back to the run's
waiting approval handler through the worker. When the run ends or the request times out
first, the controller closes it.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit, QPushButton, QVBoxLayout

from studio.core.catalogue.context import ApprovalDecision
from studio.core.running.runstate import fmt_value


def parse_edit(text: str, original: Any) -> Any:
    """The edited text as a value of the original's kind: text stays text, else JSON."""
    if isinstance(original, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


class ApprovalDialog(QDialog):
    answered = Signal(str, object, object)  # node, scope, ApprovalDecision

    def __init__(self, node: str, scope: tuple, title: str, message: str, value: Any, parent=None):
        super().__init__(parent)
        self.setObjectName("approvalDialog")
        self.setWindowTitle(f"Approval needed — {title}")
        self.setModal(False)
        self.setWindowModality(Qt.NonModal)
        self.setAttribute(Qt.WA_DeleteOnClose)
        self.node, self.scope, self.value = node, tuple(scope), value
        self._original_text = fmt_value(value)
        self._done = False
        where = " / ".join(f"{s}[{i}]" for s, i in self.scope)
        head = QLabel(f"<b>{title}</b>" + (f" <span style='color:#9aa3ad'>({where})</span>" if where else ""))
        msg = QLabel(message or "Approve this?")
        msg.setObjectName("approvalMessage")
        msg.setWordWrap(True)
        msg.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.editor = QPlainTextEdit(self._original_text)
        self.editor.setObjectName("approvalValue")
        self.editor.setMinimumSize(460, 180)
        self.reason = QLineEdit()
        self.reason.setObjectName("approvalReason")
        self.reason.setPlaceholderText("Reason (optional, kept in the trace)")
        self.approve_btn = QPushButton("Approve")
        self.approve_btn.setObjectName("approveButton")
        self.approve_btn.setDefault(True)
        self.reject_btn = QPushButton("Reject")
        self.reject_btn.setObjectName("rejectButton")
        self.approve_btn.clicked.connect(self.approve)
        self.reject_btn.clicked.connect(self.reject_value)
        self.editor.textChanged.connect(self._edited)
        hint = QLabel("Edit the value before approving to pass on your version.")
        hint.setStyleSheet("color: #9aa3ad")
        row = QHBoxLayout()
        row.addWidget(self.reason, 1)
        row.addWidget(self.reject_btn)
        row.addWidget(self.approve_btn)
        v = QVBoxLayout(self)
        v.addWidget(head)
        v.addWidget(msg)
        v.addWidget(self.editor, 1)
        v.addWidget(hint)
        v.addLayout(row)

    def _edited(self) -> None:
        changed = self.editor.toPlainText() != self._original_text
        self.approve_btn.setText("Approve edited" if changed else "Approve")

    def approve(self) -> None:
        text = self.editor.toPlainText()
        value = None if text == self._original_text else parse_edit(text, self.value)
        self._answer(ApprovalDecision("approve", value, self.reason.text().strip(), by="human"))

    def reject_value(self) -> None:
        self._answer(ApprovalDecision("reject", None, self.reason.text().strip() or "rejected in the studio", by="human"))

    def _answer(self, decision: ApprovalDecision) -> None:
        if self._done:
            return
        self._done = True
        self.answered.emit(self.node, self.scope, decision)
        self.close()

    def dismiss(self) -> None:
        """The request ended without this dialog (timeout, run stopped)."""
        self._done = True
        self.close()

    def reject(self) -> None:  # Esc: a "no", never a request left waiting unseen
        if not self._done:
            self.reject_value()
            return
        super().reject()

    def closeEvent(self, event) -> None:
        if not self._done:
            self._done = True
            self.answered.emit(self.node, self.scope,
                               ApprovalDecision("reject", None, "the approval window was closed", by="human"))
        super().closeEvent(event)
