"""Subflow: another flow file used as one node; its Input and Output nodes are the ports.

The file is read (never executed) to learn the ports; it is resolved relative to this
flow's folder and cached by modification time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from studio.core.nodetype import NodeType, Param, Port
from studio.core.types import PortType


def resolve_subflow(params: Mapping[str, Any], base_dir: Path | None) -> Path | None:
    raw = params.get("path")
    if not isinstance(raw, str) or not raw.strip():
        return None
    p = Path(raw)
    if not p.is_absolute() and base_dir is not None:
        p = base_dir / p
    return p


_cache: dict[Path, tuple[float, tuple[tuple[Port, ...], tuple[Port, ...]], str | None]] = {}


def _read(path: Path) -> tuple[tuple[tuple[Port, ...], tuple[Port, ...]], str | None]:
    """((inputs, outputs), None) of the subflow file, or ((), ()) and why it is unusable.

    Cached by modification time: ports are asked for on every repaint and validation.
    """
    try:
        key = path.resolve()
        mtime = key.stat().st_mtime
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        return ((), ()), f"cannot read the subflow file {str(path)!r}: {getattr(exc, 'strerror', None) or exc}"
    hit = _cache.get(key)
    if hit is not None and hit[0] == mtime:
        return hit[1], hit[2]
    from studio.core.errors import FlowFileError
    from studio.core.flowfile import interface_of, load_flow

    try:
        iface = interface_of(load_flow(key))
    except FlowFileError as exc:
        result: tuple[tuple[tuple[Port, ...], tuple[Port, ...]], str | None] = ((), ()), f"the subflow file is not a usable flow: {exc}"
    else:
        def ptype(name: object) -> PortType:
            try:
                return PortType(name)
            except (ValueError, TypeError):
                return PortType.ANY

        ins = tuple(Port(i["name"], ptype(i.get("type", "any")), str(i.get("description", ""))) for i in iface["inputs"]
                    if isinstance(i.get("name"), str))
        outs = tuple(Port(o["name"], PortType.ANY) for o in iface["outputs"] if isinstance(o.get("name"), str))
        result = (ins, outs), None
    _cache[key] = (mtime, *result)
    return result


def subflow_ports(path: Path | None) -> tuple[tuple[Port, ...], tuple[Port, ...]]:
    """(inputs, outputs) of the subflow file, () when it cannot be read."""
    if path is None:
        return (), ()
    return _read(path)[0]


class SubflowNode(NodeType):
    type_id = "subflow"
    title = "Subflow"
    category = "Flow"
    kind = "subflow"
    description = "Use another flow file as a single step."
    params = (Param("path", "path", "", "The flow file, relative to this flow's folder.", required=True),)

    @classmethod
    def file_problem(cls, params: Mapping[str, Any], base_dir: Path | None) -> str | None:
        """Why the subflow file cannot be used, or None (an empty path is a bad_param)."""
        path = resolve_subflow(params, base_dir)
        return None if path is None else _read(path)[1]

    @classmethod
    def input_ports(cls, params: Mapping[str, Any], base_dir=None):
        return subflow_ports(resolve_subflow(params, base_dir))[0]

    @classmethod
    def output_ports(cls, params: Mapping[str, Any], base_dir=None):
        outs = subflow_ports(resolve_subflow(params, base_dir))[1]
        return (*outs, Port("error", PortType.JSON, "When wired, a failure becomes a value here.", required=False))


NODE_TYPE = SubflowNode
