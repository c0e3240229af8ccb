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

from studio.core.running import events as ev
from studio.core.running.events import Event
from studio.core.running.runstate import NodeView, RunState, fmt_cost, fmt_latency, fmt_tokens, fmt_value
from studio.core.userdata.redaction import Redactor

__all__ = ["RunView", "fmt_cost", "fmt_latency", "fmt_tokens"]


@dataclass
class RunView:
    """The terminal's view of one run: the shared RunState plus what a terminal needs
    (redaction, streamed text gathered per instance, plain lines or a live table)."""

    console: Console
    live_mode: bool
    state: RunState = field(default_factory=lambda: RunState(live=True))
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

    @property
    def lines(self) -> dict[str, NodeView]:
        """Per node, in the order the run reached them (the shared fold's node views)."""
        return self.state.nodes

    def redaction_set(self) -> frozenset[str]:
        """The keys to hide: those given, plus every key this process has seen so far."""
        return self.redactor.values()

    def clean(self, text: str) -> str:
        """``text`` with every key this process knows of replaced by [redacted]."""
        return self.redactor.text(text) if text else text

    def cost(self, usd: float | None, unknown: int = 0) -> str:
        """A cost as every view prints it (an estimate in a mock run)."""
        return fmt_cost(usd, unknown, estimate=self.state.mock)

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

    # -- events ------------------------------------------------------------------

    def on_event(self, e: Event) -> None:
        self.state.feed((e,))
        self.state.take_dirty()
        self.state.flashes.clear()
        self.state.stream_touched.clear()
        self.state.approvals_opened.clear()
        self.state.approvals_closed.clear()
        where = "".join(f"{s}[{i}]/" for s, i in e.scope)
        d = e.data
        if e.type == ev.NODE_STARTED:
            if not self.live_mode and not e.scope:
                self._print(f"▶ {e.node}")
        elif e.type == ev.NODE_FINISHED:
            self._flush_streams(force=True, node=e.node)
            if not self.live_mode and not e.scope:
                extra = f", {self.cost(d.get('cost_usd'))}" if d.get("cost_usd") or d.get("tokens_in") else ""
                self._print(f"✓ {e.node} ({'cached' if d.get('cached') else fmt_latency(d.get('latency_s', 0.0))}{extra})")
        elif e.type == ev.NODE_FAILED:
            if d.get("will_retry"):
                self._print(f"↻ {where}{e.node}: {d.get('error')} (attempt {d.get('attempt')}, retrying in {d.get('retry_in_s')} s)")
            else:
                self._print(f"✗ {where}{e.node}: {d.get('error', '')}")
        elif e.type == ev.NODE_PROGRESS:
            kind = d.get("kind")
            if kind == "token":
                key = f"{where}{e.node}"
                self._pending_stream[key] = self._pending_stream.get(key, "") + str(d.get("text", ""))
                self._flush_streams()
            elif kind == "tool_call":
                self._print(f"  {where}{e.node} → tool {d.get('tool')}({fmt_value(d.get('arguments'), inline=True, limit=60)})")
        elif e.type == ev.APPROVAL_REQUESTED:
            self._print(f"? {where}{e.node} asks: {d.get('message')}")
        elif e.type == ev.APPROVAL_RESOLVED:
            self._print(f"  {where}{e.node}: {d.get('action')} ({d.get('by')})")

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

    def _status(self, nv: NodeView) -> str:
        st = self.state
        if nv.failed and any(st.instances[(nv.node, sc)].handled for sc in st.scopes_of(nv.node)
                             if st.instances[(nv.node, sc)].status == "failed"):
            return "failed (handled)" if nv.status == "failed" else f"{nv.status} ({nv.failed} failed)"
        if nv.failed and nv.status != "failed":
            return f"{nv.status} ({nv.failed} failed)"
        return nv.status

    def _stream_of(self, node: str) -> str:
        """The newest running instance's streamed text (what 'output so far' shows)."""
        st = self.state
        for scope in reversed(st.scopes_of(node)):
            inst = st.instances[(node, scope)]
            if inst.status == "running":
                return inst.text
        return ""

    def render(self) -> Group:
        table = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
        table.add_column("node")
        table.add_column("state")
        table.add_column("progress")
        table.add_column("cost", justify="right")
        table.add_column("output so far", overflow="ellipsis", no_wrap=True, max_width=60)
        st = self.state
        for nv in list(st.nodes.values()):  # a copy: rich calls this from its refresh thread
            if nv.status in ("done", "cached", "skipped") and not nv.running:
                continue
            prog = ""
            if nv.fanout:
                d, f, t = nv.fanout
                prog = f"{d} of {t}" + (f", {f} failed" if f else "")
            elif nv.iteration:
                prog = f"iteration {nv.iteration[0]} of ≤ {nv.iteration[1]}"
            elif nv.running > 1:
                prog = f"{nv.running} running"
            table.add_row(nv.node, self._status(nv), prog, self.cost(nv.cost_usd) if nv.cost_usd else "",
                          self.clean(self._stream_of(nv.node)).replace("\n", " ")[-60:])
        done = sum(1 for nv in list(st.nodes.values()) if nv.status in ("done", "cached"))
        clock = st.elapsed() if st.started else 0.0
        head = Text(f"{clock:6.1f} s   {done} node(s) done   cost {self.cost(st.cost_usd, st.cost_unknown)}"
                    if st.started else "starting…")
        return Group(head, table)

    def summary_table(self) -> Table:
        table = Table(title="Per node", show_lines=False, header_style="bold")
        for col, just in (("node", "left"), ("status", "left"), ("runs", "right"), ("latency", "right"),
                          ("tokens in", "right"), ("tokens out", "right"), ("cost", "right")):
            table.add_column(col, justify=just)  # type: ignore[arg-type]
        for nv in self.state.nodes.values():
            runs = nv.instances
            table.add_row(nv.node, self._status(nv), str(runs), fmt_latency(nv.latency_s) if nv.done else "",
                          fmt_tokens(nv.tokens_in) if nv.tokens_in else "", fmt_tokens(nv.tokens_out) if nv.tokens_out else "",
                          self.cost(nv.cost_usd if not nv.cost_unknown or nv.cost_usd else None, nv.cost_unknown)
                          if (nv.tokens_in or nv.cost_usd or nv.cost_unknown) else "")
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


