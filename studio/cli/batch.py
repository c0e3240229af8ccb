"""`orchestra batch FLOW --data FILE`: run a flow over every row of a dataset.

Reads JSONL, CSV or Parquet row by row (memory stays flat) and writes one JSON line per
row to --out: row (its 0-based number in the file), status, outputs, error, latency,
tokens, cost, pass/fail of the row's expected.<output> columns, and its trace. Columns
feed the flow's inputs by name unless --map COLUMN=INPUT says otherwise.

--resume carries on after a crash or Ctrl-C: rows already in --out are skipped, nothing
is written twice. --budget is one cap for the whole batch (on --resume the cost already
in --out counts): no row starts once it is spent, running rows finish.

Engines: local (default; rows run concurrently in this process) or ray (--address
connects to a cluster, default a local Ray started for the run; pip install
"orchestra-studio[ray]"). See docs/batch.md.

Exit codes: 0 every row succeeded and passed its checks; 1 some rows failed or failed
their checks (or --max-failures stopped the batch); 2 the flow, the data or the mapping
is wrong; 3 the budget was spent; 130 interrupted (--resume carries on).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_BUDGET, EXIT_CANCELLED = 0, 1, 2, 3, 130


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("batch", help="run a flow over a dataset (JSONL, CSV, Parquet)", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("flow", help="the *.flow.json file")
    p.add_argument("--data", required=True, metavar="FILE", help="the dataset: .jsonl, .csv or .parquet")
    p.add_argument("--out", metavar="FILE", help="results, one JSON line per row (default: DATA's name + .results.jsonl)")
    p.add_argument("--map", action="append", default=[], metavar="COLUMN=INPUT",
                   help="feed a flow input from a column of another name (repeatable)")
    p.add_argument("--concurrency", type=int, default=8, metavar="N", help="rows running at once (default 8)")
    p.add_argument("--budget", type=float, metavar="USD", help="one cap on the cost of the whole batch")
    p.add_argument("--limit", type=int, metavar="N", help="only the first N rows of the file")
    p.add_argument("--resume", action="store_true", help="carry on: skip rows already in --out")
    p.add_argument("--mock", action="store_true", help="LLM nodes answer with their mock responses (no key; the cost is an estimate)")
    p.add_argument("--max-failures", type=int, metavar="N", help="stop starting rows once N rows have failed")
    p.add_argument("--engine", choices=("local", "ray"), default="local", help="where rows run (default local)")
    p.add_argument("--address", metavar="ADDR", help="Ray: the cluster to connect to (ray://host:10001, host:6379 or auto)")
    p.add_argument("--workers", type=int, metavar="N", help="Ray: worker actors (default: the cluster's CPUs)")
    p.add_argument("--send-keys", action="store_true",
                   help="Ray: send this machine's provider keys to the workers in the runtime environment "
                        "(default: workers use their own environment)")
    p.add_argument("--traces", metavar="DIR|none", help="where each row's trace goes (default: the flow's traces folder)")
    p.add_argument("--approve", choices=("all", "none"), default="none", help="answer Approval nodes (default: reject)")
    p.add_argument("--api-base", metavar="URL", help="send every LLM call to this OpenAI-compatible endpoint")
    p.add_argument("--json", action="store_true", help="print the closing summary as one JSON document")
    p.add_argument("--plain", action="store_true", help="no progress bar (the default when standard error is not a terminal)")
    p.set_defaults(func=main)


def _fail(message: str, code: int) -> int:
    """Print an error with every known key hidden (a Ray error may quote the runtime env)."""
    try:
        from studio.core.userdata.credentials import redact_text

        message = redact_text(message)
    except Exception:  # noqa: BLE001 - a broken keyring: the environment's keys are still hidden below
        import os

        for value in (v for k, v in os.environ.items() if k.endswith("_API_KEY") and len(v) >= 6):
            message = message.replace(value, "[redacted]")
    print(f"orchestra batch: {message}", file=sys.stderr)
    return code


def _secrets() -> list[str]:
    try:
        from studio.core.userdata.credentials import known_secrets

        return sorted(known_secrets())
    except Exception:  # noqa: BLE001 - a broken keyring must not stop a batch; env keys still count
        import os

        return [v for k, v in os.environ.items() if k.endswith("_API_KEY") and v]


def build(args: argparse.Namespace):
    """The Batch, or an exit code for what is wrong before any row runs."""
    from studio.batch.job import Batch, BatchConfig, BatchSetupError, default_trace_dir
    from studio.batch.mapping import MappingError, parse_maps
    from studio.batch.rowrun import RowSettings
    from studio.core.document.flowfile import load_flow
    from studio.core.errors import FlowFileError
    from studio.core.running.plan import FlowInvalid, compile_plan

    try:
        model = load_flow(args.flow)
        plan = compile_plan(model)
    except FlowFileError as exc:
        return _fail(str(exc), EXIT_INVALID)
    except FlowInvalid as exc:
        lines = "\n  ".join(str(p) for p in exc.problems if p.is_error)
        return _fail(f"{args.flow} is not valid:\n  {lines}", EXIT_INVALID)
    for name, value in (("--concurrency", args.concurrency), ("--limit", args.limit), ("--max-failures", args.max_failures),
                        ("--workers", args.workers)):
        if value is not None and value < (0 if name == "--limit" else 1):
            return _fail(f"{name} must be {'0 or more' if name == '--limit' else 'at least 1'}, got {value}", EXIT_INVALID)
    if args.budget is not None and not args.budget >= 0:
        return _fail(f"--budget must be 0 or more, got {args.budget}", EXIT_INVALID)
    try:
        maps = parse_maps(args.map)
    except MappingError as exc:
        return _fail(str(exc), EXIT_INVALID)
    data = Path(args.data)
    out = Path(args.out) if args.out else data.with_name(data.name.split(".")[0] + ".results.jsonl")
    if args.traces and args.traces.lower() == "none":
        trace_dir = None
    else:
        trace_dir = str(Path(args.traces).resolve()) if args.traces else str(default_trace_dir(plan.name, out))
    settings: dict[str, Any] = {"api_base": args.api_base} if args.api_base else {}
    rows = RowSettings(mock=args.mock, approve=args.approve, trace_dir=trace_dir, settings=settings, secrets=_secrets())
    config = BatchConfig(data=data, out=out, maps=maps, concurrency=args.concurrency, budget_usd=args.budget,
                         limit=args.limit, resume=args.resume, max_failures=args.max_failures, rows=rows)
    try:
        return Batch(plan, config, flow_path=Path(args.flow))
    except BatchSetupError as exc:
        return _fail(str(exc), EXIT_INVALID)


def main(args: argparse.Namespace) -> int:
    batch = build(args)
    if isinstance(batch, int):
        return batch
    for note in ([f"columns not used: {', '.join(batch.mapping.ignored)}"] if batch.mapping.ignored else []):
        print(f"orchestra batch: {note}", file=sys.stderr)
    view = BatchView.create(batch, plain=args.plain or args.json, total=batch.total(), quiet=args.json)
    batch.on_record = view.on_record
    try:
        with view:
            if args.engine == "ray":
                outcome = _run_ray(batch, args)
            else:
                outcome = _run_local(batch)
    except ImportError as exc:
        return _fail(str(exc), EXIT_INVALID)
    except Exception as exc:  # noqa: BLE001 - a worker died, the disk filled: say so, keep what was written
        batch.finish()
        return _fail(f"the batch stopped: {type(exc).__name__}: {exc}\n"
                     f"  {batch.stats.rows} rows are in {batch.config.out}; --resume carries on", EXIT_FAILED)
    summary = batch.stats.summary()
    summary.update(outcome=outcome, out=str(batch.config.out), engine=args.engine)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        view.print_summary(summary)
    if outcome == "budget":
        return EXIT_BUDGET
    if outcome == "cancelled":
        print("orchestra batch: interrupted; --resume carries on where it stopped", file=sys.stderr)
        return EXIT_CANCELLED
    if outcome == "failures" or batch.stats.failed or summary["failed_checks"]:
        return EXIT_FAILED
    return EXIT_OK


def _run_local(batch) -> str:
    async def go() -> str:
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, task.cancel)
            except (NotImplementedError, RuntimeError):  # pragma: no cover - Windows
                pass
        try:
            return await batch.run_local()
        except asyncio.CancelledError:
            return "cancelled"

    from studio.llm.warm import warm_up_for

    warm_up_for(batch.plan)  # litellm's import and the tokenizers, before the clock starts
    return asyncio.run(go())


def _run_ray(batch, args) -> str:
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        return batch.run_ray(address=args.address, workers=args.workers, send_keys=args.send_keys)
    except KeyboardInterrupt:
        return "cancelled"
    finally:
        signal.signal(signal.SIGTERM, previous)


class BatchView:
    """The rich progress bar on standard error (rows/s, cost, failures, ETA) and the summary."""

    PLAIN_EVERY_S = 5.0  # without a terminal: one progress line this often (CI logs)

    def __init__(self, batch, console, progress, total: int | None, quiet: bool = False):
        self.batch, self.console, self.progress, self.total = batch, console, progress, total
        self.quiet = quiet
        self._task = None
        self._next_line = time.monotonic() + self.PLAIN_EVERY_S

    @classmethod
    def create(cls, batch, plain: bool, total: int | None, quiet: bool = False) -> "BatchView":
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        console = Console(file=sys.stderr, highlight=False)
        progress = None
        if not plain and console.is_terminal:
            progress = Progress(TextColumn("[bold]batch"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("{task.fields[rate]} rows/s · {task.fields[cost]} · {task.fields[fails]} failed"),
                                TimeRemainingColumn(), console=console, transient=False, refresh_per_second=4)
        return cls(batch, console, progress, total, quiet)

    def __enter__(self) -> "BatchView":
        if self.progress is not None:
            self.progress.start()
            s = self.batch.stats
            self._task = self.progress.add_task("batch", total=self.total, completed=s.rows,
                                                rate="0", cost=self.cost(s.cost_usd), fails=s.failed)
        return self

    def cost(self, usd: float) -> str:
        """A cost as every view prints it (runstate's formatter; an estimate in a mock batch)."""
        from studio.core.running.runstate import fmt_cost

        return fmt_cost(usd, estimate=self.batch.config.rows.mock)

    def __exit__(self, *exc) -> None:
        if self.progress is not None:
            self._refresh()
            self.progress.stop()

    def on_record(self, rec: dict[str, Any]) -> None:
        if self.progress is not None:
            if self.batch.stats.rows % 16 == 0 or rec.get("status") != "succeeded":
                self._refresh()
        elif not self.quiet and time.monotonic() >= self._next_line:
            self._next_line = time.monotonic() + self.PLAIN_EVERY_S
            s = self.batch.stats
            of = f"/{self.total:,}" if self.total is not None else ""
            print(f"batch: {s.rows:,}{of} rows · {s.rows_per_s():,.0f} rows/s · {self.cost(s.cost_usd)} · {s.failed:,} failed",
                  file=sys.stderr, flush=True)

    def _refresh(self) -> None:
        s = self.batch.stats
        self.progress.update(self._task, completed=s.rows, rate=f"{s.rows_per_s():,.0f}", cost=self.cost(s.cost_usd),
                             fails=s.failed)

    def print_summary(self, summary: dict[str, Any]) -> None:
        from rich.console import Console
        from rich.table import Table

        from studio.core.running.runstate import fmt_latency, fmt_tokens

        out = Console(file=sys.stdout, highlight=False, soft_wrap=False)
        t = Table(title=f"batch {summary['outcome']}", show_header=False, title_justify="left")
        t.add_column(style="bold")
        t.add_column()
        rows = summary["rows"]
        t.add_row("rows", f"{rows}" + (f" ({summary['resumed']} from before --resume)" if summary["resumed"] else ""))
        t.add_row("succeeded / failed", f"{summary['succeeded']} / {summary['failed']}")
        if summary["evaluated"]:
            t.add_row("passed / failed checks", f"{summary['passed']} / {summary['failed_checks']} "
                      f"(pass rate {summary['pass_rate'] * 100:.1f}% of {summary['evaluated']} evaluated)")
        else:
            t.add_row("evaluation", "no expected.<output> columns")
        per_row = summary["cost_per_row_usd"]
        t.add_row("cost", f"{self.cost(summary['cost_usd'])} total"
                  + (f", {self.cost(per_row)} per row" if per_row is not None else ""))
        t.add_row("tokens", f"{fmt_tokens(summary['tokens_in'])} in / {fmt_tokens(summary['tokens_out'])} out")
        if summary["latency_p50_s"] is not None:
            t.add_row("latency", f"p50 {fmt_latency(summary['latency_p50_s'])} · p95 {fmt_latency(summary['latency_p95_s'])}")
        slow = summary["slowest_node"]
        if slow:
            t.add_row("slowest node",
                      f"{slow['node']}: {fmt_latency(slow['total_s'])} in all, {fmt_latency(slow['mean_s'])} per row")
        t.add_row("rate", f"{summary['rows_per_s']:,.1f} rows/s ({summary['engine']})")
        out.print(t)
        out.print(f"results: {summary['out']}", markup=False, soft_wrap=True)
