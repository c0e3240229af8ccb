"""Tool: runs one registered tool; the properties of its argument schema become inputs.

Arguments come from wired inputs first, then from the node's fixed ``arguments``; the
tool's schema defaults fill the rest. A fixed argument may name a stored secret as
``{{ secrets.NAME }}`` (an ``Authorization`` header, say): the value is put in only here,
at call time, and only from the flow's own fixed arguments -- never from a wire or a
model's arguments, so injected text cannot ask for a secret -- and only once the person
trusted this use of it (where it goes is reviewed like code: ``flow_code.secret_use``). What the trace records is
the reference; every value in a secret-named field (header or argument) is remembered as
a secret first, so the trace, the terminal and the studio redact it wherever it appears. Ports are read from the schema without running
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
        from studio.core.userdata.credentials import resolve_refs

        tool = get_tool(name, ctx.flow_dir)
        fixed = dict(ctx.params["arguments"] or {})
        _require_secret_trust(name, fixed, ctx.flow_dir)
        wired = {k: v for k, v in ctx.inputs.items() if v is not None}
        args = {**resolve_refs(fixed), **wired}
        _remember_secret_fields(args)
        ctx.progress(kind="tool_call", tool=name, arguments={**fixed, **wired})
        result = await call_tool(tool, args, ToolContext(flow_dir=ctx.flow_dir, progress=ctx.progress))
        return {"result": result}


def _require_secret_trust(tool: str, fixed: dict, flow_dir) -> None:
    """A flow may use a stored secret only where the person reviewed it going (``flow_code``)."""
    from studio.core.userdata.credentials import secret_refs

    names = secret_refs(fixed)
    if names:
        from studio.tools.flow_code import secret_use_digest
        from studio.tools.trust import require_trust

        require_trust(flow_dir, f"the use of secret {', '.join(names)} by {tool}", secret_use_digest(tool, fixed))


def _remember_secret_fields(obj: Any) -> None:
    """Every value under a secret-named key (Authorization, X-Api-Key, Cookie, password…) is a secret."""
    from studio.core.userdata.credentials import is_secret_field, remember_secret

    if isinstance(obj, Mapping):
        for k, v in obj.items():
            if isinstance(k, str) and is_secret_field(k) and isinstance(v, str):
                remember_secret(v)
                if " " in v.strip():  # "Bearer abc…": the token alone is the secret too
                    remember_secret(v.strip().split(None, 1)[1])
            else:
                _remember_secret_fields(v)
    elif isinstance(obj, list):
        for v in obj:
            _remember_secret_fields(v)


NODE_TYPE = ToolNode
