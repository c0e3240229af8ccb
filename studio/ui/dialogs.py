"""The few questions the studio asks, in one module so tests can answer them.

Each uses QMessageBox's static functions; a test monkeypatches either these functions
or QMessageBox itself, and no modal dialog ever blocks a headless run.
"""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget


def error(parent: QWidget | None, title: str, text: str) -> None:
    QMessageBox.critical(parent, title, text)


def ask_save_changes(parent: QWidget | None, name: str) -> str:
    """"save", "discard" or "cancel"."""
    answer = QMessageBox.question(
        parent, "Unsaved changes", f"Save the changes to “{name}” before closing?",
        QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel, QMessageBox.Save)
    return {QMessageBox.Save: "save", QMessageBox.Discard: "discard"}.get(answer, "cancel")


def ask_restore(parent: QWidget | None, what: str, when: str) -> bool:
    answer = QMessageBox.question(
        parent, "Restore unsaved work?",
        f"Orchestra Studio did not close cleanly last time.\n\nRestore the unsaved changes to {what} (autosaved {when})?",
        QMessageBox.Yes | QMessageBox.No, QMessageBox.Yes)
    return answer == QMessageBox.Yes
