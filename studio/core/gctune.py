"""Garbage-collector settings while runs are active.

A fan-out keeps thousands of tasks, frames and dicts alive at once; with CPython's
default thresholds the collector then runs ~100 times per 1,000 items and rescans the
whole heap in its older generations (measured: 15-95 ms of a 160-250 ms fan-out here).
While any run is active we freeze what existed before it (imports, the studio's own
objects: never garbage in the middle of a run) and raise the first threshold; when the
last run ends, both are undone. Reference counting still frees almost everything at
once; only cycles wait a little longer. Validation of a large flow does the same
(``busy()``): it builds tens of thousands of small sets and dicts in one pass, and the
collector's passes over them were ~12% of validating 10,000 nodes.

``gc.freeze()`` also zeroes the collector's count of new objects. A process whose runs
never overlap (a server answering short requests one after another) would then never
reach the first threshold, and reference cycles left by its requests would pile up for
the life of the process; so generation 0 is collected before each freeze
(``_collect_young``).
"""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from typing import Iterator

_lock = threading.Lock()
_active = 0
_saved: tuple[int, int, int] | None = None


def _collect_young() -> None:
    """Before a freeze: collect generation 0, the objects made since the last freeze.

    A freeze moves every tracked object into the permanent generation and the unfreeze
    after the run puts them all in the oldest one, so a cycle still young at the freeze
    -- what the last request left behind -- would otherwise wait for a full pass, which
    walks the whole heap (~150 ms with litellm loaded) and which the count that
    ``freeze()`` zeroes may never let come. Generation 0 is small between runs; measured
    in tests/bench/bench_serve.py's served CPU per request."""
    if gc.isenabled():
        gc.collect(0)


def run_started() -> None:
    global _active, _saved
    with _lock:
        _active += 1
        if _active == 1:
            _collect_young()
            _saved = gc.get_threshold()
            gc.freeze()
            gen0, gen1, gen2 = _saved
            gc.set_threshold(max(gen0, 20000), max(gen1, 50), max(gen2, 100))


def run_ended() -> None:
    global _active, _saved
    with _lock:
        if _active == 0:
            return
        _active -= 1
        if _active == 0:
            gc.unfreeze()
            if _saved is not None:
                gc.set_threshold(*_saved)
            _saved = None


@contextmanager
def busy() -> Iterator[None]:
    """The run-time collector settings for the length of one CPU-heavy pass."""
    run_started()
    try:
        yield
    finally:
        run_ended()
