"""Text / Template: renders a jinja2 template; its variables become input ports."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Mapping

from studio.core.catalogue.nodetype import NodeType, Param, Port
from studio.core.catalogue.templates import render, safe_variables
from studio.core.catalogue.types import PortType


def _ports(source: str) -> tuple[Port, ...]:
    """Ports are asked for on every repaint and validation: templates with the same
    variables share one tuple, so callers can index it once."""
    return _ports_named(safe_variables(source))


@lru_cache(maxsize=4096)
def _ports_named(names: tuple[str, ...]) -> tuple[Port, ...]:
    return tuple(Port(v, PortType.ANY, f"Value of {{{{ {v} }}}}") for v in names)


class TemplateNode(NodeType):
    type_id = "template"
    title = "Text"
    category = "Text"
    description = "Write text with {{ variables }}; each variable becomes an input."
    outputs = (Port("text", PortType.TEXT, "The rendered text."),)
    params = (Param("template", "prompt", "{{ text }}", "The text; {{ name }} inserts the input called name."),)

    @classmethod
    def input_ports(cls, params: Mapping[str, Any], base_dir=None):
        source = params["template"]
        if not isinstance(source, str):
            return ()
        return _ports(source)

    async def run(self, ctx) -> dict[str, Any]:
        return {"text": render(ctx.params["template"], ctx.inputs)}


NODE_TYPE = TemplateNode
