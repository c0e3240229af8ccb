"""Approval: a human approves, edits or rejects a value before a high-stakes step.

The node type asks through its context (``ctx.request_approval``); the engine turns
that into approval events around the run's approval handler (the studio's dialog,
the CLI's prompt or flag, the server's endpoint). A waiting approval holds no slot of
the run's concurrency limit, so other work goes on while a person decides.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from studio.core.catalogue.context import ApprovalDecision, ApprovalRequest
from studio.core.running import events as ev
from studio.core.running.engine.kinds import StepKind

if TYPE_CHECKING:  # pragma: no cover
    from studio.core.running.engine.run import Run


class ApprovalKind(StepKind):
    uses_slot = False


async def request_approval(run: "Run", req: ApprovalRequest) -> ApprovalDecision:
    """Ask the run's approval handler (reject when there is none), with events around it."""
    run.emit(ev.APPROVAL_REQUESTED, req.node_id, req.scope, value=req.value, message=req.message, timeout_s=req.timeout_s)
    handler = run.options.approval_handler
    if handler is None:
        decision = ApprovalDecision("reject", req.value, "no approval handler for this run", by="default")
    else:
        try:
            decision = await handler(req)
        except asyncio.CancelledError:
            # a timeout in the node cancels the wait; say so in the trace, then go on
            run.emit(ev.APPROVAL_RESOLVED, req.node_id, req.scope, action="timeout", value=req.value, by="timeout", reason="")
            raise
    run.emit(ev.APPROVAL_RESOLVED, req.node_id, req.scope, action=decision.action, value=decision.value,
             by=decision.by, reason=decision.reason)
    return decision
