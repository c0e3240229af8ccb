"""Blocking work (keyring look-ups, reading traces, test connections) off the GUI thread.

``submit(fn, on_done, on_error)`` runs ``fn`` in a small thread pool and calls back on
the GUI thread through a queued signal. The OS keyring can block for seconds (a locked
wallet, a D-Bus timeout), so the studio never calls it where it would freeze the window.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal


class Background(QObject):
    _done = Signal(object, object)  # callback, argument

    def __init__(self, parent: QObject | None = None, workers: int = 2):
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="studio-bg")
        self._done.connect(self._deliver)
        self._closed = False

    def submit(self, fn: Callable[[], Any], on_done: Callable[[Any], None] | None = None,
               on_error: Callable[[BaseException], None] | None = None):
        if self._closed:
            return None

        def job() -> None:
            try:
                result = fn()
            except Exception as exc:  # noqa: BLE001 - handed to on_error
                self._post(on_error, exc)
            else:
                self._post(on_done, result)

        return self._pool.submit(job)

    def _post(self, callback, arg) -> None:
        if callback is None or self._closed:
            return
        try:
            self._done.emit(callback, arg)
        except RuntimeError:  # the window went away while we worked
            pass

    def _deliver(self, callback, arg) -> None:
        if not self._closed:
            callback(arg)

    def close(self) -> None:
        self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)
