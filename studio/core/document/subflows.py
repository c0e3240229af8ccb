"""Subflow files: where a Subflow node's flow lives, its ports, and loading it.

A subflow is another flow file used as one node; its Input and Output nodes are the
ports. The file is read (never executed, and only if it is a regular file of at most
``flowfile.MAX_FILE_BYTES``: /dev/zero, a FIFO or a symlink to either is refused at once,
see ``flowfile.read_regular_file``), resolved relative to the including flow's
folder and cached by modification time (ports are asked for on every repaint). An
exported flow carries an embedded copy in the node's ``flow`` parameter, which wins
over the path. The executor, the validator and the node type all read subflows
through this module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from studio.core.catalogue.nodetype import Port
from studio.core.catalogue.types import PortType


def resolve_subflow(params: Mapping[str, Any], base_dir: Path | None) -> Path | None:
    raw = params["path"]
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
        st = key.stat()
        mtime = (st.st_mtime_ns, st.st_size, st.st_ino)
    except (OSError, ValueError, RuntimeError) as exc:  # RuntimeError: a symlink loop  # ValueError: a NUL byte in the path
        return ((), ()), f"cannot read the subflow file {str(path)!r}: {getattr(exc, 'strerror', None) or exc}"
    hit = _cache.get(key)
    if hit is not None and hit[0] == mtime:
        return hit[1], hit[2]
    from studio.core.document.flowfile import load_flow
    from studio.core.errors import FlowFileError

    try:
        result: tuple[tuple[tuple[Port, ...], tuple[Port, ...]], str | None] = ports_of_model(load_flow(key)), None
    except FlowFileError as exc:
        result = ((), ()), f"the subflow file is not a usable flow: {exc}"
    _cache[key] = (mtime, *result)
    return result


def subflow_ports(path: Path | None) -> tuple[tuple[Port, ...], tuple[Port, ...]]:
    """(inputs, outputs) of the subflow file, () when it cannot be read."""
    if path is None:
        return (), ()
    return _read(path)[0]


def ports_of_model(model) -> tuple[tuple[Port, ...], tuple[Port, ...]]:
    """The ports a flow has as a Subflow node: its Inputs (with their declared types) and
    its Outputs, typed by what is wired into them inside (carried through ``any`` ports
    too, see typeflow), so a wire from a Subflow is checked like any other."""
    from studio.core.document.flowfile import interface_of
    from studio.core.document.graph import analyze
    from studio.core.document.typeflow import carried_types

    iface = interface_of(model)
    ins = tuple(Port(i["name"], PortType(i["type"]), str(i.get("description", ""))) for i in iface["inputs"])
    out_types: dict[str, PortType] = {}
    try:
        out_ports = {n: model.output_ports(n) for n in model.nodes}
        carried = carried_types(analyze(model).order, model.edges_into, out_ports)
        for o in iface["outputs"]:
            wires = model.edges_into(o["node"], "value")
            if len(wires) == 1:
                e = wires[0]
                src = out_ports.get(e.src, {}).get(e.src_port)
                out_types[o["name"]] = carried.get((e.src, e.src_port)) or (src.type if src else PortType.ANY)
    except Exception:  # an inner flow broken enough to fail analysis: its errors show when it is opened
        out_types = {}
    outs = tuple(Port(o["name"], out_types.get(o["name"], PortType.ANY)) for o in iface["outputs"])
    return ins, outs


def embedded_ports(doc: Mapping[str, Any]) -> tuple[tuple[Port, ...], tuple[Port, ...]]:
    """Ports of an embedded subflow document, read from its nodes (not its stored interface)."""
    from studio.core.document.flowfile import model_from_document
    from studio.core.errors import FlowFileError

    try:
        return ports_of_model(model_from_document(doc))
    except FlowFileError:
        return (), ()


def load_subflow(params: Mapping[str, Any], base_dir: Path | None):
    """The subflow's model: the embedded copy if any, else the file (FlowFileError if bad)."""
    from studio.core.errors import FlowFileError
    from studio.core.document.flowfile import load_flow, model_from_document

    embedded = params["flow"]
    if isinstance(embedded, dict):
        model = model_from_document(embedded, base_dir=base_dir)
        return model
    path = resolve_subflow(params, base_dir)
    if path is None:
        raise FlowFileError("no subflow file set")
    return load_flow(path)


def read_subflow_problem(path: Path) -> str | None:
    """Why the subflow file at ``path`` cannot be used, or None."""
    return _read(path)[1]
