"""The runs this server started: their status, their pending approvals, their results.

A served run is the executor's ``Run`` plus what the HTTP side needs: which flow it came
from, the approvals it is waiting for (a request to ``/runs/{id}/approvals/{node}``
answers one), and its result document once it ends. Finished runs are kept (the newest
``keep`` of them) so ``GET /runs/{id}`` works after the response; their traces stay on
disk in the usual place, which is also how the studio's History lists them.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from studio.core.catalogue.context import ApprovalDecision, ApprovalRequest
from studio.core.running.executor import Run, RunResult
from studio.core.running.runstate import RunState
from studio.serve.documents import links, run_document


@dataclass
class PendingApproval:
    node: str
    scope: tuple
    value: Any
    message: str
    timeout_s: float | None
    future: asyncio.Future
    asked_at: float = field(default_factory=time.time)

    def describe(self) -> dict[str, Any]:
        return {"node": self.node, "scope": [list(s) for s in self.scope], "value": self.value,
                "message": self.message, "timeout_s": self.timeout_s, "asked_at": self.asked_at}


class ServedRun:
    def __init__(self, flow_name: str, run: Run) -> None:
        self.flow = flow_name
        self.run = run
        self.id = run.run_id
        self.created = time.time()
        self.approvals: list[PendingApproval] = []
        self.result: RunResult | None = None
        self.document: dict[str, Any] | None = None
        self.task: asyncio.Task | None = None
        self._on_end: Callable[["ServedRun"], None] | None = None
        self._t0 = time.monotonic()
        # the shared fold of the run's events, for the document's per-node summary; let go
        # once the run ends (a finished run keeps its document, not every instance's state).
        # The run holds the fold, not this object: no reference cycle (see settle)
        self._fold = _Fold()
        run.add_listener(self._fold)

    @property
    def state(self) -> RunState | None:
        return self._fold.state

    @property
    def done(self) -> bool:
        return self.result is not None

    @property
    def trace_path(self) -> Path | None:
        return self.run.trace_path

    async def ask(self, req: ApprovalRequest) -> ApprovalDecision:
        """The run's approval handler: waits for an answer over HTTP (the node's timeout applies)."""
        pending = PendingApproval(req.node_id, tuple(req.scope), req.value, req.message, req.timeout_s,
                                  asyncio.get_running_loop().create_future())
        self.approvals.append(pending)
        try:
            return await pending.future
        finally:
            self.approvals.remove(pending)

    def answer(self, node: str, decision: ApprovalDecision) -> PendingApproval | None:
        """Resolve the oldest pending approval at ``node``; None when nothing waits there."""
        for pending in self.approvals:
            if pending.node == node and not pending.future.done():
                pending.future.set_result(decision)
                return pending
        return None

    def start(self, on_end: Callable[["ServedRun"], None]) -> asyncio.Task:
        """Start the run (if a stream has not already) and finish the bookkeeping when it ends.

        The bookkeeping is a done-callback on the run's own task, not a task of its own: a
        request waiting for the run then wakes one loop iteration sooner, which is most of
        what serving adds to a short run on a busy server.
        """
        task = self.run.start()
        self._on_end = on_end
        task.add_done_callback(lambda _t: self.settle())
        self.task = task
        return task

    async def run_here(self, on_end: Callable[["ServedRun"], None]) -> None:
        """Run in the calling task (a request that waits for the run) and settle as it ends.

        No task of the run's own: it would start one loop iteration after the request made
        it and wake the request one or two more after it ended, and on a busy server each
        iteration waits behind every other request (that wait was nearly all of what
        serving added to a short run). ``task`` is the request's task while it runs, so
        cancelling the run, and the drain at shutdown, work as for a task of its own.
        """
        self._on_end = on_end
        self.task = task = asyncio.current_task()
        assert task is not None
        name = task.get_name()
        task.set_name(f"orchestra-run-{self.id}")  # named as a run's own task is, while it runs
        try:
            await self.run.run_here()
        finally:
            task.set_name(name)
            self.settle(ended=True)

    def settle(self, ended: bool = False) -> None:
        """Record the ended run's result (once). Safe to call from whoever notices first: a
        task's done-callbacks run one loop iteration after it ends, and a request that
        awaits an already finished task resumes before them. ``ended``: the caller knows
        the run is over (it ran in the caller's task, which is still going)."""
        if self.result is not None or self.task is None or not (ended or self.task.done()):
            return
        result = self.run.result
        if result is None:  # cancelled before its first step: nothing ran
            result = RunResult(self.id, "cancelled", {}, totals={"wall_s": 0.0, "cost_usd": 0.0, "tokens_in": 0,
                                                                  "tokens_out": 0, "nodes": {}})
        self.result = result
        state = self._fold.state
        self.document = run_document(self.id, self.flow, result, state.node_summary() if state else {})
        self._fold.state = None
        # the run's last reference back to this object: without it a finished run is freed by
        # reference counting once the registry forgets it, rather than waiting for the cycle
        # collector (between runs gctune collects only generation 0; a cycle that outlives
        # one run waits for a full pass)
        self.run.options.approval_handler = None
        on_end, self._on_end = self._on_end, None
        if on_end is not None:
            on_end(self)

    def elapsed_s(self) -> float:
        return time.monotonic() - self._t0

    def status_document(self) -> dict[str, Any]:
        if self.document is not None:
            return self.document
        return {"run_id": self.id, "flow": self.flow, "status": "running",
                "pending_approvals": [p.describe() for p in self.approvals], "links": links(self.id)}


class _Fold:
    """A run's listener that folds its events into a RunState until it is let go."""

    __slots__ = ("state",)

    def __init__(self) -> None:
        self.state: RunState | None = RunState(live=False)

    def __call__(self, e) -> None:
        state = self.state
        if state is not None:
            state.on_event(e)


class RunRegistry:
    def __init__(self, keep: int = 1000) -> None:
        self.keep = keep
        self._runs: OrderedDict[str, ServedRun] = OrderedDict()

    def add(self, served: ServedRun) -> None:
        """Register a run; past ``keep``, forget the oldest finished ones.

        The scan starts at the oldest run and stops as soon as enough finished ones are
        found -- usually the first -- so a busy server does not walk all ``keep`` runs on
        every request (that walk was the largest part of serving's own cost per request).
        """
        self._runs[served.id] = served
        excess = len(self._runs) - self.keep
        if excess <= 0:
            return
        stale: list[str] = []
        for rid, s in self._runs.items():
            if s.result is not None:
                stale.append(rid)
                if len(stale) == excess:
                    break
        for rid in stale:
            del self._runs[rid]

    def get(self, run_id: str) -> ServedRun | None:
        return self._runs.get(run_id)

    def recent(self, limit: int) -> list[ServedRun]:
        return list(reversed(self._runs.values()))[:limit]

    def active(self) -> list[ServedRun]:
        return [s for s in self._runs.values() if not s.done]
