"""Save found a secret in the flow: ask, and offer to move each value into a named secret.

Why ask rather than refuse: the file is the person's own, and they may have pasted a key
on purpose into a flow they never share. But a key in a flow file ends up in git and in
mail, so Save stops and shows where (JSON path, kind, a masked preview), and offers:

* **Move into secrets and save** -- each value in a Tool node's arguments (a header, an
  ``api_key`` argument) is stored in the OS keyring under the name shown (editable) and
  replaced by ``{{ secrets.NAME }}``, as one undoable edit per node; then Save runs again.
  A key pasted into a prompt cannot be moved (a model has no use for it): remove it.
* **Save with it** -- written as it is (``save_flow(..., allow_secrets=True)``).
* **Cancel** -- nothing is written.

``ask_secrets`` is the one modal question (tests replace it); the core is
``studio.core.userdata.secret_scan``.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QHeaderView, QLabel, QLineEdit, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)


class SecretsOnSaveDialog(QDialog):
    def __init__(self, findings: list, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("secretsOnSaveDialog")
        self.setWindowTitle("A secret is in this flow")
        self.resize(820, 360)
        self.findings = findings
        self.answer = "cancel"
        head = QLabel("<b>This flow holds what looks like a secret.</b> A flow file travels (git, mail, exports); "
                      "keys and tokens belong in the OS keyring. Move each value into a named secret — the flow "
                      "then says <code>{{ secrets.NAME }}</code> and the value is put in when the node runs.")
        head.setWordWrap(True)
        head.setTextFormat(Qt.RichText)
        self.table = QTableWidget(len(findings), 4)
        self.table.setObjectName("secretFindings")
        self.table.setHorizontalHeaderLabels(["Where", "What", "Value", "Move into secret named"])
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
        self.names: dict[int, QLineEdit] = {}
        for i, f in enumerate(findings):
            self.table.setItem(i, 0, QTableWidgetItem(f.path))
            self.table.setItem(i, 1, QTableWidgetItem(f.kind))
            self.table.setItem(i, 2, QTableWidgetItem(f.preview()))
            if f.movable:
                edit = QLineEdit(f.suggested_name())
                edit.setObjectName(f"secretName{i}")
                self.names[i] = edit
                self.table.setCellWidget(i, 3, edit)
            else:
                self.table.setItem(i, 3, QTableWidgetItem("remove it by hand (not a tool argument)"))
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
        buttons = QDialogButtonBox()
        self.move = buttons.addButton("Move into secrets and save", QDialogButtonBox.AcceptRole)
        self.move.setObjectName("moveSecrets")
        self.move.setEnabled(bool(self.names))
        self.anyway = buttons.addButton("Save with it", QDialogButtonBox.DestructiveRole)
        self.anyway.setObjectName("saveWithSecret")
        cancel = buttons.addButton("Cancel", QDialogButtonBox.RejectRole)
        cancel.setDefault(True)
        self.move.clicked.connect(lambda: self._done("move"))
        self.anyway.clicked.connect(lambda: self._done("anyway"))
        cancel.clicked.connect(self.reject)
        v = QVBoxLayout(self)
        v.addWidget(head)
        v.addWidget(self.table, 1)
        v.addWidget(buttons)

    def _done(self, answer: str) -> None:
        self.answer = answer
        self.accept()

    def chosen_names(self) -> dict[int, str]:
        return {i: e.text().strip() for i, e in self.names.items() if e.text().strip()}


def ask_secrets(parent: QWidget | None, findings: list) -> tuple[str, dict[int, str]]:
    """("move", {finding index: secret name}) | ("anyway", {}) | ("cancel", {})."""
    dialog = SecretsOnSaveDialog(findings, parent)
    if dialog.exec() != QDialog.Accepted:
        return "cancel", {}
    return dialog.answer, dialog.chosen_names() if dialog.answer == "move" else {}


def resolve_on_save(window, refused) -> str:
    """Ask about ``refused`` (SecretsInFlow) for ``window``'s document: "moved" (values are now
    secrets; save again), "anyway" (save with them) or "cancel"."""
    from studio.core.document.commands import SetParam
    from studio.core.errors import OrchestraError
    from studio.core.userdata.secret_scan import move_to_secret

    from . import dialogs

    answer, names = ask_secrets(window, refused.findings)
    if answer != "move":
        return answer
    doc = window.document
    moved = []
    for i, name in sorted(names.items()):
        f = refused.findings[i]
        node = doc.model.nodes.get(f.node)
        if node is None:
            continue
        try:
            new = move_to_secret(f, name, node.params)
        except (OrchestraError, ValueError) as exc:
            dialogs.error(window, "Cannot move the secret",
                          f"{f.path}: {exc}\n\nNothing was saved; the flow is unchanged from here on.")
            return "cancel"
        doc.push(SetParam(f.node, f.param_path[0], new[f.param_path[0]]))
        moved.append(name)
    window.statusBar().showMessage(f"Moved into the keyring: {', '.join(moved)}", 8000)
    return "moved"
