"""One open flow: its model, its undo stack, its file path and whether it is saved.

Opening another file makes a new Document (a fresh model and stack), so undo never
crosses files. ``push`` is the single door through which the studio edits a model.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack
from shiboken6 import isValid

from studio.core.document import flowfile
from studio.core.document.commands import Command
from studio.core.document.model import FlowModel

from .undo_adapter import push_command


class Document(QObject):
    modified_changed = Signal(bool)
    edited = Signal()  # any model change (for validation and autosave)

    def __init__(self, model: FlowModel | None = None, path: Path | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.model = model if model is not None else FlowModel()
        self.path = Path(path) if path is not None else None
        self.stack = QUndoStack(self)
        self.stack.cleanChanged.connect(self._on_clean_changed)
        self._unsubscribe = self.model.subscribe(lambda ev: self.edited.emit())
        self.autosave_generation = 0  # bumped by edits, compared by the autosaver
        # names the runs of a flow that has no file yet (History keys runs by file, then by this)
        self.doc_id = uuid.uuid4().hex

    def _on_clean_changed(self, clean: bool) -> None:
        if isValid(self):  # the stack may report while the document is being destroyed
            self.modified_changed.emit(not clean)

    @classmethod
    def open(cls, path: Path, parent: QObject | None = None) -> "Document":
        """Load a file (FlowFileError propagates; nothing is created on failure)."""
        model = flowfile.load_flow(path)
        return cls(model, Path(path), parent)

    def push(self, command: Command) -> str | None:
        """Apply an edit as one undo step; the reason when the core refuses it."""
        return push_command(self.stack, self.model, command)

    @property
    def modified(self) -> bool:
        return not self.stack.isClean()

    def save(self, path: Path | None = None, allow_secrets: bool = False) -> None:
        target = Path(path) if path is not None else self.path
        if target is None:
            raise ValueError("no file name")
        flowfile.save_flow(self.model, target, allow_secrets=allow_secrets)
        self.path = target
        self.stack.setClean()

    def display_name(self) -> str:
        if self.path is not None:
            name = self.path.name
            return name[: -len(".flow.json")] if name.endswith(".flow.json") else name
        return self.model.name or "Untitled flow"

    def close(self) -> None:
        self._unsubscribe()
