"""A Branch's cases as a list: one row per case (its port name and its condition).

Cases used to be edited as raw JSON; a list with Add, Remove and Move up/down is what
people expect, and it cannot produce a syntax error. The column title says what the
condition means in the Branch's current mode.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QPushButton, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

WHEN_TITLE = {
    "expression": "When (expression over value)",
    "keyword": "Keywords (comma-separated)",
    "regex": "Regular expression",
    "model": "Description for the model",
}


class CasesEditor(QWidget):
    changed = Signal(list)  # [{"name": ..., "when": ...}, ...]

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.table = QTableWidget(0, 2, self)
        self.table.setObjectName("casesTable")
        self.table.setHorizontalHeaderLabels(["Port", WHEN_TITLE["expression"]])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.Stretch)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setMinimumHeight(110)
        self.table.setMaximumHeight(200)
        self.table.itemChanged.connect(lambda _item: self._emit())
        self.add_button = QPushButton("Add case")
        self.add_button.setObjectName("addCase")
        self.remove_button = QPushButton("Remove")
        self.up_button = QPushButton("↑")
        self.down_button = QPushButton("↓")
        self.up_button.setToolTip("Move the case up (cases are checked in order)")
        self.down_button.setToolTip("Move the case down")
        for b in (self.up_button, self.down_button):
            b.setFixedWidth(32)
        self.add_button.clicked.connect(self.add_case)
        self.remove_button.clicked.connect(self.remove_case)
        self.up_button.clicked.connect(lambda: self.move_case(-1))
        self.down_button.clicked.connect(lambda: self.move_case(1))
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        for b in (self.add_button, self.remove_button, self.up_button, self.down_button):
            row.addWidget(b)
        row.addStretch(1)
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 0, 0, 0)
        v.addWidget(self.table)
        v.addLayout(row)
        self._filling = False

    def set_mode(self, mode: str) -> None:
        self.table.setHorizontalHeaderItem(1, QTableWidgetItem(WHEN_TITLE.get(mode, "When")))

    def value(self) -> list[dict[str, Any]]:
        out = []
        for r in range(self.table.rowCount()):
            name = (self.table.item(r, 0).text() if self.table.item(r, 0) else "").strip()
            when = self.table.item(r, 1).text() if self.table.item(r, 1) else ""
            out.append({"name": name, "when": when})
        return out

    def set_value(self, cases: Any) -> None:
        cases = [c for c in cases if isinstance(c, dict)] if isinstance(cases, list) else []
        if cases == self.value():
            return
        self._filling = True
        try:
            self.table.setRowCount(len(cases))
            for r, c in enumerate(cases):
                self.table.setItem(r, 0, QTableWidgetItem(str(c.get("name", ""))))
                self.table.setItem(r, 1, QTableWidgetItem(str(c.get("when", "") or "")))
        finally:
            self._filling = False

    def _emit(self) -> None:
        if not self._filling:
            self.changed.emit(self.value())

    def add_case(self) -> None:
        taken = {c["name"] for c in self.value()}
        k = len(taken) + 1
        while f"case_{k}" in taken:
            k += 1
        self._filling = True
        r = self.table.rowCount()
        self.table.insertRow(r)
        self.table.setItem(r, 0, QTableWidgetItem(f"case_{k}"))
        self.table.setItem(r, 1, QTableWidgetItem(""))
        self._filling = False
        self.table.setCurrentCell(r, 1)
        self._emit()

    def remove_case(self) -> None:
        r = self.table.currentRow()
        if r >= 0:
            self.table.removeRow(r)
            self._emit()

    def move_case(self, step: int) -> None:
        r = self.table.currentRow()
        cases = self.value()
        t = r + step
        if r < 0 or not 0 <= t < len(cases):
            return
        cases[r], cases[t] = cases[t], cases[r]
        self.set_value(cases)
        self.table.setCurrentCell(t, self.table.currentColumn() if self.table.currentColumn() >= 0 else 0)
        self.changed.emit(self.value())
