"""Text / Template: renders a jinja2 template; its variables become input ports."""

from __future__ import annotations

from typing import Any, Mapping

from studio.core.nodetype import NodeType, Param, Port
from studio.core.templates import render, safe_variables
from studio.core.types import PortType


class TemplateNode(NodeType):
    type_id = "template"
    title = "Text"
    category = "Text"
    description = "Write text with {{ variables }}; each variable becomes an input."
    outputs = (Port("text", PortType.TEXT, "The rendered text."),)
    params = (Param("template", "prompt", "{{ text }}", "The text; {{ name }} inserts the input called name."),)

    @classmethod
    def input_ports(cls, params: Mapping[str, Any], base_dir=None):
        source = params.get("template", "")
        if not isinstance(source, str):
            return ()
        return tuple(Port(v, PortType.ANY, f"Value of {{{{ {v} }}}}") for v in safe_variables(source))

    async def run(self, ctx) -> dict[str, Any]:
        return {"text": render(ctx.params.get("template", ""), ctx.inputs)}


NODE_TYPE = TemplateNode
