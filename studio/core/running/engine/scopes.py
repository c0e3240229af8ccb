"""Scheduling: the ready set of one scope instance, and the values each instance sees.

A scope is the root flow, one loop iteration or one fan-out item. Its units (plain
nodes, and loops or fan-outs as single units) start as soon as every unit they read
from has finished; independent units run concurrently. Values live in an ``Env`` per
instance whose lookups fall through to the enclosing instance, so a fan-out item sees
everything computed outside its region without copying it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Mapping

from studio.core.catalogue.types import SKIP, PortType, coerce
from studio.core.running.plan import InEdge, Plan, ScopePlan

if TYPE_CHECKING:  # pragma: no cover
    pass


class Env:
    """Values of one scope instance; lookups fall through to the enclosing instance."""

    __slots__ = ("values", "parent")

    def __init__(self, parent: "Env | None", values: dict[str, dict[str, Any]] | None = None):
        self.values = values if values is not None else {}
        self.parent = parent

    def lookup(self, node: str) -> dict[str, Any] | None:
        env: Env | None = self
        while env is not None:
            v = env.values.get(node)
            if v is not None:
                return v
            env = env.parent
        return None


@dataclass
class Frame:
    """One flow being run: the top flow, or a subflow inside it."""

    plan: Plan
    inputs: Mapping[str, Any]
    outputs: dict[str, Any]
    root: bool
    depth: int = 0
    loops: frozenset = frozenset()


def loop_ids(plan: Plan) -> frozenset:
    from studio.core.running.engine.kinds import Kind

    return frozenset(n for n, s in plan.nodes.items() if s.kind is Kind.LOOP)


RunUnit = Callable[[Frame, str, Env, tuple], Awaitable[None]]


async def run_scope(run_unit: RunUnit, frame: Frame, sp: ScopePlan, env: Env, scope: tuple) -> None:
    """Run every unit of one scope instance, each as soon as its inputs are ready.

    A worker task that finishes a unit carries on with one newly ready dependent
    itself and starts tasks only for the others, so a chain runs in one task.
    """
    if not sp.units:
        return
    if len(sp.units) == 1:  # e.g. one step per fan-out item: no scheduling needed
        await run_unit(frame, sp.units[0], env, scope)
        return
    loop = asyncio.get_running_loop()
    remaining = dict(sp.deps)
    pending = len(sp.units)
    done_fut = loop.create_future()
    tasks: set[asyncio.Task] = set()
    dependents = sp.dependents

    async def worker(unit: str) -> None:
        nonlocal pending
        while True:
            await run_unit(frame, unit, env, scope)
            pending -= 1
            nxt = None
            for d in dependents[unit]:
                remaining[d] -= 1
                if remaining[d] == 0:
                    if nxt is None:
                        nxt = d
                    else:
                        start(d)
            if nxt is None:
                if pending == 0 and not done_fut.done():
                    done_fut.set_result(None)
                return
            unit = nxt

    def start(unit: str) -> None:
        t = loop.create_task(worker(unit))
        tasks.add(t)
        t.add_done_callback(on_done)

    owner = asyncio.current_task()
    inline = [False, False]  # [running a unit inline, we cancelled it]

    def on_done(t: asyncio.Task) -> None:
        tasks.discard(t)
        if t.cancelled():
            return
        exc = t.exception()
        if exc is not None and not done_fut.done():
            done_fut.set_exception(exc)
            if inline[0] and owner is not None:
                inline[1] = True
                owner.cancel()  # stop the inline unit too: a failure ends the scope now

    ready = [u for u in sp.units if remaining[u] == 0]
    for u in ready[1:]:
        start(u)
    try:
        # the first ready unit runs in this task: no task at all for a one-step
        # region instance or a chain
        inline[0] = True
        try:
            await worker(ready[0])
        except asyncio.CancelledError:
            if inline[1] and owner is not None and owner.uncancel() == 0:
                raise done_fut.exception() from None  # type: ignore[misc]
            raise
        finally:
            inline[0] = False
        await done_fut
    finally:
        if tasks:
            for t in list(tasks):
                t.cancel()
            await asyncio.gather(*list(tasks), return_exceptions=True)
        # the three closures refer to each other through their cells; clearing them
        # frees this instance by reference counting instead of leaving a cycle for
        # the garbage collector (a 1,000-item fan-out otherwise spends most of its
        # overhead in gen-2 collections)
        worker = start = on_done = None  # type: ignore[assignment]  # noqa: F841


async def all_or_fail(coros: list) -> None:
    """Run all; on the first failure cancel the rest, wait for them, and raise it."""
    if not coros:
        return
    loop = asyncio.get_running_loop()
    tasks = [loop.create_task(c) for c in coros]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for t in tasks:
            if t.done() and not t.cancelled() and t.exception() is not None:
                raise t.exception()  # type: ignore[misc]
    finally:
        for t in tasks:
            if not t.done():
                t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def read_edge(env: Env, edge: InEdge | None) -> Any:
    """The value arriving over one wire in this instance (coerced), SKIP if none."""
    if edge is None:
        return None
    outs = env.lookup(edge.src)
    if outs is None:
        return SKIP
    v = outs.get(edge.src_port)
    if v is not SKIP and edge.coerce_from is not None:
        v = coerce(v, edge.coerce_from, edge.coerce_to or PortType.TEXT)
    return v
