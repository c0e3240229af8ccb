"""Paying, before a run starts, what its first model call would otherwise pay once.

Two costs come once per process: litellm's import (2-8 s here) and each model's
tokenizer (tiktoken reads and decodes its BPE file, 1-2 s for ``o200k_base``; mock runs
count tokens too, to estimate cost). Paid inside the first LLM node they were charged to
that node's latency -- a mock call showed 3.9 s (issue 14, item 7) -- and to a batch's
first rows. So every front door warms up for the plan before the run's clock starts,
while it says so ("Starting…" in the studio, "loading litellm…" in the terminal): the
run host and the studio's thread mode (``warm_up_before_run``), ``orchestra run``, and
batches (``warm_up_for``, also in each Ray worker).

A failure here is ignored: the first model call meets it again and reports it on the
node it belongs to.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future
from typing import Any

from .runtime import is_loaded, warm_up

_LOCK = threading.Lock()
_WARM_MODELS: set[str] = set()  # models whose tokenizer this process has loaded


def _models(plan: Any) -> set[str]:
    return {str(spec.params.get("model")) for spec in plan.nodes.values() if spec.paid and spec.params.get("model")}


def needs_warm_up(plan: Any) -> bool:
    """True when the plan's first model call would still pay an import or a tokenizer load.

    A Subflow's models are not known before it runs: litellm's import is paid for it.
    """
    uses_models = any(spec.paid or spec.kind == "subflow" for spec in plan.nodes.values())
    if not uses_models:
        return False
    with _LOCK:
        cold = _models(plan) - _WARM_MODELS
    return bool(cold) or not is_loaded()


def warm_up_for(plan: Any) -> None:
    """Import litellm and load each model's tokenizer (blocking; seconds the first time)."""
    if not needs_warm_up(plan):
        return
    from .client import count_tokens

    try:
        warm_up().result()
        with _LOCK:
            cold = _models(plan) - _WARM_MODELS
        for model in sorted(cold):
            count_tokens(model, messages=[{"role": "user", "content": "warm up"}])
            count_tokens(model, text="warm up")
            with _LOCK:
                _WARM_MODELS.add(model)
    except Exception:  # noqa: BLE001 - the first model call reports it where it belongs
        pass


async def warm_up_before_run(plan: Any) -> None:
    """``warm_up_for`` on a daemon thread, awaited: the loop keeps serving meanwhile, a
    cancelled wait (Stop, Ctrl+C) returns at once, and a closing process never waits for
    an import it no longer needs (``asyncio.to_thread``'s pool threads would be joined)."""
    if not needs_warm_up(plan):
        return
    fut: Future = Future()

    def work() -> None:
        if not fut.set_running_or_notify_cancel():  # from now a cancelled wait leaves fut alone
            return  # the wait was cancelled before this began: nobody needs it now
        try:
            warm_up_for(plan)
        finally:
            fut.set_result(None)

    threading.Thread(target=work, name="orchestra-warm-up", daemon=True).start()
    await asyncio.wrap_future(fut)
