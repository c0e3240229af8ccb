"""The node palette: node types by category, a search box, drag a type onto the canvas.

Dragging carries the type id under the canvas's MIME type; double-click (or Enter)
adds the type at the centre of the canvas for keyboard users.
"""

from __future__ import annotations

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QLineEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from studio.core.catalogue.registry import Registry

from . import fuzzy, theme
from .canvas.view import NODE_MIME

TYPE_ROLE = Qt.UserRole + 1


class _Tree(QTreeWidget):
    def mimeTypes(self) -> list[str]:
        return [NODE_MIME]

    def mimeData(self, items) -> QMimeData:
        mime = QMimeData()
        for item in items:
            type_id = item.data(0, TYPE_ROLE)
            if type_id:
                mime.setData(NODE_MIME, type_id.encode("utf-8"))
                mime.setText(type_id)
                break
        return mime


class Palette(QWidget):
    activated = Signal(str)  # a type id to add at the canvas centre

    def __init__(self, registry: Registry | None, parent=None):
        super().__init__(parent)
        self.setObjectName("palette")
        self.registry = registry
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search nodes…")
        self.search.setClearButtonEnabled(True)
        self.tree = _Tree(self)
        self.tree.setHeaderHidden(True)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragOnly)
        self.tree.setRootIsDecorated(True)
        self.tree.setIndentation(12)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        layout.addWidget(self.search)
        layout.addWidget(self.tree)
        self.search.textChanged.connect(self._filter)
        self.search.returnPressed.connect(self._activate_first)
        self.tree.itemActivated.connect(self._on_activated)
        self._items: dict[str, QTreeWidgetItem] = {}
        if registry is not None:
            self.populate()

    def set_registry(self, registry: Registry) -> None:
        self.registry = registry
        self.populate()

    def populate(self) -> None:
        self.tree.clear()
        self._items: dict[str, QTreeWidgetItem] = {}
        cats: dict[str, QTreeWidgetItem] = {}
        for nt in self.registry.types():
            cat = cats.get(nt.category)
            if cat is None:
                cat = QTreeWidgetItem([nt.category])
                cat.setIcon(0, theme.category_icon(nt.category))
                cat.setFlags(Qt.ItemIsEnabled)
                f = cat.font(0)
                f.setBold(True)
                cat.setFont(0, f)
                self.tree.addTopLevelItem(cat)
                cats[nt.category] = cat
            item = QTreeWidgetItem([nt.title or nt.type_id])
            item.setData(0, TYPE_ROLE, nt.type_id)
            item.setIcon(0, theme.category_icon(nt.category))
            item.setToolTip(0, f"{nt.title} ({nt.type_id})\n{nt.description}")
            item.setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable | Qt.ItemIsDragEnabled)
            cat.addChild(item)
            self._items[nt.type_id] = item
        self.tree.expandAll()

    def item_for(self, type_id: str) -> QTreeWidgetItem:
        return self._items[type_id]

    def _filter(self, text: str) -> None:
        matches = set(fuzzy.rank(text, [(k, f"{it.text(0)} {k} {self.registry.get(k).description}") for k, it in self._items.items()])) if text else None
        for i in range(self.tree.topLevelItemCount()):
            cat = self.tree.topLevelItem(i)
            visible = 0
            for j in range(cat.childCount()):
                child = cat.child(j)
                show = matches is None or child.data(0, TYPE_ROLE) in matches
                child.setHidden(not show)
                visible += show
            cat.setHidden(visible == 0)
        if text:
            ranked = fuzzy.rank(text, [(k, it.text(0)) for k, it in self._items.items()])
            if ranked:
                self.tree.setCurrentItem(self._items[ranked[0]])

    def _activate_first(self) -> None:
        item = self.tree.currentItem()
        if item is not None and item.data(0, TYPE_ROLE) and not item.isHidden():
            self.activated.emit(item.data(0, TYPE_ROLE))

    def _on_activated(self, item: QTreeWidgetItem, column: int) -> None:
        type_id = item.data(0, TYPE_ROLE)
        if type_id:
            self.activated.emit(type_id)
