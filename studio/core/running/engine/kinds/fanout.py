"""Fan-out and Collect: the orchestrator-worker pattern.

A FanOut takes a list; the region from its ``item`` output to the matching Collect
runs once per element, at most ``concurrency`` at once (0: no limit). Collect returns
the results as a list in INPUT order, whatever order the items finish in. Per-item
failure policy (``on_item_error``): ``fail`` the run, ``drop`` the item, or ``keep``
its error in its place. A budget stop always fails the run. The fan-out and its
Collect are one unit in the parent scope; the Collect's events are emitted when the
last item ends.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from studio.core.catalogue.types import SKIP
from studio.core.errors import BudgetExceeded, NodeFailure
from studio.core.running import events as ev
from studio.core.running.engine.results import NodeRunError, describe, fail_for_good
from studio.core.running.engine.scopes import Env, Frame, all_or_fail, read_edge
from studio.core.running.engine.slots import Slots

if TYPE_CHECKING:  # pragma: no cover
    from studio.core.running.engine.run import Run

PROGRESS_EVERY_S = 0.02  # "k of n": at most one progress event per 20 ms (and the last)


async def run_fanout(run: "Run", frame: Frame, spec, env: Env, scope: tuple) -> None:
    region = frame.plan.scopes[spec.id]
    tail = region.tail
    assert tail is not None
    inputs, skip = run.gather(spec, env)
    if skip or inputs.get("items") is SKIP:
        run.skip(spec, env, scope, "its list was skipped")
        run.skip(frame.plan.nodes[tail], env, scope, "its fan-out was skipped")
        return
    items = inputs.get("items")
    result = run.result_of(spec.id, scope)
    if isinstance(items, tuple):
        items = list(items)
    if not isinstance(items, list):
        raise fail_for_good(run, spec.id, scope, NodeFailure(f"a fan-out needs a list, got {type(items).__name__}"), 1)
    max_items = spec.params["max_items"]
    if len(items) > max_items:
        raise fail_for_good(run, spec.id, scope, NodeFailure(f"{len(items)} items exceed max_items ({max_items})"), 1)
    n = len(items)
    policy = spec.params["on_item_error"]
    conc = spec.params["concurrency"]
    gate = Slots(conc) if 0 < conc < n else None
    run.emit(ev.NODE_STARTED, spec.id, scope, inputs={"items": items}, title=spec.title, type=spec.type_id, total=n)
    result.status = "running"
    t_start = time.perf_counter()
    results: list[Any] = [SKIP] * n
    errors: list[dict[str, Any]] = []
    counts = {"done": 0, "failed": 0, "last": 0.0}
    res_edge = region.result
    if len(region.units) == 1:
        only = region.units[0]

        async def run_region(frame: Frame, region, child: Env, child_scope: tuple) -> None:
            await run.run_unit(frame, only, child, child_scope)
    else:
        run_region = run.run_scope

    async def instance(i: int) -> None:
        child_scope = (*scope, (spec.id, i))
        child = Env(env, {spec.id: {"item": items[i], "index": i}})
        try:
            if gate is not None:
                await gate.take()
                try:
                    await run_region(frame, region, child, child_scope)
                finally:
                    gate.give()
            else:
                await run_region(frame, region, child, child_scope)
        except NodeRunError as exc:
            if policy == "fail" or isinstance(exc.error, BudgetExceeded):
                raise
            counts["failed"] += 1
            errors.append({"index": i, "node": exc.node, "error": describe(exc.error)})
            if policy == "keep":
                results[i] = {"error": describe(exc.error), "node": exc.node, "index": i}
        else:
            results[i] = read_edge(child, res_edge)
            counts["done"] += 1
        now = time.perf_counter()
        finished = counts["done"] + counts["failed"]
        if now - counts["last"] >= PROGRESS_EVERY_S or finished == n:
            counts["last"] = now
            run.emit(ev.NODE_PROGRESS, spec.id, scope, kind="fanout", done=counts["done"], failed=counts["failed"], total=n)

    try:
        await all_or_fail([instance(i) for i in range(n)])
    except NodeRunError:
        result.status = "failed"
        raise
    kept = [r for r in results if r is not SKIP]
    errors.sort(key=lambda e: e["index"])
    latency = time.perf_counter() - t_start
    env.values[spec.id] = {"item": SKIP, "index": SKIP}
    env.values[tail] = {"results": kept, "errors": errors}
    result.status, result.latency_s, result.attempts = "done", latency, 1
    run.emit(ev.NODE_FINISHED, spec.id, scope, outputs={"count": n, "failed": counts["failed"]}, latency_s=latency,
             attempts=1, tokens_in=0, tokens_out=0, cost_usd=0.0, cached=False, cache_key=None)
    tres = run.result_of(tail, scope)
    tres.status, tres.latency_s, tres.attempts = "done", latency, 1
    tail_spec = frame.plan.nodes[tail]
    run.emit(ev.NODE_STARTED, tail, scope, inputs={"item": kept}, title=tail_spec.title, type=tail_spec.type_id)
    run.emit(ev.NODE_FINISHED, tail, scope, outputs=env.values[tail], latency_s=latency, attempts=1,
             tokens_in=0, tokens_out=0, cost_usd=0.0, cached=False, cache_key=None)
