"""Helpers shared by the core tests: fixture flows and a compact way to write a flow.

Imported as ``corehelp`` (pytest puts tests/core on sys.path; the name is unique
across the test folders, which have no __init__.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from studio.core.document import flowfile
from studio.core.document.model import FlowModel

FLOWS = Path(__file__).resolve().parent / "flows"


def flow(*nodes: tuple, wires: tuple[str, ...] | list[str] = (), **extra: Any) -> FlowModel:
    """A model from ("id", "type", {params}) tuples and "a.port -> b.port" wires,
    loaded through the file format (so it is exactly what a file would give)."""
    doc = {"format": flowfile.FORMAT, "version": flowfile.VERSION, "name": "test",
           "nodes": [{"id": n[0], "type": n[1], "params": dict(n[2]) if len(n) > 2 else {}} for n in nodes],
           "edges": [{"from": w.split("->")[0].strip(), "to": w.split("->")[1].strip()} for w in wires], **extra}
    return flowfile.model_from_document(doc)


def codes(problems) -> list[str]:
    return [p.code for p in problems]
