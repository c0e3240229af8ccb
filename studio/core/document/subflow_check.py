"""Recursive subflows, found before anything runs, with the chain that closes the loop.

A flow that includes itself -- directly (A uses A), through others (A -> B -> A), or
through an embedded copy whose own subflow points back at a file -- used to pass
validation and fail only at run time, 16 levels down, with a long message. Here each
Subflow node's references are followed (files by their real path, embedded copies in
place) and a reference back to anything already on the way is an error naming the
whole chain, e.g. ``a.flow.json → b.flow.json → a.flow.json``.

Cost: validation runs on every edit, so a flow without Subflow nodes costs one sweep
over node types, and each subflow file is read once per change of its size or
modification time (``_refs_of_file`` is cached on those). Files are read with
``flowfile.read_regular_file`` rules (never a device or a FIFO, capped in size).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from studio.core.document.problems import Problem

MAX_DEPTH = 16  # as deep as the executor runs subflows
ARROW = " → "
HINT = "A flow cannot contain itself: point the Subflow at a different file, or remove the node that closes the loop."

# one reference to a subflow: (label, real path or None for an embedded copy, params, base_dir)
_Ref = tuple[str, "str | None", Mapping[str, Any], "Path | None"]
_file_cache: dict[str, tuple[tuple[int, int, int], list[tuple[str, Mapping[str, Any]]], Path]] = {}


def _subflow_nodes(model: Any) -> list[tuple[str, Mapping[str, Any]]]:
    out = []
    for nid, node in model.nodes.items():
        if node.type == "subflow":
            out.append((nid, node.params))
    return out


def _real(path: Path) -> str | None:
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):
        return None


def _refs_of_file(real: str) -> tuple[list[tuple[str, Mapping[str, Any]]], Path] | None:
    """The Subflow nodes of the flow file at ``real`` (None when it cannot be read:
    ``subflow_missing`` reports that)."""
    from studio.core.errors import FlowFileError
    from studio.core.document.flowfile import load_flow

    try:
        st = os.stat(real)
    except (OSError, ValueError):
        return None
    stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
    hit = _file_cache.get(real)
    if hit is not None and hit[0] == stamp:
        return hit[1], hit[2]
    try:
        model = load_flow(real)
    except (FlowFileError, RecursionError):
        return None
    refs = _subflow_nodes(model)
    base = Path(real).parent
    _file_cache[real] = (stamp, refs, base)
    return refs, base


def _children(params: Mapping[str, Any], base_dir: Path | None, label: str) -> tuple[str | None, str, list, Path | None] | None:
    """(real path or None, label, its subflow nodes, its base folder) of one reference."""
    from studio.core.errors import FlowFileError
    from studio.core.document.flowfile import model_from_document
    from studio.core.document.subflows import resolve_subflow

    embedded = params.get("flow")
    if isinstance(embedded, dict):
        try:
            model = model_from_document(embedded, base_dir=base_dir)
        except (FlowFileError, RecursionError):
            return None
        return None, f"{label} (embedded)", _subflow_nodes(model), base_dir
    path = resolve_subflow(params, base_dir)
    if path is None:
        return None
    real = _real(path)
    if real is None:
        return None
    found = _refs_of_file(real)
    if found is None:
        return None
    refs, base = found
    return real, Path(real).name, refs, base


def recursion_problems(model: Any) -> list[Problem]:
    """A ``subflow_recursive`` error on each Subflow node from which the flow comes back
    to a flow already on the way (the message shows the chain)."""
    subs = _subflow_nodes(model)
    if not subs:
        return []
    source = getattr(model, "source_path", None)
    root_real = _real(Path(source)) if source else None
    root_label = Path(root_real).name if root_real else "this flow"
    problems: list[Problem] = []
    clean: set[str] = set()  # files fully followed without finding a way back

    def walk(params: Mapping[str, Any], base_dir: Path | None, label: str, stack: list[str | None],
             labels: list[str]) -> list[str] | None:
        child = _children(params, base_dir, label)
        if child is None:
            return None
        real, child_label, refs, child_base = child
        if real is not None and real in stack:
            return [*labels, child_label]
        if real is not None and real in clean:
            return None
        if len(labels) > MAX_DEPTH:
            return [*labels, child_label, f"… (more than {MAX_DEPTH} levels)"]
        for nid, p in refs:
            chain = walk(p, child_base, nid, [*stack, real], [*labels, child_label])
            if chain:
                return chain
        if real is not None:
            clean.add(real)
        return None

    for nid, params in subs:
        chain = walk(params, model.base_dir, nid, [root_real], [root_label])
        if chain:
            problems.append(Problem("error", "subflow_recursive",
                                    f"the subflow includes itself: {ARROW.join(chain)}", nid, hint=HINT))
    return problems
