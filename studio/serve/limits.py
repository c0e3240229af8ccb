"""Limits that keep a served flow from being used to run up a bill or swamp the machine.

* ``BodyLimit``: requests larger than the limit get 413 before the body is read (by its
  Content-Length) or as soon as a chunked body passes it.
* ``RunSlots``: at most N runs at once across the server; when all are taken a new run
  is refused at once with 429 and a Retry-After (the typical run time, rounded up),
  rather than queueing requests the client may already have given up on.
* ``DailyBudget``: the USD the server's runs may spend per UTC day. Spending is the
  executor's own tally (in mock mode its estimate, as for ``orchestra run --mock
  --budget``); with a daily budget set it is kept in the user data folder, so a restart
  does not reset it. Each run's
  budget is the smaller of the per-request budget and what is left today, so the executor
  stops starting paid calls once the day's money is gone; when nothing is left, new runs
  get 429 with Retry-After until midnight UTC.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import time
from collections import deque
from datetime import datetime, timedelta, timezone
from pathlib import Path

from studio.serve.documents import error_response


class BodyLimit:
    def __init__(self, app, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_bytes
                except ValueError:
                    too_big = False
                if too_big:
                    await self._refuse(scope, receive, send)
                    return
        seen = 0
        max_bytes = self.max_bytes

        async def limited_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > max_bytes:
                    raise _TooLarge()
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope, receive, send) -> None:
        response = error_response(413, "request_too_large", f"the request body is over {self.max_bytes} bytes",
                                  headers={"Connection": "close"})
        await response(scope, receive, send)


class _TooLarge(Exception):
    pass


class RunSlots:
    """Counts runs in progress against a limit; remembers recent run times for Retry-After."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.active = 0
        self._durations: deque[float] = deque(maxlen=100)

    def try_take(self) -> bool:
        if self.limit > 0 and self.active >= self.limit:
            return False
        self.active += 1
        return True

    def give_back(self, duration_s: float) -> None:
        self.active -= 1
        self._durations.append(duration_s)

    def retry_after_s(self) -> int:
        typical = statistics.median(self._durations) if self._durations else 1.0
        return max(1, math.ceil(typical))


class DailyBudget:
    def __init__(self, limit_usd: float | None, ledger: Path | None) -> None:
        self.limit_usd = limit_usd
        self.ledger = ledger
        self._day, self._spent = self._today(), 0.0
        self._day_ends = self._midnight_after()
        if ledger is not None:
            try:
                data = json.loads(ledger.read_text(encoding="utf-8"))
                self._spent = float(data.get(self._day, 0.0))
            except (OSError, ValueError, TypeError, AttributeError):
                self._spent = 0.0

    @staticmethod
    def _today() -> str:
        return datetime.now(timezone.utc).strftime("%Y-%m-%d")

    @staticmethod
    def _midnight_after() -> float:
        """The next UTC midnight as a time.time() value: until then the day cannot change
        (a float compare per run instead of formatting today's date)."""
        now = datetime.now(timezone.utc)
        return (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()

    def _roll(self) -> None:
        if time.time() < self._day_ends:
            return
        day = self._today()
        self._day_ends = self._midnight_after()
        if day != self._day:
            self._day, self._spent = day, 0.0

    @property
    def spent_usd(self) -> float:
        self._roll()
        return self._spent

    def remaining_usd(self) -> float | None:
        if self.limit_usd is None:
            return None
        return max(0.0, self.limit_usd - self.spent_usd)

    def exhausted(self) -> bool:
        left = self.remaining_usd()
        return left is not None and left <= 0.0

    def run_budget(self, per_request: float | None) -> float | None:
        left = self.remaining_usd()
        if left is None:
            return per_request
        return left if per_request is None else min(per_request, left)

    def add(self, usd: float | None) -> None:
        if not usd:
            return
        self._roll()
        self._spent += usd
        if self.ledger is not None and self.limit_usd is not None:  # only a limit needs the tally to survive
            try:
                self.ledger.parent.mkdir(parents=True, exist_ok=True)
                tmp = self.ledger.with_suffix(".tmp")
                tmp.write_text(json.dumps({self._day: round(self._spent, 8)}), encoding="utf-8")
                os.replace(tmp, self.ledger)
            except OSError:
                pass  # the in-memory tally still holds for this process

    def seconds_to_midnight(self) -> int:
        now = datetime.now(timezone.utc)
        midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        return max(1, math.ceil((midnight - now).total_seconds()))


def ledger_path() -> Path:
    from studio.core.userdata.paths import data_dir

    return data_dir() / "serve" / "spend.json"


def now() -> float:
    return time.monotonic()
