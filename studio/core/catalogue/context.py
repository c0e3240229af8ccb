"""What a node sees while it runs: its inputs, parameters and the run's services.

The executor builds one NodeContext per node run. Every hook has a harmless default,
so a node can be run on its own in a test or in "test this step" without an executor.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable, Mapping

from studio.core.errors import BudgetExceeded
from studio.core.catalogue.params import NO_POLICY, StepPolicy

Scope = tuple[tuple[str, int], ...]
"""Where a node instance runs: ((fanout_or_loop_id, index), ...), outermost first."""


@dataclass
class ApprovalDecision:
    """A human's answer at an Approval node: approve (maybe with an edited value) or reject."""

    action: str  # "approve" | "reject"
    value: Any = None
    reason: str = ""
    by: str = "human"  # "human", "flag", "timeout"

    @property
    def approved(self) -> bool:
        return self.action == "approve"


@dataclass
class ApprovalRequest:
    node_id: str
    scope: Scope
    value: Any
    message: str
    timeout_s: float | None = None


ApprovalHandler = Callable[[ApprovalRequest], Awaitable[ApprovalDecision]]


@dataclass
class CostReport:
    usd: float | None  # None: no price known for the model (shown as unknown, not zero)
    tokens_in: int = 0
    tokens_out: int = 0
    model: str = ""


@dataclass
class NodeContext:
    node_id: str
    params: Mapping[str, Any]
    inputs: dict[str, Any] = field(default_factory=dict)
    scope: Scope = ()
    attempt: int = 1
    mock: bool = False
    flow_dir: Path | None = None
    run_id: str = ""
    flow_name: str = ""  # the name of the flow this node belongs to (a subflow's own name inside it)
    iteration: int | None = None  # the innermost loop iteration, for per-iteration mocks
    settings: Mapping[str, Any] = field(default_factory=dict)  # api_base, pricing, ...
    on_progress: Callable[[dict[str, Any]], None] | None = None
    on_cost: Callable[[CostReport], None] | None = None
    budget_check: Callable[[], None] | None = None
    approval_handler: ApprovalHandler | None = None
    policy: StepPolicy = NO_POLICY  # this node's timeout per attempt and retries (resolved params)

    @property
    def timeout_s(self) -> float | None:
        """The node's timeout for one attempt (None: no limit); give it to any call you make."""
        return self.policy.timeout_s

    def progress(self, **data: Any) -> None:
        """Report progress (streamed tokens, tool calls, retry notices) as an event."""
        if self.on_progress is not None:
            self.on_progress(data)

    def ensure_budget(self) -> None:
        """Raise BudgetExceeded when the run's budget is spent; call before a paid call."""
        if self.budget_check is not None:
            self.budget_check()

    def report_cost(self, report: CostReport) -> None:
        """Report one billed call; the executor adds it to the node's and run's totals."""
        if self.on_cost is not None:
            self.on_cost(report)

    async def request_approval(self, value: Any, message: str, timeout_s: float | None = None) -> ApprovalDecision:
        """Ask the run's approval handler; with none, a high-stakes step is rejected."""
        req = ApprovalRequest(self.node_id, self.scope, value, message, timeout_s)
        if self.approval_handler is None:
            return ApprovalDecision("reject", value, "no approval handler for this run", by="default")
        if timeout_s:
            try:
                return await asyncio.wait_for(self.approval_handler(req), timeout_s)
            except asyncio.TimeoutError:
                return ApprovalDecision("timeout", value, f"no answer within {timeout_s:g} s", by="timeout")
        return await self.approval_handler(req)


__all__ = [
    "ApprovalDecision",
    "ApprovalHandler",
    "ApprovalRequest",
    "BudgetExceeded",
    "CostReport",
    "NodeContext",
    "Scope",
]
