"""Remember: appends a turn (the user's message and the reply) to a Memory's history.

The closing node of a memory flow: Memory -> LLM/Agent -> Remember -> Output. The two
messages are appended in one transaction, so two runs of one session at once never lose
or interleave a turn. The reply passes through unchanged, so an Output wired from here
only shows a reply once it is stored.
"""

from __future__ import annotations

from typing import Any, Mapping

from nodes.memory import check_target, in_thread, store_for, target_of, target_params, SESSION_PORT
from studio.core.catalogue.nodetype import NodeType, Port
from studio.core.catalogue.types import PortType


class RememberNode(NodeType):
    type_id = "memory_save"
    title = "Remember"
    category = "Memory"
    description = "Append the user's message and the reply to a Memory's history (one turn)."
    conversation_memory = True  # studio.core.document.interface finds memory flows by this
    inputs = (
        Port("message", PortType.TEXT, "What the user said this turn."),
        Port("reply", PortType.TEXT, "The assistant's reply."),
        SESSION_PORT,
    )
    outputs = (
        Port("reply", PortType.TEXT, "The reply, once stored."),
        Port("turn", PortType.NUMBER, "The turn's number in its session (1 for the first).", required=False),
    )
    params = target_params()

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        return super().check_params(params) + check_target(params)

    @classmethod
    def summary(cls, params: Mapping[str, Any]) -> str:
        return params["memory"]

    async def run(self, ctx) -> dict[str, Any]:
        flow, memory, session = target_of(ctx)
        reply = ctx.inputs.get("reply")
        message = ctx.inputs.get("message")
        turn = [{"role": "user", "content": _text(message)}, {"role": "assistant", "content": _text(reply)}]
        number = await in_thread(store_for(ctx, flow).append_turn, memory, session, turn, ctx.run_id or None)
        return {"reply": reply, "turn": number}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


NODE_TYPE = RememberNode
