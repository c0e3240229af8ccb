"""Subflow: another flow run as one step, with its own frame of inputs and outputs.

The inner flow is loaded (never executed as code) and compiled once per run and
including node; its Input nodes take the step's inputs and its Outputs become the
step's outputs. Nesting is bounded: validation refuses a file that includes itself
and this depth guard stops anything that gets past it (an embedded copy that
recurses, a file changed during the run).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from studio.core.errors import NodeFailure
from studio.core.running.engine.kinds import StepKind
from studio.core.running.engine.scopes import Env, Frame, loop_ids

if TYPE_CHECKING:  # pragma: no cover
    from studio.core.running.engine.run import Run

MAX_SUBFLOW_DEPTH = 16


class SubflowKind(StepKind):
    uses_slot = False  # its inner steps take slots themselves

    def attempt(self, run: "Run", frame: Frame, spec, ctx, scope: tuple):
        return run_subflow(run, frame, spec, ctx.inputs, scope)


async def run_subflow(run: "Run", frame: Frame, spec, inputs: dict[str, Any], scope: tuple) -> dict[str, Any]:
    from studio.core.document.subflows import load_subflow
    from studio.core.running.plan import compile_plan

    if frame.depth + 1 > MAX_SUBFLOW_DEPTH:
        raise NodeFailure(f"subflows nested more than {MAX_SUBFLOW_DEPTH} deep (does a subflow include itself?)")
    key = (id(frame.plan), spec.id)
    plan = run.subplans.get(key)
    if plan is None:
        plan = compile_plan(load_subflow(spec.params, frame.plan.base_dir))
        run.subplans[key] = plan
    sub = Frame(plan, dict(inputs), {}, root=False, depth=frame.depth + 1, loops=loop_ids(plan))
    await run.run_scope(sub, plan.scopes[None], Env(None), (*scope, (spec.id, 0)))
    return dict(sub.outputs)
