"""The run's JSON-lines trace: every event, secrets redacted, written as the run goes.

The trace is an event listener: the executor hands it each event and it never decides
anything about the run. Where it lives: the per-flow traces folder by default (see
``userdata.paths``), or a path the caller names.

What survives what (the promises the CLI and the studio lean on):

* Lines reach the file as they happen: each event is held at most ``FLUSH_EVERY_S / 2``
  (50 ms) -- a background thread writes what waits, even while the event loop is
  busy -- and node finishes, failures and the run's end are written before the event
  loop's next turn (one write for all that finished in one turn, not one per node: a
  chain of fast nodes paid a system call each). A process killed with SIGKILL loses at
  most the last 50 ms, and no finished node once its loop turn is over.
* Whole lines only: pending lines go to the file in one ``os.write`` of complete lines
  (never a buffer boundary in the middle of a line), so a kill cannot tear one. A disk
  that fills mid-write can; ``events.read_trace`` skips a torn last line.
* A trace that cannot be written (read-only folder, a directory, a full disk, a FIFO)
  never stops the run: the first failure is reported once (logged as a warning, kept in
  ``problem`` and ``trace_problem(path)``) and the writer goes quiet; the run ends and
  its result is printed as usual.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import stat
import threading
import time
import weakref
from pathlib import Path
from typing import Callable, Iterable

from studio.core.running import events as ev
from studio.core.running.events import Event
from studio.core.userdata.redaction import Redactor

FLUSH_EVERY_S = 0.1
# written before the loop's next turn: a node's result, and the run's end
_FLUSH_NOW = frozenset({ev.NODE_FINISHED, ev.NODE_FAILED, ev.NODE_SKIPPED, ev.APPROVAL_REQUESTED, *ev.END_TYPES})

log = logging.getLogger("studio.trace")
_problems: dict[str, str] = {}


def _traces_root() -> Path:
    from studio.core.userdata.paths import data_dir

    return data_dir() / "traces"


def trace_folder(flow_path: Path | str | None = None, document_id: str | None = None, flow_name: str = "") -> Path:
    """Where the runs of one flow live: keyed by its file, not by its name.

    Every new flow is "Untitled flow", and two files may share a name; keyed by name,
    their runs mixed. A saved flow is keyed by its resolved path (readable stem plus a
    short hash); an unsaved one by a stable document id; only with neither does the
    name decide (the executor's default folder).
    """
    root = _traces_root()
    if flow_path is not None:
        p = Path(flow_path).expanduser().resolve()
        stem = p.name[: -len(".flow.json")] if p.name.endswith(".flow.json") else p.stem
        slug = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")[:40] or "flow"
        digest = hashlib.sha1(str(p).encode("utf-8")).hexdigest()[:10]
        return root / "files" / f"{slug}-{digest}"
    if document_id:
        return root / "unsaved" / re.sub(r"[^a-zA-Z0-9_-]+", "-", document_id)[:64]
    from studio.core.userdata.paths import traces_dir

    return traces_dir(flow_name or "")


def new_trace_path(folder: Path, run_id: str | None = None) -> Path:
    """A fresh trace file name in ``folder`` (time first, so names sort by start)."""
    import uuid

    return Path(folder) / f"{time.strftime('%Y%m%d-%H%M%S')}-{run_id or uuid.uuid4().hex[:12]}.jsonl"


def default_trace_path(flow_name: str, run_id: str) -> Path:
    """Where a run that names no trace file writes one: the folder of the flow's name."""
    return new_trace_path(trace_folder(flow_name=flow_name), run_id)


def trace_problem(path: Path | str | None) -> str | None:
    """Why the trace at ``path`` could not be written (in this process), or None."""
    return None if path is None else _problems.get(str(path))


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)


