"""Finding tools: built-ins, plugins (entry points ``orchestra.tools``) and a flow's own.

Plugins name a Tool, a list of Tools, or a module with ``TOOL`` / ``TOOLS``. A broken
plugin is reported, never fatal. A flow's own tools are ``tools/<name>.py`` files beside
it, each with a docstring, a literal ``PARAMETERS = {...}`` JSON schema and a
``run(**arguments)`` function (sync or async). Their declaration is read with ``ast``
-- no code runs -- so the Tool node can show ports for an untrusted flow; the module is
imported only when a node calls the tool and the folder is trusted (``trust.py``).
Built-in and plugin names win; a flow's tool cannot shadow them.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import logging
import sys
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable, Mapping

from studio.core.errors import NodeFailure

from . import calculator, clock, files, http, python_runner
from .base import Tool, ToolContext
from .trust import digest, require_trust

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "orchestra.tools"
FLOW_TOOLS_DIR = "tools"

BUILTINS: tuple[Tool, ...] = (calculator.TOOL, http.TOOL, *files.TOOLS, python_runner.TOOL, clock.TOOL)


class ToolRegistry:
    def __init__(self, tools: Iterable[Tool] = ()):
        self._tools: dict[str, Tool] = {}
        self.load_errors: list[str] = []
        for t in tools:
            self.register(t)

    def register(self, tool: Tool, *, replace: bool = False) -> None:
        if not isinstance(tool, Tool):
            raise TypeError(f"{tool!r} is not a studio.tools.Tool")
        if tool.name in self._tools and self._tools[tool.name] is not tool and not replace:
            raise ValueError(f"tool {tool.name!r} is declared twice")
        self._tools[tool.name] = tool

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def names(self) -> list[str]:
        return sorted(self._tools)

    def tools(self) -> list[Tool]:
        return [self._tools[n] for n in self.names()]

    def discover_plugins(self) -> None:
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            try:
                obj = ep.load()
                found = _tools_in(obj)
                if not found:
                    raise TypeError("it names no Tool (expected a Tool, a list of Tools, or a module with TOOL/TOOLS)")
                for tool in found:
                    if ep.dist is not None and tool.source == "built-in":
                        object.__setattr__(tool, "source", ep.dist.name)
                    self.register(tool)
            except Exception as exc:  # a broken plugin must not stop the studio
                msg = f"tool plugin {ep.name!r} ({ep.value}) failed to load: {exc}"
                log.warning(msg)
                self.load_errors.append(msg)


def _tools_in(obj: Any) -> list[Tool]:
    if isinstance(obj, Tool):
        return [obj]
    if isinstance(obj, (list, tuple)):
        return [t for t in obj if isinstance(t, Tool)]
    out: list[Tool] = []
    for attr in ("TOOL", "TOOLS"):
        out += _tools_in(getattr(obj, attr, None)) if getattr(obj, attr, None) is not None else []
    return out


@lru_cache(maxsize=1)
def default_tools() -> ToolRegistry:
    """The process-wide tool registry: built-ins plus installed plugins."""
    reg = ToolRegistry(BUILTINS)
    reg.discover_plugins()
    return reg


# -- a flow's own tools -------------------------------------------------------------


@dataclass(frozen=True)
class LocalToolSpec:
    """A flow-folder tool's declaration, read without running it."""

    name: str
    path: Path
    description: str
    parameters: Mapping[str, Any]


def local_tool_path(flow_dir: Path | None, name: str) -> Path | None:
    if flow_dir is None or not name.replace("_", "").replace("-", "").isalnum():
        return None
    path = Path(flow_dir) / FLOW_TOOLS_DIR / f"{name}.py"
    return path if path.is_file() else None


