"""A live terminal view of a run for `orchestra run`, fed by executor events.

It keeps a small per-node summary (status, instances, fan-out counts, loop iteration,
streamed text, cost) and renders it with rich. On a terminal it redraws in place; when
output goes to a file or a pipe it prints one plain line per notable event instead, so
CI logs and captured output still show progress, streamed tokens included (gathered per
node instance for 200 ms, one ``node │ text`` line each).

Which one: the live view needs a stream that is a real terminal. FORCE_COLOR (set by
many CI systems) keeps colours but not in-place redrawing, which would leave cursor
codes and erased frames in a log. ``--plain`` (or TTY_INTERACTIVE=0) asks for the lines
on a terminal too; TTY_INTERACTIVE=1 asks for the live view on anything (rich's variables).

Everything it prints goes through ``the shared Redactor (core.userdata.redaction)``: a provider that echoes
the key in an error message does not put it on the screen or into a captured log.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from studio.core.userdata.redaction import Redactor
from studio.core.running import events as ev
from studio.core.running.events import Event


def fmt_cost(usd: float | None, unknown: int = 0) -> str:
    if usd is None:
        return "unknown"
    text = f"${usd:.6f}" if usd < 0.01 else f"${usd:.4f}"
    return text + (f" (+{unknown} unpriced)" if unknown else "")


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


@dataclass
class NodeLine:
    node: str
    status: str = "queued"
    running: int = 0
    instances: int = 0
    done: int = 0
    failed: int = 0
    skipped: int = 0
    cached: int = 0
    latency_s: float = 0.0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    cost_unknown: int = 0
    fanout: tuple[int, int, int] | None = None  # done, failed, total
    iteration: tuple[int, Any] | None = None
    stream: str = ""
    retries: int = 0
    error: str = ""


@dataclass
class RunView:
    console: Console
    live_mode: bool
    lines: dict[str, NodeLine] = field(default_factory=dict)
    run_cost: float = 0.0
    started: float = field(default_factory=time.perf_counter)
    secrets: frozenset[str] = frozenset()
    _live: Live | None = None
    _last_stream_print: dict[str, float] = field(default_factory=dict)
    _pending_stream: dict[str, str] = field(default_factory=dict)
    _redactor: Redactor | None = None

    @classmethod
    def create(cls, stream: TextIO | None = None, plain: bool = False, secrets=()) -> "RunView":
        out = stream or sys.stderr
        console = Console(file=out, highlight=False, soft_wrap=False)
        return cls(console, not plain and _can_redraw(console), secrets=frozenset(secrets))

    @property
    def redactor(self) -> Redactor:
        if self._redactor is None:
            self._redactor = Redactor(self.secrets)
        return self._redactor

    def redaction_set(self) -> frozenset[str]:
        """The keys to hide: those given, plus every key this process has seen so far."""
        return self.redactor.values()

    def clean(self, text: str) -> str:
        """``text`` with every key this process knows of replaced by [redacted]."""
        return self.redactor.text(text) if text else text

    def __enter__(self) -> "RunView":
        if self.live_mode:
            # rich's refresh thread asks for the table 10 times a second: the clock keeps
            # going between events, and a burst of token events costs no redraws
            self._live = Live(console=self.console, refresh_per_second=10, transient=True, get_renderable=self.render)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._live is not None:
            self._live.__exit__(*exc)
            self._live = None
        self._flush_streams(force=True)

    def line(self, node: str) -> NodeLine:
        ln = self.lines.get(node)
        if ln is None:
            ln = self.lines[node] = NodeLine(node)
        return ln

    # -- events ------------------------------------------------------------------

    def on_event(self, e: Event) -> None:
        where = "".join(f"{s}[{i}]/" for s, i in e.scope)
        if e.type == ev.RUN_STARTED:
            self.started = time.perf_counter()  # the clock shows the run's time, not set-up's
        elif e.type == ev.NODE_STARTED:
            ln = self.line(e.node)
            ln.running += 1
            ln.instances += 1
            ln.status = "running"
            if not self.live_mode and not e.scope:
                self._print(f"▶ {e.node}")
        elif e.type == ev.NODE_FINISHED:
            ln = self.line(e.node)
            d = e.data
            if d.get("cached"):
                ln.cached += 1
                ln.instances += 1
                ln.status = "cached"
            else:
                ln.running = max(0, ln.running - 1)
                ln.done += 1
                ln.status = "running" if ln.running else "done"
                ln.latency_s += d.get("latency_s", 0.0)
                ln.tokens_in += d.get("tokens_in", 0)
                ln.tokens_out += d.get("tokens_out", 0)
                if d.get("cost_usd") is None:
                    ln.cost_unknown += 1
                else:
                    ln.cost_usd += d.get("cost_usd") or 0.0
            self._flush_streams(force=True, node=e.node)
            if not self.live_mode and not e.scope:
                extra = f", {fmt_cost(d.get('cost_usd'))}" if d.get("cost_usd") or d.get("tokens_in") else ""
                self._print(f"✓ {e.node} ({'cached' if d.get('cached') else fmt_ms(d.get('latency_s', 0.0))}{extra})")
        elif e.type == ev.NODE_SKIPPED:
            ln = self.line(e.node)
            ln.skipped += 1
            ln.instances += 1
            if ln.status == "queued":
                ln.status = "skipped"
        elif e.type == ev.NODE_FAILED:
            ln = self.line(e.node)
            if e.data.get("will_retry"):
                ln.retries += 1
                self._print(f"↻ {where}{e.node}: {e.data.get('error')} (attempt {e.data.get('attempt')}, retrying in {e.data.get('retry_in_s')} s)")
            else:
                ln.running = max(0, ln.running - 1)
                ln.failed += 1
                ln.error = str(e.data.get("error", ""))
                ln.status = "failed (handled)" if e.data.get("handled") else "failed"
                self._print(f"✗ {where}{e.node}: {ln.error}")
        elif e.type == ev.NODE_PROGRESS:
            ln = self.line(e.node)
            kind = e.data.get("kind")
            if kind == "fanout":
                ln.fanout = (e.data["done"], e.data["failed"], e.data["total"])
            elif kind == "iteration":
                ln.iteration = (e.data["iteration"], e.data.get("max_iterations"))
            elif kind == "token":
                text = str(e.data.get("text", ""))
                ln.stream = (ln.stream + text)[-400:]
                self._pending_stream[f"{where}{e.node}"] = self._pending_stream.get(f"{where}{e.node}", "") + text
                self._flush_streams()
            elif kind == "cost":
                self.run_cost = e.data.get("run_cost_usd", self.run_cost)
            elif kind == "tool_call":
                self._print(f"  {where}{e.node} → tool {e.data.get('tool')}({_short(e.data.get('arguments'))})")
        elif e.type == ev.APPROVAL_REQUESTED:
            self._print(f"? {where}{e.node} asks: {e.data.get('message')}")
        elif e.type == ev.APPROVAL_RESOLVED:
            self._print(f"  {where}{e.node}: {e.data.get('action')} ({e.data.get('by')})")

    def _print(self, text: str) -> None:
        if self._live is not None:
            self._live.console.print(Text(self.clean(text)))
        else:
            self.console.print(Text(self.clean(text)))

    def _flush_streams(self, force: bool = False, node: str | None = None) -> None:
        if self.live_mode and not force:
            return
        now = time.perf_counter()
        for key in list(self._pending_stream):
            if node is not None and not key.endswith(node):
                continue
            if force or now - self._last_stream_print.get(key, 0.0) >= 0.2:
                chunk = self._pending_stream.pop(key)
                if chunk and not self.live_mode:
                    self.console.print(Text(self.clean(f"  {key} │ {chunk}")), soft_wrap=True)
                self._last_stream_print[key] = now

    # -- rendering -----------------------------------------------------------------

    def render(self) -> Group:
        table = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
        table.add_column("node")
        table.add_column("state")
        table.add_column("progress")
        table.add_column("cost", justify="right")
        table.add_column("output so far", overflow="ellipsis", no_wrap=True, max_width=60)
        for ln in list(self.lines.values()):  # a copy: rich calls this from its refresh thread
            if ln.status in ("done", "cached", "skipped") and not ln.running:
                continue
            prog = ""
            if ln.fanout:
                d, f, t = ln.fanout
                prog = f"{d} of {t}" + (f", {f} failed" if f else "")
            elif ln.iteration:
                prog = f"iteration {ln.iteration[0]} of ≤ {ln.iteration[1]}"
            elif ln.running > 1:
                prog = f"{ln.running} running"
            table.add_row(ln.node, ln.status, prog, fmt_cost(ln.cost_usd) if ln.cost_usd else "",
                          self.clean(ln.stream).replace("\n", " ")[-60:])
        done = sum(1 for ln in list(self.lines.values()) if ln.status in ("done", "cached"))
        head = Text(f"{time.perf_counter() - self.started:6.1f} s   {done} node(s) done   cost {fmt_cost(self.run_cost) if self.run_cost else '$0'}")
        return Group(head, table)

    def summary_table(self) -> Table:
        table = Table(title="Per node", show_lines=False, header_style="bold")
        for col, just in (("node", "left"), ("status", "left"), ("runs", "right"), ("latency", "right"),
                          ("tokens in", "right"), ("tokens out", "right"), ("cost", "right")):
            table.add_column(col, justify=just)  # type: ignore[arg-type]
        for ln in self.lines.values():
            runs = ln.instances
            status = ln.status
            if ln.failed and ln.status != "failed":
                status += f" ({ln.failed} failed)"
            table.add_row(ln.node, status, str(runs), fmt_ms(ln.latency_s) if ln.done else "",
                          str(ln.tokens_in) if ln.tokens_in else "", str(ln.tokens_out) if ln.tokens_out else "",
                          fmt_cost(ln.cost_usd if not ln.cost_unknown or ln.cost_usd else None, ln.cost_unknown)
                          if (ln.tokens_in or ln.cost_usd or ln.cost_unknown) else "")
        return table


def _can_redraw(console: Console) -> bool:
    """Whether to redraw in place: a real terminal, unless TTY_INTERACTIVE says otherwise."""
    forced = os.environ.get("TTY_INTERACTIVE")
    if forced in ("0", "1"):
        return forced == "1"
    try:
        isatty = console.file.isatty()
    except (AttributeError, ValueError):
        isatty = False
    return bool(isatty) and console.is_interactive


def _short(value: Any, limit: int = 60) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
