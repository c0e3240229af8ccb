"""One headless run state: run events folded into per-node, per-instance state.

Every reader of a run reads this one fold -- the terminal view of ``orchestra run``
(``studio.cli.live_view``) and its ``--json`` document, the studio's Run panel, History,
Last run and node badges (``studio.ui.run``), ``orchestra serve``'s run documents and a
batch row's record (``studio.batch.rowrun``) -- the per-node JSON through
``RunState.node_summary``, and values, cost, tokens and latency as text through the
formatters at the end of this module, so a value or a number reads the same everywhere. A live run and a trace
replayed from disk go through the same ``feed``: a replayed run shows what the live one did.
A headless reader hands ``on_event`` to ``Run.add_listener``.

Feeding is the hot path of a busy run (thousands of events a second, most of them
streamed tokens), so each event costs a dict lookup or two; what changed is collected in
``dirty`` and a view repaints only those nodes, once per frame.

Mock runs make no paid call: their cost is litellm's price list applied to invented token
counts, an estimate. ``fmt_cost(..., estimate=True)`` says so, and every view passes the
run's ``mock`` flag through it.

The trace listing lives here too: every run writes a JSON-lines trace, and History reads
the runs of one flow *file* (``trace_folder``), never of every flow that shares a name.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from studio.core.catalogue.types import SKIP
from studio.core.running import events as ev
from studio.core.running.events import Event, read_trace
from studio.core.running.trace import new_trace_path, trace_folder  # noqa: F401 (re-exported for the views)

TERMINAL = frozenset({"done", "failed", "skipped", "cached"})


@dataclass
class Instance:
    """One run of one node in one scope (a fan-out item, a loop iteration, or the root)."""

    node: str
    scope: tuple
    status: str = "queued"
    inputs: dict[str, Any] | None = None
    outputs: dict[str, Any] | None = None
    error: str | None = None
    error_type: str | None = None
    handled: bool = False
    attempts: int = 0
    retries: list[dict[str, Any]] = field(default_factory=list)  # failed attempts that were retried
    stream: list[str] = field(default_factory=list)  # streamed text pieces
    latency_s: float | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float | None = 0.0
    cached: bool = False
    cache_key: str | None = None
    skip_reason: str | None = None
    approval: dict[str, Any] | None = None
    started_t: float | None = None

    @property
    def text(self) -> str:
        if len(self.stream) > 1:
            self.stream[:] = ["".join(self.stream)]
        return self.stream[0] if self.stream else ""


@dataclass
class NodeView:
    """A node's summary over all its instances: what its canvas item shows."""

    node: str
    status: str = "queued"
    running: int = 0
    done: int = 0
    failed: int = 0
    skipped: int = 0
    cached: int = 0
    retries: int = 0
    latency_s: float = 0.0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    cost_unknown: int = 0
    fanout: tuple[int, int, int] | None = None  # done, failed, total
    iteration: tuple[int, Any] | None = None  # iteration, max_iterations
    error: str | None = None
    finished_t: float | None = None  # run time of the last finish (wires light briefly)

    @property
    def instances(self) -> int:
        return self.done + self.failed + self.skipped + self.cached

    def settled(self) -> str:
        """The node's status over its settled instances, one rule for every view: failed
        when none of them succeeded, done when any ran to the end, else cached, else skipped.

        Counts, not the order of events: a fan-out body whose last item fails (handled) reads
        the same as one whose first item does."""
        if self.failed and not self.done:
            return "failed"
        if self.done:
            return "done"
        if self.cached:
            return "cached"
        return "skipped" if self.skipped else self.status

    def summary(self) -> dict[str, Any]:
        """The node's JSON summary: what ``orchestra run --json``, ``orchestra serve``'s run
        documents and a batch record's per-node times all read.

        ``runs`` counts settled instances; ``latency_s`` is the time of every instance that
        started (failed ones too: that is where a timed-out call's time went); tokens and
        cost are every call's, failed attempts included (so the nodes add up to the run's
        totals); ``cost_usd`` is None when every call was unpriced, ``cost_unknown`` counts
        the unpriced calls (see ``fmt_cost``)."""
        return {
            "status": self.settled(), "runs": self.instances, "done": self.done, "failed": self.failed,
            "skipped": self.skipped, "cached": self.cached, "latency_s": round(self.latency_s, 6),
            "tokens_in": self.tokens_in, "tokens_out": self.tokens_out,
            "cost_usd": None if self.cost_unknown and not self.cost_usd else round(self.cost_usd, 8),
            "cost_unknown": self.cost_unknown,
        }


