"""Autosave to a recovery file, and finding those left behind by a crash.

While a flow has unsaved changes its current state is written every few seconds
(atomically) to ``<data dir>/recovery/<key>.flow.json`` with a small sidecar naming
the original file. A clean close or a save removes it, so any recovery file found at
start-up means the studio did not end cleanly, and the user is offered it back.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from studio.core.document import flowfile
from studio.core.document.model import FlowModel


def recovery_dir() -> Path:
    override = os.environ.get("ORCHESTRA_RECOVERY_DIR")
    if override:
        return Path(override)
    from studio.core.userdata.paths import data_dir

    return data_dir() / "recovery"


@dataclass
class Recovered:
    flow_file: Path  # the recovery copy
    original: Path | None  # what the user was editing (None: never saved)
    saved_at: float


class Autosaver:
    def __init__(self, session: str | None = None, folder: Path | None = None):
        self.folder = Path(folder) if folder is not None else recovery_dir()
        self.session = session or f"{os.getpid()}-{int(time.time() * 1000)}"

    def _key(self, original: Path | None) -> str:
        base = str(original.resolve()) if original is not None else f"untitled-{self.session}"
        return hashlib.sha1(base.encode()).hexdigest()[:16]

    def paths(self, original: Path | None) -> tuple[Path, Path]:
        key = self._key(original)
        return self.folder / f"{key}.flow.json", self.folder / f"{key}.json"

    def save(self, model: FlowModel, original: Path | None) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        flow, meta = self.paths(original)
        flowfile.atomic_write(flow, flowfile.dumps(model).encode("utf-8"))
        info = {"original": str(original) if original else None, "saved_at": time.time(), "pid": os.getpid()}
        flowfile.atomic_write(meta, json.dumps(info).encode("utf-8"))
        return flow

    def discard(self, original: Path | None) -> None:
        for p in self.paths(original):
            try:
                p.unlink()
            except FileNotFoundError:
                pass


def find_recoverable(folder: Path | None = None) -> list[Recovered]:
    folder = Path(folder) if folder is not None else recovery_dir()
    out = []
    if not folder.is_dir():
        return out
    for meta in sorted(folder.glob("*.json")):
        if meta.name.endswith(".flow.json"):
            continue
        flow = meta.with_name(meta.name[:-5] + ".flow.json")
        if not flow.exists():
            continue
        try:
            info = json.loads(meta.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        original = Path(info["original"]) if info.get("original") else None
        out.append(Recovered(flow, original, float(info.get("saved_at", 0))))
    return out


def discard_recovered(rec: Recovered) -> None:
    for p in (rec.flow_file, rec.flow_file.with_name(rec.flow_file.name[: -len(".flow.json")] + ".json")):
        try:
            p.unlink()
        except FileNotFoundError:
            pass
