"""Runs flows away from the GUI: in the run host process (default) or on a thread.

Why not the GUI thread: litellm spends ~5 ms of CPU per call (13 ms streaming); on the GUI
thread a busy run froze the window for half a second (DESIGN §5). Why not merely another
thread (``ORCHESTRA_RUN_HOST=thread`` keeps that mode): the run then holds the process's
GIL, and a 500-call fan-out stalled the window for 600 ms at a time, because every Python
paint and handler of the window waited for the GIL. So by default runs go to the run host
(``studio.host.runhost``), one child process shared by every window of the studio, started
when the first window is up; the GUI thread only folds decoded events into the run state
and paints. The thread mode runs the same executor on an asyncio loop in a daemon thread.

Events cross over in batches: the run's listener (called on the loop thread for every
event) appends to a buffer, and the first event into an empty buffer posts ONE queued
Qt signal. The GUI takes the whole buffer when it handles that signal, at most once per
frame (``FRAME_S``), so however many events a run emits, the GUI wakes at most ~60 times
a second and a slow frame simply makes the next batch larger -- signals never pile up.

Approvals: the run's approval handler parks a future on the loop, keyed by (node, scope);
the GUI sees the ``approval_requested`` event, asks the person without blocking anything,
and ``resolve_approval`` completes the future thread-safely. Stop cancels the run on its
loop; the executor cancels every in-flight call and waits for them.

Warm-up: before a run starts, both modes pay litellm's import and the plan's tokenizers
(``studio.llm.warm``), so the first model node's latency is its call's; the window shows
"Starting…" until ``run_started``. Stop during the warm-up ends it at once, and the run
then starts cancelled (it is recorded as stopped, no node runs).
"""

from __future__ import annotations

import asyncio
import atexit
import os
import threading
import time
import uuid
from typing import Any, Callable

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from studio.core.running import events as ev
from studio.core.catalogue.context import ApprovalDecision, ApprovalRequest
from studio.core.running.events import Event
from studio.core.running.executor import Run, RunOptions, RunResult, start_run
from studio.host import runhost

from ..loop_thread import LoopThread

FRAME_S = 1 / 60


def host_mode() -> str:
    """"process" (the run host, default) or "thread" (``ORCHESTRA_RUN_HOST=thread``)."""
    return "thread" if os.environ.get("ORCHESTRA_RUN_HOST", "").strip().lower() == "thread" else "process"


