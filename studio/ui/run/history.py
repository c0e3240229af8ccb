"""Run history: the runs of this flow, read from their JSON-lines traces.

Every run writes a trace (DESIGN §3), so the history needs no database: the list reads
only the first line (run started: id, mock, budget) and the last (the end event with
status and totals) of each file, which stays fast however large the traces grow.
Opening a run reads the whole trace in a background thread and replays its events into
a RunState -- states and values appear on the canvas and nothing runs, no request goes out.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QHBoxLayout, QHeaderView, QLabel, QPushButton, QTreeWidget, QTreeWidgetItem, QVBoxLayout,
                               QWidget)

from studio.core.running.events import read_trace
from studio.core.userdata.paths import traces_dir

from .state import RunState, fmt_cost, fmt_latency

MAX_LISTED = 200


@dataclass
class TraceInfo:
    path: Path
    started: float  # epoch seconds
    run_id: str
    status: str  # succeeded, failed, budget_exceeded, cancelled, incomplete
    cost_usd: float | None
    wall_s: float | None
    mock: bool
    error: str | None

    @property
    def when(self) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.started))

    def label(self) -> str:
        return f"{self.when} · {self.status} · {fmt_cost(self.cost_usd)}{' · mock' if self.mock else ''}"


def _last_line(path: Path) -> bytes:
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        chunk = 65536
        start = max(0, size - chunk)
        fh.seek(start)
        data = fh.read()
        while start > 0 and data.rstrip(b"\n").count(b"\n") == 0:  # one huge last line
            start = max(0, start - chunk)
            fh.seek(start)
            data = fh.read()
    lines = data.rstrip(b"\n").split(b"\n")
    return lines[-1] if lines else b""


def trace_info(path: Path) -> TraceInfo | None:
    try:
        with open(path, "rb") as fh:
            first = fh.readline()
        last = _last_line(path)
        head = json.loads(first) if first.strip() else {}
        tail = json.loads(last) if last.strip() else {}
    except (OSError, ValueError):
        return None
    hd = head.get("data", {}) if head.get("type") == "run_started" else {}
    status = "incomplete"
    cost = wall = None
    error = None
    if tail.get("type") in ("run_finished", "run_failed", "run_cancelled"):
        td = tail.get("data", {})
        status = {"run_finished": "succeeded", "run_cancelled": "cancelled"}.get(tail["type"]) or td.get("status") or "failed"
        totals = td.get("totals") or {}
        cost, wall, error = totals.get("cost_usd"), totals.get("wall_s"), td.get("error")
    try:
        started = path.stat().st_mtime - (wall or 0.0)
    except OSError:
        started = 0.0
    run_id = hd.get("run_id") or path.stem.rsplit("-", 1)[-1]
    return TraceInfo(path, started, run_id, status, cost, wall, bool(hd.get("mock")), error)


def list_runs(flow_name: str, limit: int = MAX_LISTED) -> list[TraceInfo]:
    """The flow's runs, newest first."""
    folder = traces_dir(flow_name or "")
    if not folder.is_dir():
        return []
    files = sorted(folder.glob("*.jsonl"), key=lambda p: p.stat().st_mtime, reverse=True)[:limit]
    out = [info for info in (trace_info(p) for p in files) if info is not None]
    out.sort(key=lambda i: i.started, reverse=True)
    return out


def load_run(path: Path, node_ids=()) -> RunState:
    """Replay a trace into a RunState (no request, no node runs)."""
    with open(path, "rb") as fh:
        events = read_trace(fh)
    state = RunState(node_ids, live=False)
    state.feed(events)
    if not state.ended:
        state.status = "incomplete"
    info = trace_info(Path(path))
    if info is not None:
        state.started_at = info.started
    state.trace_path = Path(path)  # type: ignore[attr-defined]
    return state


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
            item = QTreeWidgetItem([info.when, info.status, fmt_cost(info.cost_usd),
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
