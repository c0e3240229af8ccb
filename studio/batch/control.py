"""The batch's running account: totals, pass rate, latency percentiles, when to stop.

One :class:`BatchStats` folds every record (the ones already in a resumed file too), so
the progress bar, the closing summary and the stop rules read the same numbers. Memory
is flat: latencies go into a log-spaced histogram (1% wide buckets), not a list, so
p50/p95 over a million rows cost a few hundred integers.

Stop rules (checked before each row starts; running rows always finish):
* the budget: once the cost written so far reaches ``budget_usd`` no row starts (exit 3);
* ``max_failures``: once that many rows failed no row starts;
* cancellation (Ctrl-C, the studio's Stop).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

_STEP = math.log(1.01)
_FLOOR = 1e-6


class LatencyHistogram:
    """Percentiles within 1% from bucket counts (constant memory however many rows)."""

    def __init__(self) -> None:
        self.counts: dict[int, int] = {}
        self.n = 0

    def add(self, seconds: float) -> None:
        b = int(math.log(max(seconds, _FLOOR) / _FLOOR) / _STEP)
        self.counts[b] = self.counts.get(b, 0) + 1
        self.n += 1

    def quantile(self, q: float) -> float | None:
        if not self.n:
            return None
        rank = max(1, math.ceil(q * self.n))
        seen = 0
        for b in sorted(self.counts):
            seen += self.counts[b]
            if seen >= rank:
                return _FLOOR * math.exp((b + 0.5) * _STEP)
        return None  # pragma: no cover


@dataclass
class BatchStats:
    rows: int = 0  # rows with a record (this run and, when resumed, earlier ones)
    succeeded: int = 0
    failed: int = 0
    passed: int = 0
    evaluated: int = 0
    cost_usd: float = 0.0
    tokens_in: int = 0
    tokens_out: int = 0
    resumed: int = 0  # of ``rows``, how many were already in the file
    failed_new: int = 0  # failed rows of this invocation (what --max-failures counts)
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)
    node_time: dict[str, float] = field(default_factory=dict)
    node_rows: dict[str, int] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    def add(self, rec: dict[str, Any], resumed: bool = False) -> None:
        self.rows += 1
        self.resumed += resumed
        if rec.get("status") == "succeeded":
            self.succeeded += 1
        else:
            self.failed += 1
            self.failed_new += not resumed
        if rec.get("passed") is not None:
            self.evaluated += 1
            self.passed += bool(rec["passed"])
        self.cost_usd += rec.get("cost_usd") or 0.0
        self.tokens_in += rec.get("tokens_in") or 0
        self.tokens_out += rec.get("tokens_out") or 0
        if rec.get("latency_s"):
            self.latency.add(rec["latency_s"])
        for node, s in (rec.get("nodes") or {}).items():
            self.node_time[node] = self.node_time.get(node, 0.0) + s
            self.node_rows[node] = self.node_rows.get(node, 0) + 1

    @property
    def new_rows(self) -> int:
        return self.rows - self.resumed

    def rows_per_s(self) -> float:
        dt = time.monotonic() - self.started
        return self.new_rows / dt if dt > 0 else 0.0

    def slowest_node(self) -> tuple[str, float, float] | None:
        """(node, total seconds, mean seconds per row it ran in): where the time goes."""
        if not self.node_time:
            return None
        node = max(self.node_time, key=self.node_time.__getitem__)
        return node, self.node_time[node], self.node_time[node] / max(1, self.node_rows[node])

    def summary(self) -> dict[str, Any]:
        slow = self.slowest_node()
        p50, p95 = self.latency.quantile(0.5), self.latency.quantile(0.95)
        return {
            "rows": self.rows, "resumed": self.resumed, "succeeded": self.succeeded, "failed": self.failed,
            "evaluated": self.evaluated, "passed": self.passed, "failed_checks": self.evaluated - self.passed,
            "pass_rate": round(self.passed / self.evaluated, 6) if self.evaluated else None,
            "cost_usd": round(self.cost_usd, 8), "cost_per_row_usd": round(self.cost_usd / self.rows, 10) if self.rows else None,
            "tokens_in": self.tokens_in, "tokens_out": self.tokens_out,
            "latency_p50_s": round(p50, 6) if p50 is not None else None,
            "latency_p95_s": round(p95, 6) if p95 is not None else None,
            "slowest_node": {"node": slow[0], "total_s": round(slow[1], 6), "mean_s": round(slow[2], 6)} if slow else None,
            "rows_per_s": round(self.rows_per_s(), 2),
        }


class StopRules:
    """Whether a new row may start, and why not (the first reason that holds)."""

    def __init__(self, stats: BatchStats, budget_usd: float | None = None, max_failures: int | None = None):
        self.stats = stats
        self.budget_usd = budget_usd
        self.max_failures = max_failures
        self.cancelled = False
        self.reason: str | None = None  # "budget", "failures", "cancelled"

    def cancel(self) -> None:
        self.cancelled = True

    def may_start(self) -> bool:
        if self.reason is not None:
            return False
        if self.cancelled:
            self.reason = "cancelled"
        elif self.budget_usd is not None and self.stats.cost_usd >= self.budget_usd:
            self.reason = "budget"
        elif self.max_failures is not None and self.max_failures > 0 and self.stats.failed_new >= self.max_failures:
            self.reason = "failures"
        return self.reason is None
