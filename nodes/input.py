"""Input: a value the flow is run with (a CLI --input, the studio's run form, a subflow port)."""

from __future__ import annotations

import json
from typing import Any, Mapping

from studio.core.errors import NodeFailure
from studio.core.catalogue.nodetype import MISSING, NodeType, Param, Port
from studio.core.catalogue.types import PortType

TYPES = tuple(t.value for t in PortType)


def parse_input(raw: Any, type_name: str) -> Any:
    """Turn a run input (often text from a command line) into the declared type."""
    if not isinstance(raw, str) or type_name in ("text", "any"):
        return raw
    try:
        if type_name == "number":
            f = float(raw)
            return int(f) if f.is_integer() and "." not in raw and "e" not in raw.lower() else f
        if type_name == "boolean":
            low = raw.strip().lower()
            if low in ("true", "yes", "1", "on"):
                return True
            if low in ("false", "no", "0", "off"):
                return False
            raise ValueError("expected true or false")
        if type_name in ("json", "list", "messages"):
            value = json.loads(raw)
            if type_name == "list" and not isinstance(value, list):
                raise ValueError("expected a JSON list")
            return value
    except ValueError as exc:
        raise NodeFailure(f"cannot read {raw[:40]!r} as {type_name}: {exc}") from None
    return raw


class InputNode(NodeType):
    type_id = "input"
    title = "Input"
    category = "Flow"
    kind = "input"
    description = "A value the flow is run with. Its name is the flow's input name."
    has_error_port = False
    params = (
        Param("name", "string", "input", "The input's name (for --input name=value and the run form).", required=True),
        Param("type", "enum", "text", "The value's type.", choices=TYPES),
        Param("default", "json", None, "Used when the run gives no value; leave empty to require one.", nullable=True),
        Param("description", "text", "", "Shown in the run form and the exported flow."),
    )

    @classmethod
    def output_ports(cls, params: Mapping[str, Any], base_dir=None):
        return (Port("value", PortType(params["type"]), "The run's value for this input."),)

    @classmethod
    def summary(cls, params: Mapping[str, Any]) -> str:
        return f"{params['name']}: {params['type']}"

    async def run(self, ctx) -> dict[str, Any]:
        type_name = ctx.params["type"]
        if "value" in ctx.inputs:
            return {"value": parse_input(ctx.inputs["value"], type_name)}
        default = ctx.params["default"]
        if default is not None:
            return {"value": default}
        raise NodeFailure(f"the run gives no value for input {ctx.params['name']!r} and it has no default")


NODE_TYPE = InputNode
