"""Run events and their JSON form: what the studio shows live and the trace keeps.

Every event names its node and scope path, e.g. (("research", 3), ("fix", 2)) for item 3
of fan-out ``research``, iteration 2 of loop ``fix``. ``to_json`` is the one place values
become JSON (SKIP becomes {"$skip": true}; anything JSON cannot hold becomes its repr),
so a trace replays into events equal to the live ones.
"""

from __future__ import annotations

import json
import math

import orjson
from typing import Any, Iterable

from studio.core.catalogue.types import SKIP

# event types
RUN_STARTED = "run_started"
NODE_STARTED = "node_started"
NODE_PROGRESS = "node_progress"
NODE_FINISHED = "node_finished"
NODE_SKIPPED = "node_skipped"
NODE_FAILED = "node_failed"
APPROVAL_REQUESTED = "approval_requested"
APPROVAL_RESOLVED = "approval_resolved"
RUN_FINISHED = "run_finished"
RUN_FAILED = "run_failed"
RUN_CANCELLED = "run_cancelled"
END_TYPES = frozenset({RUN_FINISHED, RUN_FAILED, RUN_CANCELLED})

_SKIP_JSON = {"$skip": True}


class Event:
    __slots__ = ("type", "node", "scope", "t", "data")

    def __init__(self, type: str, node: str | None, scope: tuple, t: float, data: dict[str, Any]):
        self.type = type
        self.node = node
        self.scope = scope
        self.t = t
        self.data = data

    def to_json(self) -> dict[str, Any]:
        """The event as the trace holds it (plain JSON types; SKIP as {"$skip": true})."""
        return orjson.loads(encode_event(self))

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "Event":
        scope = tuple((s, i) for s, i in doc.get("scope", ()))
        return cls(doc["type"], doc.get("node"), scope, doc.get("t", 0.0), unjson(doc.get("data", {})))

    def __repr__(self) -> str:
        where = "/".join(f"{s}[{i}]" for s, i in self.scope)
        return f"<{self.type} {where + '/' if where else ''}{self.node or ''} t={self.t:.4f}>"


def jsonable(value: Any, _depth: int = 0) -> Any:
    """A JSON-safe copy of ``value`` (SKIP marked, non-finite floats and objects as text)."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if value is SKIP:
        return dict(_SKIP_JSON)
    if _depth > 60:
        return "<nested too deeply>"
    if isinstance(value, dict):
        return {str(k): jsonable(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v, _depth + 1) for v in value]
    if isinstance(value, BaseException):
        return f"{type(value).__name__}: {value}"
    return repr(value)


def unjson(value: Any) -> Any:
    if isinstance(value, dict):
        if value == _SKIP_JSON:
            return SKIP
        return {k: unjson(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unjson(v) for v in value]
    return value


def _default(value: Any) -> Any:
    if value is SKIP:
        return _SKIP_JSON
    if isinstance(value, BaseException):
        return f"{type(value).__name__}: {value}"
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    return repr(value)


# Each encoder makes one orjson call on its hot path and sends anything else to
# ``_encode_again``. OPT_NON_STR_KEYS makes orjson take its slow path for every dict
# (3x the cost of an event), so it is not in the first try: a dict with a non-text key
# (a tool's {1: ...}) is refused in C at once and encoded again with it -- the same
# bytes either way. What orjson still refuses (a cycle, an integer beyond 64 bits, text
# that is not valid Unicode, nesting deeper than it goes) takes the careful path
# through ``jsonable``.
_LINE = orjson.OPT_APPEND_NEWLINE
_SORTED = orjson.OPT_SORT_KEYS
_REFUSED = (orjson.JSONEncodeError, TypeError, RecursionError)


def _encode_again(value: Any, option: int) -> bytes:
    try:
        return orjson.dumps(value, default=_default, option=option | orjson.OPT_NON_STR_KEYS)
    except _REFUSED:
        pass
    end = "\n" if option & _LINE else ""
    safe = jsonable(value)
    sort = bool(option & _SORTED)
    text = json.dumps(safe, ensure_ascii=False, separators=(",", ":"), sort_keys=sort, default=repr)
    try:
        return (text + end).encode("utf-8")
    except UnicodeEncodeError:
        if sort:  # a hash input: the same bytes for the same text, escapes or not
            return (text + end).encode("utf-8", "surrogatepass")
        # a lone surrogate (text from a tool or a provider that is not valid Unicode):
        # kept as a \\udXXX escape, so the text is valid UTF-8 and reads back unchanged
        return (json.dumps(safe, ensure_ascii=True, separators=(",", ":"), default=repr) + end).encode("ascii")


def stable_json(value: Any) -> bytes:
    """Compact JSON with sorted keys, for hashing (cache keys): the same value gives the
    same bytes."""
    try:
        return orjson.dumps(value, default=_default, option=_SORTED)
    except _REFUSED:
        return _encode_again(value, _SORTED)


def json_bytes(value: Any, *, line: bool = False) -> bytes:
    """Compact JSON for any value a run produces (with a newline when ``line``): the one
    encoding of the trace, the run host's pipe and the server's bodies and streams.
    orjson takes about 1 us where the standard library takes 7."""
    option = _LINE if line else 0
    try:
        return orjson.dumps(value, default=_default, option=option)
    except _REFUSED:
        return _encode_again(value, option)


def json_line(value: Any) -> bytes:
    """``json_bytes`` as one line of a JSON-lines stream (newline included)."""
    try:
        return orjson.dumps(value, default=_default, option=_LINE)
    except _REFUSED:
        return _encode_again(value, _LINE)


def encode_event(event: Event) -> bytes:
    """One JSON line (with newline) for the trace: the hot path of every run."""
    doc = {"type": event.type, "node": event.node, "scope": event.scope, "t": round(event.t, 6), "data": event.data}
    try:
        return orjson.dumps(doc, default=_default, option=_LINE)
    except _REFUSED:
        return _encode_again(doc, _LINE)


def dumps_event(event: Event) -> str:
    return encode_event(event).decode("utf-8").rstrip("\n")


class TraceUnreadable(ValueError):
    """A line other than the last of a trace is not an event."""


def read_trace(lines: Iterable[str | bytes]) -> list[Event]:
    """Events from the lines of a JSON-lines trace (blank lines ignored).

    A torn last line -- a process killed, or a disk full, in the middle of writing it --
    is skipped: the events before it are the record. A broken line anywhere else raises
    TraceUnreadable naming its line number.
    """
    out = []
    broken: tuple[int, str] | None = None
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line:
            continue
        if broken is not None:
            raise TraceUnreadable(f"line {broken[0]} of the trace is not an event: {broken[1]}")
        try:
            doc = json.loads(line)
            out.append(Event.from_json(doc))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            broken = (number, f"{type(exc).__name__}: {exc}"[:200])
    return out
