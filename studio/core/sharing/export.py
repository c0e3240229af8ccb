"""Export for sharing: one self-contained flow file that is safe to send.

* Subflows are embedded (the Subflow node's ``flow`` parameter carries a copy, nested
  subflows included), so the receiver needs nothing but the file.
* ``requires`` names every node type and the package (with version) that provides it,
  so a receiver learns what is missing before anything runs.
* Files the flow reads beside it (the fixed ``path``/``pattern`` of its file tools, e.g.
  a docs folder it searches) cannot travel inside a JSON file; the export lists them as
  ``requires.files`` and ``orchestra export`` / File → Export say to send them along.
* Secrets are impossible by construction: the format has no field for credentials
  (a flow names a stored secret as ``{{ secrets.NAME }}``), and the export refuses to
  write a file in which a secret appears anywhere -- a key this process knows in any
  encoding, or anything key-shaped whether known or not (``secret_scan``: provider key
  formats, bearer tokens, high-entropy values under secret names) -- naming the JSON path.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Iterable

from studio.core.errors import OrchestraError
from studio.core.document.flowfile import dumps, to_document
from studio.core.document.model import FlowModel

MAX_DEPTH = 16


class ExportError(OrchestraError):
    pass



def export_document(model: FlowModel, secrets: Iterable[str] = (), description: str | None = None) -> dict[str, Any]:
    doc = to_document(model)
    if description is not None:
        doc["description"] = description
    doc = copy.deepcopy(doc)
    _embed_subflows(doc, model.base_dir, depth=0, seen=())
    files = files_read(model)
    if files:
        doc.setdefault("requires", {})["files"] = files
    _refuse_secrets(doc, [s for s in secrets if s and len(s) >= 6])
    from studio.core.userdata.secret_scan import scan_document

    findings = scan_document(doc, [s for s in secrets if s and len(s) >= 6])
    if findings:
        where = "; ".join(f.describe() for f in findings[:5]) + (" …" if len(findings) > 5 else "")
        raise ExportError(f"not exported: {where}. Secrets never travel in a flow: move each into a named secret "
                          "(`orchestra secrets set NAME`) and write {{ secrets.NAME }} in its place, or remove it")
    return doc


FILE_TOOLS = {"read_file": "path", "list_files": "pattern", "search_files": "pattern"}


def files_read(model: FlowModel) -> list[str]:
    """Folder-relative paths or globs that the flow reads with file tools: a Tool node's fixed
    arguments, and the tool calls an Agent's mock replies make (the calls its author wrote
    down, so its mock run works for the receiver too).

    A path that arrives on a wire at run time, or that a live model picks, cannot be known
    here; those are left out.
    """
    found: set[str] = set()

    def note(tool: object, args: object) -> None:
        key = FILE_TOOLS.get(tool) if isinstance(tool, str) else None
        value = args.get(key) if key and isinstance(args, dict) else None
        if isinstance(value, str) and value.strip() not in ("", "*"):
            found.add(value.strip())

    def mock_calls(value: object):
        if isinstance(value, list):
            for v in value:
                yield from mock_calls(v)
        elif isinstance(value, dict):
            for call in value.get("tool_calls") or ():
                if isinstance(call, dict):
                    yield call.get("name"), call.get("arguments")

    for nid, node in model.nodes.items():
        if node.type == "tool":
            params = model.params(nid)
            note(params["tool"], params["arguments"])
        elif node.type == "agent":
            params = model.params(nid)
            for tool, args in mock_calls(params["mock_responses"]):
                if tool in params["tools"]:
                    note(tool, args)
    return sorted(found)


def files_note(model: FlowModel) -> str:
    """What to tell the person exporting a flow that reads files beside it ('' when none)."""
    files = files_read(model)
    if not files:
        return ""
    return ("this flow reads files beside it: " + ", ".join(files)
            + " -- send them along, in the same place relative to the flow file")


def export_text(model: FlowModel, secrets: Iterable[str] = (), description: str | None = None) -> str:
    return dumps(export_document(model, secrets, description))


def export_for_sharing(model: FlowModel, description: str | None = None) -> str:
    """The text ``orchestra export`` and the studio's File → Export write: ``export_text``
    checked against every API key this process knows (environment and keyring).

    The keyring may block (a locked wallet), so the studio calls this off the GUI thread.
    """
    try:
        from studio.core.userdata.credentials import known_secrets

        secrets = known_secrets()
    except Exception:  # no keyring here: the environment's keys were still not found
        secrets = frozenset()
    return export_text(model, secrets, description)


def _embed_subflows(doc: dict[str, Any], base_dir: Path | None, depth: int, seen: tuple[str, ...]) -> None:
    from studio.core.document.flowfile import load_flow

    for node in doc.get("nodes", ()):
        if node.get("type") != "subflow":
            continue
        params = node.setdefault("params", {})
        if isinstance(params.get("flow"), dict):
            from studio.core.document.flowfile import model_from_document

            inner = params["flow"]
            _embed_subflows(inner, base_dir, depth + 1, seen)
            _merge_requires(doc, model_from_document(inner))
            continue
        raw = params.get("path")
        if not isinstance(raw, str) or not raw:
            raise ExportError(f"subflow node {node.get('id')!r} names no file")
        path = Path(raw) if Path(raw).is_absolute() or base_dir is None else base_dir / raw
        key = str(path.resolve())
        if key in seen or depth >= MAX_DEPTH:
            raise ExportError(f"subflow {raw!r} includes itself (through {' -> '.join(Path(s).name for s in seen)})")
        sub = load_flow(path)
        inner = to_document(sub)
        inner.pop("requires", None)  # the outer file's requires covers every type inside
        _embed_subflows(inner, sub.base_dir, depth + 1, (*seen, key))
        params["flow"] = inner
        _merge_requires(doc, sub)


def _merge_requires(doc: dict[str, Any], sub: FlowModel) -> None:
    from studio.core.document.flowfile import requires_of

    req = doc.setdefault("requires", {"node_types": {}, "packages": {}})
    inner = requires_of(sub)
    req.setdefault("node_types", {}).update(inner.get("node_types", {}))
    req.setdefault("packages", {}).update(inner.get("packages", {}))


def _refuse_secrets(doc: Any, secrets: list[str], path: str = "$") -> None:
    if not secrets:
        return
    stack: list[tuple[Any, str]] = [(doc, path)]
    while stack:
        value, where = stack.pop()
        if isinstance(value, str):
            for s in secrets:
                if s in value:
                    raise ExportError(f"an API key appears at {where}; remove it (keys belong in the keyring, never in a flow)")
        elif isinstance(value, dict):
            stack.extend((v, f"{where}.{k}") for k, v in value.items())
            for k in value:
                if any(s in str(k) for s in secrets):
                    raise ExportError(f"an API key appears as a key at {where}")
        elif isinstance(value, list):
            stack.extend((v, f"{where}[{i}]") for i, v in enumerate(value))
