"""The executor's public API (the engine's parts live in ``running.engine``).

Semantics (DESIGN §3, decided details in docs/execution.md): a ready set with
run-wide concurrency, SKIP propagation, loops with a hard stop, fan-out with results
in input order, per-node timeout/retries/error port, budget stops before paid nodes,
pinned outputs, cancellation that leaves no task, and a redacted JSON-lines trace.
"""

from studio.core.running.engine import (
    Kind,
    NodeResult,
    NodeRunError,
    Run,
    RunOptions,
    RunResult,
    cache_key,
    run_flow,
    start_run,
)
from studio.core.running.engine.kinds.loop import condition_holds
from studio.core.running.engine.kinds.subflow import MAX_SUBFLOW_DEPTH

__all__ = ["Kind", "MAX_SUBFLOW_DEPTH", "NodeResult", "NodeRunError", "Run", "RunOptions", "RunResult", "cache_key",
           "condition_holds", "run_flow", "start_run"]
