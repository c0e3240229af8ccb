"""FanOut: runs the region up to its Collect once per list element, concurrently.

The region is every node on a path from ``item``/``index`` to the matching Collect.
Per-item failure policy: ``fail`` the run, ``drop`` the item, or ``keep`` the error in
its place in the results.
"""

from __future__ import annotations

from typing import Any, Mapping

from studio.core.catalogue.nodetype import NodeType, Param, Port
from studio.core.catalogue.types import PortType


class FanOutNode(NodeType):
    type_id = "fanout"
    title = "Fan-out"
    category = "Control"
    kind = "fanout"
    description = "Run the steps up to the Collect once per item of a list, in parallel."
    has_error_port = False
    inputs = (Port("items", PortType.LIST, "The list to fan out over."),)
    outputs = (
        Port("item", PortType.ANY, "One element (per instance)."),
        Port("index", PortType.NUMBER, "Its position in the list, from 0."),
    )
    params = (
        Param("concurrency", "integer", 8, "How many items run at once (0: no limit).", minimum=0, maximum=10000),
        Param("on_item_error", "enum", "fail", "When one item fails: fail the run, drop the item, or keep the error in its place.",
              choices=("fail", "drop", "keep")),
        Param("max_items", "integer", 1000, "Refuse lists longer than this (a guard against runaway cost).", minimum=1, maximum=1000000),
    )

    @classmethod
    def summary(cls, params: Mapping[str, Any]) -> str:
        c = params["concurrency"]
        return f"{'∞' if c == 0 else c} at once, on error: {params['on_item_error']}"


NODE_TYPE = FanOutNode
