"""The Batch window: dataset, mapping and first rows, a mock cost estimate, the run, the table.

It runs the main window's open flow (as it is on the canvas, saved or not) on the local
engine; for a cluster, the docs point at ``orchestra batch --engine ray``. Results and
each row's trace go to the flow's traces folder (``batch-<time>/``), so a row clicked in
the table opens in the main window like any run from the History: badges on the canvas
and the Last run tab, nothing re-run.
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QGridLayout,
                               QGroupBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QProgressBar, QPushButton,
                               QSpinBox, QTableView, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from studio.batch.dataset import BadRow, Dataset
from studio.batch.job import Batch, BatchConfig, BatchSetupError
from studio.batch.mapping import MappingError, build_mapping
from studio.batch.rowrun import RowSettings, run_row
from studio.core.running.runstate import fmt_cost, fmt_latency

from studio.ui.background import Background

from .results_model import COLUMNS, FILTERS, BatchFilter, BatchResultsModel
from .runner import BatchRunner

PREVIEW_ROWS = 8
ESTIMATE_ROWS = 5
NO_COLUMN = "(none: the input's default)"


class BatchWindow(QWidget):
    def __init__(self, main_window):
        super().__init__(main_window, Qt.Window)
        self.main = main_window
        self.setObjectName("batchWindow")
        self.setAttribute(Qt.WA_DeleteOnClose, True)
        self.dataset: Dataset | None = None
        self.columns: list[str] = []
        self.row_count: int | None = None
        self.batch: Batch | None = None
        self.out_dir: Path | None = None
        self.runner = BatchRunner(self)
        self.background = Background(self, workers=1)  # counting a big CSV's rows takes seconds
        self.runner.records.connect(self._records)
        self.runner.finished.connect(self._finished)
        self._estimate_future = None
        self._build()
        self.setWindowTitle(f"Batch — {self._flow_name()}")
        self.resize(1180, 800)

    # -- layout ---------------------------------------------------------------------------

    def _build(self) -> None:
        root = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(QLabel("Dataset:"))
        self.path_edit = QLineEdit()
        self.path_edit.setObjectName("batchDataPath")
        self.path_edit.setPlaceholderText("a .jsonl, .csv or .parquet file; its columns feed the flow's inputs by name")
        self.path_edit.returnPressed.connect(lambda: self.set_dataset(self.path_edit.text()))
        top.addWidget(self.path_edit, 1)
        choose = QPushButton("Choose…")
        choose.clicked.connect(self._choose)
        top.addWidget(choose)
        self.data_info = QLabel("")
        self.data_info.setObjectName("batchDataInfo")
        top.addWidget(self.data_info)
        root.addLayout(top)

        boxes = QHBoxLayout()
        map_box = QGroupBox("Column mapping")
        mv = QVBoxLayout(map_box)
        self.mapping_table = QTableWidget(0, 2)
        self.mapping_table.setObjectName("batchMapping")
        self.mapping_table.setHorizontalHeaderLabels(["Flow input", "Column"])
        self.mapping_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeToContents)
        self.mapping_table.horizontalHeader().setSectionResizeMode(1, QHeaderView.Stretch)
        self.mapping_table.verticalHeader().setVisible(False)
        mv.addWidget(self.mapping_table)
        self.mapping_note = QLabel("Choose a dataset.")
        self.mapping_note.setObjectName("batchMappingNote")
        self.mapping_note.setWordWrap(True)
        mv.addWidget(self.mapping_note)
        boxes.addWidget(map_box, 2)
        prev_box = QGroupBox("First rows")
        pv = QVBoxLayout(prev_box)
        self.preview = QTableWidget(0, 0)
        self.preview.setObjectName("batchPreview")
        self.preview.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.preview.horizontalHeader().setStretchLastSection(True)
        pv.addWidget(self.preview)
        boxes.addWidget(prev_box, 3)
        root.addLayout(boxes, 2)

        opts = QHBoxLayout()
        opts.addWidget(QLabel("Rows at once:"))
        self.concurrency = QSpinBox()
        self.concurrency.setRange(1, 256)
        self.concurrency.setValue(8)
        opts.addWidget(self.concurrency)
        opts.addWidget(QLabel("Budget:"))
        self.budget = QDoubleSpinBox()
        self.budget.setObjectName("batchBudget")
        self.budget.setDecimals(4)
        self.budget.setRange(0, 1e6)
        self.budget.setPrefix("$")
        self.budget.setSpecialValueText("none")
        opts.addWidget(self.budget)
        self.mock = QCheckBox("Mock (no key; costs are estimates)")
        self.mock.setChecked(self.main.run_toolbar.mock_action.isChecked())  # as the main window's Run would
        opts.addWidget(self.mock)
        self.estimate_btn = QPushButton(f"Estimate cost (mock run of {ESTIMATE_ROWS} rows)")
        self.estimate_btn.setObjectName("batchEstimate")
        self.estimate_btn.clicked.connect(self.estimate)
        opts.addWidget(self.estimate_btn)
        opts.addStretch(1)
        self.run_btn = QPushButton("Run batch")
        self.run_btn.setObjectName("batchRun")
        self.run_btn.clicked.connect(self.run)
        self.stop_btn = QPushButton("Stop")
        self.stop_btn.clicked.connect(self.runner.stop)
        self.stop_btn.setEnabled(False)
        opts.addWidget(self.run_btn)
        opts.addWidget(self.stop_btn)
        root.addLayout(opts)
        self.estimate_label = QLabel("")
        self.estimate_label.setObjectName("batchEstimateText")
        self.estimate_label.setWordWrap(True)
        root.addWidget(self.estimate_label)

        prog = QHBoxLayout()
        self.progress = QProgressBar()
        self.progress.setObjectName("batchProgress")
        self.progress.setFormat("%v / %m rows")
        self.progress.setValue(0)
        prog.addWidget(self.progress, 1)
        root.addLayout(prog)
        self.totals = QLabel("Not run yet.")
        self.totals.setObjectName("batchTotals")
        self.totals.setTextInteractionFlags(Qt.TextSelectableByMouse)
        root.addWidget(self.totals)

        filt = QHBoxLayout()
        self.status_filter = QComboBox()
        self.status_filter.addItems(FILTERS)
        filt.addWidget(self.status_filter)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Filter by row, output or error…")
        self.search.setClearButtonEnabled(True)
        filt.addWidget(self.search, 1)
        self.export_btn = QPushButton("Export CSV…")
        self.export_btn.clicked.connect(self._export_clicked)
        self.export_btn.setEnabled(False)
        filt.addWidget(self.export_btn)
        root.addLayout(filt)

        self.model = BatchResultsModel(self)
        self.proxy = BatchFilter(self)
        self.proxy.setSourceModel(self.model)
        self.status_filter.currentTextChanged.connect(self.proxy.set_status)
        self.search.textChanged.connect(self.proxy.set_text)
        self.table = QTableView()
        self.table.setObjectName("batchResults")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        header = self.table.horizontalHeader()
        for i in range(len(COLUMNS) - 2):
            header.setSectionResizeMode(i, QHeaderView.ResizeToContents)
        header.setSectionResizeMode(len(COLUMNS) - 2, QHeaderView.Interactive)
        header.resizeSection(len(COLUMNS) - 2, 260)
        header.setStretchLastSection(True)
        self.table.clicked.connect(self._row_clicked)
        self.table.setToolTip("Click a row to open its run in the main window")
        root.addWidget(self.table, 3)

    # -- the flow -------------------------------------------------------------------------

    def _flow_name(self) -> str:
        doc = self.main.document
        return doc.model.name if doc is not None and doc.model.name else "Untitled flow"

    def _plan(self):
        from studio.core.running.plan import compile_plan

        return compile_plan(self.main.document.model)

    # -- dataset and mapping --------------------------------------------------------------

    def _choose(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a dataset", str(Path.home()),
                                              "Datasets (*.jsonl *.ndjson *.csv *.tsv *.parquet);;All files (*)")
        if path:
            self.set_dataset(path)

    def set_dataset(self, path: str | Path) -> bool:
        self.path_edit.setText(str(path))
        try:
            ds = Dataset(path)
            columns = ds.columns()
            head = ds.head(PREVIEW_ROWS)
        except (ValueError, OSError) as exc:
            self.dataset, self.columns = None, []
            self.data_info.setText("")
            self._note(str(exc), error=True)
            self.mapping_table.setRowCount(0)
            self.preview.setRowCount(0)
            self._update_buttons()
            return False
        self.dataset, self.columns, self.row_count = ds, columns, None
        self.data_info.setText(f"counting rows… · {ds.kind.upper()}")
        self.background.submit(ds.count, lambda n, ds=ds: self._counted(ds, n),
                               lambda exc, ds=ds: self._counted(ds, None))
        self._fill_preview(head)
        self._fill_mapping()
        self.estimate_label.setText("")
        return True

    def _counted(self, ds: Dataset, n: int | None) -> None:
        if ds is not self.dataset:
            return  # another dataset was chosen meanwhile
        self.row_count = n
        self.data_info.setText(f"{n:,} rows · {ds.kind.upper()}" if n is not None else ds.kind.upper())
        if self.runner.running and n:
            self.progress.setMaximum(n)

    def _fill_preview(self, head: list[tuple[int, Any]]) -> None:
        cols = self.columns
        self.preview.clear()
        self.preview.setColumnCount(len(cols) + 1)
        self.preview.setHorizontalHeaderLabels(["row", *cols])
        self.preview.setRowCount(len(head))
        self.preview.verticalHeader().setVisible(False)
        for r, (index, values) in enumerate(head):
            self.preview.setItem(r, 0, QTableWidgetItem(str(index)))
            for c, name in enumerate(cols, 1):
                if isinstance(values, BadRow):
                    text = values.error if c == 1 else ""
                else:
                    v = values.get(name)
                    text = "" if v is None else (v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=repr))
                item = QTableWidgetItem(" ".join(text.split())[:200])
                item.setToolTip(text[:2000])
                self.preview.setItem(r, c, item)
        self.preview.resizeColumnsToContents()
        for c in range(self.preview.columnCount()):
            self.preview.setColumnWidth(c, min(self.preview.columnWidth(c), 260))

    def _fill_mapping(self) -> None:
        plan = self._plan()
        self.mapping_table.setRowCount(len(plan.inputs))
        for r, name in enumerate(plan.inputs):
            self.mapping_table.setItem(r, 0, QTableWidgetItem(name))
            combo = QComboBox()
            combo.addItem(NO_COLUMN, None)
            for col in self.columns:
                if not col.startswith("expected."):
                    combo.addItem(col, col)
            if name in self.columns:
                combo.setCurrentIndex(combo.findData(name))
            combo.currentIndexChanged.connect(lambda _i: self._check_mapping())
            self.mapping_table.setCellWidget(r, 1, combo)
        self._check_mapping()

    def maps(self) -> dict[str, str | None]:
        """{input: column or None} as the mapping table shows it (None: the input's default)."""
        out = {}
        for r in range(self.mapping_table.rowCount()):
            combo = self.mapping_table.cellWidget(r, 1)
            if combo is not None:
                out[self.mapping_table.item(r, 0).text()] = combo.currentData() or None
        return out

    def set_column(self, input_name: str, column: str | None) -> None:
        for r in range(self.mapping_table.rowCount()):
            if self.mapping_table.item(r, 0).text() == input_name:
                combo = self.mapping_table.cellWidget(r, 1)
                combo.setCurrentIndex(max(0, combo.findData(column)))

    def _check_mapping(self):
        if self.dataset is None:
            return None
        try:
            mapping = build_mapping(self.columns, self._plan(), self.maps())
        except MappingError as exc:
            self._note("\n".join(exc.problems), error=True)
            self._update_buttons(False)
            return None
        checks = [f"{e.column} → {e.output}" + ("" if e.form == "auto" else f" ({e.form})") for e in mapping.expected]
        parts = ["Checks: " + ", ".join(checks) if checks else "No expected.<output> columns: rows are run, not checked."]
        if mapping.ignored:
            parts.append("Not used: " + ", ".join(mapping.ignored))
        self._note("\n".join(parts))
        self._update_buttons(True)
        return mapping

    def _note(self, text: str, error: bool = False) -> None:
        self.mapping_note.setText(text)
        self.mapping_note.setStyleSheet("color: #e5484d;" if error else "")

    def _update_buttons(self, fits: bool | None = None) -> None:
        if fits is None:
            fits = self.dataset is not None
        running = self.runner.running
        self.run_btn.setEnabled(bool(fits) and not running)
        self.estimate_btn.setEnabled(bool(fits) and not running and self._estimate_future is None)
        self.stop_btn.setEnabled(running)
        self.export_btn.setEnabled(bool(self.model.records))

    # -- estimate -------------------------------------------------------------------------

    def estimate(self) -> None:
        mapping = self._check_mapping()
        if mapping is None or self.dataset is None:
            return
        plan, ds = self._plan(), self.dataset
        settings = RowSettings(mock=True, settings={"api_base": self.main.runs.api_base()} if self.main.runs.api_base() else {})

        async def go():
            rows = ds.head(ESTIMATE_ROWS)
            return [await run_row(plan, i, row, mapping, settings) for i, row in rows]

        self.estimate_label.setText(f"Estimating with a mock run of {ESTIMATE_ROWS} rows…")
        self._estimate_future = self.runner.submit(go())
        self._update_buttons()
        self._poll_estimate()

    def _poll_estimate(self) -> None:
        from PySide6.QtCore import QTimer

        fut = self._estimate_future
        if fut is None:
            return
        if not fut.done():
            QTimer.singleShot(50, self._poll_estimate)
            return
        self._estimate_future = None
        try:
            recs = fut.result()
        except Exception as exc:  # noqa: BLE001 - shown, not raised
            self.estimate_label.setText(f"The estimate failed: {exc}")
        else:
            self.estimate_label.setText(self.estimate_text(recs))
        self._update_buttons(self._check_mapping() is not None)

    def estimate_text(self, recs: list[dict[str, Any]]) -> str:
        if not recs:
            return "The dataset has no rows."
        n = len(recs)
        per_row = sum(r["cost_usd"] or 0.0 for r in recs) / n
        failed = sum(r["status"] != "succeeded" for r in recs)
        total = self.row_count or n
        text = (f"Mock run of {n} rows: {fmt_cost(per_row, estimate=True)} per row → "
                f"{fmt_cost(per_row * total, estimate=True)} for all "
                f"{total:,} rows at the real models' prices (output tokens counted from the mock answers).")
        if failed:
            text += f" {failed} of the {n} rows failed: {next(r['error'] for r in recs if r['status'] != 'succeeded')}"
        return text

    # -- running --------------------------------------------------------------------------

    def run(self) -> bool:
        mapping = self._check_mapping()
        if mapping is None or self.dataset is None or self.runner.running:
            return False
        from studio.core.userdata.paths import traces_dir

        self.out_dir = traces_dir(self._flow_name()) / f"batch-{time.strftime('%Y%m%d-%H%M%S')}"
        self.out_dir.mkdir(parents=True, exist_ok=True)
        api_base = self.main.runs.api_base()
        rows = RowSettings(mock=self.mock.isChecked(), trace_dir=str(self.out_dir / "rows"),
                           settings={"api_base": api_base} if api_base else {})
        budget = self.budget.value() or None
        config = BatchConfig(data=self.dataset.path, out=self.out_dir / "results.jsonl", maps=self.maps(),
                             concurrency=self.concurrency.value(), budget_usd=budget, rows=rows)
        try:
            self.batch = Batch(self._plan(), config, flow_path=self.main.document.path)
        except BatchSetupError as exc:
            self._note(str(exc), error=True)
            return False
        self.model.clear()
        self.model.mock = rows.mock
        self.progress.setMaximum(max(1, self.row_count or 0))
        self.progress.setValue(0)
        self.runner.start(self.batch)
        self.totals.setText("Running…")
        self._update_buttons(True)
        return True

    def _records(self, records: list[dict[str, Any]]) -> None:
        self.model.append(records)
        self.progress.setValue(len(self.model.records))
        self.totals.setText(self.totals_text(running=True))
        self.export_btn.setEnabled(True)

    def totals_text(self, running: bool = False, outcome: str | None = None) -> str:
        if self.batch is None:
            return "Not run yet."
        s = self.batch.stats.summary()
        shown = s["rows"] if outcome else len(self.model.records)  # running: what the table shows so far
        parts = [f"{shown:,} of {self.row_count or 0:,} rows", f"{s['failed']:,} failed"]
        if s["evaluated"]:
            parts.append(f"pass rate {s['pass_rate'] * 100:.1f}% ({s['passed']:,} of {s['evaluated']:,} checked)")
        mock = self.batch.config.rows.mock
        parts.append(f"cost {fmt_cost(s['cost_usd'], estimate=mock)}"
                     + (f" ({fmt_cost(s['cost_per_row_usd'], estimate=mock)}/row)" if s["rows"] else ""))
        if s["latency_p50_s"] is not None:
            parts.append(f"p50 {fmt_latency(s['latency_p50_s'])} · p95 {fmt_latency(s['latency_p95_s'])}")
        if s["slowest_node"]:
            parts.append(f"slowest node {s['slowest_node']['node']}")
        if running:
            parts.append(f"{s['rows_per_s']:,.1f} rows/s")
        lead = {"budget": "Stopped: the budget is spent. ", "cancelled": "Stopped. ",
                "failures": "Stopped after too many failures. ", "done": "Done. "}.get(outcome or "", "")
        return lead + " · ".join(parts)

    def _finished(self, outcome: str, error: str | None) -> None:
        if error:
            self.totals.setText(f"The batch stopped with an error: {error}")
        else:
            self.totals.setText(self.totals_text(outcome=outcome))
        self._update_buttons(self._check_mapping() is not None)

    # -- the table ------------------------------------------------------------------------

    def _row_clicked(self, index) -> None:
        self.open_row(self.proxy.mapToSource(index).row())

    def open_row(self, model_row: int) -> bool:
        """Open that row's run in the main window (canvas badges, Last run), running nothing."""
        from studio.core.running.runstate import trace_info

        rec = self.model.record(model_row)
        path = rec.get("trace")
        info = trace_info(Path(path)) if path and Path(path).is_file() else None
        if info is None:
            self.main.statusBar().showMessage(f"Row {rec['row']} has no trace to open", 6000)
            return False
        self.main.runs.open_history(info)
        self.main.statusBar().showMessage(f"Showing batch row {rec['row']}", 6000)
        return True

    def _export_clicked(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the results table", "batch-results.csv", "CSV (*.csv)")
        if path:
            self.export_csv(path)

    def export_csv(self, path: str | Path) -> int:
        """The table as shown (filter and sort applied), full outputs as JSON; returns the row count."""
        cols = ["row", "status", "passed", "latency_s", "cost_usd", "running_cost_usd", "tokens_in", "tokens_out",
                "outputs", "error", "failed_checks", "trace"]
        n = 0
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(cols)
            for r in range(self.proxy.rowCount()):
                src = self.proxy.mapToSource(self.proxy.index(r, 0)).row()
                rec = self.model.record(src)
                w.writerow([rec["row"], rec["status"], "" if rec.get("passed") is None else rec["passed"],
                            rec.get("latency_s"), rec.get("cost_usd"), self.model.cell(src, 5)[1], rec.get("tokens_in"),
                            rec.get("tokens_out"), json.dumps(rec.get("outputs"), ensure_ascii=False),
                            rec.get("error") or "", "; ".join(rec.get("checks") or []), rec.get("trace") or ""])
                n += 1
        return n

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.runner.close()
        self.background.close()
        if getattr(self.main, "_batch_window", None) is self:
            self.main._batch_window = None
        super().closeEvent(event)