class RunState:
    """Everything a view shows about one run; fed events, asked questions."""

    def __init__(self, node_ids: Iterable[str] = (), live: bool = True, budget_usd: float | None = None):
        self.live = live
        self.nodes: dict[str, NodeView] = {n: NodeView(n) for n in node_ids}
        self.instances: dict[tuple[str, tuple], Instance] = {}
        self.by_node: dict[str, list[tuple]] = {}  # node -> scopes in first-seen order
        self.status = "running"  # running, succeeded, failed, budget_exceeded, cancelled
        self.error: str | None = None
        self.error_node: str | None = None
        self.outputs: dict[str, Any] = {}
        self.run_id: str | None = None
        self.flow: str | None = None
        self.mock = False
        self.budget_usd = budget_usd
        self.inputs: dict[str, Any] = {}
        self.cost_usd = 0.0
        self.cost_unknown = 0
        self.tokens_in = 0
        self.tokens_out = 0
        self.t = 0.0  # run time of the newest event
        self.wall_s: float | None = None
        self.started_at = time.time()  # wall clock, for the history label
        self.started_perf = time.perf_counter()
        self.pending_approvals: dict[tuple[str, tuple], dict[str, Any]] = {}
        self.dirty: set[str] = set()
        self.flashes: list[str] = []  # nodes that just passed a value on (their wires light)
        self.approvals_opened: list[tuple[str, tuple, dict]] = []
        self.approvals_closed: list[tuple[str, tuple]] = []
        self.stream_touched: set[tuple[str, tuple]] = set()
        self.ended = False
        self.trace_path = None
        # "starting" until the executor's run_started event arrives (the run host may still
        # be importing litellm); no node is pending yet and no clock is charged to a node
        self.started = False

    # -- folding events ------------------------------------------------------------

    def _instance(self, node: str, scope: tuple) -> Instance:
        key = (node, scope)
        inst = self.instances.get(key)
        if inst is None:
            inst = self.instances[key] = Instance(node, scope)
            self.by_node.setdefault(node, []).append(scope)
        return inst

    def _node(self, node: str) -> NodeView:
        nv = self.nodes.get(node)
        if nv is None:
            nv = self.nodes[node] = NodeView(node)
        return nv

    def feed(self, events: Iterable[Event]) -> None:
        on_event = self.on_event
        for e in events:
            on_event(e)

    def on_event(self, e: Event) -> None:
        """Feed one event: the listener a headless reader hands ``Run.add_listener``."""
        self.t = e.t
        handler = _HANDLERS.get(e.type)
        if handler is not None:
            handler(self, e)

    def _started(self, e: Event) -> None:
        d = e.data
        if e.node is None:
            return
        inst = self._instance(e.node, e.scope)
        inst.status = "running"
        inst.inputs = d.get("inputs")
        inst.started_t = e.t
        inst.stream = []
        nv = self._node(e.node)
        nv.running += 1
        nv.status = "running"
        if "total" in d:
            nv.fanout = (0, 0, d["total"])
        if d.get("max_iterations") is not None:
            nv.iteration = (0, d["max_iterations"])
        self.dirty.add(e.node)

    def _progress(self, e: Event) -> None:
        d = e.data
        kind = d.get("kind")
        node = e.node
        if node is None:
            return
        if kind == "token":
            inst = self.instances.get((node, e.scope))
            if inst is not None:
                inst.stream.append(d.get("text") or "")
                self.stream_touched.add((node, e.scope))
            return
        if kind == "stream_reset":
            inst = self.instances.get((node, e.scope))
            if inst is not None:
                inst.stream = []
                self.stream_touched.add((node, e.scope))
            return
        nv = self._node(node)
        if kind == "fanout":
            nv.fanout = (d.get("done", 0), d.get("failed", 0), d.get("total", 0))
        elif kind == "iteration":
            nv.iteration = (d.get("iteration", 0), d.get("max_iterations"))
        elif kind == "cost":
            usd = d.get("cost_usd")
            self.tokens_in += d.get("tokens_in") or 0
            self.tokens_out += d.get("tokens_out") or 0
            nv.tokens_in += d.get("tokens_in") or 0
            nv.tokens_out += d.get("tokens_out") or 0
            if usd is None:
                self.cost_unknown += 1
                nv.cost_unknown += 1
            else:
                self.cost_usd += usd
                nv.cost_usd += usd
        else:
            return
        self.dirty.add(node)

    def _finished(self, e: Event) -> None:
        d = e.data
        node = e.node
        if node is None:
            return
        inst = self._instance(node, e.scope)
        was_running = inst.status == "running"
        cached = bool(d.get("cached"))
        inst.status = "cached" if cached else "done"
        inst.outputs = d.get("outputs")
        inst.latency_s = d.get("latency_s")
        inst.attempts = d.get("attempts", 0)
        inst.tokens_in = d.get("tokens_in", 0)
        inst.tokens_out = d.get("tokens_out", 0)
        inst.cost_usd = d.get("cost_usd")
        inst.cached = cached
        inst.cache_key = d.get("cache_key")
        nv = self._node(node)
        if was_running:
            nv.running -= 1
        if cached:
            nv.cached += 1
        else:
            nv.done += 1
        nv.latency_s += inst.latency_s or 0.0
        if nv.running == 0:
            nv.status = nv.settled()
        nv.finished_t = e.t
        if nv.fanout is not None and "count" in (inst.outputs or {}):
            total = nv.fanout[2]
            nv.fanout = (total - (inst.outputs or {}).get("failed", 0), (inst.outputs or {}).get("failed", 0), total)
        self.flashes.append(node)
        self.dirty.add(node)

    def _failed(self, e: Event) -> None:
        d = e.data
        node = e.node
        if node is None:
            return
        inst = self._instance(node, e.scope)
        nv = self._node(node)
        if d.get("will_retry"):
            inst.retries.append({"attempt": d.get("attempt"), "error": d.get("error"), "error_type": d.get("error_type"),
                                 "retry_in_s": d.get("retry_in_s")})
            nv.retries += 1
            inst.stream = []
            self.dirty.add(node)
            return
        was_running = inst.status == "running"
        inst.status = "failed"
        inst.error = d.get("error")
        inst.error_type = d.get("error_type")
        inst.handled = bool(d.get("handled"))
        inst.attempts = d.get("attempt", 0)
        if d.get("inputs") is not None and not inst.inputs:
            inst.inputs = d.get("inputs")
        if d.get("outputs") is not None:
            inst.outputs = d.get("outputs")
        if inst.started_t is not None:
            inst.latency_s = e.t - inst.started_t
            nv.latency_s += inst.latency_s
        if was_running:
            nv.running -= 1
        nv.failed += 1
        nv.error = inst.error
        if nv.running == 0:
            nv.status = nv.settled()
        if inst.handled:
            self.flashes.append(node)  # the error travelled on along the error port
        self.dirty.add(node)

    def _skipped(self, e: Event) -> None:
        if e.node is None:
            return
        inst = self._instance(e.node, e.scope)
        inst.status = "skipped"
        inst.skip_reason = e.data.get("reason")
        nv = self._node(e.node)
        nv.skipped += 1
        if nv.running == 0:
            nv.status = nv.settled()
        self.dirty.add(e.node)

    def _approval_requested(self, e: Event) -> None:
        key = (e.node, e.scope)
        req = {"value": e.data.get("value"), "message": e.data.get("message", ""), "timeout_s": e.data.get("timeout_s")}
        self._instance(e.node, e.scope).approval = dict(req)
        self.pending_approvals[key] = req
        self.approvals_opened.append((e.node, e.scope, req))
        self._node(e.node).status = "waiting"
        self.dirty.add(e.node)

    def _approval_resolved(self, e: Event) -> None:
        key = (e.node, e.scope)
        self.pending_approvals.pop(key, None)
        inst = self._instance(e.node, e.scope)
        if inst.approval is not None:
            inst.approval.update(action=e.data.get("action"), decided_value=e.data.get("value"), by=e.data.get("by"),
                                 reason=e.data.get("reason"))
        self.approvals_closed.append(key)
        nv = self._node(e.node)
        if nv.status == "waiting":
            nv.status = "running"
        self.dirty.add(e.node)

    def _run_started(self, e: Event) -> None:
        d = e.data
        self.started = True
        self.started_perf = time.perf_counter()  # the clock shows the run's time, not set-up's
        self.run_id = d.get("run_id")
        self.flow = d.get("flow")
        self.mock = bool(d.get("mock"))
        self.budget_usd = d.get("budget_usd", self.budget_usd)
        self.inputs = d.get("inputs") or {}

    def _run_ended(self, e: Event) -> None:
        d = e.data
        self.status = {ev.RUN_FINISHED: "succeeded", ev.RUN_CANCELLED: "cancelled"}.get(e.type) or d.get("status") or "failed"
        self.error = d.get("error")
        self.error_node = e.node if e.type == ev.RUN_FAILED else None
        self.outputs = d.get("outputs") or {}
        totals = d.get("totals") or {}
        self.wall_s = totals.get("wall_s", e.t)
        if "cost_usd" in totals:
            self.cost_usd = totals["cost_usd"] or 0.0
        self.ended = True
        for key in list(self.pending_approvals):
            self.approvals_closed.append(key)
        self.pending_approvals.clear()
        # whatever was still running when the run stopped did not finish
        for nv in self.nodes.values():
            if nv.status in ("running", "waiting"):
                nv.status = "failed" if self.status == "failed" and nv.node == self.error_node else "stopped"
                nv.running = 0
                self.dirty.add(nv.node)
        for inst in self.instances.values():
            if inst.status == "running":
                inst.status = "stopped"

    # -- questions ------------------------------------------------------------------

    def take_dirty(self) -> set[str]:
        d, self.dirty = self.dirty, set()
        return d

    def take_flashes(self) -> list[str]:
        f, self.flashes = self.flashes, []
        return f

    def scopes_of(self, node: str) -> list[tuple]:
        return self.by_node.get(node, [])

    def instance(self, node: str, scope: tuple | None = None) -> Instance | None:
        if scope is None:
            scopes = self.by_node.get(node)
            if not scopes:
                return None
            scope = scopes[-1]
        return self.instances.get((node, scope))

    def nodes_done(self) -> tuple[int, int]:
        """(finished nodes, nodes in the plan): a node counts once it is settled."""
        total = len(self.nodes)
        done = sum(1 for nv in self.nodes.values() if nv.status in TERMINAL and nv.running == 0)
        return done, total

    def elapsed(self) -> float:
        if self.wall_s is not None:
            return self.wall_s
        if self.live:
            return time.perf_counter() - self.started_perf
        return self.t

    def received_inputs(self, node: str, scope: tuple, edges: Iterable[tuple[str, str, str, str]]) -> dict[str, Any] | None:
        """What an instance received: its recorded inputs, or -- for a node that failed
        before it started (a fan-out given no list, a spent budget) -- the values its
        wired upstream instances (same scope, or an enclosing one) had produced.

        ``edges``: (src, src_port, dst, dst_port) of the wires into ``node``.
        """
        inst = self.instances.get((node, scope))
        if inst is not None and inst.inputs:
            return inst.inputs
        out: dict[str, Any] = {}
        for src, src_port, _dst, dst_port in edges:
            for k in range(len(scope), -1, -1):  # the same scope first, then outward
                up = self.instances.get((src, scope[:k]))
                if up is not None and isinstance(up.outputs, dict) and src_port in up.outputs:
                    out[dst_port] = up.outputs[src_port]
                    break
        return out or (inst.inputs if inst is not None else None)

    def node_summary(self) -> dict[str, dict[str, Any]]:
        """Node -> its JSON summary (``NodeView.summary``), for every node with a settled
        instance: the per-node part of ``orchestra run --json`` and of a served run's document."""
        return {nv.node: nv.summary() for nv in self.nodes.values() if nv.instances}

    def root_outputs(self) -> dict[str, dict[str, Any]]:
        """Node -> {"outputs", "cache_key"} for every root-scope node that finished:
        what a later "run from here" may pin."""
        out = {}
        for (node, scope), inst in self.instances.items():
            if scope == () and inst.status in ("done", "cached") and isinstance(inst.outputs, dict):
                out[node] = {"outputs": inst.outputs, "cache_key": inst.cache_key}
        return out


