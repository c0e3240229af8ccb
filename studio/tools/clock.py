"""now: the current date and time, in a named time zone.

Why a tool: models do not know today's date; agents that schedule, compare deadlines or
stamp reports need it from the machine, in the user's zone when asked.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from studio.core.errors import NodeFailure

from .base import Tool, ToolContext


def _now(args: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
    name = (args.get("timezone") or "UTC").strip()
    try:
        tz = timezone.utc if name.upper() == "UTC" else ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise NodeFailure(f"now: unknown time zone {name!r} (use an IANA name such as Europe/Paris)") from None
    moment = datetime.now(tz)
    return {"iso": moment.isoformat(timespec="seconds"), "date": moment.date().isoformat(),
            "weekday": moment.strftime("%A"), "timezone": name, "unix": int(moment.timestamp())}


TOOL = Tool(
    "now",
    "The current date and time (ISO 8601, date, weekday, unix time) in a time zone.",
    {"type": "object", "properties": {"timezone": {"type": "string", "default": "UTC",
                                                   "description": "IANA zone such as Europe/Paris; default UTC."}},
     "additionalProperties": False},
    _now,
)
