"""Streaming dataset readers: JSONL, CSV and Parquet, one row at a time.

Why streaming: a batch may run over millions of rows, so a reader holds one line (JSONL,
CSV) or one record batch of a few hundred rows (Parquet, through pyarrow) at a time and
memory stays flat however long the file is.

A row is numbered by its 0-based position among the file's records (blank JSONL lines
are not records; the CSV header is not one). A record that cannot be read -- a JSONL line
that is not a JSON object, a CSV line with more cells than the header -- is still a row:
it comes back as a :class:`BadRow`, so the batch records the failure and goes on.
"""

from __future__ import annotations

import csv
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

KINDS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet"}
PARQUET_BATCH = 512  # rows decoded at once: small enough to stay flat, big enough to be fast
SCHEMA_SAMPLE = 100  # JSONL rows read to learn the columns


class DatasetError(ValueError):
    """The dataset cannot be read at all (missing, unknown kind, no header...)."""


@dataclass
class BadRow:
    """A record that could not be read; the batch records it as a failed row."""

    error: str


def _csv_field_limit() -> None:
    # a cell may hold a whole document; the default 128 KiB limit would stop the batch
    try:
        csv.field_size_limit(sys.maxsize)
    except OverflowError:  # pragma: no cover - 32-bit platforms
        csv.field_size_limit(2**31 - 1)


class Dataset:
    """One data file; iterate :meth:`rows` as often as needed (each pass re-reads)."""

    def __init__(self, path: str | Path, kind: str | None = None):
        self.path = Path(path)
        self.kind = kind or KINDS.get(self.path.suffix.lower())
        if self.kind is None:
            raise DatasetError(f"{self.path}: unknown data file kind {self.path.suffix or '(no suffix)'!r}; "
                               "use .jsonl, .csv or .parquet")
        if not self.path.is_file():
            raise DatasetError(f"{self.path}: {'not a file' if self.path.exists() else 'no such file'}")
        if self.kind == "parquet":
            self._parquet()  # fail now, with a clear message, if pyarrow or the file is wrong

    # -- what the file holds ----------------------------------------------------------

    def columns(self) -> list[str]:
        """Column names: the CSV header, the Parquet schema, or the keys of JSONL's first rows."""
        if self.kind == "csv":
            with self._open_text() as fh:
                header = next(csv.reader(fh, dialect=self._dialect()), None)
            if not header:
                raise DatasetError(f"{self.path}: the CSV file has no header line")
            return [h.strip() for h in header]
        if self.kind == "parquet":
            return list(self._parquet().schema_arrow.names)
        seen: dict[str, None] = {}
        for n, (_, row) in enumerate(self.rows()):
            if n >= SCHEMA_SAMPLE:
                break
            if isinstance(row, dict):
                seen.update(dict.fromkeys(row))
        return list(seen)

    def head(self, n: int = 10) -> list[tuple[int, dict[str, Any] | BadRow]]:
        out = []
        for item in self.rows():
            if len(out) >= n:
                break
            out.append(item)
        return out

    def count(self) -> int:
        """How many rows (Parquet: from the footer; text files: one fast pass over the bytes)."""
        if self.kind == "parquet":
            return int(self._parquet().metadata.num_rows)
        if self.kind == "csv":
            return sum(1 for _ in self.rows())
        n = 0
        with open(self.path, "rb") as fh:
            for line in fh:
                if line.strip():
                    n += 1
        return n

    # -- rows -------------------------------------------------------------------------

    def rows(self, start: int = 0) -> Iterator[tuple[int, dict[str, Any] | BadRow]]:
        """(row number, values) from row ``start`` on; a record that cannot be read is a BadRow."""
        reader = {"jsonl": self._jsonl, "csv": self._csv, "parquet": self._parquet_rows}[self.kind]
        return reader(start)

    def _jsonl(self, start: int) -> Iterator[tuple[int, dict[str, Any] | BadRow]]:
        index = -1
        with open(self.path, "rb") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                index += 1
                if index < start:
                    continue
                try:
                    value = json.loads(line)
                except ValueError as exc:
                    yield index, BadRow(f"line {lineno} is not valid JSON: {exc}")
                    continue
                if not isinstance(value, dict):
                    yield index, BadRow(f"line {lineno} is a JSON {type(value).__name__}, not an object of column: value")
                    continue
                yield index, value

    def _dialect(self):
        return "excel-tab" if self.path.suffix.lower() == ".tsv" else "excel"

    def _open_text(self):
        # utf-8-sig: spreadsheets often start a CSV with a byte-order mark
        return open(self.path, "r", encoding="utf-8-sig", errors="replace", newline="")

    def _csv(self, start: int) -> Iterator[tuple[int, dict[str, Any] | BadRow]]:
        _csv_field_limit()
        with self._open_text() as fh:
            reader = csv.reader(fh, dialect=self._dialect())
            header = next(reader, None)
            if not header:
                raise DatasetError(f"{self.path}: the CSV file has no header line")
            names = [h.strip() for h in header]
            index = -1
            try:
                for cells in reader:
                    if not cells:
                        continue  # a blank line
                    index += 1
                    if index < start:
                        continue
                    if len(cells) > len(names):
                        yield index, BadRow(f"line {reader.line_num} has {len(cells)} cells but the header has {len(names)}")
                        continue
                    yield index, dict(zip(names, cells))  # a short line: the missing cells are absent
            except csv.Error as exc:
                yield index + 1, BadRow(f"line {reader.line_num}: {exc}")

    def _parquet(self):
        try:
            import pyarrow.parquet as pq
        except ImportError as exc:  # pragma: no cover - pyarrow is a dependency
            raise DatasetError("reading Parquet needs pyarrow: pip install pyarrow") from exc
        try:
            return pq.ParquetFile(self.path)
        except Exception as exc:  # pyarrow raises ArrowInvalid, OSError...
            raise DatasetError(f"{self.path}: not a readable Parquet file: {exc}") from exc

    def _parquet_rows(self, start: int) -> Iterator[tuple[int, dict[str, Any] | BadRow]]:
        pf = self._parquet()
        index = 0
        for group in range(pf.num_row_groups):
            n = pf.metadata.row_group(group).num_rows
            if index + n <= start:  # skip whole row groups without decoding them
                index += n
                continue
            for batch in pf.iter_batches(batch_size=PARQUET_BATCH, row_groups=[group]):
                for values in batch.to_pylist():
                    if index >= start:
                        yield index, values
                    index += 1


def open_dataset(path: str | Path) -> Dataset:
    return Dataset(path)
