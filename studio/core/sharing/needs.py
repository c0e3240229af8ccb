"""What a received flow needs before it can run: node types that are not installed.

Read from the model alone (and the subflows it uses, embedded or by path), so the
studio can say so the moment a flow is opened, before anything runs. Nothing here
imports or executes a flow's code: subflow files are parsed like any flow file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from studio.core.errors import FlowFileError
from studio.core.document.model import FlowModel

MAX_DEPTH = 16
SEP = " › "  # between a subflow node's id and a node inside it


@dataclass(frozen=True)
class MissingType:
    """A node type the flow uses that nobody provides here."""

    type_id: str
    package: str | None  # from the file's ``requires`` (None: the file does not say)
    version: str | None  # the version the sender had, when the file records it
    nodes: tuple[str, ...]  # node ids, "subflow › inner" for nodes inside a subflow

    def install_hint(self) -> str | None:
        """A pip command that installs the package, or None when no package is named."""
        if not self.package:
            return None
        if self.version and self.version != "unknown":
            return f'pip install "{self.package}=={self.version}"'
        return f"pip install {self.package}"

    def describe(self) -> str:
        where = ", ".join(self.nodes[:4]) + ("…" if len(self.nodes) > 4 else "")
        if self.package:
            pkg = self.package + (f" {self.version}" if self.version and self.version != "unknown" else "")
            return f"{self.type_id!r} from the package {pkg} (used by {where})"
        return f"{self.type_id!r}, from a package the file does not name (used by {where})"


def flows_within(model: FlowModel) -> Iterator[tuple[str, FlowModel]]:
    """``("", model)`` and then ``(prefix, subflow model)`` for every subflow it uses,
    nested ones included; a subflow that cannot be read is skipped (validation names it)."""
    from studio.core.document.subflows import load_subflow

    seen: set[str] = set()

    def walk(prefix: str, m: FlowModel, depth: int) -> Iterator[tuple[str, FlowModel]]:
        yield prefix, m
        if depth >= MAX_DEPTH:
            return
        for nid in sorted(m.nodes):
            node = m.nodes[nid]
            if node.type != "subflow":
                continue
            params = m.params(nid)
            if not isinstance(params["flow"], dict):
                raw = params["path"]
                if not isinstance(raw, str) or not raw.strip():
                    continue
                p = Path(raw) if Path(raw).is_absolute() or m.base_dir is None else m.base_dir / raw
                try:
                    key = str(p.resolve())
                except (OSError, ValueError):
                    continue
                if key in seen:
                    continue  # a subflow used twice (or including itself) is looked at once
                seen.add(key)
            try:
                inner = load_subflow(params, m.base_dir)
            except (FlowFileError, OSError, ValueError):
                continue
            yield from walk(f"{prefix}{nid}{SEP}", inner, depth + 1)

    yield from walk("", model, 0)


def missing_types(model: FlowModel) -> list[MissingType]:
    """Every node type the flow (or a subflow in it) uses that is not installed, with the
    package and version its ``requires`` names (an export's ``requires`` covers its
    embedded subflows, so the outer file is asked too)."""
    found: dict[str, dict] = {}
    for prefix, m in flows_within(model):
        for nid in sorted(m.nodes):
            type_id = m.nodes[nid].type
            if m.registry.is_known(type_id):
                continue
            entry = found.setdefault(type_id, {"package": None, "version": None, "nodes": []})
            entry["nodes"].append(prefix + nid)
            for source in (m, model):
                pkg = entry["package"] or source.package_for(type_id)
                if pkg and not entry["package"]:
                    entry["package"] = pkg
                if pkg and not entry["version"]:
                    entry["version"] = _version_in(source, pkg)
    return [MissingType(t, e["package"], e["version"], tuple(e["nodes"])) for t, e in sorted(found.items())]


def _version_in(model: FlowModel, package: str) -> str | None:
    req = model.meta.get("requires")
    pkgs = req.get("packages") if isinstance(req, dict) else None
    v = pkgs.get(package) if isinstance(pkgs, dict) else None
    return v if isinstance(v, str) else None
