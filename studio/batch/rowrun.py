"""One row through the ordinary executor, and the record the results file keeps for it.

Both engines call :func:`run_row` (the Ray engine inside its workers), so a row gives the
same record wherever it runs. A record is plain JSON::

    {"row": 7, "status": "succeeded", "outputs": {...}, "error": null, "error_node": null,
     "latency_s": 0.41, "tokens_in": 120, "tokens_out": 31, "cost_usd": 0.0000213,
     "passed": true, "checks": [], "nodes": {"classify": 0.39, ...}, "trace": "/…/row-00000007.jsonl"}

``passed`` is None when the row has no expectations; ``checks`` lists only the failed
checks' messages (the passing ones add nothing a reader needs); ``nodes`` is each node's
latency summed over its instances (``RunState.node_summary``, the fold every run reader
shares), which the closing summary folds into "the slowest node".
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from studio.core.running.events import jsonable
from studio.core.running.executor import RunOptions, start_run
from studio.core.running.plan import Plan
from studio.core.running.runstate import RunState

from .dataset import BadRow
from .evaluate import evaluate
from .mapping import RowDataError, RowMapping


@dataclass
class RowSettings:
    """What every row's run shares (travels to Ray workers as it is: plain fields only)."""

    mock: bool = False
    node_concurrency: int = 16  # nodes at once inside one row's run
    approve: str = "none"  # Approval nodes in a batch: "all" approves, "none" rejects (nobody is there to ask)
    trace_dir: str | None = None  # one trace per row here; None: no traces
    settings: dict[str, Any] = field(default_factory=dict)  # api_base, pricing
    secrets: Sequence[str] = ()


def trace_path(trace_dir: str | None, index: int) -> Path | None:
    return Path(trace_dir) / f"row-{index:08d}.jsonl" if trace_dir else None


def _handler(mode: str):
    from studio.core.catalogue.context import ApprovalDecision

    async def handler(req):
        if mode == "all":
            return ApprovalDecision("approve", by="batch")
        return ApprovalDecision("reject", reason="a batch approves nothing unless run with --approve all", by="batch")

    return handler


def failed_record(index: int, error: str) -> dict[str, Any]:
    return {"row": index, "status": "failed", "outputs": {}, "error": error, "error_node": None, "latency_s": 0.0,
            "tokens_in": 0, "tokens_out": 0, "cost_usd": 0.0, "passed": None, "checks": [], "nodes": {}, "trace": None}


async def run_row(plan: Plan, index: int, row: Mapping[str, Any] | BadRow, mapping: RowMapping,
                  rs: RowSettings) -> dict[str, Any]:
    """Run the flow on one row; never raises for the row's own faults (they go in the record)."""
    if isinstance(row, BadRow):
        return failed_record(index, f"unreadable row: {row.error}")
    try:
        inputs = mapping.inputs_of(row)
    except RowDataError as exc:
        return failed_record(index, str(exc))
    path = trace_path(rs.trace_dir, index)
    options = RunOptions(inputs=inputs, concurrency=rs.node_concurrency, mock=rs.mock, settings=dict(rs.settings),
                         trace=path if path is not None else None, secrets=list(rs.secrets),
                         approval_handler=_handler(rs.approve))
    t0 = time.perf_counter()
    state = RunState(live=False)  # the one fold of a run's events; the record's per-node times come from it
    try:
        run = start_run(plan, options)
        run.add_listener(state.on_event)
        result = await run.wait()
    except Exception as exc:  # noqa: BLE001 - e.g. the trace folder cannot be written: the row fails, the batch goes on
        return failed_record(index, f"{type(exc).__name__}: {exc}")
    latency = time.perf_counter() - t0
    checks = evaluate(mapping.expected, row, result.outputs) if mapping.expected and result.ok else []
    has_expectations = bool(checks) or (not result.ok and _expects_something(mapping, row))
    passed = (result.ok and all(c.ok for c in checks)) if has_expectations else None
    t = result.totals
    return {
        "row": index, "status": result.status, "outputs": jsonable(result.outputs), "error": result.error,
        "error_node": result.error_node, "latency_s": round(latency, 6),
        "tokens_in": t.get("tokens_in", 0), "tokens_out": t.get("tokens_out", 0),
        "cost_usd": t.get("cost_usd", 0.0), "passed": passed,
        "checks": [c.message for c in checks if not c.ok],
        "nodes": {node: s["latency_s"] for node, s in state.node_summary().items() if s["latency_s"]},
        "trace": str(result.trace_path) if result.trace_path else None,
    }


def _expects_something(mapping: RowMapping, row: Mapping[str, Any]) -> bool:
    return any(e.expectations(row.get(e.column)) for e in mapping.expected)