_HANDLERS = {
    ev.NODE_STARTED: RunState._started,
    ev.NODE_PROGRESS: RunState._progress,
    ev.NODE_FINISHED: RunState._finished,
    ev.NODE_FAILED: RunState._failed,
    ev.NODE_SKIPPED: RunState._skipped,
    ev.APPROVAL_REQUESTED: RunState._approval_requested,
    ev.APPROVAL_RESOLVED: RunState._approval_resolved,
    ev.RUN_STARTED: RunState._run_started,
    ev.RUN_FINISHED: RunState._run_ended,
    ev.RUN_FAILED: RunState._run_ended,
    ev.RUN_CANCELLED: RunState._run_ended,
}


def scope_label(scope: tuple, loops: Iterable[str] = ()) -> str:
    """"item 4 of research / iteration 2 of fix" for a scope path ("run" for the root).

    Scope indexes are 0-based in events; people count from 1, so item 0 reads "item 1".
    """
    if not scope:
        return "run"
    loops = set(loops)
    parts = []
    for sid, idx in scope:
        n = idx + 1 if isinstance(idx, int) else idx
        parts.append(f"iteration {idx} of {sid}" if sid in loops else f"item {n} of {sid}")
    return " / ".join(parts)


# -- formatting: the one place a value, a cost, a token count or a duration becomes text --

