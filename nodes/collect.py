"""Collect: closes a FanOut's region and returns the per-item results in input order.

An item whose value arrives as SKIP (a Branch in the region routed it away) is left
out, so a fan-out with a branch doubles as a filter.
"""

from __future__ import annotations

from typing import Any, Mapping

from studio.core.catalogue.nodetype import NodeType, Param, Port
from studio.core.catalogue.types import PortType


class CollectNode(NodeType):
    type_id = "collect"
    title = "Collect"
    category = "Control"
    kind = "collect"
    description = "Gather the results of a Fan-out into a list, in the order of the items."
    has_error_port = False
    inputs = (Port("item", PortType.ANY, "The result of one instance."),)
    outputs = (
        Port("results", PortType.LIST, "The results, in item order."),
        Port("errors", PortType.LIST, "The failures ({index, error}) of dropped or kept items."),
    )
    params = (
        Param("fanout", "string", "", "The Fan-out this closes; empty: the nearest one upstream.", advanced=True),
    )


NODE_TYPE = CollectNode
