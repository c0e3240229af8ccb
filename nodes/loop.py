"""Loop: repeats its body (every node on a path from ``current`` to ``feedback``).

Iteration 1 sees ``initial``; each later one sees what arrived at ``feedback``. The
loop stops when its condition holds for the feedback value or after ``max_iterations``
(required and bounded: a loop always ends). ``done`` carries the last value; ``capped``
says whether the cap ended it.
"""

from __future__ import annotations

from typing import Any, Mapping

from studio.core.catalogue.nodetype import NodeType, Param, Port
from studio.core.catalogue.types import PortType

MAX_ITERATIONS_LIMIT = 1000


class LoopNode(NodeType):
    type_id = "loop"
    title = "Loop"
    category = "Control"
    kind = "loop"
    description = "Repeat the body until the condition holds or max iterations is reached."
    has_error_port = False
    inputs = (
        Port("initial", PortType.ANY, "The value of the first iteration."),
        Port("feedback", PortType.ANY, "What the body sends back for the next iteration.", required=False),
    )
    outputs = (
        Port("current", PortType.ANY, "The value of this iteration (feeds the body).", carries="*"),
        Port("done", PortType.ANY, "The last value, once the loop has stopped.", carries="*"),
        Port("iterations", PortType.NUMBER, "How many iterations ran."),
        Port("capped", PortType.BOOLEAN, "True when max iterations ended the loop."),
    )
    params = (
        Param("max_iterations", "integer", 5, "Hard stop: the loop never runs more often than this.",
              minimum=1, maximum=MAX_ITERATIONS_LIMIT, required=True),
        Param("condition", "expression", "", "Stop when this holds for the feedback value, e.g. value.passed"),
    )

    @classmethod
    def summary(cls, params: Mapping[str, Any]) -> str:
        cond = params["condition"] or "no condition"
        return f"≤ {params['max_iterations']} × until {cond}"


NODE_TYPE = LoopNode
