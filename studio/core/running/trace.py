"""The run's JSON-lines trace: every event, secrets redacted, written as the run goes.

The trace is an event listener: the executor hands it each event and it never decides
anything about the run. Where it lives: the per-flow traces folder by default (see
``userdata.paths``), or a path the caller names.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Iterable

from studio.core.running import events as ev
from studio.core.running.events import Event
from studio.core.userdata.redaction import Redactor


def default_trace_path(flow_name: str, run_id: str) -> Path:
    from studio.core.userdata.paths import traces_dir

    stamp = time.strftime("%Y%m%d-%H%M%S")
    return traces_dir(flow_name) / f"{stamp}-{run_id}.jsonl"


class TraceWriter:
    """Writes one redacted JSON line per event to ``path``."""

    def __init__(self, path: Path, secrets: Iterable[str] = ()) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._redactor = Redactor(secrets)
        self._fh = open(path, "wb", buffering=1 << 16)

    def __call__(self, event: Event) -> None:
        fh = self._fh
        if fh is not None:
            fh.write(self._redactor.bytes(ev.encode_event(event)))

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