def fmt_value(value: Any, *, inline: bool = False, quoted: bool = False, limit: int | None = None) -> str:
    """A port value as people read it, in JSON spelling everywhere: ``null``, ``true``,
    ``{"a": 1}`` -- a flow file's values are JSON, so Python's ``None`` would be a foreign word.

    By default text shows as is and anything else as indented JSON (Last run, the Run
    panel, ``orchestra run``'s result, the approval dialog). ``inline``: JSON on one line
    (check messages, tool-call arguments, table cells). ``quoted``: text JSON-quoted too, so
    the text "null" and the value null read differently. ``limit``: cut with "…".
    A skipped port reads "(skipped)"; what JSON cannot hold reads as its repr.
    """
    if value is SKIP:
        text = "(skipped)"
    elif isinstance(value, str) and not quoted:
        text = value
    else:
        try:
            text = json.dumps(value, indent=None if inline else 2, ensure_ascii=False, default=repr)
        except (TypeError, ValueError):  # circular, or a key JSON cannot hold
            text = repr(value)
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def fmt_cost(usd: float | None, unknown: int = 0, estimate: bool = False) -> str:
    """``$0.000123`` below a cent, ``$0.0123`` below a dollar, ``$1.23`` above
    (``$1,234.56`` in the thousands).

    Below a cent at least six decimals and at least two significant digits: one cheap
    call (a batch's cost per row) reads ``$0.0000021``, not ``$0.000002`` or ``$0.000000``.
    ``unknown``: calls whose model has no price (their cost is not in ``usd``).
    ``estimate``: a mock run -- nothing was paid, the figure is what it would have cost.
    """
    if usd is None or (unknown and not usd):
        text = "cost unknown"
    elif usd == 0:
        text = "$0"
    elif usd < 0.01:
        text = f"${usd:.{max(6, 1 - math.floor(math.log10(usd)))}f}"
    elif usd < 1:
        text = f"${usd:.4f}"
    else:
        text = f"${usd:,.2f}"
    if unknown and usd:
        text += f" (+{unknown} unpriced)"
    if estimate and text != "cost unknown":
        text = f"est. {text}"
    return text


