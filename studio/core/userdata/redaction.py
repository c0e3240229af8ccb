"""What a trace, a log or a terminal must never show, and how it is hidden.

One place decides which values are secret (the ones a caller names plus every key this
process has learnt of) and in which encodings they are searched for, so the run's trace
writer, the terminal run view and the studio all hide the same things the same way.
The set is refreshed only when this process learns a new key (``secrets_version``):
redacting an event costs one integer compare plus one substring search per form.
"""

from __future__ import annotations

import json
from typing import Iterable

from studio.core.userdata.credentials import known_secrets, secrets_version

MASK = "[redacted]"
MIN_LEN = 6  # shorter values would redact ordinary words


def secret_forms(value: str) -> set[str]:
    """The spellings of one secret that may appear in text: raw and JSON-escaped."""
    return {value, json.dumps(value, ensure_ascii=False)[1:-1]}


class Redactor:
    """Replaces every known secret (in every form) by ``[redacted]``."""

    def __init__(self, extra: Iterable[str] = ()) -> None:
        self._extra = frozenset(s for s in extra if s and len(s) >= MIN_LEN)
        self._version = -1
        self._texts: list[str] = []
        self._bytes: list[bytes] = []
        self._values: frozenset[str] = frozenset()

    def _refresh(self) -> None:
        self._version = secrets_version()
        found = set(self._extra)
        try:
            found |= known_secrets(include_keyring=False)
        except Exception:  # redaction must never stop a run; the given secrets still apply
            pass
        self._values = frozenset(found)
        forms: set[str] = set()
        for s in found:
            forms |= secret_forms(s)
        self._texts = sorted(forms, key=len, reverse=True)
        self._bytes = [f.encode("utf-8", "surrogatepass") for f in self._texts]

    def _current(self) -> None:
        if secrets_version() != self._version:
            self._refresh()

    def values(self) -> frozenset[str]:
        """The secret values themselves (for ``credentials.redact`` on JSON data)."""
        self._current()
        return self._values

    def bytes(self, line: bytes) -> bytes:
        self._current()
        for s in self._bytes:
            if s in line:
                line = line.replace(s, MASK.encode())
        return line

    def text(self, text: str) -> str:
        self._current()
        for s in self._texts:
            if s in text:
                text = text.replace(s, MASK)
        return text
