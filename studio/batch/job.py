"""A batch: the flow, the dataset, the mapping, the results file and the account, together.

Both engines and both front ends (CLI, studio) go through :class:`Batch`: it checks
everything that can be checked before a row runs (the flow compiles, the data reads, the
columns fit, the results file is ours to append to), then hands rows to an engine and
takes the records back -- the driver alone writes the results file, whatever the engine.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from studio.core.running.plan import Plan

from .control import BatchStats, StopRules
from .dataset import BadRow, Dataset
from .mapping import RowMapping, build_mapping
from .results import ResultsWriter
from .rowrun import RowSettings

OUTCOMES = ("done", "budget", "failures", "cancelled")


class BatchSetupError(ValueError):
    """Something to fix before any row runs (flow, data, mapping, results file)."""


@dataclass
class BatchConfig:
    data: Path
    out: Path
    maps: Mapping[str, str] = field(default_factory=dict)  # input -> column
    concurrency: int = 8  # rows at once (the Ray engine shares it among its workers)
    budget_usd: float | None = None
    limit: int | None = None  # only rows 0 .. limit-1
    resume: bool = False
    max_failures: int | None = None
    rows: RowSettings = field(default_factory=RowSettings)


def default_trace_dir(flow_name: str, out: Path) -> Path:
    """Per-row traces in the flow's traces folder, in a subfolder named after the results
    file (the same one on --resume; the History list, which reads only the folder itself,
    is not flooded by a batch's thousands of runs)."""
    from studio.core.userdata.paths import traces_dir

    digest = hashlib.blake2b(str(out.resolve()).encode(), digest_size=4).hexdigest()
    return traces_dir(flow_name) / f"batch-{out.stem}-{digest}"


class Batch:
    def __init__(self, plan: Plan, config: BatchConfig, flow_path: Path | None = None,
                 on_record: Callable[[dict[str, Any]], None] | None = None):
        self.plan = plan
        self.config = config
        self.flow_path = Path(flow_path) if flow_path else None
        self.on_record = on_record
        try:
            self.dataset = Dataset(config.data)
            self.columns = self.dataset.columns()
        except ValueError as exc:
            raise BatchSetupError(str(exc)) from exc
        except OSError as exc:
            raise BatchSetupError(f"{config.data}: cannot read: {exc}") from exc
        try:
            self.mapping: RowMapping = build_mapping(self.columns, plan, config.maps)
        except ValueError as exc:
            problems = getattr(exc, "problems", [str(exc)])
            raise BatchSetupError("the data does not fit the flow:\n  " + "\n  ".join(problems)) from exc
        self.stats = BatchStats()
        self.rules = StopRules(self.stats, config.budget_usd, config.max_failures)
        try:
            self.writer = ResultsWriter(config.out, config.resume, config.rows.secrets,
                                        on_existing=lambda rec: self.stats.add(rec, resumed=True))
        except ValueError as exc:
            raise BatchSetupError(str(exc)) from exc
        except OSError as exc:
            raise BatchSetupError(f"{config.out}: cannot write results: {exc}") from exc
        self.outcome = "done"

    def pending(self) -> Iterator[tuple[int, dict[str, Any] | BadRow]]:
        """Rows still to run: not in the results file, below --limit."""
        done, limit = self.writer.done, self.config.limit
        for index, row in self.dataset.rows():
            if limit is not None and index >= limit:
                return
            if index not in done:
                yield index, row

    def total(self) -> int | None:
        """Rows this batch covers (for the progress bar's ETA); None if counting fails."""
        try:
            n = self.dataset.count()
        except (OSError, ValueError):
            return None
        return min(n, self.config.limit) if self.config.limit is not None else n

    def record(self, rec: dict[str, Any]) -> None:
        """A finished row: write it (once), count it, tell the front end."""
        if rec["row"] in self.writer.done:
            return
        self.writer.write(rec)
        self.stats.add(rec)
        if self.on_record is not None:
            self.on_record(rec)

    def finish(self) -> str:
        self.writer.close()
        self.outcome = self.rules.reason or "done"
        return self.outcome

    async def run_local(self) -> str:
        from .local import run_local

        try:
            await run_local(self)
        finally:
            self.finish()
        return self.outcome

    def run_ray(self, address: str | None = None, workers: int | None = None, send_keys: bool = False) -> str:
        from .ray_engine import run_ray

        try:
            run_ray(self, address=address, workers=workers, send_keys=send_keys)
        finally:
            self.finish()
        return self.outcome
