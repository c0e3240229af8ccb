"""Delay: waits, then passes its value on (pacing calls, demos, and testing timing)."""

from __future__ import annotations

import asyncio
from typing import Any, Mapping

from studio.core.catalogue.nodetype import NodeType, Param, Port
from studio.core.catalogue.types import PortType


class DelayNode(NodeType):
    type_id = "delay"
    title = "Delay"
    category = "Utility"
    description = "Wait a number of seconds, then pass the value on unchanged."
    inputs = (Port("value", PortType.ANY, "Passed through unchanged.", default=None, required=False),)
    outputs = (Port("value", PortType.ANY, "The same value, later.", carries="value"),)
    params = (Param("seconds", "number", 1.0, "How long to wait.", minimum=0, maximum=3600),)

    @classmethod
    def summary(cls, params: Mapping[str, Any]) -> str:
        return f"{params['seconds']:g} s"

    async def run(self, ctx) -> dict[str, Any]:
        seconds = float(ctx.params["seconds"] or 0)
        if seconds > 0:
            await asyncio.sleep(seconds)
        return {"value": ctx.inputs.get("value")}


NODE_TYPE = DelayNode
