"""The results file: one JSON line per row, written only by the driver, resumable.

Exactly once across crashes: each record is one ``write`` of one complete line to a file
opened for appending, unbuffered, so a SIGKILL leaves every finished row on disk and at
most one partial last line. ``--resume`` reads the file, cuts off such a partial line,
and notes which rows are done in a bitmap (one bit per row: a million rows cost 125 KB,
not a Python set's 60 MB) so the readers skip them. A row is written only when its run
has ended; rows still running at a crash or Ctrl-C were never written and run again.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable, Iterator

import orjson

from studio.core.running.events import json_line
from studio.core.userdata.redaction import Redactor


class ResultsError(ValueError):
    """The results file cannot be used (exists without --resume, or is not ours)."""


class RowSet:
    """Which row numbers are done: a growable bitmap."""

    def __init__(self) -> None:
        self._bits = bytearray()
        self.count = 0

    def add(self, index: int) -> None:
        byte, bit = divmod(index, 8)
        if byte >= len(self._bits):
            self._bits.extend(bytes(max(byte + 1 - len(self._bits), len(self._bits))))
        mask = 1 << bit
        if not self._bits[byte] & mask:
            self._bits[byte] |= mask
            self.count += 1

    def __contains__(self, index: int) -> bool:
        byte, bit = divmod(index, 8)
        return byte < len(self._bits) and bool(self._bits[byte] & (1 << bit))


def read_records(path: Path) -> Iterator[dict[str, Any]]:
    """Every complete record of a results file (a partial last line is not one)."""
    with open(path, "rb") as fh:
        for line in fh:
            if not line.endswith(b"\n"):
                return
            if line.strip():
                try:
                    rec = orjson.loads(line)
                except orjson.JSONDecodeError:  # a lone surrogate or a huge integer: json reads them
                    try:
                        rec = json.loads(line)
                    except ValueError:
                        continue
                if isinstance(rec, dict) and isinstance(rec.get("row"), int):
                    yield rec


def _cut_partial_line(path: Path) -> None:
    """Drop bytes after the last newline: a line cut short by a crash."""
    size = path.stat().st_size
    if size == 0:
        return
    with open(path, "rb+") as fh:
        end = size
        chunk = 65536
        while end > 0:
            start = max(0, end - chunk)
            fh.seek(start)
            data = fh.read(end - start)
            nl = data.rfind(b"\n")
            if nl >= 0:
                keep = start + nl + 1
                if keep != size:
                    fh.truncate(keep)
                return
            end = start
        fh.truncate(0)


class ResultsWriter:
    """Appends records; knows which rows the file already holds."""

    def __init__(self, path: str | Path, resume: bool = False, secrets=(),
                 on_existing: Callable[[dict[str, Any]], None] | None = None):
        self.path = Path(path)
        self.done = RowSet()
        self._redactor = Redactor(secrets)
        if self.path.exists() and self.path.stat().st_size > 0:
            if not resume:
                raise ResultsError(f"{self.path} already holds results: pass --resume to carry on, "
                                   "or choose another --out")
            _cut_partial_line(self.path)
            for rec in read_records(self.path):
                if rec["row"] not in self.done:
                    self.done.add(rec["row"])
                    if on_existing is not None:
                        on_existing(rec)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def write(self, record: dict[str, Any]) -> None:
        """One record, one line, one write (never a row twice)."""
        index = record["row"]
        if index in self.done:
            return
        line = self._redactor.bytes(json_line(record))  # what orjson refuses (a 2**70) takes the careful path
        view = memoryview(line)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]
        self.done.add(index)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> "ResultsWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