def cost_note(estimate: bool) -> str:
    """The sentence a panel shows next to a mock run's cost."""
    return "mock run: costs are estimates, nothing was paid" if estimate else ""


def fmt_latency(seconds: float | None) -> str:
    """``0.4 ms`` below a millisecond (a mock batch row), ``412 ms``, ``1.2 s``, ``2m05s``."""
    if seconds is None:
        return ""
    if seconds < 0.001:
        return f"{seconds * 1000:.1f} ms"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


def fmt_tokens(n: int) -> str:
    return f"{n / 1000:.1f}k" if n >= 10000 else str(n)


# -- the trace listing: which runs History shows ----------------------------------------

MAX_LISTED = 200


@dataclass
class TraceInfo:
    path: Path
    started: float  # epoch seconds
    run_id: str
    status: str  # succeeded, failed, budget_exceeded, cancelled, incomplete
    cost_usd: float | None
    wall_s: float | None
    mock: bool
    error: str | None

    @property
    def when(self) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.started))

    def cost_text(self) -> str:
        return fmt_cost(self.cost_usd, estimate=self.mock)

    def label(self) -> str:
        return f"{self.when} · {self.status} · {self.cost_text()}{' · mock' if self.mock else ''}"


def _last_line(path: Path) -> bytes:
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        chunk = 65536
        start = max(0, size - chunk)
        fh.seek(start)
        data = fh.read()
        while start > 0 and data.rstrip(b"\n").count(b"\n") == 0:  # one huge last line
            start = max(0, start - chunk)
            fh.seek(start)
            data = fh.read()
    lines = data.rstrip(b"\n").split(b"\n")
    return lines[-1] if lines else b""


