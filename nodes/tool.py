"""Tool: runs one registered tool; the properties of its argument schema become inputs.

Arguments come from wired inputs first, then from the node's fixed ``arguments``; the
tool's schema defaults fill the rest. Ports are read from the schema without running
any code, so a flow's own (untrusted) tool still shows its ports; running it needs the
folder to be trusted.
"""

from __future__ import annotations

from typing import Any, Mapping

from studio.core.errors import NodeFailure
from studio.core.catalogue.nodetype import NodeType, Param, Port
from studio.core.catalogue.policy import POLICY_PARAMS
from studio.core.catalogue.types import PortType

_TYPES = {"string": PortType.TEXT, "number": PortType.NUMBER, "integer": PortType.NUMBER,
          "boolean": PortType.BOOLEAN, "object": PortType.JSON, "array": PortType.LIST}


def port_type(schema: Mapping[str, Any]) -> PortType:
    kind = schema.get("type") if isinstance(schema, Mapping) else None
    return _TYPES.get(kind, PortType.ANY) if isinstance(kind, str) else PortType.ANY


class ToolNode(NodeType):
    type_id = "tool"
    title = "Tool"
    category = "Tools"
    description = "Run one tool (calculator, http_request, files, run_python, now, plugins); its arguments are inputs."
    outputs = (Port("result", PortType.ANY, "What the tool returned."),)
    params = (
        Param("tool", "string", "calculator", "The tool's name.", required=True),
        Param("arguments", "json", {}, "Fixed arguments for inputs left unwired, e.g. {\"timeout_s\": 5}."),
        *POLICY_PARAMS,
    )

    @classmethod
    def input_ports(cls, params: Mapping[str, Any], base_dir=None):
        from studio.tools import tool_schema

        schema = tool_schema(str(params["tool"] or ""), base_dir)
        if not schema:
            return ()
        fixed = params["arguments"] if isinstance(params["arguments"], Mapping) else {}
        required = set(schema.get("required") or [])
        ports = []
        for name, prop in (schema.get("properties") or {}).items():
            prop = prop if isinstance(prop, Mapping) else {}
            needed = name in required and name not in fixed
            ports.append(Port(name, port_type(prop), str(prop.get("description", "")),
                              required=needed, **({} if needed else {"default": None})))
        return tuple(ports)

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        problems = super().check_params(params)
        if params["arguments"] is not None and not isinstance(params["arguments"], Mapping):
            problems.append(("arguments", "must be an object of argument values"))
        return problems

    @classmethod
    def summary(cls, params: Mapping[str, Any]) -> str:
        return str(params["tool"] or "")

    async def run(self, ctx) -> dict[str, Any]:
        from studio.tools import ToolContext, call_tool, get_tool

        name = str(ctx.params["tool"] or "")
        if not name:
            raise NodeFailure("choose a tool")
        tool = get_tool(name, ctx.flow_dir)
        args = dict(ctx.params["arguments"] or {})
        args.update({k: v for k, v in ctx.inputs.items() if v is not None})
        ctx.progress(kind="tool_call", tool=name, arguments=args)
        result = await call_tool(tool, args, ToolContext(flow_dir=ctx.flow_dir, progress=ctx.progress))
        return {"result": result}


NODE_TYPE = ToolNode
