"""Trusted folders: tool code kept beside a flow runs only after the user trusts the folder.

Why: a shared flow may come with ``tools/*.py``. Opening or validating it must never run
that code (ports are read from the file's literal PARAMETERS, not by importing it); only
running a node that calls such a tool does, and only once the user has said "I trust
this folder" -- the way editors treat a workspace. The list lives in the user's config
folder, outside any flow, so a flow cannot trust itself. Trusting a folder trusts its
subfolders.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from pathlib import Path

from studio.core.errors import NodeFailure
from studio.core.userdata.paths import config_dir

_lock = threading.Lock()


class FolderNotTrusted(NodeFailure):
    """Tool code beside a flow was asked for, but its folder is not trusted."""


def store_path() -> Path:
    return config_dir() / "trusted_folders.json"


def _load() -> list[dict]:
    try:
        data = json.loads(store_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    entries = data.get("folders") if isinstance(data, dict) else None
    return [e for e in entries or [] if isinstance(e, dict) and isinstance(e.get("path"), str)]


def _save(entries: list[dict]) -> None:
    path = store_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = json.dumps({"folders": sorted(entries, key=lambda e: e["path"])}, indent=2, sort_keys=True) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=".trusted-", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(payload)
    os.replace(tmp, path)  # never a half-written list


def _key(folder: Path | str) -> Path:
    return Path(folder).expanduser().resolve()


def trusted_folders() -> list[Path]:
    return [Path(e["path"]) for e in _load()]


def is_trusted(folder: Path | str | None) -> bool:
    if folder is None:
        return False
    target = _key(folder)
    return any(target == t or target.is_relative_to(t) for t in trusted_folders())


def trust(folder: Path | str) -> Path:
    """Trust ``folder`` (and its subfolders) from now on; returns the resolved path."""
    target = _key(folder)
    if not target.is_dir():
        raise NodeFailure(f"{target} is not a folder")
    with _lock:
        entries = [e for e in _load() if Path(e["path"]) != target]
        entries.append({"path": str(target), "trusted_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
        _save(entries)
    return target


def untrust(folder: Path | str) -> bool:
    """Stop trusting ``folder``; False when it was not in the list."""
    target = _key(folder)
    with _lock:
        entries = _load()
        kept = [e for e in entries if Path(e["path"]) != target]
        if len(kept) == len(entries):
            return False
        _save(kept)
    return True


def require_trust(folder: Path | str, what: str) -> None:
    if not is_trusted(folder):
        raise FolderNotTrusted(
            f"{what} is code kept in {folder}, which you have not trusted. Review it, then trust the folder "
            "(the studio asks when you run the flow) before it can run."
        )
