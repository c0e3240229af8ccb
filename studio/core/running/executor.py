"""The executor: runs a compiled flow on asyncio and streams events.

Semantics (DESIGN §3, decided details in docs/execution.md):

* Ready set: a unit starts when every unit it reads from has finished; independent
  units run concurrently. Plain nodes take a slot of the run-wide concurrency limit
  while they run; structural units (loops, fan-outs) and waiting approvals do not, so
  nesting can never deadlock on slots.
* SKIP: a node with SKIP on a required input is skipped and emits SKIP everywhere;
  Merge takes its first non-SKIP input; a Collect leaves out SKIP items.
* Loop: iteration 1 sees ``initial``; later ones see the feedback value; the loop stops
  when its condition holds or ``max_iterations`` is reached.
* Fan-out: the region runs once per item, up to ``concurrency`` at once, results in
  input order; a failing item fails the run, is dropped, or keeps its error in place.
* Per node: timeout per attempt, retries with backoff + jitter honouring Retry-After,
  the optional ``error`` port (a failure becomes a value there), budget checks before
  paid nodes, pinned outputs reused when their cache key still matches.
* Cancellation cancels every task of the run and waits for them, so nothing is left.
* Every event goes to the listeners, the async iterator and a JSON-lines trace with
  secrets redacted.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Mapping, Sequence

from studio.core.running import events as ev
from studio.core.running import gctune
from studio.core.catalogue.context import ApprovalDecision, ApprovalHandler, ApprovalRequest, CostReport, NodeContext
from studio.core.errors import BudgetExceeded, NodeFailure, OrchestraError, RetryableError
from studio.core.running.events import Event
from studio.core.running.plan import InEdge, NodeSpec, Plan, ScopePlan, compile_plan
from studio.core.running.retry import RetryPolicy, is_retryable
from studio.core.running.trace import TraceWriter, default_trace_path
from studio.core.catalogue.templates import evaluate
from studio.core.catalogue.types import SKIP, PortType, coerce

MAX_SUBFLOW_DEPTH = 16


@dataclass
class RunOptions:
    inputs: dict[str, Any] = field(default_factory=dict)
    concurrency: int = 16  # run-wide limit on nodes running at once; 0: no limit
    budget_usd: float | None = None
    mock: bool = False
    pinned: dict[str, dict[str, Any]] = field(default_factory=dict)  # node -> {"outputs", "cache_key"}
    approval_handler: ApprovalHandler | None = None
    settings: dict[str, Any] = field(default_factory=dict)  # api_base, pricing, ... for nodes
    trace: Path | bool | None = True  # True: the default per-flow location; None/False: none
    secrets: Sequence[str] = ()
    run_id: str | None = None


@dataclass
class NodeResult:
    node: str
    scope: tuple
    status: str = "queued"  # running, done, failed, skipped, cached
    latency_s: float = 0.0
    attempts: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float | None = 0.0
    cost_unknown_calls: int = 0
    calls: int = 0
    error: str | None = None


@dataclass
class RunResult:
    run_id: str
    status: str  # succeeded, failed, budget_exceeded, cancelled
    outputs: dict[str, Any]
    error: str | None = None
    error_node: str | None = None
    error_scope: tuple = ()
    totals: dict[str, Any] = field(default_factory=dict)
    trace_path: Path | None = None
    results: dict[tuple[str, tuple], NodeResult] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"


class NodeRunError(OrchestraError):
    """A node failed for good (retries spent, no error port wired)."""

    def __init__(self, node: str, scope: tuple, error: BaseException, attempts: int):
        self.node, self.scope, self.error, self.attempts = node, scope, error, attempts
        where = "".join(f"{s}[{i}]/" for s, i in scope)
        super().__init__(f"{where}{node}: {type(error).__name__ if not isinstance(error, OrchestraError) else ''}{': ' if not isinstance(error, OrchestraError) else ''}{error}")


class _Env:
    """Values of one scope instance; lookups fall through to the enclosing instance."""

    __slots__ = ("values", "parent", "frame")

    def __init__(self, parent: "_Env | None", frame: "_Frame", values: dict[str, dict[str, Any]] | None = None):
        self.values = values if values is not None else {}
        self.parent = parent
        self.frame = frame

    def lookup(self, node: str) -> dict[str, Any] | None:
        env: _Env | None = self
        while env is not None:
            v = env.values.get(node)
            if v is not None:
                return v
            env = env.parent
        return None


@dataclass
class _Frame:
    """One flow being run: the top flow, or a subflow inside it."""

    plan: Plan
    inputs: Mapping[str, Any]
    outputs: dict[str, Any]
    root: bool
    depth: int = 0
    loops: frozenset = frozenset()


def cache_key(spec: NodeSpec, inputs: Mapping[str, Any]) -> str:
    """Same type, parameters and inputs -> same key: a later run may reuse the output."""
    blob = json.dumps([spec.type_id, spec.params, ev.jsonable(inputs)], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.blake2b(blob.encode("utf-8"), digest_size=16).hexdigest()


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
        self._listeners: list[Callable[[Event], None]] = []
        self._queue: _Channel | None = None
        self._task: asyncio.Task | None = None
        self._t0 = 0.0
        self._sem: asyncio.Semaphore | None = None
        self._trace: TraceWriter | None = None
        self.trace_path: Path | None = None
        self._subplans: dict[tuple[int, str], Plan] = {}
        self._loop_ids = frozenset(n for n, s in plan.nodes.items() if s.kind == "loop")

    # -- public API --------------------------------------------------------------

    def add_listener(self, fn: Callable[[Event], None]) -> None:
        self._listeners.append(fn)

    def start(self) -> asyncio.Task:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._main(), name=f"orchestra-run-{self.run_id}")
        return self._task

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
        if self._task is not None and not self._task.done():
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

    # -- events ------------------------------------------------------------------

    def _emit(self, type_: str, node: str | None, scope: tuple, **data: Any) -> Event:
        e = Event(type_, node, scope, time.perf_counter() - self._t0, data)
        for fn in self._listeners:
            fn(e)
        if self._queue is not None:
            self._queue.put(e)
        if self._trace is not None:
            self._trace(e)
        return e

    def _open_trace(self) -> None:
        t = self.options.trace
        if not t:
            return
        path = default_trace_path(self.plan.name, self.run_id) if t is True else Path(t)
        self._trace = TraceWriter(path, self.options.secrets)
        self.trace_path = path

    # -- the run -----------------------------------------------------------------

    async def _main(self) -> RunResult:
        gctune.run_started()
        try:
            return await self._main_inner()
        finally:
            gctune.run_ended()

    async def _main_inner(self) -> RunResult:
        self._t0 = time.perf_counter()
        c = self.options.concurrency
        self._sem = asyncio.Semaphore(c) if c and c > 0 else None
        self._open_trace()
        frame = _Frame(self.plan, dict(self.options.inputs), {}, root=True, loops=self._loop_ids)
        status, error, error_node, error_scope = "succeeded", None, None, ()
        self._emit(ev.RUN_STARTED, None, (), run_id=self.run_id, flow=self.plan.name,
                   inputs=dict(self.options.inputs), mock=self.options.mock,
                   budget_usd=self.options.budget_usd, concurrency=self.options.concurrency,
                   nodes=len(self.plan.nodes))
        try:
            await self._run_scope(frame, self.plan.scopes[None], _Env(None, frame), ())
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
            "nodes": _count_status(self.results.values()),
        }
        if status == "succeeded":
            self._emit(ev.RUN_FINISHED, None, (), outputs=frame.outputs, totals=totals)
        elif status == "cancelled":
            self._emit(ev.RUN_CANCELLED, None, (), outputs=frame.outputs, totals=totals)
        else:
            self._emit(ev.RUN_FAILED, error_node, error_scope, error=error, status=status, outputs=frame.outputs, totals=totals)
        if self._trace is not None:
            self._trace.close()
            self._trace = None
        self.result = RunResult(self.run_id, status, frame.outputs, error, error_node, error_scope, totals, self.trace_path, self.results)
        return self.result

    async def _run_scope(self, frame: _Frame, sp: ScopePlan, env: _Env, scope: tuple) -> None:
        """Run every unit of one scope instance, each as soon as its inputs are ready.

        A worker task that finishes a unit carries on with one newly ready dependent
        itself and starts tasks only for the others, so a chain runs in one task.
        """
        if not sp.units:
            return
        if len(sp.units) == 1:  # e.g. one step per fan-out item: no scheduling needed
            await self._run_unit(frame, sp.units[0], env, scope)
            return
        loop = asyncio.get_running_loop()
        remaining = dict(sp.deps)
        pending = len(sp.units)
        done_fut = loop.create_future()
        tasks: set[asyncio.Task] = set()
        dependents = sp.dependents
        run_unit = self._run_unit

        async def worker(unit: str) -> None:
            nonlocal pending
            while True:
                await run_unit(frame, unit, env, scope)
                pending -= 1
                nxt = None
                for d in dependents[unit]:
                    remaining[d] -= 1
                    if remaining[d] == 0:
                        if nxt is None:
                            nxt = d
                        else:
                            start(d)
                if nxt is None:
                    if pending == 0 and not done_fut.done():
                        done_fut.set_result(None)
                    return
                unit = nxt

        def start(unit: str) -> None:
            t = loop.create_task(worker(unit))
            tasks.add(t)
            t.add_done_callback(on_done)

        owner = asyncio.current_task()
        inline = [False, False]  # [running a unit inline, we cancelled it]

        def on_done(t: asyncio.Task) -> None:
            tasks.discard(t)
            if t.cancelled():
                return
            exc = t.exception()
            if exc is not None and not done_fut.done():
                done_fut.set_exception(exc)
                if inline[0] and owner is not None:
                    inline[1] = True
                    owner.cancel()  # stop the inline unit too: a failure ends the scope now

        ready = [u for u in sp.units if remaining[u] == 0]
        for u in ready[1:]:
            start(u)
        try:
            # the first ready unit runs in this task: no task at all for a one-step
            # region instance or a chain
            inline[0] = True
            try:
                await worker(ready[0])
            except asyncio.CancelledError:
                if inline[1] and owner is not None and owner.uncancel() == 0:
                    raise done_fut.exception() from None  # type: ignore[misc]
                raise
            finally:
                inline[0] = False
            await done_fut
        finally:
            if tasks:
                for t in list(tasks):
                    t.cancel()
                await asyncio.gather(*list(tasks), return_exceptions=True)
            # the three closures refer to each other through their cells; clearing them
            # frees this instance by reference counting instead of leaving a cycle for
            # the garbage collector (a 1,000-item fan-out otherwise spends most of its
            # overhead in gen-2 collections)
            worker = start = on_done = None  # type: ignore[assignment]  # noqa: F841

    async def _run_unit(self, frame: _Frame, unit: str, env: _Env, scope: tuple) -> None:
        spec = frame.plan.nodes[unit]
        kind = spec.kind
        if kind == "fanout":
            await self._run_fanout(frame, spec, env, scope)
        elif kind == "loop":
            await self._run_loop(frame, spec, env, scope)
        else:
            await self._run_node(frame, spec, env, scope)

    # -- inputs --------------------------------------------------------------------

    def _gather(self, spec: NodeSpec, env: _Env) -> tuple[dict[str, Any], bool]:
        """(inputs by port name, skipped?) for one node instance."""
        inputs: dict[str, Any] = {}
        skip = False
        tolerate_skip = spec.kind == "merge"
        for ie in spec.in_edges:
            if ie.port == "feedback" and spec.kind == "loop":
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

    def _result(self, node: str, scope: tuple) -> NodeResult:
        key = (node, scope)
        r = self.results.get(key)
        if r is None:
            r = self.results[key] = NodeResult(node, scope)
        return r

    def _skip(self, spec: NodeSpec, env: _Env, scope: tuple, reason: str) -> None:
        env.values[spec.id] = {p: SKIP for p in spec.out_ports} or {"_": SKIP}
        self._result(spec.id, scope).status = "skipped"
        self._emit(ev.NODE_SKIPPED, spec.id, scope, reason=reason)

    # -- plain nodes -----------------------------------------------------------------

    async def _run_node(self, frame: _Frame, spec: NodeSpec, env: _Env, scope: tuple) -> None:
        inputs, skip = self._gather(spec, env)
        if skip:
            self._skip(spec, env, scope, "a required input was skipped")
            return
        if spec.kind == "input":
            name = str(spec.params.get("name") or spec.id)
            if name in frame.inputs:
                inputs["value"] = frame.inputs[name]
        result = self._result(spec.id, scope)
        key = None
        pinned = self.options.pinned.get(spec.id) if frame.root and not scope else None
        if pinned is not None:
            key = cache_key(spec, inputs)
            if pinned.get("cache_key") in (None, key) and isinstance(pinned.get("outputs"), dict):
                outputs = {p: pinned["outputs"].get(p, SKIP if p == "error" else None) for p in spec.out_ports}
                env.values[spec.id] = outputs
                result.status = "cached"
                self._emit(ev.NODE_FINISHED, spec.id, scope, outputs=outputs, latency_s=0.0, attempts=0,
                           tokens_in=0, tokens_out=0, cost_usd=0.0, cached=True, cache_key=key)
                return
        if spec.kind == "merge" and all(inputs.get(p, SKIP) is SKIP for p in spec.in_ports):
            self._skip(spec, env, scope, "every input was skipped")
            return
        if spec.paid:
            try:
                self._check_budget()
            except BudgetExceeded as exc:
                result.status, result.error = "failed", str(exc)
                self._emit(ev.NODE_FAILED, spec.id, scope, error=str(exc), error_type="BudgetExceeded",
                           attempt=0, will_retry=False, handled=False)
                raise NodeRunError(spec.id, scope, exc, 0) from None
        self._emit(ev.NODE_STARTED, spec.id, scope, inputs=inputs, title=spec.title, type=spec.type_id)
        result.status = "running"
        t_start = time.perf_counter()
        attempt = 0
        uses_slot = self._sem is not None and spec.kind not in ("approval", "subflow")
        while True:
            attempt += 1
            ctx = self._context(frame, spec, inputs, scope, attempt, result)
            try:
                if uses_slot:
                    async with self._sem:  # type: ignore[union-attr]
                        outputs = await self._attempt(frame, spec, ctx, env, scope)
                else:
                    outputs = await self._attempt(frame, spec, ctx, env, scope)
                break
            except asyncio.CancelledError:
                raise
            except BudgetExceeded as exc:
                result.status, result.error = "failed", str(exc)
                self._emit(ev.NODE_FAILED, spec.id, scope, error=str(exc), error_type="BudgetExceeded",
                           attempt=attempt, will_retry=False, handled=False)
                raise NodeRunError(spec.id, scope, exc, attempt) from None
            except Exception as exc:
                if isinstance(exc, TimeoutError) and spec.timeout_s:
                    exc = RetryableError(f"no result within {spec.timeout_s:g} s (timeout)")
                if attempt <= spec.retries and is_retryable(exc):
                    delay = RetryPolicy(spec.retries, spec.backoff_s, timeout_s=spec.timeout_s).delay(attempt, exc)
                    self._emit(ev.NODE_FAILED, spec.id, scope, error=str(exc), error_type=type(exc).__name__,
                               attempt=attempt, will_retry=True, retry_in_s=round(delay, 3), handled=False)
                    await asyncio.sleep(delay)
                    continue
                result.latency_s = time.perf_counter() - t_start
                result.attempts = attempt
                result.error = _describe(exc)
                if spec.error_wired:
                    outputs = {p: SKIP for p in spec.out_ports}
                    outputs["error"] = {"message": _describe(exc), "type": type(exc).__name__, "node": spec.id, "attempts": attempt}
                    env.values[spec.id] = outputs
                    result.status = "failed"
                    self._emit(ev.NODE_FAILED, spec.id, scope, error=_describe(exc), error_type=type(exc).__name__,
                               attempt=attempt, will_retry=False, handled=True, outputs=outputs)
                    return
                result.status = "failed"
                self._emit(ev.NODE_FAILED, spec.id, scope, error=_describe(exc), error_type=type(exc).__name__,
                           attempt=attempt, will_retry=False, handled=False)
                raise NodeRunError(spec.id, scope, exc, attempt) from None
        latency = time.perf_counter() - t_start
        if not isinstance(outputs, dict):
            outputs = {}
        full = dict(spec.out_template)  # every declared port present; 'error' is SKIP on success
        full.update(outputs)
        env.values[spec.id] = full
        if spec.kind == "output":
            value = inputs.get("value")
            if value is not SKIP:
                frame.outputs[str(spec.params.get("name") or spec.id)] = value
        result.status = "done"
        result.latency_s = latency
        result.attempts = attempt
        self._emit(ev.NODE_FINISHED, spec.id, scope, outputs=full, latency_s=latency, attempts=attempt,
                   tokens_in=result.tokens_in, tokens_out=result.tokens_out,
                   cost_usd=result.cost_usd if not result.cost_unknown_calls else None,
                   cached=False, cache_key=key)

    def _attempt(self, frame: _Frame, spec: NodeSpec, ctx: NodeContext, env: _Env, scope: tuple):
        """The awaitable of one attempt (a plain coroutine when no timeout applies)."""
        coro = self._run_subflow(frame, spec, ctx, scope) if spec.kind == "subflow" else spec.impl.run(ctx)
        if spec.timeout_s:
            return _with_timeout(coro, spec.timeout_s)
        return coro

    def _context(self, frame: _Frame, spec: NodeSpec, inputs: dict[str, Any], scope: tuple, attempt: int,
                 result: NodeResult) -> NodeContext:
        node_id = spec.id

        def on_progress(data: dict[str, Any]) -> None:
            self._emit(ev.NODE_PROGRESS, node_id, scope, **data)

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
            self._emit(ev.NODE_PROGRESS, node_id, scope, kind="cost", model=report.model, cost_usd=report.usd,
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
            settings=settings, on_progress=on_progress, on_cost=on_cost, budget_check=self._check_budget,
            approval_handler=self._approval if spec.kind == "approval" or spec.paid is False else self._approval,
        )

    def _check_budget(self) -> None:
        b = self.options.budget_usd
        if b is not None and self.spent_usd >= b:
            raise BudgetExceeded(self.spent_usd, b)

    async def _approval(self, req: ApprovalRequest) -> ApprovalDecision:
        self._emit(ev.APPROVAL_REQUESTED, req.node_id, req.scope, value=req.value, message=req.message, timeout_s=req.timeout_s)
        handler = self.options.approval_handler
        if handler is None:
            decision = ApprovalDecision("reject", req.value, "no approval handler for this run", by="default")
        else:
            try:
                decision = await handler(req)
            except asyncio.CancelledError:
                # a timeout in the node cancels the wait; say so in the trace, then go on
                self._emit(ev.APPROVAL_RESOLVED, req.node_id, req.scope, action="timeout", value=req.value, by="timeout", reason="")
                raise
        self._emit(ev.APPROVAL_RESOLVED, req.node_id, req.scope, action=decision.action, value=decision.value,
                   by=decision.by, reason=decision.reason)
        return decision

    # -- fan-out ---------------------------------------------------------------------

    async def _run_fanout(self, frame: _Frame, spec: NodeSpec, env: _Env, scope: tuple) -> None:
        region = frame.plan.scopes[spec.id]
        tail = region.tail
        assert tail is not None
        inputs, skip = self._gather(spec, env)
        if skip or inputs.get("items") is SKIP:
            self._skip(spec, env, scope, "its list was skipped")
            self._skip(frame.plan.nodes[tail], env, scope, "its fan-out was skipped")
            return
        items = inputs.get("items")
        result = self._result(spec.id, scope)
        if isinstance(items, tuple):
            items = list(items)
        if not isinstance(items, list):
            err = NodeFailure(f"a fan-out needs a list, got {type(items).__name__}")
            self._emit(ev.NODE_FAILED, spec.id, scope, error=str(err), error_type="NodeFailure", attempt=1, will_retry=False, handled=False)
            result.status = "failed"
            raise NodeRunError(spec.id, scope, err, 1)
        max_items = spec.params.get("max_items", 1000)
        if isinstance(max_items, int) and len(items) > max_items:
            err = NodeFailure(f"{len(items)} items exceed max_items ({max_items})")
            self._emit(ev.NODE_FAILED, spec.id, scope, error=str(err), error_type="NodeFailure", attempt=1, will_retry=False, handled=False)
            result.status = "failed"
            raise NodeRunError(spec.id, scope, err, 1)
        n = len(items)
        policy = spec.params.get("on_item_error", "fail")
        conc = spec.params.get("concurrency", 8)
        gate = asyncio.Semaphore(conc) if isinstance(conc, int) and 0 < conc < n else None
        self._emit(ev.NODE_STARTED, spec.id, scope, inputs={"items": items}, title=spec.title, type=spec.type_id, total=n)
        result.status = "running"
        t_start = time.perf_counter()
        results: list[Any] = [SKIP] * n
        errors: list[dict[str, Any]] = []
        counts = {"done": 0, "failed": 0, "last": 0.0}
        res_edge = region.result
        if len(region.units) == 1:
            only = region.units[0]

            async def run_region(frame: _Frame, region: ScopePlan, child: _Env, child_scope: tuple) -> None:
                await self._run_unit(frame, only, child, child_scope)
        else:
            run_region = self._run_scope

        async def instance(i: int) -> None:
            child_scope = (*scope, (spec.id, i))
            child = _Env(env, frame, {spec.id: {"item": items[i], "index": i}})
            try:
                if gate is not None:
                    async with gate:
                        await run_region(frame, region, child, child_scope)
                else:
                    await run_region(frame, region, child, child_scope)
            except NodeRunError as exc:
                if policy == "fail" or isinstance(exc.error, BudgetExceeded):
                    raise
                counts["failed"] += 1
                errors.append({"index": i, "node": exc.node, "error": _describe(exc.error)})
                if policy == "keep":
                    results[i] = {"error": _describe(exc.error), "node": exc.node, "index": i}
            else:
                results[i] = _read(child, res_edge)
                counts["done"] += 1
            # "k of n": at most one progress event per 20 ms (and the last), not one per item
            now = time.perf_counter()
            finished = counts["done"] + counts["failed"]
            if now - counts["last"] >= 0.02 or finished == n:
                counts["last"] = now
                self._emit(ev.NODE_PROGRESS, spec.id, scope, kind="fanout", done=counts["done"], failed=counts["failed"], total=n)

        try:
            await _all_or_fail([instance(i) for i in range(n)])
        except NodeRunError:
            result.status = "failed"
            raise
        kept = [r for r in results if r is not SKIP]
        errors.sort(key=lambda e: e["index"])
        latency = time.perf_counter() - t_start
        env.values[spec.id] = {"item": SKIP, "index": SKIP}
        env.values[tail] = {"results": kept, "errors": errors}
        result.status, result.latency_s, result.attempts = "done", latency, 1
        self._emit(ev.NODE_FINISHED, spec.id, scope, outputs={"count": n, "failed": counts["failed"]}, latency_s=latency,
                   attempts=1, tokens_in=0, tokens_out=0, cost_usd=0.0, cached=False, cache_key=None)
        tres = self._result(tail, scope)
        tres.status, tres.latency_s, tres.attempts = "done", latency, 1
        tail_spec = frame.plan.nodes[tail]
        self._emit(ev.NODE_STARTED, tail, scope, inputs={"item": kept}, title=tail_spec.title, type=tail_spec.type_id)
        self._emit(ev.NODE_FINISHED, tail, scope, outputs=env.values[tail], latency_s=latency, attempts=1,
                   tokens_in=0, tokens_out=0, cost_usd=0.0, cached=False, cache_key=None)

    # -- loop ----------------------------------------------------------------------

    async def _run_loop(self, frame: _Frame, spec: NodeSpec, env: _Env, scope: tuple) -> None:
        body = frame.plan.scopes[spec.id]
        inputs, skip = self._gather(spec, env)
        if skip or inputs.get("initial", SKIP) is SKIP:
            self._skip(spec, env, scope, "its initial value was skipped")
            return
        result = self._result(spec.id, scope)
        max_it = spec.params.get("max_iterations")
        condition = spec.params.get("condition") or ""
        self._emit(ev.NODE_STARTED, spec.id, scope, inputs={"initial": inputs["initial"]}, title=spec.title,
                   type=spec.type_id, max_iterations=max_it)
        result.status = "running"
        t_start = time.perf_counter()
        value = inputs["initial"]
        iteration = 0
        capped = False
        while True:
            iteration += 1
            self._emit(ev.NODE_PROGRESS, spec.id, scope, kind="iteration", iteration=iteration, max_iterations=max_it)
            child = _Env(env, frame, {spec.id: {"current": value}})
            await self._run_scope(frame, body, child, (*scope, (spec.id, iteration)))
            fb = SKIP
            for ie in body.feedback:
                v = _read(child, ie)
                if v is not SKIP:
                    fb = v
                    break
            if not body.feedback:
                fb = value
            if fb is SKIP:
                break  # the body routed nothing back: the last value stands
            value = fb
            try:
                stop = condition_holds(condition, value, iteration)
            except OrchestraError as exc:
                result.status = "failed"
                self._emit(ev.NODE_FAILED, spec.id, scope, error=str(exc), error_type=type(exc).__name__,
                           attempt=1, will_retry=False, handled=False)
                raise NodeRunError(spec.id, scope, exc, 1) from None
            if stop:
                break
            if iteration >= max_it:
                capped = True
                break
        latency = time.perf_counter() - t_start
        outputs = {"current": SKIP, "done": value, "iterations": iteration, "capped": capped}
        env.values[spec.id] = outputs
        result.status, result.latency_s, result.attempts = "done", latency, 1
        self._emit(ev.NODE_FINISHED, spec.id, scope, outputs=outputs, latency_s=latency, attempts=1,
                   tokens_in=0, tokens_out=0, cost_usd=0.0, cached=False, cache_key=None)

    # -- subflow -------------------------------------------------------------------

    async def _run_subflow(self, frame: _Frame, spec: NodeSpec, ctx: NodeContext, scope: tuple) -> dict[str, Any]:
        from studio.core.document.subflows import load_subflow

        if frame.depth + 1 > MAX_SUBFLOW_DEPTH:
            raise NodeFailure(f"subflows nested more than {MAX_SUBFLOW_DEPTH} deep (does a subflow include itself?)")
        key = (id(frame.plan), spec.id)
        plan = self._subplans.get(key)
        if plan is None:
            plan = compile_plan(load_subflow(spec.params, frame.plan.base_dir))
            self._subplans[key] = plan
        sub = _Frame(plan, {k: v for k, v in ctx.inputs.items()}, {}, root=False, depth=frame.depth + 1,
                     loops=frozenset(n for n, s in plan.nodes.items() if s.kind == "loop"))
        await self._run_scope(sub, plan.scopes[None], _Env(None, sub), (*scope, (spec.id, 0)))
        return dict(sub.outputs)


class _Channel:
    """An event queue whose consumer takes everything queued at each wake-up.

    asyncio.Queue wakes its reader once per event; a run emits thousands per second, so
    this wakes it at most once per loop iteration and hands over the batch.
    """

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: list[Event] = []
        self._waiter: asyncio.Future | None = None

    def put(self, item: Event) -> None:
        self._items.append(item)
        w = self._waiter
        if w is not None and not w.done():
            w.set_result(None)

    async def drain(self) -> list[Event]:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        items, self._items = self._items, []
        return items


def condition_holds(condition: str, value: Any, iteration: int) -> bool:
    """Whether a loop should stop after ``iteration`` produced ``value``."""
    if not condition or not condition.strip():
        return False
    return bool(evaluate(condition, {"value": value, "iteration": iteration}))


def _read(env: _Env, edge: InEdge | None) -> Any:
    if edge is None:
        return None
    outs = env.lookup(edge.src)
    if outs is None:
        return SKIP
    v = outs.get(edge.src_port)
    if v is not SKIP and edge.coerce_from is not None:
        v = coerce(v, edge.coerce_from, edge.coerce_to or PortType.TEXT)
    return v


async def _with_timeout(coro, seconds: float):
    async with asyncio.timeout(seconds):
        return await coro


async def _all_or_fail(coros: list) -> None:
    """Run all; on the first failure cancel the rest, wait for them, and raise it."""
    if not coros:
        return
    loop = asyncio.get_running_loop()
    tasks = [loop.create_task(c) for c in coros]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for t in tasks:
            if t.done() and not t.cancelled() and t.exception() is not None:
                raise t.exception()  # type: ignore[misc]
    finally:
        for t in tasks:
            if not t.done():
                t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, NodeRunError):
        return str(exc)
    if isinstance(exc, OrchestraError):
        return str(exc)
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _count_status(results) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in results:
        out[r.status] = out.get(r.status, 0) + 1
    return out


def start_run(model_or_plan, options: RunOptions | None = None) -> Run:
    """Compile (validating) a model, or take a plan, and return a Run ready to start."""
    plan = model_or_plan if isinstance(model_or_plan, Plan) else compile_plan(model_or_plan)
    return Run(plan, options)


async def run_flow(model_or_plan, options: RunOptions | None = None) -> RunResult:
    """Run to the end and return the result (events go to the trace and listeners)."""
    run = start_run(model_or_plan, options)
    return await run.wait()
