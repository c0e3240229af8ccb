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


def save_file_name(parent: QWidget | None, caption: str, start: str, filters: str) -> str:
    """Where to write a file ("" when the person cancels)."""
    from PySide6.QtWidgets import QFileDialog

    path, _ = QFileDialog.getSaveFileName(parent, caption, start, filters)
    return path


def ask_trust(parent: QWidget | None, folders: list[str], files: list[str], and_run: bool) -> bool:
    """May the flow's own code (``files``, kept in ``folders``) run? False unless the person says so."""
    where = "\n".join(f"  {f}" for f in folders)
    shown = "\n".join(f"  • {f}" for f in files[:12]) + ("\n  …" if len(files) > 12 else "")
    box = QMessageBox(QMessageBox.Warning, "Trust this folder?",
                      "This flow runs code of its own, kept beside it:\n\n" + shown +
                      "\n\nThat code runs with your permissions (it can read and change your files). "
                      "Trust it only if you know where the flow came from, or after you have read the code.\n\n"
                      "Trusting remembers this folder (and its subfolders):\n" + where, QMessageBox.NoButton, parent)
    yes = box.addButton("Trust and run" if and_run else "Trust this folder", QMessageBox.AcceptRole)
    no = box.addButton("Don't run" if and_run else "Cancel", QMessageBox.RejectRole)
    box.setDefaultButton(no)
    box.setEscapeButton(no)
    box.exec()
    return box.clickedButton() is yes
