"""Approval: a human approves, edits or rejects a value before a high-stakes step.

Approved (possibly edited) values leave on ``approved``; a rejection sends the value on
``rejected`` (and SKIP on ``approved``), so the flow decides what a "no" means. Without
an answer within the timeout, ``on_timeout`` decides.
"""

from __future__ import annotations

from typing import Any, Mapping

from studio.core.catalogue.nodetype import NodeType, Param, Port
from studio.core.catalogue.templates import render
from studio.core.catalogue.types import SKIP, PortType


class ApprovalNode(NodeType):
    type_id = "approval"
    title = "Approval"
    category = "Control"
    kind = "approval"
    description = "Pause for a person to approve, edit or reject the value."
    inputs = (Port("value", PortType.ANY, "What needs approval."),)
    outputs = (
        Port("approved", PortType.ANY, "The approved (maybe edited) value.", required=False, carries="value"),
        Port("rejected", PortType.ANY, "The value, when rejected.", required=False, carries="value"),
        Port("decision", PortType.JSON, "{action, by, reason}.", required=False),
    )
    params = (
        Param("message", "prompt", "Approve this?", "What the person is asked; may use {{ value }}."),
        Param("wait_s", "number", 0, "Seconds to wait for an answer (0: wait forever).", minimum=0, maximum=7 * 24 * 3600),
        Param("on_timeout", "enum", "reject", "What an unanswered request means.", choices=("reject", "approve")),
    )

    @classmethod
    def input_ports(cls, params: Mapping[str, Any], base_dir=None):
        return cls.inputs  # the message may use {{ value }} only

    async def run(self, ctx) -> dict[str, Any]:
        value = ctx.inputs.get("value")
        message = render(ctx.params["message"], {"value": value})
        timeout = float(ctx.params["wait_s"] or 0) or None
        decision = await ctx.request_approval(value, message, timeout)
        action = decision.action
        if action == "timeout":
            action = ctx.params["on_timeout"]
        record = {"action": action, "by": decision.by, "reason": decision.reason}
        if action == "approve":
            approved = decision.value if decision.value is not None else value
            return {"approved": approved, "rejected": SKIP, "decision": record}
        return {"approved": SKIP, "rejected": value, "decision": record}


NODE_TYPE = ApprovalNode
