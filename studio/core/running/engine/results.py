"""What a run is asked to do and what it reports: options, per-node results, the result."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from studio.core.catalogue.context import ApprovalHandler
from studio.core.errors import OrchestraError
from studio.core.running import events as ev

if TYPE_CHECKING:  # pragma: no cover
    from studio.core.running.engine.run import Run


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

    def __init__(self, node: str, scope: tuple, error: BaseException):
        self.node, self.scope, self.error = node, scope, error
        where = "".join(f"{s}[{i}]/" for s, i in scope)
        super().__init__(f"{where}{node}: {describe(error)}")


def describe(exc: BaseException) -> str:
    """One line for a failure: our own errors speak for themselves, others name their type."""
    if isinstance(exc, OrchestraError):
        return str(exc)
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def fail_for_good(run: "Run", node: str, scope: tuple, exc: BaseException, attempt: int) -> NodeRunError:
    """A node failed for good (a step's last attempt, a fan-out's refused list, a loop's
    condition): its result and one final node_failed event say so, the same way every
    time; the caller raises the returned error."""
    result = run.result_of(node, scope)
    result.status, result.error = "failed", describe(exc)
    run.emit(ev.NODE_FAILED, node, scope, error=describe(exc), error_type=type(exc).__name__,
             attempt=attempt, will_retry=False, handled=False)
    return NodeRunError(node, scope, exc)


def count_status(results) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in results:
        out[r.status] = out.get(r.status, 0) + 1
    return out
