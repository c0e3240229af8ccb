"""Per-provider concurrency limits for model calls.

Why: a fan-out of 500 items must not open 500 connections to one provider (it answers
with 429s) nor to a local Ollama (it serialises anyway and times out). Each provider gets
an asyncio semaphore; semaphores belong to one event loop, so they are kept per loop
(the studio runs flows on a worker loop, tests on their own loops).

Defaults are generous for cloud APIs and small for local servers; a run can override
them with ``settings["provider_limits"] = {"openai": 8}``.
"""

from __future__ import annotations

import asyncio
import weakref
from contextlib import asynccontextmanager
from typing import AsyncIterator, Mapping

DEFAULT_LIMITS: dict[str, int] = {
    "ollama": 4,
    "ollama_chat": 4,
    "lm_studio": 4,
    "llamafile": 2,
}
DEFAULT_LIMIT = 64

_per_loop: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, int], asyncio.Semaphore]]" = (
    weakref.WeakKeyDictionary()
)


def limit_for(provider: str, overrides: Mapping[str, int] | None = None) -> int:
    if overrides and provider in overrides:
        try:
            return max(1, int(overrides[provider]))
        except (TypeError, ValueError):
            pass
    return DEFAULT_LIMITS.get(provider, DEFAULT_LIMIT)


def semaphore(provider: str, overrides: Mapping[str, int] | None = None) -> asyncio.Semaphore:
    """The semaphore bounding calls to ``provider`` on the running loop."""
    loop = asyncio.get_running_loop()
    table = _per_loop.get(loop)
    if table is None:
        table = _per_loop[loop] = {}
    key = (provider, limit_for(provider, overrides))
    sem = table.get(key)
    if sem is None:
        sem = table[key] = asyncio.Semaphore(key[1])
    return sem


@asynccontextmanager
async def provider_slot(provider: str, overrides: Mapping[str, int] | None = None) -> AsyncIterator[None]:
    """Hold one of ``provider``'s call slots for the duration of a call."""
    async with semaphore(provider, overrides):
        yield
