"""A thin QUndoCommand around a core command, so Qt's QUndoStack drives core edits.

The core command does the work (and knows how to merge: consecutive drags of one
selection, typing in one field); this adapter only forwards ``redo``/``undo`` and maps
the core's ``merge_key`` onto Qt's ``id``/``mergeWith``. Every mergeable core command
shares one Qt id; ``mergeWith`` then asks the core command, which compares keys.
Qt itself refuses to merge into the clean state, so a save point is never lost.
"""

from __future__ import annotations

from PySide6.QtGui import QUndoCommand, QUndoStack

from studio.core.document.commands import Command, UpdateItem
from studio.core.errors import CommandError
from studio.core.document.model import FlowModel

MERGE_ID = 1701


class CoreUndoCommand(QUndoCommand):
    def __init__(self, model: FlowModel, command: Command):
        super().__init__(command.text)
        self.model = model
        self.command = command
        self._first = True

    def redo(self) -> None:  # noqa: D401 - Qt API
        if self._first:
            self._first = False  # already applied by push_command (to catch errors first)
            return
        self.command.redo(self.model)

    def undo(self) -> None:
        self.command.undo(self.model)

    def id(self) -> int:
        return MERGE_ID if self.command.merge_key is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, CoreUndoCommand) or other.model is not self.model:
            return False
        return self.command.merge(other.command)


def push_command(stack: QUndoStack, model: FlowModel, command: Command) -> str | None:
    """Apply ``command`` and record it; return the reason when the core refuses it.

    The command runs before it is pushed, so a refused edit (a CommandError) leaves
    neither the model nor the stack changed -- QUndoStack.push cannot report failure.
    """
    try:
        command.redo(model)
    except CommandError as exc:
        return str(exc)
    stack.push(CoreUndoCommand(model, command))
    return None


class MergingItemUpdate(UpdateItem):
    """A frame or note edit that merges with the next one on the same fields
    (dragging a resize grip, typing a note): one undo step per gesture."""

    def __init__(self, table: str, item_id: str, **fields):
        super().__init__(table, item_id, **fields)
        self.text = f"Edit {table[:-1]}"
        self.merge_key = ("item", table, item_id, tuple(sorted(fields)))

    def redo(self, model) -> None:
        old = getattr(self, "_old", None)
        super().redo(model)
        if old is not None:
            self._old = old  # keep the size from before the whole drag

    def merge(self, other) -> bool:
        if isinstance(other, MergingItemUpdate) and other.merge_key == self.merge_key:
            self.fields = other.fields
            return True
        return False
