"""The Batch window's results table: one row per dataset row, sortable and filterable.

Rows arrive in completion order (several run at once); the "Running total" column is the
cost so far in that order, so the table also reads as the batch's cost over time.
Sorting uses each cell's raw value (numbers sort as numbers), filtering combines a
status choice with a text search over outputs and errors.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QColor

from studio.core.running.runstate import fmt_cost, fmt_latency, fmt_tokens, fmt_value
from studio.ui import theme

COLUMNS = ("Row", "Status", "Check", "Latency", "Cost", "Running total", "Tokens", "Output", "Error / failed check")
SORT_ROLE = Qt.UserRole + 1
FILTERS = ("All rows", "Succeeded", "Failed", "Passed checks", "Failed checks")


def _short(value: Any, limit: int = 120) -> str:
    if isinstance(value, dict) and len(value) == 1:
        value = next(iter(value.values()))
    text = " ".join(fmt_value(value, inline=True).split())  # one line in a table cell
    return text if len(text) <= limit else text[: limit - 1] + "…"


class BatchResultsModel(QAbstractTableModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.records: list[dict[str, Any]] = []
        self._running: list[float] = []
        self.mock = False  # a mock batch: its costs read as estimates ("est. $…")

    def clear(self) -> None:
        self.beginResetModel()
        self.records, self._running = [], []
        self.endResetModel()

    def append(self, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        first = len(self.records)
        self.beginInsertRows(QModelIndex(), first, first + len(records) - 1)
        total = self._running[-1] if self._running else 0.0
        for rec in records:
            total += rec.get("cost_usd") or 0.0
            self.records.append(rec)
            self._running.append(total)
        self.endInsertRows()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 - Qt's name
        return 0 if parent.isValid() else len(self.records)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.DisplayRole):  # noqa: N802
        if orientation == Qt.Horizontal and role == Qt.DisplayRole:
            return COLUMNS[section]
        return None

    def record(self, row: int) -> dict[str, Any]:
        return self.records[row]

    def check_text(self, rec: dict[str, Any]) -> str:
        return {True: "pass", False: "FAIL", None: "—"}[rec.get("passed")]

    def cell(self, row: int, column: int) -> tuple[str, Any]:
        """(display text, sort value) of one cell."""
        rec = self.records[row]
        if column == 0:
            return str(rec["row"]), rec["row"]
        if column == 1:
            return rec["status"], rec["status"]
        if column == 2:
            return self.check_text(rec), {True: 2, None: 1, False: 0}[rec.get("passed")]
        if column == 3:
            s = rec.get("latency_s") or 0.0
            return fmt_latency(s), s
        if column == 4:
            return fmt_cost(rec.get("cost_usd"), estimate=self.mock), rec.get("cost_usd") or 0.0
        if column == 5:
            return fmt_cost(self._running[row], estimate=self.mock), self._running[row]
        if column == 6:
            n = (rec.get("tokens_in") or 0) + (rec.get("tokens_out") or 0)
            return fmt_tokens(n), n
        if column == 7:
            text = _short(rec.get("outputs") or {}) if rec.get("outputs") else ""
            return text, text
        text = rec.get("error") or "; ".join(rec.get("checks") or [])
        text = _short(text, 200) if text else ""
        return text, text

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        row, column = index.row(), index.column()
        if role == Qt.DisplayRole:
            return self.cell(row, column)[0]
        if role == SORT_ROLE:
            return self.cell(row, column)[1]
        if role == Qt.ForegroundRole:
            rec = self.records[row]
            if column == 1:
                return QColor(theme.RUN_COLORS.get("done" if rec["status"] == "succeeded" else "failed", "#cccccc"))
            if column == 2 and rec.get("passed") is not None:
                return QColor(theme.RUN_COLORS["done"] if rec["passed"] else theme.RUN_COLORS["failed"])
        if role == Qt.TextAlignmentRole and column in (0, 3, 4, 5, 6):
            return int(Qt.AlignRight | Qt.AlignVCenter)
        if role == Qt.ToolTipRole and column in (7, 8):
            rec = self.records[row]
            return fmt_value(rec.get("outputs")) if column == 7 else \
                (rec.get("error") or "\n".join(rec.get("checks") or []))
        return None


class BatchFilter(QSortFilterProxyModel):
    """A status choice (FILTERS) and a text search over row number, outputs and errors."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(True)
        self._status = FILTERS[0]
        self._text = ""

    def set_status(self, choice: str) -> None:
        self._status = choice
        self.invalidateFilter()

    def set_text(self, text: str) -> None:
        self._text = text.strip().lower()
        self.invalidateFilter()

    def filterAcceptsRow(self, source_row, source_parent) -> bool:  # noqa: N802
        model: BatchResultsModel = self.sourceModel()  # type: ignore[assignment]
        rec = model.record(source_row)
        s = self._status
        if s == "Succeeded" and rec["status"] != "succeeded":
            return False
        if s == "Failed" and rec["status"] == "succeeded":
            return False
        if s == "Passed checks" and rec.get("passed") is not True:
            return False
        if s == "Failed checks" and rec.get("passed") is not False:
            return False
        if self._text:
            hay = " ".join(model.cell(source_row, c)[0] for c in (0, 7, 8)).lower()
            return self._text in hay
        return True