def trace_info(path: Path) -> TraceInfo | None:
    """A run's summary from the first and last line of its trace (fast at any size)."""
    try:
        with open(path, "rb") as fh:
            first = fh.readline()
        last = _last_line(path)
        head = json.loads(first) if first.strip() else {}
        tail = json.loads(last) if last.strip() else {}
    except (OSError, ValueError):
        return None
    hd = head.get("data", {}) if head.get("type") == ev.RUN_STARTED else {}
    status = "incomplete"
    cost = wall = None
    error = None
    if tail.get("type") in ev.END_TYPES:
        td = tail.get("data", {})
        status = {ev.RUN_FINISHED: "succeeded", ev.RUN_CANCELLED: "cancelled"}.get(tail["type"]) or td.get("status") or "failed"
        totals = td.get("totals") or {}
        cost, wall, error = totals.get("cost_usd"), totals.get("wall_s"), td.get("error")
    try:
        started = path.stat().st_mtime - (wall or 0.0)
    except OSError:
        started = 0.0
    run_id = hd.get("run_id") or path.stem.rsplit("-", 1)[-1]
    return TraceInfo(path, started, run_id, status, cost, wall, bool(hd.get("mock")), error)


def list_runs(folder: Path, limit: int = MAX_LISTED) -> list[TraceInfo]:
    """The runs in a trace folder (see ``trace_folder``), newest first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    files = sorted(folder.glob("*.jsonl"), key=lambda p: p.stat().st_mtime, reverse=True)[:limit]
    out = [info for info in (trace_info(p) for p in files) if info is not None]
    out.sort(key=lambda i: i.started, reverse=True)
    return out


def load_run(path: Path, node_ids: Iterable[str] = ()) -> RunState:
    """Replay a trace into a RunState (no request, no node runs)."""
    with open(path, "rb") as fh:
        events = read_trace(fh)
    state = RunState(node_ids, live=False)
    state.feed(events)
    if not state.ended:
        state.status = "incomplete"
    info = trace_info(Path(path))
    if info is not None:
        state.started_at = info.started
    state.trace_path = Path(path)
    return state