def open_trace_file(path: Path) -> int:
    """A write descriptor for ``path`` (folders made), truncated; OSError if unusable.

    Never blocks: a FIFO is refused (O_NONBLOCK), as is anything but a regular file or
    a character device such as /dev/null.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NONBLOCK | os.O_CLOEXEC, 0o666)
    try:
        st = os.fstat(fd)
        mode = st.st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISCHR(mode)):
            raise OSError(0, "not a regular file")
        # only a file that has something in it is truncated: on ext4 a truncate marks the
        # file for writeback at close (auto_da_alloc), which then blocks the event loop
        # for ~0.1 ms at every run's end -- and nearly every trace file is new
        if stat.S_ISREG(mode) and st.st_size:
            os.ftruncate(fd, 0)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def check_trace_path(path: Path) -> str | None:
    """Why a trace cannot be written at ``path``, or None (the CLI asks before a run)."""
    try:
        if path.is_dir():
            return f"{path} is a folder"
        os.close(open_trace_file(path))
    except OSError as exc:
        return f"cannot write {path}: {_why(exc)}"
    except ValueError as exc:  # a NUL byte in the path
        return f"cannot write {path}: {exc}"
    return None


class TraceWriter:
    """Writes one redacted JSON line per event to ``path``; never raises for I/O.

    Called for every event of the run, so the call does only what must happen on the
    event loop, at once: encode the event (its values may change after this turn),
    redact it and append the line to one growing buffer -- no clock, no lock. Writing
    is somebody else's job: the loop's next turn for node ends and the run's end, the
    flusher thread for the rest. (A buffer, not a list of lines: keeping a thousand
    line objects alive until the flush cost twice the encoding, measured; copying each
    into the buffer lets the allocator reuse the line's memory at once.)

    The buffer object is never replaced, so it needs no lock: appending a line is one
    C call (``bytearray +=``), and a flush takes what is there with another
    (``bytes(buffer)``) and removes exactly that prefix with a third (``del``), each
    whole under the GIL -- a line appended in between stays for the next flush.
    Flushes themselves take ``_write_lock``, so two never interleave and lines reach
    the file in order.
    """

    def __init__(self, path: Path, secrets: Iterable[str] = (),
                 on_problem: Callable[[str], None] | None = None) -> None:
        self.path = path
        self.problem: str | None = None
        self._on_problem = on_problem
        self._redactor = Redactor(secrets)
        self._write_lock = threading.Lock()  # one flush at a time, in order
        self._pending = bytearray()
        self._fd: int | None = None
        self._flush_soon = False  # a flush is queued for the loop's next turn
        try:
            self._fd = open_trace_file(path)
        except (OSError, ValueError) as exc:
            self._fail(f"the trace {path} cannot be written: {_why(exc) if isinstance(exc, OSError) else exc}")
            return
        _Flusher.watch(self)

    def write(self, event: Event) -> None:
        """Take one event (the listener; called by name, which costs a third of calling
        the writer itself -- a run makes two calls per node)."""
        if self._fd is None:
            return
        self._pending += self._redactor.bytes(ev.encode_event(event))
        if event.type in _FLUSH_NOW and not self._flush_soon:
            self._flush_next_turn()

    __call__ = write

    def _flush_next_turn(self) -> None:
        """Queue one flush for the event loop's next turn; off a loop, flush now."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        self._flush_soon = True
        loop.call_soon(self._flush_queued)

    def _flush_queued(self) -> None:
        self._flush_soon = False
        self.flush()

    def flush(self) -> None:
        """Write every waiting line (from any thread): one ``os.write`` of whole lines."""
        if not self._pending:
            return
        with self._write_lock:
            self._write_pending()

    def _write_pending(self) -> None:
        buffer = self._pending
        pending = bytes(buffer)
        del buffer[: len(pending)]
        if not pending or self._fd is None:
            return
        data = memoryview(pending)
        try:
            while data:
                written = os.write(self._fd, data)
                data = data[written:]
        except OSError as exc:
            self._fail(f"the trace {self.path} could not be written to the end: {_why(exc)}; the run goes on without it")

    def _fail(self, message: str) -> None:
        if self.problem is None:  # reported once
            self.problem = message
            _problems[str(self.path)] = message
            if self._on_problem is not None:
                try:
                    self._on_problem(message)
                except Exception:
                    pass
            else:
                log.warning(message)
        self._close_fd()
        self._pending.clear()

    def _close_fd(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass

    def close(self) -> None:
        with self._write_lock:
            self._write_pending()
            self._close_fd()
        _Flusher.forget(self)

    def __del__(self) -> None:  # a writer dropped without close(): still no lost lines
        try:
            self.close()
        except Exception:
            pass


class _Flusher:
    """One daemon thread for every open trace: every ``FLUSH_EVERY_S / 2`` it writes what
    waits, so no line waits longer than that even while the event loop is busy."""

    _writers: "weakref.WeakSet[TraceWriter]" = weakref.WeakSet()
    _wake = threading.Event()
    _thread: threading.Thread | None = None
    _guard = threading.Lock()

    @classmethod
    def watch(cls, writer: TraceWriter) -> None:
        with cls._guard:
            cls._writers.add(writer)
            if cls._thread is None or not cls._thread.is_alive():
                cls._thread = threading.Thread(target=cls._loop, name="trace-flusher", daemon=True)
                cls._thread.start()
        cls._wake.set()

    @classmethod
    def forget(cls, writer: TraceWriter) -> None:
        with cls._guard:
            cls._writers.discard(writer)

    @classmethod
    def _loop(cls) -> None:
        while True:
            with cls._guard:
                writers = list(cls._writers)
            if not writers:
                cls._wake.wait()
                cls._wake.clear()
                continue
            time.sleep(FLUSH_EVERY_S / 2)
            for w in writers:
                try:
                    w.flush()
                except Exception:  # the flusher must outlive any one writer's trouble
                    pass
            del writers
