"""A NodeContext wired to recorders, for driving one node directly without the executor."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from studio.core.catalogue.context import CostReport, NodeContext
from studio.core.catalogue.params import step_policy
from studio.core.errors import BudgetExceeded


@dataclass
class Recorder:
    progress: list[dict[str, Any]] = field(default_factory=list)
    costs: list[CostReport] = field(default_factory=list)
    budget_checks: int = 0
    budget_usd: float | None = None

    def on_progress(self, data: dict[str, Any]) -> None:
        self.progress.append(data)

    def on_cost(self, report: CostReport) -> None:
        self.costs.append(report)

    def check_budget(self) -> None:
        self.budget_checks += 1
        if self.budget_usd is not None and self.spent >= self.budget_usd:
            raise BudgetExceeded(self.spent, self.budget_usd)

    @property
    def spent(self) -> float:
        return sum(c.usd or 0.0 for c in self.costs)

    def kinds(self, kind: str) -> list[dict[str, Any]]:
        return [p for p in self.progress if p.get("kind") == kind]

    def streamed_text(self) -> str:
        return "".join(p["text"] for p in self.kinds("token"))


def make_ctx(node_type: Any, params: Mapping[str, Any] | None = None, inputs: Mapping[str, Any] | None = None, *,
             settings: Mapping[str, Any] | None = None, mock: bool = False, attempt: int = 1,
             iteration: int | None = None, flow_dir: Path | None = None,
             recorder: Recorder | None = None) -> tuple[NodeContext, Recorder]:
    """A context for ``node_type`` with its default parameters overridden by ``params``."""
    rec = recorder or Recorder()
    full = node_type.resolve({**node_type.default_params(), **(params or {})}).values
    ctx = NodeContext(
        node_id="n1", params=full, inputs=dict(inputs or {}), attempt=attempt, mock=mock, flow_dir=flow_dir,
        iteration=iteration, settings=dict(settings or {}), on_progress=rec.on_progress, on_cost=rec.on_cost,
        budget_check=rec.check_budget, policy=step_policy(full),
    )
    return ctx, rec
