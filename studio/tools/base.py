"""What a tool is: a name, a JSON schema for its arguments, and a function.

Why a schema first: the same declaration serves three readers -- the Agent node offers
it to the model for tool calling, the Tool node turns its properties into input ports,
and ``call_tool`` validates arguments (a model's or a flow's) before the function runs,
so a tool body never sees malformed input.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from studio.core.errors import NodeFailure

_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$")  # what function-calling APIs accept


@dataclass
class ToolContext:
    """What a running tool may use: the flow's folder (file tools are confined to it)."""

    flow_dir: Path | None = None
    progress: Callable[..., None] | None = None

    def require_folder(self, tool: str) -> Path:
        if self.flow_dir is None:
            raise NodeFailure(f"{tool} works inside the flow's folder; save the flow first")
        return Path(self.flow_dir)


@dataclass(frozen=True)
class Tool:
    """A callable the agent and the Tool node can use.

    ``func(args, ctx)`` gets validated arguments (schema defaults filled in) and a
    ToolContext; it may be sync (run in a worker thread, so slow I/O never blocks the
    run's loop) or async. Its result must be JSON-like.
    """

    name: str
    description: str
    parameters: Mapping[str, Any]
    func: Callable[[dict[str, Any], ToolContext], Any] = field(compare=False)
    source: str = "built-in"  # "built-in", a plugin's distribution, or the flow folder

    def __post_init__(self) -> None:
        if not _NAME_RE.match(self.name):
            raise ValueError(f"tool name {self.name!r} must be letters, digits, _ or - (max 64)")
        if not isinstance(self.parameters, Mapping) or self.parameters.get("type", "object") != "object":
            raise ValueError(f"tool {self.name!r}: parameters must be a JSON schema of type object")

    def function_schema(self) -> dict[str, Any]:
        """The OpenAI-style function declaration litellm passes to every provider."""
        params = dict(self.parameters)
        params.setdefault("type", "object")
        params.setdefault("properties", {})
        return {"type": "function", "function": {"name": self.name, "description": self.description,
                                                  "parameters": params}}


def check_arguments(tool_name: str, schema: Mapping[str, Any], args: Any) -> dict[str, Any]:
    """``args`` validated against ``schema`` with defaults filled; NodeFailure saying what is wrong."""
    import jsonschema

    if args is None:
        args = {}
    if not isinstance(args, Mapping):
        raise NodeFailure(f"{tool_name}: arguments must be an object, not {type(args).__name__}")
    filled = dict(args)
    for name, prop in (schema.get("properties") or {}).items():
        if name not in filled and isinstance(prop, Mapping) and "default" in prop:
            filled[name] = prop["default"]
    try:
        jsonschema.validate(filled, dict(schema))
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path)
        raise NodeFailure(f"{tool_name}: bad argument{' ' + where if where else ''}: {exc.message}") from None
    return filled


async def call_tool(tool: Tool, args: Any, ctx: ToolContext | None = None) -> Any:
    """Validate ``args`` and run ``tool``; sync tools run in a worker thread."""
    ctx = ctx or ToolContext()
    checked = check_arguments(tool.name, tool.parameters, args)
    if inspect.iscoroutinefunction(tool.func):
        return await tool.func(checked, ctx)
    return await asyncio.to_thread(tool.func, checked, ctx)
