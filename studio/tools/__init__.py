"""Tools for the Tool and Agent nodes: built-ins, plugins and a trusted flow's own code.

No Qt here. Public API:

- ``Tool``, ``ToolContext``, ``call_tool(tool, args, ctx)`` -- declare and run a tool.
- ``get_tool(name, flow_dir)``, ``tool_schema(name, flow_dir)``, ``available_tools(flow_dir)``,
  ``default_tools()`` -- find them (entry points group ``orchestra.tools``).
- ``trust``, ``untrust``, ``is_trusted``, ``trusted_folders`` -- the trusted-folder store.
"""

from __future__ import annotations

from .base import Tool, ToolContext, call_tool, check_arguments
from .registry import ENTRY_POINT_GROUP, ToolRegistry, available_tools, default_tools, get_tool, tool_schema
from .trust import FolderNotTrusted, is_trusted, trust, trusted_folders, untrust

__all__ = [
    "ENTRY_POINT_GROUP", "FolderNotTrusted", "Tool", "ToolContext", "ToolRegistry", "available_tools",
    "call_tool", "check_arguments", "default_tools", "get_tool", "is_trusted", "tool_schema", "trust",
    "trusted_folders", "untrust",
]
