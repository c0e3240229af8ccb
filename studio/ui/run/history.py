"""Run history: the runs of this flow file, read from their JSON-lines traces.

Every run writes a trace (DESIGN §3), so the history needs no database. Which runs belong
to the open flow, how a trace is summarised and how it is replayed into a RunState is the
headless run state's business (``studio.core.running.runstate``); this module only lists
them. Opening a run shows its states and values on the canvas and nothing runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QHBoxLayout, QHeaderView, QLabel, QPushButton, QTreeWidget, QTreeWidgetItem, QVBoxLayout,
                               QWidget)

from studio.core.running.runstate import TraceInfo, fmt_latency, list_runs, load_run, trace_folder  # noqa: F401 (re-exported)

class HistoryPanel(QWidget):
    """The runs of the open flow; opening one shows it on the canvas without running."""

    open_requested = Signal(object)  # TraceInfo
    refresh_requested = Signal()
    back_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("historyPanel")
        self.runs: list[TraceInfo] = []
        self.tree = QTreeWidget()
        self.tree.setObjectName("historyList")
        self.tree.setHeaderLabels(["Started", "Status", "Cost", "Time", "Mode"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.header().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.tree.itemActivated.connect(self._activated)
        self.tree.itemDoubleClicked.connect(self._activated)
        self.info = QLabel("")
        self.info.setObjectName("historyInfo")
        self.info.setWordWrap(True)
        open_btn = QPushButton("Open")
        open_btn.setToolTip("Show this run's states and values on the canvas (nothing runs)")
        open_btn.clicked.connect(lambda: self._activated(self.tree.currentItem()))
        self.back_btn = QPushButton("Back to latest")
        self.back_btn.setToolTip("Show the latest run of this session again")
        self.back_btn.clicked.connect(self.back_requested.emit)
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh_requested.emit)
        row = QHBoxLayout()
        row.addWidget(open_btn)
        row.addWidget(self.back_btn)
        row.addStretch(1)
        row.addWidget(refresh)
        v = QVBoxLayout(self)
        v.setContentsMargins(6, 6, 6, 6)
        v.addWidget(self.tree, 1)
        v.addWidget(self.info)
        v.addLayout(row)

    def set_runs(self, runs: list[TraceInfo], viewing: Path | None = None) -> None:
        self.runs = runs
        self.tree.clear()
        for info in runs:
            item = QTreeWidgetItem([info.when, info.status, info.cost_text(),
                                    fmt_latency(info.wall_s) if info.wall_s is not None else "", "mock" if info.mock else "live"])
            item.setData(0, Qt.UserRole, info)
            if info.error:
                item.setToolTip(1, info.error)
            if viewing is not None and info.path == viewing:
                font = item.font(0)
                font.setBold(True)
                for c in range(5):
                    item.setFont(c, font)
            self.tree.addTopLevelItem(item)
        self.info.setText(f"{len(runs)} run(s) of this flow" if runs else "No runs of this flow yet: press Run (F5).")

    def _activated(self, item: QTreeWidgetItem | None, *_: Any) -> None:
        if item is not None:
            self.open_requested.emit(item.data(0, Qt.UserRole))
