"""Loop: repeat a body until a condition holds, never more than ``max_iterations``.

The body is every node on a path from the Loop's ``current`` output to its
``feedback`` input (see document.graph). Iteration 1 sees ``initial``; each later
iteration sees what arrived at ``feedback``. After each iteration the condition is
evaluated (a sandboxed expression over ``value`` and ``iteration``); the loop stops
when it holds, when the cap is reached (``capped`` is then true), or when the body
routes nothing back (the last value stands). ``done`` carries the last value.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from studio.core.catalogue.templates import evaluate
from studio.core.catalogue.types import SKIP
from studio.core.errors import OrchestraError
from studio.core.running import events as ev
from studio.core.running.engine.results import fail_for_good
from studio.core.running.engine.scopes import Env, Frame, read_edge

if TYPE_CHECKING:  # pragma: no cover
    from studio.core.running.engine.run import Run


def condition_holds(condition: str, value: Any, iteration: int) -> bool:
    """Whether a loop should stop after ``iteration`` produced ``value``."""
    if not condition or not condition.strip():
        return False
    return bool(evaluate(condition, {"value": value, "iteration": iteration}))


async def run_loop(run: "Run", frame: Frame, spec, env: Env, scope: tuple) -> None:
    body = frame.plan.scopes[spec.id]
    inputs, skip = run.gather(spec, env, leave_out="feedback")
    if skip or inputs.get("initial", SKIP) is SKIP:
        run.skip(spec, env, scope, "its initial value was skipped")
        return
    result = run.result_of(spec.id, scope)
    max_it = spec.params["max_iterations"]
    condition = spec.params["condition"]
    run.emit(ev.NODE_STARTED, spec.id, scope, inputs={"initial": inputs["initial"]}, title=spec.title,
             type=spec.type_id, max_iterations=max_it)
    result.status = "running"
    t_start = time.perf_counter()
    value = inputs["initial"]
    iteration = 0
    capped = False
    while True:
        iteration += 1
        run.emit(ev.NODE_PROGRESS, spec.id, scope, kind="iteration", iteration=iteration, max_iterations=max_it)
        child = Env(env, {spec.id: {"current": value}})
        await run.run_scope(frame, body, child, (*scope, (spec.id, iteration)))
        fb = SKIP
        for ie in body.feedback:
            v = read_edge(child, ie)
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
            raise fail_for_good(run, spec.id, scope, exc, 1) from None
        if stop:
            break
        if iteration >= max_it:
            capped = True
            break
    latency = time.perf_counter() - t_start
    outputs = {"current": SKIP, "done": value, "iterations": iteration, "capped": capped}
    env.values[spec.id] = outputs
    result.status, result.latency_s, result.attempts = "done", latency, 1
    run.emit(ev.NODE_FINISHED, spec.id, scope, outputs=outputs, latency_s=latency, attempts=1,
             tokens_in=0, tokens_out=0, cost_usd=0.0, cached=False, cache_key=None)
