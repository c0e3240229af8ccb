"""The structural kinds of node and what the engine does differently for each.

A node type declares its ``kind`` (see catalogue.nodetype.KINDS); the plan turns it
into a :class:`Kind` and the engine picks the behaviour from two tables keyed by it:

* ``UNIT_RUNNERS``: kinds that are a whole sub-scope in their parent scope (a loop
  with its body, a fan-out with its region and Collect); each has its own runner.
* ``STEP_KINDS``: every kind -> how it runs as one step (with timeout, retries, error
  port). Most are ``PLAIN``; a few need a hook: where an Input's value comes from,
  where an Output's goes, Merge's SKIP rule, Approval and Subflow not holding a
  concurrency slot while they wait.

The semantics of each kind live in its own module here, once; the node files under
``nodes/`` declare ports and parameters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Awaitable, Callable

from studio.core.catalogue.kinds import Kind

if TYPE_CHECKING:  # pragma: no cover
    from studio.core.catalogue.context import NodeContext
    from studio.core.running.engine.run import Run
    from studio.core.running.engine.scopes import Frame
    from studio.core.running.plan import NodeSpec


class StepKind:
    """How one kind of node takes part in a step; this base is a plain node.

    A hook a kind does not define is None rather than a method that does nothing, so
    a plain step -- nearly every step of every run -- checks an attribute where it
    would make a call. A kind defines the hooks it needs, with these signatures:

    * ``take_inputs(frame, spec, inputs)``: adjust the gathered inputs before the step
      starts (an Input's value comes from the run's inputs);
    * ``skip_reason(spec, inputs) -> str | None``: why the step is skipped although no
      required input was SKIP (Merge: every input was);
    * ``attempt(run, frame, spec, ctx, scope) -> awaitable of the outputs``: one
      attempt, instead of the node type's ``run(ctx)`` (a Subflow runs its flow);
    * ``finished(frame, spec, inputs)``: after a successful step, record what the
      kind contributes to the flow (an Output's value).
    """

    tolerates_skip = False  # SKIP on an input is a value for it (Merge), not a reason to skip
    uses_slot = True  # holds a slot of the run-wide concurrency limit while it runs

    take_inputs: "Callable[[Frame, NodeSpec, dict[str, Any]], None] | None" = None
    skip_reason: "Callable[[NodeSpec, dict[str, Any]], str | None] | None" = None
    attempt: "Callable[[Run, Frame, NodeSpec, NodeContext, tuple], Awaitable[dict]] | None" = None
    finished: "Callable[[Frame, NodeSpec, dict[str, Any]], None] | None" = None


PLAIN = StepKind()


def _tables():
    from studio.core.running.engine.kinds import approval, branching, fanout, interface, loop, subflow

    steps = {kind: PLAIN for kind in Kind}  # every kind present: a lookup never misses
    steps |= {
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
    return STEP_KINDS[kind]
