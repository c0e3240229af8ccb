"""The engine: runs a compiled plan on asyncio and streams events (docs/execution.md).

Parts, one job each: ``run`` (the Run object and its public API), ``scopes`` (the ready
set of one scope instance), ``step`` (one node with timeout, retries, error port and
budget), ``kinds`` (one module per structural kind, chosen from tables keyed by
``Kind``), ``results`` (options and results). Traces are written by
``running.trace`` as a listener.
"""

from studio.core.running.engine.kinds import Kind
from studio.core.running.engine.results import NodeResult, NodeRunError, RunOptions, RunResult
from studio.core.running.engine.run import Run, run_flow, start_run
from studio.core.running.engine.step import cache_key

__all__ = ["Kind", "NodeResult", "NodeRunError", "Run", "RunOptions", "RunResult", "cache_key", "run_flow", "start_run"]
