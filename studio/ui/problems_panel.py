"""The Problems list: severity, where, what and what to do; a click selects and centres the node."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from studio.core.document.problems import Problem

from . import theme

NODE_ROLE = Qt.UserRole + 1


class ProblemsPanel(QWidget):
    node_activated = Signal(str)
    count_changed = Signal(int, int)  # errors, warnings

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("problems")
        self.tree = QTreeWidget(self)
        self.tree.setRootIsDecorated(False)
        self.tree.setHeaderLabels(["", "Where", "Problem", "What to do"])
        self.tree.setColumnWidth(0, 28)
        self.tree.setColumnWidth(1, 190)
        # the problem and what to do share the width: a fixed 420 px cut most messages short
        self.tree.header().setSectionResizeMode(2, QHeaderView.Stretch)
        self.tree.header().setSectionResizeMode(3, QHeaderView.Stretch)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tree)
        self.tree.itemClicked.connect(self._clicked)
        self.tree.itemActivated.connect(self._clicked)
        self._icons = {"error": theme.severity_icon("error"), "warning": theme.severity_icon("warning")}
        self.problems: list[Problem] = []

    def set_problems(self, problems: list[Problem]) -> None:
        ordered = sorted(problems, key=lambda p: (p.severity != "error", p.node or "", p.port or "", p.message))
        if ordered == self.problems:
            return
        self.problems = ordered
        self.tree.clear()
        items = []
        for p in ordered:
            where = p.node or "flow"
            if p.port:
                where += f".{p.port}"
            # the hint is a column of its own: in a tooltip nobody found it
            item = QTreeWidgetItem(["", where, p.message, p.hint or ""])
            item.setIcon(0, self._icons.get(p.severity, self._icons["warning"]))
            item.setData(0, NODE_ROLE, p.node)
            tip = f"{p.severity}: {p.message} [{p.code}]" + (f"\nhint: {p.hint}" if p.hint else "")
            for col in range(4):
                item.setToolTip(col, tip)
            items.append(item)
        self.tree.addTopLevelItems(items)
        errors = sum(1 for p in ordered if p.severity == "error")
        self.count_changed.emit(errors, len(ordered) - errors)

    def _clicked(self, item: QTreeWidgetItem, column: int = 0) -> None:
        node = item.data(0, NODE_ROLE)
        if node:
            self.node_activated.emit(node)
