"""The structural kinds of node and what the engine does differently for each.

A node type declares its ``kind`` (see catalogue.nodetype.KINDS); the plan turns it
into a :class:`Kind` and the engine picks the behaviour from two tables keyed by it:

* ``UNIT_RUNNERS``: kinds that are a whole sub-scope in their parent scope (a loop
  with its body, a fan-out with its region and Collect); each has its own runner.
* ``STEP_KINDS``: kinds that run as one step (with timeout, retries, error port) but
  need a hook: where an Input's value comes from, where an Output's goes, Merge's SKIP
  rule, Approval and Subflow not holding a concurrency slot while they wait.

Everything else is a plain step. The semantics of each kind live in its own module
here, once; the node files under ``nodes/`` declare ports and parameters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Awaitable

from studio.core.catalogue.kinds import Kind

if TYPE_CHECKING:  # pragma: no cover
    from studio.core.catalogue.context import NodeContext
    from studio.core.running.engine.run import Run
    from studio.core.running.engine.scopes import Frame
    from studio.core.running.plan import NodeSpec


class StepKind:
    """How one kind of node takes part in a step; this base is a plain node."""

    tolerates_skip = False  # SKIP on an input is a value for it (Merge), not a reason to skip
    uses_slot = True  # holds a slot of the run-wide concurrency limit while it runs

    def take_inputs(self, frame: "Frame", spec: "NodeSpec", inputs: dict[str, Any]) -> None:
        """Adjust the gathered inputs before the step starts."""

    def skip_reason(self, spec: "NodeSpec", inputs: dict[str, Any]) -> str | None:
        """Why the step is skipped although no required input was SKIP, or None."""
        return None

    def attempt(self, run: "Run", frame: "Frame", spec: "NodeSpec", ctx: "NodeContext", scope: tuple) -> Awaitable[dict]:
        """The awaitable of one attempt."""
        return spec.impl.run(ctx)

    def finished(self, frame: "Frame", spec: "NodeSpec", inputs: dict[str, Any]) -> None:
        """After a successful step: record what the kind contributes to the flow."""


PLAIN = StepKind()


def _tables():
    from studio.core.running.engine.kinds import approval, branching, fanout, interface, loop, subflow

    steps = {
        Kind.INPUT: interface.InputKind(),
        Kind.OUTPUT: interface.OutputKind(),
        Kind.MERGE: branching.MergeKind(),
        Kind.APPROVAL: approval.ApprovalKind(),
        Kind.SUBFLOW: subflow.SubflowKind(),
    }
    units = {Kind.LOOP: loop.run_loop, Kind.FANOUT: fanout.run_fanout}
    return steps, units


STEP_KINDS, UNIT_RUNNERS = _tables()


def step_kind(kind: Kind) -> StepKind:
    return STEP_KINDS.get(kind, PLAIN)
