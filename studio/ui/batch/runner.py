"""Runs a batch (local engine) on its own asyncio loop thread and hands records to the GUI.

Records are appended to a deque by the loop thread and drained by a timer on the GUI
thread every 100 ms, so a thousand rows a second cost the window ten table inserts a
second, not a thousand signals.
"""

from __future__ import annotations

import asyncio
import collections
from concurrent.futures import Future
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from studio.ui.loop_thread import LoopThread

TICK_MS = 100


class BatchRunner(QObject):
    records = Signal(list)  # new records, in completion order
    finished = Signal(str, object)  # outcome ("done", "budget", "failures", "cancelled", "error"), error text

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._thread = LoopThread("orchestra-batch")
        self._queue: collections.deque = collections.deque()
        self._future: Future | None = None
        self._task: asyncio.Task | None = None
        self.batch = None
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._drain)

    @property
    def running(self) -> bool:
        return self._future is not None

    def start(self, batch) -> None:
        self.batch = batch
        batch.on_record = self._queue.append

        async def go() -> str:
            from studio.llm.warm import warm_up_before_run

            self._task = asyncio.current_task()
            try:
                await warm_up_before_run(batch.plan)  # litellm and tokenizers, before the clock
                return await batch.run_local()
            except asyncio.CancelledError:
                return "cancelled"

        self._future = self._thread.submit(go())
        self._timer.start()

    def submit(self, coro) -> Future:
        """Other work for the batch's loop (the mock estimate)."""
        return self._thread.submit(coro)

    def stop(self) -> None:
        task, loop = self._task, self._thread.loop if self._thread.started else None
        if task is not None and loop is not None:
            loop.call_soon_threadsafe(task.cancel)

    def _drain(self) -> None:
        items: list[dict[str, Any]] = []
        while self._queue:
            items.append(self._queue.popleft())
        if items:
            self.records.emit(items)
        fut = self._future
        if fut is not None and fut.done() and not self._queue:
            self._timer.stop()
            self._future = None
            self._task = None
            try:
                outcome, error = fut.result(), None
            except Exception as exc:  # noqa: BLE001 - shown in the window, e.g. the disk is full
                outcome, error = "error", f"{type(exc).__name__}: {exc}"
            self.finished.emit(outcome, error)

    def close(self) -> None:
        self.stop()
        self._timer.stop()
        self._thread.close()
