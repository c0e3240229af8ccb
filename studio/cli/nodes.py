"""`orchestra nodes [--json]`: the catalog of installed node types.

For each type: id, title, category, description, providing package, its ports (name,
type, required, multi, default) and its parameters as JSON Schema (``Param.json_schema``),
so plugin authors and scripts see exactly what the inspector and the file format use.
Types whose ports depend on parameters (a template's ``{{ variables }}``) are listed
with the ports their default parameters give and ``"dynamic_ports": true``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from studio.core.catalogue.nodetype import MISSING, NodeType, Port


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("nodes", help="list the installed node types with ports and parameters",
                              description="List every installed node type with its ports and parameters.")
    p.add_argument("--json", action="store_true", help="print the catalog as JSON")
    p.set_defaults(func=run)


def catalog() -> dict[str, Any]:
    from studio.core.catalogue.registry import default_registry

    reg = default_registry()
    return {"node_types": [describe(t) for t in reg.types()], "plugin_errors": list(reg.load_errors)}


def describe(nt: type[NodeType]) -> dict[str, Any]:
    params = nt.default_params()
    required = [p.name for p in nt.params if p.required]
    schema: dict[str, Any] = {"type": "object", "properties": {p.name: p.json_schema() for p in nt.params},
                              "additionalProperties": False}
    if required:
        schema["required"] = required
    return {
        "type": nt.type_id,
        "title": nt.title,
        "category": nt.category,
        "kind": nt.kind,
        "description": nt.description,
        "package": nt.package,
        "paid": nt.paid,
        "dynamic_ports": _overrides(nt, "input_ports") or _overrides(nt, "output_ports"),
        "inputs": [_port(p) for p in nt.input_ports(params)],
        "outputs": [_port(p) for p in nt.output_ports(params)],
        "params": schema,
    }


def _overrides(nt: type[NodeType], method: str) -> bool:
    return getattr(getattr(nt, method), "__func__", None) is not getattr(NodeType, method).__func__


def _port(p: Port) -> dict[str, Any]:
    out: dict[str, Any] = {"name": p.name, "type": p.type.value, "required": p.needs_source, "multi": p.multi}
    if p.default is not MISSING:
        try:
            json.dumps(p.default)
            out["default"] = p.default
        except (TypeError, ValueError):
            out["default"] = repr(p.default)
    if p.description:
        out["description"] = p.description
    return out


def run(args: argparse.Namespace) -> int:
    data = catalog()
    if args.json:
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        return 0
    from rich.console import Console
    from rich.markup import escape

    out = Console(soft_wrap=True, highlight=False)
    category = None
    for t in data["node_types"]:
        if t["category"] != category:
            category = t["category"]
            out.print(f"\n[bold underline]{escape(category)}[/]")
        out.print(f"[bold]{escape(t['type'])}[/]  {escape(t['title'])}"
                  + (f" -- {escape(t['description'])}" if t["description"] else "")
                  + (f"  [dim]({escape(t['package'])})[/]" if t["package"] != "orchestra-studio" else ""))
        for label, ports in (("in ", t["inputs"]), ("out", t["outputs"])):
            if ports:
                shown = ", ".join(f"{p['name']}: {p['type']}" + ("" if p["required"] or label == "out" else "?")
                                  for p in ports)
                out.print(f"    {label}  {escape(shown)}" + ("  [dim](from parameters)[/]" if t["dynamic_ports"] and label == "in " else ""))
        props = t["params"]["properties"]
        for name, schema in props.items():
            out.print(f"    [cyan]{escape(name)}[/] {escape(_schema_line(schema, name in t['params'].get('required', ())))}")
    for err in data["plugin_errors"]:
        out.print(f"[yellow]plugin error:[/] {escape(err)}")
    return 0


def _schema_line(schema: dict[str, Any], required: bool) -> str:
    kind = schema.get("format") or schema.get("type") or ("enum" if "enum" in schema else "json")
    if isinstance(kind, list):
        kind = "|".join(kind)
    bits = [str(kind)]
    if "enum" in schema:
        bits.append("{" + ", ".join(str(c) for c in schema["enum"]) + "}")
    if "minimum" in schema or "maximum" in schema:
        bits.append(f"[{schema.get('minimum', '')}..{schema.get('maximum', '')}]")
    if "default" in schema:
        bits.append(f"= {json.dumps(schema['default'], ensure_ascii=False)}")
    if required:
        bits.append("(required)")
    desc = schema.get("description")
    return " ".join(bits) + (f" -- {desc}" if desc else "")
