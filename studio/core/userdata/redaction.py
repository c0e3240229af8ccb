"""What a trace, a log or a terminal must never show, and how it is hidden.

One place decides which values are secret (the ones a caller names plus every key and
named secret this process has learnt of) and in which encodings they are searched for,
so the run's trace writer, the terminal run view, the studio and ``credentials.redact``
all hide the same things the same way. The encodings are the ones a provider, a proxy or
a tool really echoes a secret back in: raw, JSON-escaped, URL-encoded, hex, and base64
(standard and URL-safe, at each of the three alignments a secret can have inside a
longer base64 text -- so ``Basic base64(user:token)`` is caught too).
The set is refreshed only when this process learns a new key (``secrets_version``):
redacting an event costs one integer compare plus one substring search per form.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import urllib.parse
from typing import Iterable

from studio.core.userdata.credentials import known_secrets, secrets_version

MASK = "[redacted]"
_MASK_BYTES = MASK.encode()
MIN_LEN = 6  # shorter values would redact ordinary words


@functools.lru_cache(maxsize=256)
def secret_forms(value: str) -> frozenset[str]:
    """The spellings of one secret that may appear in text: raw, JSON-escaped, URL-encoded,
    hex (both cases) and base64 (standard and URL-safe, each alignment).

    Cached: every run's trace writer builds a Redactor, and a server passes its token to
    each of them; working the spellings out again cost ~20 us per run."""
    forms = {value, json.dumps(value, ensure_ascii=False)[1:-1], json.dumps(value)[1:-1],
             urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value, safe="")}
    raw = value.encode("utf-8", "surrogatepass")
    hexed = binascii.hexlify(raw).decode()
    forms |= {hexed, hexed.upper()}
    for i in range(3):
        part = raw[i:]
        part = part[: len(part) // 3 * 3]
        if len(part) < MIN_LEN:
            continue
        b64 = base64.b64encode(part).decode()
        forms |= {b64, base64.urlsafe_b64encode(part).decode()}
    return frozenset(f for f in forms if len(f) >= MIN_LEN)


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
        if secrets_version() != self._version:  # _current(), inlined: once per trace line
            self._refresh()
        for s in self._bytes:
            if s in line:
                line = line.replace(s, _MASK_BYTES)
        return line

    def text(self, text: str) -> str:
        self._current()
        for s in self._texts:
            if s in text:
                text = text.replace(s, MASK)
        return text
