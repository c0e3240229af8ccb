"""Which code of its own a flow would run: ``tools/*.py`` beside it that its nodes call.

A Tool node (its ``tool``) or an Agent node (its ``tools``) that names a tool which is
neither built in nor a plugin, and which exists as ``tools/<name>.py`` in the flow's
folder (or a subflow's), runs that file once the folder is trusted. Built-ins such as
``run_python`` are the product's own (sandboxed) code and are not listed. Found from the
model and file names alone: nothing is imported, so opening a flow can say what it
would run, and the studio can ask for trust before a run starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from studio.core.document.model import FlowModel

from .registry import default_tools, local_tool_path
from .trust import is_trusted


@dataclass(frozen=True)
class FlowCode:
    node: str  # node id ("subflow › inner" inside a subflow)
    tool: str
    path: Path  # the tool's file
    folder: Path  # the flow folder that must be trusted for it to run


def _tool_names(node) -> list[str]:
    p = node.params
    if node.type == "tool":
        return [p["tool"]] if isinstance(p.get("tool"), str) and p["tool"] else []
    if node.type == "agent":
        tools = p.get("tools")
        return [t for t in tools if isinstance(t, str) and t] if isinstance(tools, list) else []
    return []


def flow_code(model: FlowModel) -> list[FlowCode]:
    """Every flow-folder tool the flow's nodes (and its subflows' nodes) would call."""
    from studio.core.sharing.needs import flows_within

    out: list[FlowCode] = []
    builtins = default_tools()
    for prefix, m in flows_within(model):
        if m.base_dir is None:
            continue
        for nid in sorted(m.nodes):
            for name in _tool_names(m.nodes[nid]):
                if builtins.get(name) is not None:
                    continue  # built-in and plugin names win over a flow's own file
                path = local_tool_path(m.base_dir, name)
                if path is not None:
                    out.append(FlowCode(prefix + nid, name, path.resolve(), Path(m.base_dir).resolve()))
    return out


def untrusted_code(model: FlowModel) -> list[FlowCode]:
    """The part of ``flow_code`` whose folder is not trusted yet."""
    verdict: dict[Path, bool] = {}
    out = []
    for c in flow_code(model):
        if c.folder not in verdict:
            verdict[c.folder] = is_trusted(c.folder)
        if not verdict[c.folder]:
            out.append(c)
    return out
