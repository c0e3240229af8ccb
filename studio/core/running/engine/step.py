"""One step: a node instance from its inputs to its outputs, with the step policy.

This is the one place that applies what every node promises: SKIP on a required input
skips it; pinned outputs are reused while their cache key matches; a paid node does
not start once the budget is spent (whether or not the node checks it itself); each
attempt has the node's timeout; retryable failures (timeouts, 429 with Retry-After,
5xx, dropped connections) are retried with exponential backoff and jitter; a failure
that is final becomes a value on the ``error`` port when one is wired, else it fails
the run. The failed node's inputs are in its ``node_started`` event, so a failed step
always shows what it received.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any, Mapping

from studio.core.catalogue.types import SKIP
from studio.core.errors import BudgetExceeded, RetryableError
from studio.core.running import events as ev
from studio.core.running.engine.kinds import STEP_KINDS
from studio.core.running.engine.results import describe, fail_for_good
from studio.core.running.engine.scopes import Env, Frame
from studio.core.running.plan import cache_key_seed
from studio.core.running.retry import RetryPolicy, is_retryable

if TYPE_CHECKING:  # pragma: no cover
    from studio.core.running.engine.run import Run
    from studio.core.running.plan import NodeSpec


def cache_key(spec: "NodeSpec", inputs: Mapping[str, Any]) -> str:
    """Same type, parameters and inputs -> same key: a later run may reuse the output.

    Every root-scope step records one, so it is on the hot path: the type and parameters
    are hashed once per plan (``plan.cache_key_seed``) and the inputs are encoded with
    ``events.stable_json``."""
    h = (spec.key_seed or cache_key_seed(spec)).copy()
    h.update(ev.stable_json(inputs))
    return h.hexdigest()


async def run_step(run: "Run", frame: Frame, spec: "NodeSpec", env: Env, scope: tuple) -> None:
    kind = STEP_KINDS[spec.kind]
    inputs, skip = run.gather(spec, env, kind.tolerates_skip)
    if skip:
        run.skip(spec, env, scope, "a required input was skipped")
        return
    if kind.take_inputs is not None:
        kind.take_inputs(frame, spec, inputs)
    result = run.result_of(spec.id, scope)
    key = None
    if frame.root and not scope:
        # root-scope steps record their key, so a later "run from a node" can tell a
        # pinned output that still matches from one whose prompt or inputs changed
        key = cache_key(spec, inputs)
    pinned = run.options.pinned.get(spec.id) if key is not None else None
    if pinned is not None:
        if pinned.get("cache_key") in (None, key) and isinstance(pinned.get("outputs"), dict):
            outputs = {p: pinned["outputs"].get(p, SKIP if p == "error" else None) for p in spec.out_ports}
            env.values[spec.id] = outputs
            result.status = "cached"
            run.emit(ev.NODE_FINISHED, spec.id, scope, outputs=outputs, latency_s=0.0, attempts=0,
                     tokens_in=0, tokens_out=0, cost_usd=0.0, cached=True, cache_key=key)
            return
    if kind.skip_reason is not None:
        why = kind.skip_reason(spec, inputs)
        if why:
            run.skip(spec, env, scope, why)
            return
    if spec.paid:
        try:
            run.check_budget()
        except BudgetExceeded as exc:
            raise fail_for_good(run, spec.id, scope, exc, 0) from None
    run.emit(ev.NODE_STARTED, spec.id, scope, inputs=inputs, title=spec.title, type=spec.type_id)
    result.status = "running"
    t_start = time.perf_counter()
    attempt = 0
    policy = spec.policy
    sem = run.semaphore if kind.uses_slot else None
    while True:
        attempt += 1
        ctx = run.context(frame, spec, inputs, scope, attempt, result)
        try:
            if sem is not None and not sem.take_now():
                await sem.take()
            try:
                coro = spec.impl.run(ctx) if kind.attempt is None else kind.attempt(run, frame, spec, ctx, scope)
                if policy.timeout_s:
                    coro = _with_timeout(coro, policy.timeout_s)
                outputs = await coro
            finally:
                if sem is not None:
                    sem.give()
            break
        except asyncio.CancelledError:
            raise
        except BudgetExceeded as exc:
            raise fail_for_good(run, spec.id, scope, exc, attempt) from None
        except Exception as exc:
            if isinstance(exc, TimeoutError) and policy.timeout_s:
                exc = RetryableError(f"no result within {policy.timeout_s:g} s (timeout)")
            if attempt <= policy.retries and is_retryable(exc):
                delay = RetryPolicy(policy.retries, policy.backoff_s, timeout_s=policy.timeout_s).delay(attempt, exc)
                run.emit(ev.NODE_FAILED, spec.id, scope, error=str(exc), error_type=type(exc).__name__,
                         attempt=attempt, will_retry=True, retry_in_s=round(delay, 3), handled=False)
                await asyncio.sleep(delay)
                continue
            result.latency_s = time.perf_counter() - t_start
            result.attempts = attempt
            if spec.error_wired:
                result.status, result.error = "failed", describe(exc)
                outputs = {p: SKIP for p in spec.out_ports}
                outputs["error"] = {"message": describe(exc), "type": type(exc).__name__, "node": spec.id, "attempts": attempt}
                env.values[spec.id] = outputs
                run.emit(ev.NODE_FAILED, spec.id, scope, error=describe(exc), error_type=type(exc).__name__,
                         attempt=attempt, will_retry=False, handled=True, outputs=outputs)
                return
            raise fail_for_good(run, spec.id, scope, exc, attempt) from None
    latency = time.perf_counter() - t_start
    if not isinstance(outputs, dict):
        outputs = {}
    full = dict(spec.out_template)  # every declared port present; 'error' is SKIP on success
    full.update(outputs)
    env.values[spec.id] = full
    if kind.finished is not None:
        kind.finished(frame, spec, inputs)
    result.status = "done"
    result.latency_s = latency
    result.attempts = attempt
    run.emit(ev.NODE_FINISHED, spec.id, scope, outputs=full, latency_s=latency, attempts=attempt,
             tokens_in=result.tokens_in, tokens_out=result.tokens_out,
             cost_usd=result.cost_usd if not result.cost_unknown_calls else None,
             cached=False, cache_key=key)


async def _with_timeout(coro, seconds: float):
    async with asyncio.timeout(seconds):
        return await coro
