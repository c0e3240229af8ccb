"""Merge: where branches meet again; passes on the first input that is not SKIP."""

from __future__ import annotations

from typing import Any, Mapping

from studio.core.catalogue.nodetype import NodeType, Param, Port
from studio.core.catalogue.types import SKIP, PortType


def merge_port_names(params: Mapping[str, Any]) -> list[str]:
    n = params["inputs"]
    if isinstance(n, bool) or not isinstance(n, int):
        n = 2
    return [f"input_{i}" for i in range(1, max(1, min(n, 32)) + 1)]


class MergeNode(NodeType):
    type_id = "merge"
    title = "Merge"
    category = "Control"
    kind = "merge"
    description = "Join the paths of a Branch: outputs the first input that was not skipped."
    outputs = (
        Port("value", PortType.ANY, "The first input that carries a value.", carries="*"),
        Port("source", PortType.TEXT, "The name of that input."),
    )
    params = (Param("inputs", "integer", 2, "How many inputs.", minimum=1, maximum=32),)

    @classmethod
    def input_ports(cls, params: Mapping[str, Any], base_dir=None):
        # optional: unwired inputs count as SKIP, so a two-way and a three-way branch both fit
        return tuple(Port(name, PortType.ANY, required=False) for name in merge_port_names(params))

    async def run(self, ctx) -> dict[str, Any]:
        for name in merge_port_names(ctx.params):
            value = ctx.inputs.get(name, SKIP)
            if value is not SKIP:
                return {"value": value, "source": name}
        return {"value": SKIP, "source": SKIP}


NODE_TYPE = MergeNode
