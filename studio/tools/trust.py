"""Trust: a flow's code runs only after the person has reviewed exactly that code.

Why content hashes: a shared flow may come with ``tools/*.py``, may hold ``run_python``
code, or may have a model write Python at run time (prompt injection makes that code
hostile too). Opening or validating a flow never runs any of it. Running does, and only
once the person has trusted it -- the way editors treat a workspace, but tied to what
was reviewed: the store keeps, per folder, the SHA-256 digest of every piece of code the
person was shown (``flow_code.FlowCode.digest``). Change a tool file, the code in a
node, or the flow that feeds a model's code to ``run_python``, and its digest no longer
matches: trust must be given again. A file dropped into a subfolder later is not
trusted either (nothing is trusted by location alone).

The examples shipped with Orchestra are trusted as shipped: ``shipped_code.json`` (in
the installed package, not in any flow folder) lists their digests, so they run out of
the box and stop being trusted the moment their code is edited.

The store is ``trusted_folders.json`` in the user's config folder: outside every flow
folder the file tools can reach (they refuse it explicitly), and hidden from the
sandbox that runs ``run_python`` (``sandbox.py``).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import time
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from studio.core.errors import NodeFailure
from studio.core.userdata.paths import config_dir

_lock = threading.Lock()
VERSION = 2


class FolderNotTrusted(NodeFailure):
    """Code of a flow was asked to run, but the person has not trusted that code."""


def digest(kind: str, content: bytes | str) -> str:
    """The digest trust is recorded under: ``kind`` keeps a tool file and a node's code apart."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    return hashlib.sha256(kind.encode() + b"\0" + data).hexdigest()


def store_path() -> Path:
    return config_dir() / "trusted_folders.json"


def _load() -> list[dict]:
    try:
        data = json.loads(store_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    entries = data.get("folders") if isinstance(data, dict) else None
    out = []
    for e in entries or []:
        # a version-1 entry (a path, no digests) trusts nothing: the person is asked again
        if isinstance(e, dict) and isinstance(e.get("path"), str) and isinstance(e.get("code"), dict):
            out.append(e)
    return out


def _save(entries: list[dict]) -> None:
    path = store_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = json.dumps({"version": VERSION, "folders": sorted(entries, key=lambda e: e["path"])},
                         indent=2, sort_keys=True) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=".trusted-", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(payload)
    os.replace(tmp, path)  # never a half-written list


def _key(folder: Path | str) -> Path:
    return Path(folder).expanduser().resolve()


def _record(folder: Path | str | None) -> dict | None:
    if folder is None:
        return None
    target = str(_key(folder))
    for e in _load():
        if e["path"] == target:
            return e
    return None


@lru_cache(maxsize=1)
def shipped_digests() -> frozenset[str]:
    """Digests of the code in the examples Orchestra ships (trusted as shipped)."""
    try:
        data = json.loads((Path(__file__).with_name("shipped_code.json")).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return frozenset()
    return frozenset(d for d in data.get("digests", []) if isinstance(d, str))


def trusted_folders() -> list[Path]:
    return [Path(e["path"]) for e in _load()]


def trusted_entries() -> list[dict]:
    """Every folder record: path, trusted_at and the reviewed code (digest -> what it was)."""
    return _load()


def is_trusted(folder: Path | str | None) -> bool:
    """Has the person trusted code in this folder at all? (Each piece is checked by digest.)"""
    return _record(folder) is not None


def is_code_trusted(folder: Path | str | None, code_digest: str) -> bool:
    if code_digest in shipped_digests():
        return True
    rec = _record(folder)
    return rec is not None and code_digest in rec["code"]


def trust_code(items: Iterable) -> list[Path]:
    """Record the reviewed ``items`` (``flow_code.FlowCode``) as trusted; returns the folders.

    Items without a folder (an unsaved flow) cannot be trusted: save the flow first.
    """
    by_folder: dict[Path, dict[str, dict]] = {}
    for item in items:
        if item.folder is None:
            raise NodeFailure(f"{item.label} ({item.node}) belongs to a flow that is not saved; save it in a folder, "
                              "then trust it")
        by_folder.setdefault(_key(item.folder), {})[item.digest] = {"kind": item.kind, "label": item.label,
                                                                    "node": item.node}
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    with _lock:
        entries = _load()
        for folder, code in by_folder.items():
            if not folder.is_dir():
                raise NodeFailure(f"{folder} is not a folder")
            rec = next((e for e in entries if e["path"] == str(folder)), None)
            if rec is None:
                rec = {"path": str(folder), "code": {}}
                entries.append(rec)
            rec["code"].update(code)
            rec["trusted_at"] = stamp
        _save(entries)
    return sorted(by_folder)


def trust(folder: Path | str) -> Path:
    """Trust the code now in ``folder``: its flows' code and its ``tools/*.py``."""
    from .flow_code import folder_code

    target = _key(folder)
    if not target.is_dir():
        raise NodeFailure(f"{target} is not a folder")
    items = folder_code(target)
    if items:
        trust_code(items)
    else:
        with _lock:
            entries = _load()
            if not any(e["path"] == str(target) for e in entries):
                entries.append({"path": str(target), "code": {}, "trusted_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
                _save(entries)
    return target


def untrust(folder: Path | str) -> bool:
    """Forget every trust given in ``folder``; False when there was none."""
    target = str(_key(folder))
    with _lock:
        entries = _load()
        kept = [e for e in entries if e["path"] != target]
        if len(kept) == len(entries):
            return False
        _save(kept)
    return True


def refusal(what: str, folder: Path | str | None) -> str:
    where = str(folder) if folder is not None else "an unsaved flow"
    how = (f"review it with `orchestra trust {where}` (the studio asks when you run the flow)"
           if folder is not None else "save the flow in a folder, then trust it")
    return f"{what} is not trusted ({where}), so none of it ran. To let it run, {how}."


def require_trust(folder: Path | str | None, what: str, code_digest: str) -> None:
    if not is_code_trusted(folder, code_digest):
        raise FolderNotTrusted(refusal(what, folder))


def require_python(folder: Path | str | None, code: str) -> None:
    """The run-time check of run_python, whatever asked for it (Tool node, agent, plugin).

    The code runs when its own digest was trusted, or when the person trusted a flow in
    this folder whose run_python code a model writes at run time (then no digest of the
    code can exist in advance). ``orchestra run`` and the studio check every node of the
    flow before the run starts; this is the backstop for every other way in.
    """
    if is_code_trusted(folder, digest("python", code)):
        return
    rec = _record(folder)
    if rec is not None and any(isinstance(v, dict) and v.get("kind") == "model_python" for v in rec["code"].values()):
        return
    if folder is not None and _shipped_model_code_in(_key(folder)):
        return
    raise FolderNotTrusted(refusal("run_python code", folder))


def _shipped_model_code_in(folder: Path) -> bool:
    try:
        stamp = tuple(sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in folder.glob("*.flow.json")))
    except OSError:
        return False
    return _shipped_model_code_cached(folder, stamp)


@lru_cache(maxsize=64)
def _shipped_model_code_cached(folder: Path, stamp: tuple) -> bool:
    from .flow_code import folder_code

    shipped = shipped_digests()
    return any(c.kind == "model_python" and c.digest in shipped for c in folder_code(folder, tools=False))
