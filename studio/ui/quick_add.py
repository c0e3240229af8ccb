"""Quick-add: a fuzzy-search popup at the cursor (Tab or double-click on the canvas).

When a wire was dropped on empty canvas the list holds only node types with a
compatible port, and the chosen node arrives wired. Enter picks the highlighted
entry, Up/Down move, Escape closes.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtWidgets import QFrame, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout

from studio.core.catalogue.registry import Registry

from . import fuzzy, theme

TYPE_ROLE = Qt.UserRole + 1


class QuickAdd(QFrame):
    def __init__(self, registry: Registry, parent=None):
        super().__init__(parent, Qt.Popup)
        self.setObjectName("quickAdd")
        self.registry = registry
        self.chosen_callback: Callable[[str], None] | None = None
        self.edit = QLineEdit(self)
        self.edit.setPlaceholderText("Add node…")
        self.list = QListWidget(self)
        self.list.setUniformItemSizes(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.edit)
        layout.addWidget(self.list)
        self.resize(280, 320)
        self._types: list[str] = []
        self.edit.textChanged.connect(self._refresh)
        self.edit.installEventFilter(self)
        self.list.itemActivated.connect(self._choose)
        self.list.itemClicked.connect(self._choose)

    def popup(self, global_pos: QPoint, types: list[str] | None = None, preferred: list[str] | None = None) -> None:
        """``types``: the only types offered (a dropped wire); ``preferred``: offered first
        (Tab with a node selected: what fits its outputs), the rest after them."""
        self._types = types if types is not None else [t.type_id for t in self.registry.types()]
        if preferred:
            first = [t for t in preferred if t in self._types]
            self._types = first + [t for t in self._types if t not in first]
        self.edit.clear()
        self._refresh("")
        self.move(global_pos)
        self.show()
        self.raise_()
        self.edit.setFocus()

    def _refresh(self, text: str) -> None:
        entries = []
        for type_id in self._types:
            nt = self.registry.get(type_id)
            entries.append((type_id, f"{nt.title} {nt.category} {type_id}"))
        keys = fuzzy.rank(text, entries) if text else [k for k, _ in entries]
        self.list.clear()
        for type_id in keys:
            nt = self.registry.get(type_id)
            item = QListWidgetItem(theme.category_icon(nt.category), f"{nt.title}   ·  {nt.category}")
            item.setData(TYPE_ROLE, type_id)
            item.setToolTip(nt.description)
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)

    def eventFilter(self, obj, event) -> bool:
        if obj is self.edit and event.type() == QEvent.KeyPress:
            key = event.key()
            if key in (Qt.Key_Down, Qt.Key_Up):
                row = self.list.currentRow() + (1 if key == Qt.Key_Down else -1)
                self.list.setCurrentRow(max(0, min(self.list.count() - 1, row)))
                return True
            if key in (Qt.Key_Return, Qt.Key_Enter):
                item = self.list.currentItem()
                if item is not None:
                    self._choose(item)
                return True
            if key == Qt.Key_Escape:
                self.hide()
                return True
        return super().eventFilter(obj, event)

    def _choose(self, item: QListWidgetItem) -> None:
        type_id = item.data(TYPE_ROLE)
        self.hide()
        if self.chosen_callback is not None and type_id:
            self.chosen_callback(type_id)
