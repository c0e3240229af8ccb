"""Output: a value the flow returns under a name (the CLI prints it, a subflow exposes it)."""

from __future__ import annotations

from typing import Any, Mapping

from studio.core.catalogue.nodetype import NodeType, Param, Port
from studio.core.catalogue.types import PortType


class OutputNode(NodeType):
    type_id = "output"
    title = "Output"
    category = "Flow"
    kind = "output"
    description = "A result of the flow, returned under its name."
    has_error_port = False
    inputs = (Port("value", PortType.ANY, "The value to return."),)
    params = (Param("name", "string", "output", "The output's name in the run's results.", required=True),)

    @classmethod
    def summary(cls, params: Mapping[str, Any]) -> str:
        return str(params["name"])

    async def run(self, ctx) -> dict[str, Any]:
        return {}


NODE_TYPE = OutputNode
