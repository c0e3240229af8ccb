"""Node types and a flow builder for the guarantee tests.

Why a separate builder: the guarantee tests write flows the way a user (or a plugin
author) does -- as a document that names only the params it cares about -- and load it
through ``model_from_document``, so whatever the file format and the plan fill in is what
the run gets. The node types here are plain ``NodeType`` subclasses, registered the way a
plugin's are; each records what it saw in ``LOG`` so a test can prove ordering and overlap
from events instead of from wall time.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from studio.core.catalogue.context import CostReport
from studio.core.catalogue.nodetype import NodeType, Param, Port
from studio.core.catalogue.policy import POLICY_PARAMS
from studio.core.catalogue.registry import Registry, default_registry
from studio.core.catalogue.types import PortType
from studio.core.document.flowfile import model_from_document
from studio.core.document.model import FlowModel
from studio.core.errors import NodeFailure, RetryableError
from studio.core.running.executor import RunOptions, RunResult, start_run
from tests.support.flows import TEST_TYPES

LOG: list[tuple[str, str, Any, float]] = []  # (event, node, value, perf_counter)
STATE: dict[str, Any] = {"active": 0, "peak": 0, "calls": {}, "cancelled": [], "tasks": set()}


def reset() -> None:
    LOG.clear()
    STATE.update(active=0, peak=0, calls={}, cancelled=[], tasks=set())


def _count(key: str) -> int:
    calls = STATE["calls"]
    calls[key] = calls.get(key, 0) + 1
    return calls[key]


class WaitNode(NodeType):
    """Sleeps ``x`` milliseconds when x is a number (else ``ms``) and returns ``tag:x``.

    Feeding it uneven numbers through a fan-out makes instances finish out of input order.
    """

    type_id = "g_wait"
    title = "Wait"
    inputs = (Port("x", PortType.ANY, default=None, required=False),)
    outputs = (Port("y", PortType.ANY),)
    params = (Param("ms", "number", 0), Param("tag", "string", "w"), *POLICY_PARAMS)

    async def run(self, ctx):
        x = ctx.inputs.get("x")
        _count(ctx.node_id)
        STATE["tasks"].add(asyncio.current_task())
        STATE["active"] += 1
        STATE["peak"] = max(STATE["peak"], STATE["active"])
        LOG.append(("start", ctx.node_id, x, time.perf_counter()))
        try:
            ms = x if isinstance(x, (int, float)) and not isinstance(x, bool) else ctx.params.get("ms", 0)
            await asyncio.sleep(ms / 1000)
        finally:
            STATE["active"] -= 1
        LOG.append(("finish", ctx.node_id, x, time.perf_counter()))
        return {"y": f"{ctx.params.get('tag', 'w')}:{x}"}


class HoldNode(NodeType):
    """Waits until cancelled; records the cancellation (a call that never answers)."""

    type_id = "g_hold"
    title = "Hold"
    inputs = (Port("x", PortType.ANY, default=None, required=False),)
    outputs = (Port("y", PortType.ANY),)
    params = POLICY_PARAMS

    async def run(self, ctx):
        LOG.append(("start", ctx.node_id, ctx.inputs.get("x"), time.perf_counter()))
        STATE["tasks"].add(asyncio.current_task())
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            STATE["cancelled"].append((ctx.node_id, ctx.scope))
            raise
        return {"y": None}  # pragma: no cover - never reached


class PluginPaidNode(NodeType):
    """A third-party paid node: reports a cost per call and NEVER checks the budget itself.

    The executor's own check before a paid node is the only thing that can stop it.
    """

    type_id = "g_plugin_paid"
    title = "Plugin paid"
    paid = True
    inputs = (Port("x", PortType.ANY, default=None, required=False),)
    outputs = (Port("y", PortType.ANY),)
    params = (Param("usd", "number", 0.01), *POLICY_PARAMS)

    async def run(self, ctx):
        _count(ctx.node_id)
        ctx.report_cost(CostReport(ctx.params.get("usd", 0.01), 3, 2, "plugin-model"))
        return {"y": ctx.inputs.get("x")}


class FailNode(NodeType):
    """Fails ``fail_times`` times (retryable or not), then passes x on as y."""

    type_id = "g_fail"
    title = "Fail"
    inputs = (Port("x", PortType.ANY, default=None, required=False),)
    outputs = (Port("y", PortType.ANY),)
    params = (
        Param("fail_times", "integer", 1000),
        Param("retryable", "boolean", True),
        Param("retry_after", "number", -1),
        Param("fail_on", "json", None, nullable=True),  # fail only for this x
        *POLICY_PARAMS,
    )

    async def run(self, ctx):
        x = ctx.inputs.get("x")
        key = f"{ctx.node_id}{ctx.scope}"
        n = _count(key)
        LOG.append(("attempt", ctx.node_id, ctx.attempt, time.perf_counter()))
        when = ctx.params.get("fail_on")
        if (when is None or when == x) and n <= ctx.params.get("fail_times", 1000):
            if ctx.params.get("retryable", True):
                ra = ctx.params.get("retry_after", -1)
                raise RetryableError(f"temporary failure {n}", retry_after=ra if ra >= 0 else None)
            raise NodeFailure(f"permanent failure for {x!r}")
        return {"y": x}


class TaskNode(NodeType):
    """Records the task it runs in and passes x on (a chain should need one task)."""

    type_id = "g_task"
    title = "Task"
    inputs = (Port("x", PortType.ANY, default=None, required=False),)
    outputs = (Port("y", PortType.ANY),)

    async def run(self, ctx):
        STATE["tasks"].add(asyncio.current_task())
        x = ctx.inputs.get("x")
        return {"y": (x or 0) + 1}


class GatherNode(NodeType):
    """A plugin with a multi input (every wire's value, in wire order) and a port default."""

    type_id = "g_gather"
    title = "Gather"
    inputs = (Port("xs", PortType.ANY, multi=True, required=False, default=None),
              Port("base", PortType.ANY, default=41, required=False))
    outputs = (Port("y", PortType.ANY),)

    async def run(self, ctx):
        return {"y": {"xs": ctx.inputs.get("xs"), "base": ctx.inputs.get("base", "absent")}}


class PartialNode(NodeType):
    """Declares two outputs and fills only ``a``: the other is None, not SKIP."""

    type_id = "g_partial"
    title = "Partial"
    inputs = (Port("x", PortType.ANY, default=None, required=False),)
    outputs = (Port("a", PortType.ANY), Port("b", PortType.ANY))

    async def run(self, ctx):
        return {"a": ctx.inputs.get("x")}


GUARANTEE_TYPES = (WaitNode, HoldNode, PluginPaidNode, FailNode, TaskNode, GatherNode, PartialNode)


def registry() -> Registry:
    reg = Registry(default_registry().types())
    for t in (*TEST_TYPES, *GUARANTEE_TYPES):
        reg.register(t)
    return reg


def document(nodes: dict[str, tuple[str, dict[str, Any]] | str], edges: list[str], name: str = "guarantee") -> dict[str, Any]:
    """A flow document: ``{"id": ("type", {params})}`` and edges ``"a.out -> b.in"``."""
    doc_nodes = []
    for i, (nid, spec) in enumerate(nodes.items()):
        type_id, params = (spec, {}) if isinstance(spec, str) else spec
        doc_nodes.append({"id": nid, "type": type_id, "params": params, "layout": {"x": 200.0 * i, "y": 0.0}})
    doc_edges = []
    for e in edges:
        src, dst = (s.strip() for s in e.split("->"))
        doc_edges.append({"from": src, "to": dst})
    return {"format": "orchestra-flow", "version": 1, "name": name, "nodes": doc_nodes, "edges": doc_edges}


def flow(nodes, edges, name: str = "guarantee", base_dir=None) -> FlowModel:
    return model_from_document(document(nodes, edges, name), registry=registry(), base_dir=base_dir)


async def run(model: FlowModel, **options: Any) -> tuple[RunResult, list]:
    """Run to the end; (result, every event in order)."""
    options.setdefault("trace", None)
    r = start_run(model, RunOptions(**options))
    events = [e async for e in r.events()]
    assert r.result is not None
    return r.result, events


def failing_flow(params: dict[str, Any], wire_error: bool = False) -> FlowModel:
    """Input -> a g_fail node with ``params`` -> Output; with ``wire_error`` its error port
    goes to an Output named "error" too."""
    nodes = {"inp": ("input", {"name": "x", "type": "any"}), "work": ("g_fail", params),
             "out": ("output", {"name": "result"})}
    edges = ["inp.value -> work.x", "work.y -> out.value"]
    if wire_error:
        nodes["err"] = ("output", {"name": "error"})
        edges.append("work.error -> err.value")
    return flow(nodes, edges)


def of_type(events, type_: str, node: str | None = None) -> list:
    return [e for e in events if e.type == type_ and (node is None or e.node == node)]
