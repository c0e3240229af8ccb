"""Build flows in tests with a few words, and node types that make timing observable.

The test node types are real NodeType subclasses registered in a test registry beside
the built-in ones, so the executor runs them exactly as it runs any plugin's nodes.
"""

from __future__ import annotations

import asyncio
from typing import Any

from studio.core.document.commands import AddNode, Connect, UndoStack
from studio.core.catalogue.context import CostReport
from studio.core.errors import NodeFailure, RetryableError
from studio.core.running.executor import RunOptions, RunResult, start_run
from studio.core.document.model import FlowModel
from studio.core.catalogue.nodetype import NodeType, Param, Port
from studio.core.catalogue.policy import POLICY_PARAMS
from studio.core.catalogue.registry import Registry, default_registry
from studio.core.catalogue.types import PortType

CALLS: dict[str, int] = {}  # node id -> how many times it ran (tests reset it)
ACTIVE = {"now": 0, "peak": 0}


class SleepNode(NodeType):
    """Waits `ms`, counting concurrent runs; passes `x` through (or `ms` when unwired)."""

    type_id = "t_sleep"
    title = "Sleep"
    inputs = (Port("x", PortType.ANY, default=None, required=False),)
    outputs = (Port("x", PortType.ANY),)
    params = (Param("ms", "number", 10), *POLICY_PARAMS)

    async def run(self, ctx):
        CALLS[ctx.node_id] = CALLS.get(ctx.node_id, 0) + 1
        ACTIVE["now"] += 1
        ACTIVE["peak"] = max(ACTIVE["peak"], ACTIVE["now"])
        try:
            await asyncio.sleep(ctx.params.get("ms", 10) / 1000)
        finally:
            ACTIVE["now"] -= 1
        x = ctx.inputs.get("x")
        return {"x": x if x is not None else ctx.params.get("ms")}


class FlakyNode(NodeType):
    """Fails `fail_times` times (retryable or not, optional Retry-After), then echoes x."""

    type_id = "t_flaky"
    title = "Flaky"
    inputs = (Port("x", PortType.ANY, default=None, required=False),)
    outputs = (Port("x", PortType.ANY),)
    params = (
        Param("fail_times", "integer", 1),
        Param("retryable", "boolean", True),
        Param("retry_after", "number", -1),
        Param("fail_when", "json", None, nullable=True),  # fail only when x equals this
        *POLICY_PARAMS,
    )

    async def run(self, ctx):
        key = f"{ctx.node_id}{ctx.scope}"
        CALLS[key] = CALLS.get(key, 0) + 1
        x = ctx.inputs.get("x")
        when = ctx.params.get("fail_when")
        if (when is None or when == x) and CALLS[key] <= ctx.params.get("fail_times", 1):
            if ctx.params.get("retryable", True):
                ra = ctx.params.get("retry_after", -1)
                raise RetryableError(f"flaky failure {CALLS[key]}", retry_after=ra if ra >= 0 else None)
            raise NodeFailure(f"hard failure for {x!r}")
        return {"x": x}


class PaidNode(NodeType):
    """Reports a fixed cost per call, like an LLM node does."""

    type_id = "t_paid"
    title = "Paid"
    paid = True
    inputs = (Port("x", PortType.ANY, default=None, required=False),)
    outputs = (Port("x", PortType.ANY),)
    params = (Param("usd", "number", 0.01), Param("ms", "number", 0), *POLICY_PARAMS)

    async def run(self, ctx):
        ctx.ensure_budget()
        CALLS[ctx.node_id] = CALLS.get(ctx.node_id, 0) + 1
        if ctx.params.get("ms"):
            await asyncio.sleep(ctx.params["ms"] / 1000)
        ctx.report_cost(CostReport(ctx.params.get("usd", 0.01), 10, 5, "test-model"))
        return {"x": ctx.inputs.get("x")}


class MathNode(NodeType):
    """Applies a small operation to a number: add, double, or check a threshold."""

    type_id = "t_math"
    title = "Math"
    inputs = (Port("x", PortType.ANY),)
    outputs = (Port("x", PortType.ANY),)
    params = (Param("op", "enum", "inc", choices=("inc", "double", "list3", "tag", "sum")), Param("by", "json", 1))

    async def run(self, ctx):
        CALLS[ctx.node_id] = CALLS.get(ctx.node_id, 0) + 1
        x = ctx.inputs["x"]
        op = ctx.params.get("op", "inc")
        if op == "inc":
            return {"x": x + ctx.params.get("by", 1)}
        if op == "double":
            return {"x": x * 2}
        if op == "sum":
            return {"x": sum(x)}
        if op == "list3":
            return {"x": [x, x + 1, x + 2]}
        return {"x": f"{ctx.params.get('by')}:{x}"}


TEST_TYPES = (SleepNode, FlakyNode, PaidNode, MathNode)


def test_registry() -> Registry:
    reg = Registry(default_registry().types())
    for t in TEST_TYPES:
        reg.register(t)
    return reg


class Flow:
    """A flow under construction: ``f.node("a", "t_sleep", ms=50)``, ``f.wire("a.x", "b.x")``."""

    def __init__(self, name: str = "test flow"):
        self.model = FlowModel(name, registry=test_registry())
        self.stack = UndoStack(self.model)

    def node(self, node_id: str, type_id: str, **params: Any) -> str:
        self.stack.push(AddNode(type_id, node_id=node_id, params=params))
        return node_id

    def wire(self, src: str, dst: str) -> None:
        a, ap = src.split(".")
        b, bp = dst.split(".")
        self.stack.push(Connect(a, ap, b, bp))

    def chain(self, *ends: str) -> None:
        for a, b in zip(ends, ends[1:]):
            self.wire(a, b)

    def io(self, input_type: str = "any", name: str = "x") -> None:
        """An Input named ``name`` and an Output named ``result`` (wire them yourself)."""
        self.node("inp", "input", name=name, type=input_type)
        self.node("out", "output", name="result")

    async def run(self, **options: Any) -> RunResult:
        options.setdefault("trace", None)
        run = start_run(self.model, RunOptions(**options))
        return await run.wait()

    async def run_events(self, **options: Any):
        options.setdefault("trace", None)
        run = start_run(self.model, RunOptions(**options))
        events = [e async for e in run.events()]
        return run.result, events


def reset_counters() -> None:
    CALLS.clear()
    ACTIVE["now"] = 0
    ACTIVE["peak"] = 0
