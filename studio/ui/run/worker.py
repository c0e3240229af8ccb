"""The executor's own thread: an asyncio loop that runs flows away from the GUI thread.

Why a thread: litellm spends ~5 ms of CPU per call (13 ms streaming); on the GUI thread a
busy run froze the window for half a second (DESIGN §5). Here the executor, litellm and
the HTTP stack run on one asyncio loop in a daemon thread that lives as long as the
window; the GUI thread only folds events into the run state and paints.

Events cross over in batches: the run's listener (called on the loop thread for every
event) appends to a buffer, and the first event into an empty buffer posts ONE queued
Qt signal. The GUI takes the whole buffer when it handles that signal, at most once per
frame (``FRAME_S``), so however many events a run emits, the GUI wakes at most ~60 times
a second and a slow frame simply makes the next batch larger -- signals never pile up.

Approvals: the run's approval handler parks a future on the loop, keyed by (node, scope);
the GUI sees the ``approval_requested`` event, asks the person without blocking anything,
and ``resolve_approval`` completes the future thread-safely. Stop cancels the run on its
loop; the executor cancels every in-flight call and waits for them.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, Callable

from PySide6.QtCore import QObject, QTimer, Signal

from studio.core import events as ev
from studio.core.context import ApprovalDecision, ApprovalRequest
from studio.core.events import Event
from studio.core.executor import Run, RunOptions, RunResult, start_run

FRAME_S = 1 / 60


class RunWorker(QObject):
    """Owns the executor thread; one run at a time is started through it."""

    events = Signal(object)  # list[Event], on the GUI thread, at most once per frame
    finished = Signal(object)  # RunResult (or an Exception when the run could not even start)
    _wake = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._buf: list[Event] = []
        self._signaled = False
        self._last_take = 0.0
        self._approvals: dict[tuple[str, tuple], asyncio.Future] = {}
        self.run: Run | None = None
        self._future = None
        self._wake.connect(self._on_wake)  # queued: emitted from the loop thread
        self._frame_timer = QTimer(self)
        self._frame_timer.setSingleShot(True)
        self._frame_timer.timeout.connect(self._take)

    # -- the thread ------------------------------------------------------------------

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            loop = asyncio.new_event_loop()
            ready = threading.Event()

            def main() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(ready.set)
                loop.run_forever()

            self._thread = threading.Thread(target=main, name="orchestra-runs", daemon=True)
            self._thread.start()
            ready.wait(5)
            self._loop = loop
        return self._loop

    def call(self, fn: Callable[[], Any]) -> None:
        """Run ``fn`` on the executor's loop (thread-safe)."""
        self.loop.call_soon_threadsafe(fn)

    def submit(self, coro) -> "asyncio.Future":
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    @property
    def busy(self) -> bool:
        return self._future is not None and not self._future.done()

    def shutdown(self) -> None:
        """Cancel a run still going and stop the thread (the window is closing)."""
        if self._loop is None:
            return
        self.cancel()
        loop = self._loop
        if self._future is not None:
            try:
                self._future.result(2)
            except Exception:
                pass

        def stop() -> None:
            loop.stop()

        loop.call_soon_threadsafe(stop)
        if self._thread is not None:
            self._thread.join(3)
        if not loop.is_running():
            loop.close()
        self._loop = None

    # -- running ---------------------------------------------------------------------

    def start(self, plan, options: RunOptions) -> Run:
        """Start a run of a compiled plan; events arrive through ``events``."""
        if self.busy:
            raise RuntimeError("a run is already going")
        options.approval_handler = self._approval
        run = start_run(plan, options)
        run.add_listener(self._listen)
        self.run = run
        with self._lock:
            self._buf = []
            self._signaled = False
        self._approvals.clear()

        async def go() -> RunResult:
            return await run.wait()

        fut = self.submit(go())
        self._future = fut
        fut.add_done_callback(self._done)
        return run

    def cancel(self) -> None:
        run = self.run
        if run is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(run.cancel)

    def _done(self, fut) -> None:  # on the loop thread: make sure the GUI hears of the end
        with self._lock:
            if self._signaled:
                return  # a wake is on its way; its _take sees the finished future
            self._signaled = True
        self._wake.emit()

    def _listen(self, e: Event) -> None:  # on the loop thread, for every event
        with self._lock:
            self._buf.append(e)
            if self._signaled:
                return
            self._signaled = True
        self._wake.emit()

    # -- the GUI side ----------------------------------------------------------------

    def _on_wake(self) -> None:
        wait = self._last_take + FRAME_S - time.perf_counter()
        if wait > 0.001:
            if not self._frame_timer.isActive():
                self._frame_timer.start(int(wait * 1000) + 1)
            return
        self._take()

    def _take(self) -> None:
        with self._lock:
            batch, self._buf = self._buf, []
            self._signaled = False
        self._last_take = time.perf_counter()
        if batch:
            self.events.emit(batch)
        fut = self._future
        if fut is not None and fut.done():
            self._future = None
            try:
                result = fut.result()
            except BaseException as exc:  # noqa: BLE001 - reported to the panel
                result = exc
            self.finished.emit(result)

    def flush(self) -> None:
        """Deliver whatever is buffered now (tests, and the end of a run)."""
        self._frame_timer.stop()
        self._take()

    # -- approvals -------------------------------------------------------------------

    async def _approval(self, req: ApprovalRequest) -> ApprovalDecision:  # on the loop
        fut = asyncio.get_running_loop().create_future()
        key = (req.node_id, tuple(req.scope))
        self._approvals[key] = fut
        try:
            return await fut
        finally:
            self._approvals.pop(key, None)

    def resolve_approval(self, node: str, scope: tuple, decision: ApprovalDecision) -> None:
        """The person answered: complete the waiting handler (from the GUI thread)."""
        def answer() -> None:
            fut = self._approvals.get((node, tuple(scope)))
            if fut is not None and not fut.done():
                fut.set_result(decision)

        if self._loop is not None:
            self._loop.call_soon_threadsafe(answer)


__all__ = ["FRAME_S", "RunWorker", "ev"]
