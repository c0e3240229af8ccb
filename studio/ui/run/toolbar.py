"""The run toolbar: Run (F5), Run from the selected node, Stop, Mock, budget, concurrency."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QColor, QIcon, QKeySequence, QPainter, QPixmap, QPolygonF
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtWidgets import QDoubleSpinBox, QLabel, QSpinBox, QToolBar, QWidget


def _icon(kind: str, color: str) -> QIcon:
    pm = QPixmap(20, 20)
    pm.fill(Qt.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.Antialiasing)
    p.setPen(Qt.NoPen)
    p.setBrush(QColor(color))
    if kind == "run":
        p.drawPolygon(QPolygonF([QPointF(5, 3), QPointF(17, 10), QPointF(5, 17)]))
    elif kind == "from":
        p.drawRect(QRectF(3, 3, 3, 14))
        p.drawPolygon(QPolygonF([QPointF(8, 3), QPointF(18, 10), QPointF(8, 17)]))
    else:
        p.drawRoundedRect(QRectF(4, 4, 12, 12), 2, 2)
    p.end()
    return QIcon(pm)


class RunToolbar(QToolBar):
    def __init__(self, parent: QWidget | None = None):
        super().__init__("Run", parent)
        self.setObjectName("runToolbar")
        self.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        self.run_action = QAction(_icon("run", "#46c46e"), "Run", self)
        self.run_action.setObjectName("runAction")
        self.run_action.setShortcut(QKeySequence("F5"))
        self.run_action.setToolTip("Run the flow (F5)")
        self.run_from_action = QAction(_icon("from", "#3b9eff"), "Run from here", self)
        self.run_from_action.setObjectName("runFromAction")
        self.run_from_action.setShortcut(QKeySequence("Ctrl+F5"))
        self.run_from_action.setToolTip("Run from the selected node, reusing the last run's outputs of every node "
                                        "before it (Ctrl+F5): nothing upstream is paid for twice")
        self.stop_action = QAction(_icon("stop", "#e5484d"), "Stop", self)
        self.stop_action.setObjectName("stopAction")
        self.stop_action.setShortcut(QKeySequence("Shift+F5"))
        self.stop_action.setToolTip("Stop the run: every call in flight is cancelled (Shift+F5)")
        self.stop_action.setEnabled(False)
        self.mock_action = QAction("Mock", self)
        self.mock_action.setObjectName("mockAction")
        self.mock_action.setCheckable(True)
        self.mock_action.setToolTip("Mock mode: LLM nodes answer with their mock responses -- no key, nothing paid (costs shown are estimates)")
        for a in (self.run_action, self.run_from_action, self.stop_action):
            a.setShortcutContext(Qt.WindowShortcut)
            self.addAction(a)
        self.addSeparator()
        self.addAction(self.mock_action)
        self.addSeparator()
        self.addWidget(QLabel(" Budget "))
        self.budget = QDoubleSpinBox()
        self.budget.setObjectName("budgetField")
        self.budget.setRange(0, 100000)
        self.budget.setDecimals(4)
        self.budget.setSingleStep(0.1)
        self.budget.setPrefix("$")
        self.budget.setSpecialValueText("no limit")
        self.budget.setToolTip("No new paid call starts once the run has spent this much (0: no limit)")
        self.addWidget(self.budget)
        self.addWidget(QLabel("  Concurrency "))
        self.concurrency = QSpinBox()
        self.concurrency.setObjectName("concurrencyField")
        self.concurrency.setRange(1, 1000)
        self.concurrency.setValue(16)
        self.concurrency.setToolTip("How many nodes run at once, run-wide")
        self.addWidget(self.concurrency)

    def budget_usd(self) -> float | None:
        v = self.budget.value()
        return v if v > 0 else None

    def set_running(self, running: bool) -> None:
        self.run_action.setEnabled(not running)
        self.run_from_action.setEnabled(not running)
        self.stop_action.setEnabled(running)
