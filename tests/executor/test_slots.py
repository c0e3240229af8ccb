"""The engine's concurrency limit (engine/slots.py): the rules asyncio.Semaphore keeps,
at the cost of a plain call when a slot is free.

Every test drives real tasks on the running loop; the run-level behaviour (at most N
steps at once, a fan-out's own limit) is tested in test_patterns.py.
"""

from __future__ import annotations

import asyncio

import pytest

from studio.core.running.engine.slots import Slots


async def _hold(slots: Slots, log: list, name: str, release: asyncio.Event) -> None:
    await slots.take()
    log.append(name)
    try:
        await release.wait()
    finally:
        slots.give()


async def _two_waiting() -> tuple[Slots, list, asyncio.Task, asyncio.Task]:
    """A limit of one, held, and two tasks queued for it ("first", then "second")."""
    slots = Slots(1)
    assert slots.take_now()
    log: list[str] = []
    gate = asyncio.Event()
    gate.set()
    first = asyncio.create_task(_hold(slots, log, "first", gate))
    second = asyncio.create_task(_hold(slots, log, "second", gate))
    await asyncio.sleep(0)
    return slots, log, first, second


def test_a_limit_needs_a_slot():
    with pytest.raises(ValueError, match="at least one slot"):
        Slots(0)


async def test_free_slots_are_taken_at_once_and_the_rest_wait_in_turn():
    slots = Slots(2)
    assert slots.take_now() and slots.take_now()
    assert not slots.take_now() and slots.free == 0
    log: list[str] = []
    gate = asyncio.Event()
    waiters = [asyncio.create_task(_hold(slots, log, n, gate)) for n in "abc"]
    await asyncio.sleep(0)
    assert log == [] and slots.waiting == 3
    slots.give()
    await asyncio.sleep(0)
    assert log == ["a"]  # first come, first served
    slots.give()
    await asyncio.sleep(0)
    assert log == ["a", "b"] and slots.waiting == 1
    gate.set()
    await asyncio.gather(*waiters)
    assert log == ["a", "b", "c"]
    assert slots.free == 2 and slots.waiting == 0


async def test_a_freed_slot_goes_to_a_waiter_not_to_a_newcomer():
    slots = Slots(1)
    assert slots.take_now()
    log: list[str] = []
    gate = asyncio.Event()
    waiter = asyncio.create_task(_hold(slots, log, "waiter", gate))
    await asyncio.sleep(0)
    slots.give()
    # the slot is the waiter's although it has not run yet: a newcomer cannot take it
    assert not slots.take_now()
    gate.set()
    await waiter
    assert log == ["waiter"] and slots.free == 1


async def test_a_cancelled_waiter_leaves_the_queue_and_takes_nothing():
    slots, log, first, second = await _two_waiting()
    first.cancel()
    await asyncio.gather(first, return_exceptions=True)
    assert first.cancelled() and slots.waiting == 1
    slots.give()
    await asyncio.wait_for(second, 1.0)
    assert log == ["second"] and slots.free == 1 and slots.waiting == 0


async def test_a_waiter_cancelled_after_it_was_handed_a_slot_passes_it_on():
    slots, log, first, second = await _two_waiting()
    slots.give()  # handed to "first", which has not resumed yet ...
    first.cancel()  # ... and is cancelled before it does
    # a lost slot would leave "second" waiting for ever: give it a second at most
    done, _ = await asyncio.wait([first, second], timeout=1.0)
    assert second in done, "the slot handed to the cancelled waiter was lost"
    assert first.cancelled()
    assert log == ["second"]  # the slot went on
    assert slots.free == 1 and slots.waiting == 0


async def test_many_takers_never_exceed_the_limit_and_every_slot_comes_back():
    slots = Slots(3)
    busy = peak = 0

    async def work(i: int) -> None:
        nonlocal busy, peak
        await slots.take()
        try:
            busy += 1
            peak = max(peak, busy)
            await asyncio.sleep(0.001 * (i % 3))
            if i % 7 == 0:
                raise RuntimeError("a failing step still gives its slot back")
        finally:
            busy -= 1
            slots.give()

    tasks = [asyncio.create_task(work(i)) for i in range(60)]
    await asyncio.sleep(0.002)
    for t in tasks[10:20]:
        t.cancel()  # some wait, some hold a slot
    await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 5.0)
    assert peak == 3
    assert slots.free == 3 and slots.waiting == 0
