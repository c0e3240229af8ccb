"""The local engine: rows run as concurrent executor runs on this process's event loop.

A semaphore of ``concurrency`` slots bounds the rows in flight, so the reader never runs
ahead of the work (memory stays flat). A slot is taken *before* the stop rules are
asked, so the cost of every row that just finished counts when the next one may start.
Cancelling (Ctrl-C) cancels the rows in flight; they were never written and run again
on --resume.
"""

from __future__ import annotations

import asyncio
import time

from .rowrun import run_row


async def run_local(batch) -> None:
    config = batch.config
    sem = asyncio.Semaphore(max(1, config.concurrency))
    tasks: set[asyncio.Task] = set()
    plan, mapping, rs = batch.plan, batch.mapping, config.rows
    batch.stats.started = time.monotonic()

    async def one(index, row) -> None:
        try:
            batch.record(await run_row(plan, index, row, mapping, rs))
        finally:
            sem.release()

    try:
        for index, row in batch.pending():
            await sem.acquire()
            if not batch.rules.may_start():
                sem.release()
                break
            t = asyncio.create_task(one(index, row))
            tasks.add(t)
            t.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.gather(*list(tasks))
    except asyncio.CancelledError:
        batch.rules.cancel()
        batch.rules.may_start()  # records the reason
        for t in list(tasks):
            t.cancel()
        await asyncio.gather(*list(tasks), return_exceptions=True)
        raise
