"""Tools for the Tool and Agent nodes: built-ins, plugins and a trusted flow's own code.

No Qt here. Public API:

- ``Tool``, ``ToolContext``, ``call_tool(tool, args, ctx)`` -- declare and run a tool.
- ``get_tool(name, flow_dir)``, ``tool_schema(name, flow_dir)``, ``available_tools(flow_dir)``,
  ``default_tools()`` -- find them (entry points group ``orchestra.tools``).
- ``trust``, ``trust_code``, ``untrust``, ``is_trusted``, ``is_code_trusted``, ``trusted_folders`` -- the
  trust store (per folder, by content digest of the reviewed code; ``trust.py``).
- ``flow_code.flow_code(model)`` / ``untrusted_code(model)`` -- what a flow would run.
"""

from __future__ import annotations

from .base import Tool, ToolContext, call_tool, check_arguments
from .registry import ENTRY_POINT_GROUP, ToolRegistry, available_tools, default_tools, get_tool, tool_schema
from .trust import FolderNotTrusted, is_code_trusted, is_trusted, trust, trust_code, trusted_folders, untrust

__all__ = [
    "ENTRY_POINT_GROUP", "FolderNotTrusted", "Tool", "ToolContext", "ToolRegistry", "available_tools",
    "call_tool", "check_arguments", "default_tools", "get_tool", "is_code_trusted", "is_trusted", "tool_schema", "trust",
    "trust_code", "trusted_folders", "untrust",
]
