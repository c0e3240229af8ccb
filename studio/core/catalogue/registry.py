"""The catalog of node types: the built-in ``nodes`` package plus entry-point plugins.

Each module of ``nodes`` declares exactly one type as ``NODE_TYPE``. Plugins name a
NodeType subclass (or a module with ``NODE_TYPE``) under the ``orchestra.nodes``
entry-point group. A flow that names a type nobody provides still opens: the registry
hands out a placeholder that keeps the node's parameters and says what is missing.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import re
from functools import lru_cache
from importlib import metadata
from typing import Iterable

from studio.core.catalogue.nodetype import NodeType

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "orchestra.nodes"


class PlaceholderNode(NodeType):
    """Stands in for a node type that is not installed; keeps the node intact.

    Its ports accept whatever the file wires to them (type ``any``), so edges survive a
    load-save round trip; it refuses to run and names the missing package.
    """

    type_id = "placeholder"
    title = "Missing node type"
    category = "Missing"
    kind = "placeholder"
    has_error_port = False
    missing_type: str = ""
    missing_package: str | None = None

    @classmethod
    def message(cls) -> str:
        if cls.missing_package:
            return f"node type {cls.missing_type!r} is not installed (it comes from the package {cls.missing_package!r})"
        return f"node type {cls.missing_type!r} is not installed (the file does not say which package provides it)"

    async def run(self, ctx):  # pragma: no cover - the validator stops such runs first
        raise RuntimeError(self.message())


class Registry:
    def __init__(self, types: Iterable[type[NodeType]] = ()):
        self._types: dict[str, type[NodeType]] = {}
        self._placeholders: dict[tuple[str, str | None], type[PlaceholderNode]] = {}
        self.load_errors: list[str] = []
        for t in types:
            self.register(t)

    def register(self, node_type: type[NodeType], *, replace: bool = False) -> None:
        node_type.validate_declaration()
        existing = self._types.get(node_type.type_id)
        if existing is not None and existing is not node_type and not replace:
            raise ValueError(f"node type {node_type.type_id!r} is declared twice ({existing.__module__}, {node_type.__module__})")
        self._types[node_type.type_id] = node_type

    def __contains__(self, type_id: str) -> bool:
        return type_id in self._types

    def types(self) -> list[type[NodeType]]:
        return sorted(self._types.values(), key=lambda t: (t.category, t.title, t.type_id))

    def get(self, type_id: str, package: str | None = None) -> type[NodeType]:
        """The type for ``type_id``, or a placeholder naming ``package`` when missing."""
        found = self._types.get(type_id)
        if found is not None:
            return found
        key = (type_id, package)
        ph = self._placeholders.get(key)
        if ph is None:
            ph = type(
                "Placeholder_" + re.sub(r"\W", "_", type_id),  # a file's type may hold any character
                (PlaceholderNode,),
                {"missing_type": type_id, "missing_package": package, "title": f"Missing: {type_id}"},
            )
            self._placeholders[key] = ph
        return ph

    def is_known(self, type_id: str) -> bool:
        return type_id in self._types

    # -- discovery -------------------------------------------------------------

    def discover_builtin(self, package: str = "nodes") -> None:
        pkg = importlib.import_module(package)
        for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
            if info.name.startswith("_"):
                continue
            module = importlib.import_module(f"{package}.{info.name}")
            node_type = getattr(module, "NODE_TYPE", None)
            if node_type is None:
                continue
            self.register(node_type)

    def discover_plugins(self) -> None:
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            try:
                obj = ep.load()
                node_type = getattr(obj, "NODE_TYPE", obj)
                if not (isinstance(node_type, type) and issubclass(node_type, NodeType)):
                    raise TypeError(f"{ep.value} is not a NodeType subclass (nor a module with NODE_TYPE)")
                if ep.dist is not None and node_type.package == NodeType.package:
                    node_type.package = ep.dist.name
                self.register(node_type)
            except Exception as exc:  # a broken plugin must not stop the studio
                msg = f"plugin {ep.name!r} ({ep.value}) failed to load: {exc}"
                log.warning(msg)
                self.load_errors.append(msg)


@lru_cache(maxsize=1)
def default_registry() -> Registry:
    """The process-wide registry: built-in types plus installed plugins."""
    reg = Registry()
    reg.discover_builtin()
    reg.discover_plugins()
    return reg


@lru_cache(maxsize=256)
def package_version(dist: str) -> str | None:
    """The installed version of a distribution, or None. Cached: every save writes the
    versions into ``requires``, and a metadata lookup scans sys.path."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None
