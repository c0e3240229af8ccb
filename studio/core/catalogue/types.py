"""Port types, the lossless coercions between them, and the SKIP marker.

An edge is legal when both ends have the same type, when either end is ``any``, or
through one of the declared lossless coercions (number -> text, json/list -> text).
Keeping the table here means the canvas, the validator and the executor agree on it.
"""

from __future__ import annotations

import json
from enum import Enum
from typing import Any


class PortType(str, Enum):
    TEXT = "text"
    NUMBER = "number"
    BOOLEAN = "boolean"
    JSON = "json"
    LIST = "list"
    MESSAGES = "messages"
    ANY = "any"

    def __str__(self) -> str:  # readable in messages: "text", not "PortType.TEXT"
        return self.value


# (source type, target type) pairs that convert without losing information.
COERCIONS: frozenset[tuple[PortType, PortType]] = frozenset(
    {
        (PortType.NUMBER, PortType.TEXT),
        (PortType.JSON, PortType.TEXT),
        (PortType.LIST, PortType.TEXT),
        (PortType.LIST, PortType.JSON),
    }
)


def can_connect(source: PortType, target: PortType) -> bool:
    """True when a value of type ``source`` may flow into a port of type ``target``."""
    return (
        source == target
        or PortType.ANY in (source, target)
        or (source, target) in COERCIONS
    )


def incompatibility(source: PortType, target: PortType) -> str | None:
    """Why ``source`` cannot feed ``target``, or None when it can."""
    if can_connect(source, target):
        return None
    options = sorted(t.value for t in PortType if can_connect(source, t))
    return f"a {source} output cannot feed a {target} input (it can feed: {', '.join(options)})"


def coerce(value: Any, source: PortType, target: PortType) -> Any:
    """Apply the lossless coercion from ``source`` to ``target`` (identity otherwise)."""
    if value is SKIP or source == target or target == PortType.ANY:
        return value
    if target == PortType.TEXT and source in (PortType.NUMBER, PortType.JSON, PortType.LIST):
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return repr(value) if isinstance(value, float) else str(value)
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


class _Skip:
    """The value a node emits on a route that was not taken.

    A node with SKIP on a required input is skipped and SKIP propagates; a Merge takes
    its first non-SKIP input. A singleton so ``value is SKIP`` is the test.
    """

    _instance: "_Skip | None" = None

    def __new__(cls) -> "_Skip":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "SKIP"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self):
        return (_Skip, ())


SKIP = _Skip()


def json_kind(value: Any) -> str:
    """A value's JSON type in words, for messages ("text", "a list", "null", ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