def read_local_spec(path: Path) -> LocalToolSpec:
    """Name, docstring and literal PARAMETERS of a flow-folder tool, via ``ast`` only."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError, UnicodeDecodeError) as exc:
        raise NodeFailure(f"{path}: cannot read this tool: {exc}") from None
    params: Any = {"type": "object", "properties": {}}
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "PARAMETERS" for t in node.targets):
            try:
                params = ast.literal_eval(node.value)
            except ValueError:
                raise NodeFailure(f"{path}: PARAMETERS must be a literal JSON schema (a dict of plain values)") from None
    if not isinstance(params, dict) or params.get("type", "object") != "object":
        raise NodeFailure(f"{path}: PARAMETERS must be a JSON schema of type object")
    doc = (ast.get_docstring(tree) or "").strip()
    return LocalToolSpec(path.stem, path, doc.split("\n\n")[0] if doc else f"The flow's own tool {path.stem}.", params)


def local_tool_specs(flow_dir: Path | None) -> list[LocalToolSpec]:
    if flow_dir is None:
        return []
    folder = Path(flow_dir) / FLOW_TOOLS_DIR
    if not folder.is_dir():
        return []
    specs = []
    for path in sorted(folder.glob("*.py")):
        if path.stem.startswith("_"):
            continue
        try:
            specs.append(read_local_spec(path))
        except NodeFailure as exc:
            log.warning("%s", exc)
    return specs


def _load_local(spec: LocalToolSpec, flow_dir: Path) -> Tool:
    # the bytes that were hashed are the bytes that run: no window to swap the file between
    try:
        source = spec.path.read_bytes()
    except OSError as exc:
        raise NodeFailure(f"{spec.path}: cannot read this tool: {exc}") from None
    require_trust(flow_dir, f"the tool {spec.name!r} (tools/{spec.path.name})", digest("tool_file", source))
    module_name = f"orchestra_flow_tool_{abs(hash(str(spec.path)))}_{spec.name}"
    mod_spec = importlib.util.spec_from_loader(module_name, loader=None, origin=str(spec.path))
    if mod_spec is None:
        raise NodeFailure(f"{spec.path}: cannot load this tool")
    module = importlib.util.module_from_spec(mod_spec)
    module.__file__ = str(spec.path)
    try:
        exec(compile(source, str(spec.path), "exec"), module.__dict__)  # noqa: S102 - trusted by digest above
    except Exception as exc:
        raise NodeFailure(f"{spec.path}: the tool failed to load: {type(exc).__name__}: {exc}") from None
    fn = getattr(module, "run", None)
    if not callable(fn):
        raise NodeFailure(f"{spec.path}: a flow tool needs a run(**arguments) function")
    sys.modules.pop(module_name, None)

    if inspect.iscoroutinefunction(fn):
        async def call(args: dict[str, Any], ctx: ToolContext) -> Any:
            return await fn(**args)
    else:
        def call(args: dict[str, Any], ctx: ToolContext) -> Any:  # type: ignore[misc]
            return fn(**args)
    return Tool(spec.name, spec.description, spec.parameters, call, source=str(flow_dir))


# -- lookups the nodes use ----------------------------------------------------------


def tool_schema(name: str, flow_dir: Path | None = None) -> Mapping[str, Any] | None:
    """A tool's argument schema without running any code; None when there is no such tool."""
    tool = default_tools().get(name)
    if tool is not None:
        return tool.parameters
    path = local_tool_path(flow_dir, name)
    if path is None:
        return None
    try:
        return read_local_spec(path).parameters
    except NodeFailure:
        return None


def get_tool(name: str, flow_dir: Path | None = None) -> Tool:
    """The tool to run; NodeFailure when unknown, FolderNotTrusted for untrusted flow code."""
    tool = default_tools().get(name)
    if tool is not None:
        return tool
    path = local_tool_path(flow_dir, name)
    if path is not None:
        return _load_local(read_local_spec(path), Path(flow_dir))  # type: ignore[arg-type]
    known = ", ".join(default_tools().names() + [s.name for s in local_tool_specs(flow_dir)])
    raise NodeFailure(f"no tool called {name!r} (available: {known})")


def available_tools(flow_dir: Path | None = None) -> list[tuple[str, str, str]]:
    """(name, description, source) of every tool a node in this flow could use, for the inspector."""
    out = [(t.name, t.description, t.source) for t in default_tools().tools()]
    taken = {n for n, _, _ in out}
    out += [(s.name, s.description, "flow folder") for s in local_tool_specs(flow_dir) if s.name not in taken]
    return out
