"""Retry policy: exponential backoff with jitter that honours Retry-After.

What counts as worth retrying: timeouts, RetryableError (429, 5xx, dropped connections,
invalid JSON from a model) and connection-level OSErrors. Everything else fails at once,
because retrying a bad request or a bug only burns time and money.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

from studio.core.errors import BudgetExceeded, RetryableError


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 0
    backoff_s: float = 1.0
    max_delay_s: float = 60.0
    timeout_s: float | None = None

    def delay(self, attempt: int, error: BaseException, rng: random.Random | None = None) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (attempt counts from 1)."""
        after = getattr(error, "retry_after", None)
        if isinstance(after, (int, float)) and after >= 0:
            return float(min(after, 600.0))  # the provider said when; waiting less only earns another 429
        jitter = (rng or random).uniform(0.5, 1.5)
        return min(self.max_delay_s, self.backoff_s * (2 ** (attempt - 1))) * jitter


def is_retryable(error: BaseException) -> bool:
    if isinstance(error, BudgetExceeded):
        return False
    if isinstance(error, (RetryableError, asyncio.TimeoutError, TimeoutError, ConnectionError)):
        return True
    return False