class _Hub:
    """The one run host of this studio process, and which worker each of its runs belongs to."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.workers: dict[str, "RunWorker"] = {}
        self.client = runhost.HostClient(self.dispatch)

    def dispatch(self, msg: dict[str, Any]) -> None:  # on the client's reader thread
        with self.lock:  # held while a worker takes the message: detach() waits for it
            if msg.get("t") == "gone":
                for w in list(self.workers.values()):
                    w._host_message(msg)
                return
            w = self.workers.get(msg.get("run"))
            if w is not None:
                w._host_message(msg)

    def attach(self, run_id: str, worker: "RunWorker") -> None:
        with self.lock:
            self.workers[run_id] = worker

    def detach(self, worker: "RunWorker") -> None:
        with self.lock:
            for k in [k for k, w in self.workers.items() if w is worker]:
                del self.workers[k]

    def close(self) -> None:
        self.client.close()


_hub: _Hub | None = None
_hub_lock = threading.Lock()


def hub() -> _Hub:
    global _hub
    with _hub_lock:
        if _hub is None:
            _hub = _Hub()
            atexit.register(_hub.close)
        return _hub


class RunWorker(QObject):
    """Owns the executor thread; one run at a time is started through it."""

    events = Signal(object)  # list[Event], on the GUI thread, at most once per frame
    finished = Signal(object)  # RunResult (or an Exception when the run could not even start)
    _wake = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._thread_loop = LoopThread("orchestra-runs")
        self._lock = threading.Lock()
        self._buf: list[Event] = []
        self._signaled = False
        self._last_take = 0.0
        self._approvals: dict[tuple[str, tuple], asyncio.Future] = {}
        self.run: Run | None = None
        self._future = None
        self._warming: asyncio.Task | None = None  # thread mode: the warm-up before a run
        # queued even when emitted on this thread (a run over before start() added its
        # done-callback): the end is then taken from the event loop, after start() returned
        self._wake.connect(self._on_wake, Qt.QueuedConnection)
        self._frame_timer = QTimer(self)
        self._frame_timer.setSingleShot(True)
        self._frame_timer.timeout.connect(self._take)
        self.mode = host_mode()
        self._run_id: str | None = None  # process mode: the run in the host
        self._final: Any = None  # process mode: RunResult or exception, once the host said so
        self._final_set = False

    # -- the thread (thread mode) --------------------------------------------------

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._thread_loop.loop

    def call(self, fn: Callable[[], Any]) -> None:
        """Run ``fn`` on the executor's loop (thread-safe)."""
        self.loop.call_soon_threadsafe(fn)

    def submit(self, coro) -> "asyncio.Future":
        return self._thread_loop.submit(coro)

    @property
    def busy(self) -> bool:
        if self.mode == "process":
            return self._run_id is not None
        return self._future is not None and not self._future.done()

    def prestart(self) -> None:
        """Start the run host now (it imports litellm), so the first run does not wait."""
        if self.mode == "process":
            try:
                hub().client.start()
            except OSError:
                pass  # the first run reports it

    def shutdown(self) -> None:
        """Cancel a run still going and stop the thread (the window is closing)."""
        if self.mode == "process":
            self.cancel()
            if _hub is not None:
                _hub.detach(self)
            self._run_id = None
            return
        if not self._thread_loop.started:
            return
        self.cancel()
        if self._future is not None:
            try:
                self._future.result(2)
            except Exception:
                pass
        self._thread_loop.close()

    # -- running ---------------------------------------------------------------------

    def start(self, plan, options: RunOptions, document: dict[str, Any] | None = None) -> Run | str:
        """Start a run of a compiled plan; events arrive through ``events``.

        In process mode ``document`` (the flow's file document, the plan's source) is sent
        to the run host, which compiles it again there; the run's id is returned.
        """
        if self.busy:
            raise RuntimeError("a run is already going")
        if self.mode == "process" and document is not None:
            return self._start_in_host(plan, options, document)
        options.approval_handler = self._approval
        run = start_run(plan, options)
        run.add_listener(self._listen)
        self.run = run
        with self._lock:
            self._buf = []
            self._signaled = False
        self._approvals.clear()

        async def go() -> RunResult:
            # litellm's import and the tokenizers, paid before the run starts (the panel says
            # "Starting…" meanwhile), so no node's latency includes them (issue 14, item 7)
            from studio.llm.warm import warm_up_before_run

            self._warming = asyncio.get_running_loop().create_task(warm_up_before_run(plan))
            try:
                await asyncio.wait({self._warming})  # returns when done or cut short by Stop
            finally:
                self._warming = None
            return await run.wait()

        fut = self.submit(go())
        self._future = fut
        fut.add_done_callback(self._done)
        return run

    def _start_in_host(self, plan, options: RunOptions, document: dict[str, Any]) -> str:
        run_id = options.run_id or uuid.uuid4().hex[:12]
        trace = options.trace
        msg = {
            "op": "run", "run": run_id, "flow": document,
            "base_dir": str(plan.base_dir) if plan.base_dir else None, "env": dict(os.environ),
            "options": {"inputs": ev.jsonable(options.inputs), "concurrency": options.concurrency,
                        "budget_usd": options.budget_usd, "mock": options.mock,
                        "pinned": ev.jsonable(options.pinned), "settings": ev.jsonable(options.settings),
                        "trace": str(trace) if not isinstance(trace, (bool, type(None))) else trace,
                        "secrets": list(options.secrets)},
        }
        with self._lock:
            self._buf = []
            self._signaled = False
        self._final, self._final_set = None, False
        self._run_id = run_id
        h = hub()
        h.attach(run_id, self)
        try:
            h.client.send(msg)
        except Exception:
            h.detach(self)
            self._run_id = None
            raise
        return run_id

    def _host_message(self, msg: dict[str, Any]) -> None:  # on the host client's reader thread
        t = msg.get("t")
        if t == "events":
            batch = [Event.from_json(d) for d in msg.get("events", ())]
            with self._lock:
                self._buf.extend(batch)
                if self._signaled:
                    return
                self._signaled = True
            self._wake.emit()
            return
        if t == "finished":
            final: Any = runhost.result_from_json(msg["result"])
        elif t == "error":
            final = RuntimeError(msg.get("error") or "the run could not start")
        elif t == "gone":
            final = RuntimeError(f"the run host stopped unexpectedly (exit code {msg.get('code')}); "
                                 "the next run starts a new one")
        else:
            return
        with self._lock:
            if self._final_set:
                return
            self._final, self._final_set = final, True
            if self._signaled:
                return
            self._signaled = True
        self._wake.emit()

    def cancel(self) -> None:
        if self.mode == "process":
            if self._run_id is not None and _hub is not None:
                try:
                    _hub.client.send({"op": "cancel", "run": self._run_id})
                except Exception:  # noqa: BLE001 - a host that is gone has stopped the run anyway
                    pass
            return
        run = self.run
        if run is not None and self._thread_loop.started:
            self.loop.call_soon_threadsafe(self._stop, run)

    def _stop(self, run: Run) -> None:  # on the loop
        run.cancel()  # asked during the warm-up, the run starts cancelled
        if self._warming is not None:
            self._warming.cancel()

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
            final, final_set = self._final, self._final_set
        self._last_take = time.perf_counter()
        if batch:
            self.events.emit(batch)
        if self.mode == "process":
            if final_set and self._run_id is not None:
                if _hub is not None:
                    _hub.detach(self)
                self._run_id = None
                self._final, self._final_set = None, False
                self.finished.emit(final)
            return
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
        if self.mode == "process":
            if self._run_id is not None and _hub is not None:
                _hub.client.send({"op": "approval", "run": self._run_id, "node": node,
                                  "scope": [list(s) for s in scope], "decision": runhost.decision_to_json(decision)})
            return
        def answer() -> None:
            fut = self._approvals.get((node, tuple(scope)))
            if fut is not None and not fut.done():
                fut.set_result(decision)

        if self._thread_loop.started:
            self.loop.call_soon_threadsafe(answer)


__all__ = ["FRAME_S", "RunWorker", "ev"]
