"""A run: one compiled flow executing on asyncio, streaming events.

``Run`` owns the run-wide state (options, per-node results, money and tokens spent,
the concurrency limit, listeners, the trace) and the public API (start, events,
cancel, wait). What happens to each node is elsewhere, one job per module:
``scopes`` schedules, ``step`` runs one node with its policy, ``kinds`` holds the
structural kinds (loop, fan-out/collect, merge, subflow, approval, input/output),
``trace`` writes the redacted JSON-lines record as an event listener.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any, AsyncIterator, Callable

from studio.core.catalogue.context import ApprovalDecision, ApprovalRequest, CostReport, NodeContext
from studio.core.catalogue.types import SKIP, PortType, coerce
from studio.core.errors import BudgetExceeded, OrchestraError
from studio.core.running import events as ev
from studio.core import gctune
from studio.core.running.engine.kinds import UNIT_RUNNERS
from studio.core.running.engine.kinds.approval import request_approval
from studio.core.running.engine.results import NodeResult, NodeRunError, RunOptions, RunResult, count_status
from studio.core.running.engine.scopes import Env, Frame, loop_ids, run_scope
from studio.core.running.engine.slots import Slots
from studio.core.running.engine.step import run_step
from studio.core.running.events import Event
from studio.core.running.plan import NodeSpec, Plan, ScopePlan
from studio.core.running.trace import TraceWriter, default_trace_path


class Run:
    def __init__(self, plan: Plan, options: RunOptions | None = None):
        self.plan = plan
        self.options = options or RunOptions()
        self.run_id = self.options.run_id or uuid.uuid4().hex[:12]
        self.results: dict[tuple[str, tuple], NodeResult] = {}
        self.spent_usd = 0.0
        self.tokens_in = 0
        self.tokens_out = 0
        self.cost_unknown_calls = 0
        self.result: RunResult | None = None
        self.semaphore: Slots | None = None  # the run-wide limit on steps at once
        self.subplans: dict[tuple[int, str], Plan] = {}
        self.trace_path: Path | None = None
        self._listeners: list[Callable[[Event], None]] = []
        self._queue: _Channel | None = None
        self._task: asyncio.Task | None = None
        self._cancel_asked = False  # cancel() before start()
        self._inline = False  # running in the caller's task (run_here)
        self._inline_cancelled = False
        self._t0 = 0.0
        self._trace: TraceWriter | None = None

    # -- public API --------------------------------------------------------------

    def add_listener(self, fn: Callable[[Event], None]) -> None:
        self._listeners.append(fn)

    def start(self) -> asyncio.Task:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._main(), name=f"orchestra-run-{self.run_id}")
        return self._task

    async def run_here(self) -> RunResult:
        """Run to the end in the calling task instead of a task of its own.

        For a caller that would only start the run and wait for it (a served request that
        answers when the run ends): a task of its own begins one loop iteration after it
        is made and wakes its waiter one or two iterations after it ends, and on a busy
        loop each iteration is a turn behind every other request. While the run is going,
        ``cancel()`` cancels the calling task; the run ends "cancelled" and returns as a
        task of its own would, and that cancellation is taken back from the caller.
        """
        if self._task is not None:
            raise RuntimeError(f"run {self.run_id} has already started")
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("run_here needs a running task")
        self._task, self._inline = task, True
        try:
            return await self._main()
        finally:
            if self._inline_cancelled:
                self._inline_cancelled = False
                task.uncancel()

    async def events(self) -> AsyncIterator[Event]:
        """Every event of the run, in order; starts the run if it has not started."""
        if self._queue is None:
            self._queue = _Channel()
        self.start()
        while True:
            for e in await self._queue.drain():
                yield e
                if e.type in ev.END_TYPES:
                    return

    def cancel(self) -> None:
        """Stop the run; asked before it started (Stop while the front door warms up), it
        starts cancelled: run_started then run_finished "cancelled", no node runs."""
        if self._task is None:
            self._cancel_asked = True
        elif self._inline:
            # the caller's task: cancel it only while the run is in it, and only once (the
            # one cancellation run_here takes back)
            if self.result is None and not self._inline_cancelled and not self._task.done():
                self._inline_cancelled = True
                self._task.cancel()
        elif not self._task.done():
            self._task.cancel()

    async def wait(self) -> RunResult:
        task = self.start()
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                raise
        assert self.result is not None
        return self.result

    # -- services for the engine's parts -----------------------------------------

    def emit(self, type_: str, node: str | None, scope: tuple, **data: Any) -> Event:
        e = Event(type_, node, scope, time.perf_counter() - self._t0, data)
        for fn in self._listeners:
            fn(e)
        q = self._queue
        if q is not None:  # _Channel.put, written out: this is the run's hottest line
            q.items.append(e)
            w = q.waiter
            if w is not None and not w.done():
                w.set_result(None)
        if self._trace is not None:
            self._trace.write(e)
        return e

    def result_of(self, node: str, scope: tuple) -> NodeResult:
        key = (node, scope)
        r = self.results.get(key)
        if r is None:
            r = self.results[key] = NodeResult(node, scope)
        return r

    def skip(self, spec: NodeSpec, env: Env, scope: tuple, reason: str) -> None:
        env.values[spec.id] = {p: SKIP for p in spec.out_ports} or {"_": SKIP}
        self.result_of(spec.id, scope).status = "skipped"
        self.emit(ev.NODE_SKIPPED, spec.id, scope, reason=reason)

    def gather(self, spec: NodeSpec, env: Env, tolerate_skip: bool = False,
               leave_out: str | None = None) -> tuple[dict[str, Any], bool]:
        """(inputs by port name, skipped?) for one node instance.

        ``tolerate_skip``: SKIP arriving on an input is passed on as a value (Merge)
        instead of skipping the node when the port is required. ``leave_out``: a port
        whose wires are not read here (a Loop's feedback, read by the loop itself)."""
        inputs: dict[str, Any] = {}
        skip = False
        for ie in spec.in_edges:
            if ie.port == leave_out:
                continue
            outs = env.lookup(ie.src)
            value = outs.get(ie.src_port) if outs is not None else None
            port = spec.in_ports.get(ie.port)
            if value is SKIP:
                if tolerate_skip:
                    inputs[ie.port] = SKIP
                elif port is not None and port.required:
                    skip = True
                continue
            if ie.coerce_from is not None:
                value = coerce(value, ie.coerce_from, ie.coerce_to or PortType.TEXT)
            if port is not None and port.multi:
                inputs.setdefault(ie.port, []).append(value)
            else:
                inputs[ie.port] = value
        for name, default in spec.defaults.items():
            if name not in inputs:
                inputs[name] = default
        return inputs, skip

    def check_budget(self) -> None:
        b = self.options.budget_usd
        if b is not None and self.spent_usd >= b:
            raise BudgetExceeded(self.spent_usd, b)

    async def run_unit(self, frame: Frame, unit: str, env: Env, scope: tuple) -> None:
        spec = frame.plan.nodes[unit]
        runner = UNIT_RUNNERS.get(spec.kind)
        if runner is not None:
            await runner(self, frame, spec, env, scope)
        else:
            await run_step(self, frame, spec, env, scope)

    async def run_scope(self, frame: Frame, sp: ScopePlan, env: Env, scope: tuple) -> None:
        await run_scope(self.run_unit, frame, sp, env, scope)

    def context(self, frame: Frame, spec: NodeSpec, inputs: dict[str, Any], scope: tuple, attempt: int,
                result: NodeResult) -> NodeContext:
        node_id = spec.id

        def on_progress(data: dict[str, Any]) -> None:
            self.emit(ev.NODE_PROGRESS, node_id, scope, **data)

        def on_cost(report: CostReport) -> None:
            result.calls += 1
            result.tokens_in += report.tokens_in
            result.tokens_out += report.tokens_out
            self.tokens_in += report.tokens_in
            self.tokens_out += report.tokens_out
            if report.usd is None:
                result.cost_unknown_calls += 1
                self.cost_unknown_calls += 1
            else:
                result.cost_usd = (result.cost_usd or 0.0) + report.usd
                self.spent_usd += report.usd
            self.emit(ev.NODE_PROGRESS, node_id, scope, kind="cost", model=report.model, cost_usd=report.usd,
                      tokens_in=report.tokens_in, tokens_out=report.tokens_out, run_cost_usd=round(self.spent_usd, 8))

        iteration = None
        for sid, idx in reversed(scope):
            if sid in frame.loops:
                iteration = idx
                break
        settings = self.options.settings
        if frame.plan.pricing:
            settings = {**settings, "pricing": {**settings.get("pricing", {}), **frame.plan.pricing}}
        return NodeContext(
            node_id=node_id, params=spec.params, inputs=inputs, scope=scope, attempt=attempt,
            mock=self.options.mock, flow_dir=frame.plan.base_dir, run_id=self.run_id, iteration=iteration,
            flow_name=frame.plan.name,
            settings=settings, on_progress=on_progress, on_cost=on_cost, budget_check=self.check_budget,
            approval_handler=self._approval, policy=spec.policy,
        )

    async def _approval(self, req: ApprovalRequest) -> ApprovalDecision:
        return await request_approval(self, req)

    # -- the run -----------------------------------------------------------------

    def _open_trace(self) -> None:
        t = self.options.trace
        if not t:
            return
        path = default_trace_path(self.plan.name, self.run_id) if t is True else Path(t)
        self._trace = TraceWriter(path, self.options.secrets)
        self.trace_path = path

    async def _main(self) -> RunResult:
        gctune.run_started()
        try:
            return await self._main_inner()
        finally:
            gctune.run_ended()

    async def _main_inner(self) -> RunResult:
        self._t0 = time.perf_counter()
        c = self.options.concurrency
        self.semaphore = Slots(c) if c and c > 0 else None
        self._open_trace()
        frame = Frame(self.plan, dict(self.options.inputs), {}, root=True, loops=loop_ids(self.plan))
        status, error, error_node, error_scope = "succeeded", None, None, ()
        self.emit(ev.RUN_STARTED, None, (), run_id=self.run_id, flow=self.plan.name,
                  inputs=dict(self.options.inputs), mock=self.options.mock,
                  budget_usd=self.options.budget_usd, concurrency=self.options.concurrency,
                  nodes=len(self.plan.nodes))
        try:
            if self._cancel_asked:
                raise asyncio.CancelledError
            await self.run_scope(frame, self.plan.scopes[None], Env(None), ())
        except asyncio.CancelledError:
            status = "cancelled"
        except NodeRunError as exc:
            inner = exc.error
            status = "budget_exceeded" if isinstance(inner, BudgetExceeded) else "failed"
            error, error_node, error_scope = str(exc), exc.node, exc.scope
        except BudgetExceeded as exc:
            status, error = "budget_exceeded", str(exc)
        except OrchestraError as exc:
            status, error = "failed", str(exc)
        except Exception as exc:  # a bug, reported rather than crashing the studio
            status, error = "failed", f"internal error: {type(exc).__name__}: {exc}"
        wall = time.perf_counter() - self._t0
        totals = {
            "wall_s": round(wall, 6),
            "cost_usd": round(self.spent_usd, 8),
            "cost_unknown_calls": self.cost_unknown_calls,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "nodes": count_status(self.results.values()),
        }
        if status == "succeeded":
            self.emit(ev.RUN_FINISHED, None, (), outputs=frame.outputs, totals=totals)
        elif status == "cancelled":
            self.emit(ev.RUN_CANCELLED, None, (), outputs=frame.outputs, totals=totals)
        else:
            self.emit(ev.RUN_FAILED, error_node, error_scope, error=error, status=status, outputs=frame.outputs, totals=totals)
        if self._trace is not None:
            self._trace.close()
            self._trace = None
        self.result = RunResult(self.run_id, status, frame.outputs, error, error_node, error_scope, totals, self.trace_path, self.results)
        return self.result


class _Channel:
    """An event queue whose consumer takes everything queued at each wake-up.

    asyncio.Queue wakes its reader once per event; a run emits thousands per second, so
    this wakes it at most once per loop iteration and hands over the batch. The one
    producer, ``Run.emit``, appends to ``items`` and wakes ``waiter`` itself.
    """

    __slots__ = ("items", "waiter")

    def __init__(self) -> None:
        self.items: list[Event] = []
        self.waiter: asyncio.Future | None = None

    async def drain(self) -> list[Event]:
        while not self.items:
            self.waiter = asyncio.get_running_loop().create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None
        items, self.items = self.items, []
        return items


def start_run(model_or_plan, options: RunOptions | None = None) -> Run:
    """Compile (validating) a model, or take a plan, and return a Run ready to start."""
    from studio.core.running.plan import compile_plan

    plan = model_or_plan if isinstance(model_or_plan, Plan) else compile_plan(model_or_plan)
    return Run(plan, options)


async def run_flow(model_or_plan, options: RunOptions | None = None) -> RunResult:
    """Run to the end and return the result (events go to the trace and listeners)."""
    run = start_run(model_or_plan, options)
    return await run.wait()
