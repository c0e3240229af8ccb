"""Conversation history: one SQLite file per flow under the user data folder.

Why SQLite (standard library, WAL mode): a chat's history must survive the process,
several runs of one session may append at once (the studio, ``orchestra chat`` and
``orchestra serve`` can all talk to one flow), and reading the last 20 turns of a
10,000-turn session must stay in the millisecond range. WAL lets readers go on while a
writer appends; ``BEGIN IMMEDIATE`` serialises writers, and a turn (the user's message and
the reply) is appended in one transaction, so concurrent turns never lose or interleave a
message.

Where: ``<data dir>/memory/<flow key>.sqlite3`` -- never in the flow file or an export.
History is kept per memory name (a flow may keep several) and per session id. The store
keeps what the user typed, secrets included; traces are redacted, this file is not (it is
the user's own data, like a chat app's history).

A database that is corrupt or held locked by another program gives a
``ConversationStoreError`` naming the file and what to do; the store never rewrites,
truncates or deletes a file it cannot read, so nothing already stored is lost.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from studio.core.errors import OrchestraError
from studio.core.userdata.paths import data_dir

SCHEMA_VERSION = 1
DEFAULT_BUSY_TIMEOUT_S = 10.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    memory TEXT NOT NULL,
    session TEXT NOT NULL,
    turns INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    PRIMARY KEY (memory, session)
);
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    memory TEXT NOT NULL,
    session TEXT NOT NULL,
    turn INTEGER NOT NULL,
    role TEXT NOT NULL,
    content TEXT NOT NULL,
    extra TEXT,
    run_id TEXT,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_turn ON messages (memory, session, turn);
CREATE TABLE IF NOT EXISTS summaries (
    memory TEXT NOT NULL,
    session TEXT NOT NULL,
    upto_turn INTEGER NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (memory, session)
);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    session TEXT NOT NULL,
    cost_usd REAL,
    tokens_in INTEGER NOT NULL DEFAULT 0,
    tokens_out INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_session ON runs (session);
"""


class ConversationStoreError(OrchestraError):
    """The memory database cannot be used (corrupt, locked, unwritable); nothing was changed."""


class StoreBusy(ConversationStoreError):
    """Under ``no_wait()``: another connection holds the database; try again with waiting."""


@dataclass(frozen=True)
class SessionInfo:
    session: str
    memories: tuple[str, ...]
    turns: int
    created: float
    updated: float
    cost_usd: float | None = None  # the recorded runs' total (None: none recorded)
    tokens_in: int = 0
    tokens_out: int = 0


@dataclass(frozen=True)
class StoredMessage:
    seq: int
    turn: int
    role: str
    content: str
    run_id: str | None
    created: float
    extra: Mapping[str, Any] | None = None

    def as_chat(self) -> dict[str, Any]:
        """The message as a chat message for a model call (``role``/``content`` + extras)."""
        msg: dict[str, Any] = dict(self.extra or {})
        msg["role"] = self.role
        msg["content"] = self.content
        return msg


_OPEN: dict[tuple[Path, float], "ConversationStore"] = {}
_OPEN_LOCK = threading.Lock()


def open_store(flow_key: str, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S) -> "ConversationStore":
    """The store of a flow, shared within the process (its per-thread connections stay open)."""
    key = (store_path(flow_key), float(busy_timeout_s))
    with _OPEN_LOCK:
        store = _OPEN.get(key)
        if store is None:
            store = _OPEN[key] = ConversationStore(*key)
        return store


def memory_dir() -> Path:
    return data_dir() / "memory"


def store_path(flow_key: str) -> Path:
    return memory_dir() / f"{flow_key}.sqlite3"


class ConversationStore:
    """The history of one flow's conversations. Thread-safe: one connection per thread."""

    def __init__(self, path: str | Path, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S):
        self.path = Path(path)
        self.busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._ready = False
        self._ready_lock = threading.Lock()

    @classmethod
    def for_flow(cls, flow_key: str, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S) -> "ConversationStore":
        return cls(store_path(flow_key), busy_timeout_s)

    # -- connection -------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None,
                                   check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise self._error("cannot open", exc) from None
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
            with self._ready_lock:
                if not self._ready:
                    self._prepare(conn)
                    self._ready = True
            conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: durable at each checkpoint, fast
        except sqlite3.Error as exc:
            conn.close()
            raise self._error("cannot open", exc) from None
        self._local.conn = conn
        return conn

    def _prepare(self, conn: sqlite3.Connection) -> None:
        """Check the file is ours and readable, switch to WAL, create missing tables."""
        conn.execute("PRAGMA schema_version").fetchone()  # "file is not a database" surfaces here
        conn.execute("PRAGMA journal_mode = WAL")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(f"it was written by a newer release (schema {version}, this one reads "
                                        f"up to {SCHEMA_VERSION})")
        if version < SCHEMA_VERSION:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for stmt in filter(str.strip, _SCHEMA.split(";")):
                    conn.execute(stmt)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def _error(self, doing: str, exc: BaseException) -> ConversationStoreError:
        text = str(exc)
        if "locked" in text or "busy" in text:
            why = (f"the memory database {self.path} is locked by another program "
                   f"(waited {self.busy_timeout_s:g} s); close it or try again -- nothing was changed")
        elif isinstance(exc, sqlite3.DatabaseError) and ("not a database" in text or "malformed" in text
                                                          or "corrupt" in text or "newer release" in text):
            why = (f"the memory database {self.path} cannot be read ({text}); it was left as it is -- move it "
                   f"aside (or restore a copy) to start a fresh history")
        else:
            why = f"{doing} the memory database {self.path}: {text}"
        return ConversationStoreError(why)

    def no_wait(self) -> "_NoWait":
        """Within this block, calls on this thread fail at once with StoreBusy instead of
        waiting for a lock: callers on an event loop try the fast path first and wait
        for a lock only off the loop (a read in WAL mode never waits; an append rarely)."""
        return _NoWait(self)

    def _run(self, doing: str, fn):
        conn = self._conn()
        quick = getattr(self._local, "no_wait", False)
        if quick:
            conn.execute("PRAGMA busy_timeout = 0")
        try:
            return fn(conn)
        except ConversationStoreError:
            raise
        except sqlite3.Error as exc:
            if quick and ("locked" in str(exc) or "busy" in str(exc)):
                raise StoreBusy(str(exc)) from None
            raise self._error(doing, exc) from None
        finally:
            if quick:
                conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")

    # -- reading ----------------------------------------------------------------

    def turn_count(self, memory: str, session: str) -> int:
        def q(c: sqlite3.Connection) -> int:
            row = c.execute("SELECT turns FROM sessions WHERE memory = ? AND session = ?", (memory, session)).fetchone()
            return int(row[0]) if row else 0
        return self._run("cannot read", q)

    def recent(self, memory: str, session: str, turns: int | None) -> tuple[int, list[StoredMessage]]:
        """(the session's turn count, the messages of its last ``turns`` turns, oldest first).

        ``turns`` None or 0: every turn. Both come from one read transaction, so they agree.
        """
        def q(c: sqlite3.Connection):
            c.execute("BEGIN")
            try:
                row = c.execute("SELECT turns FROM sessions WHERE memory = ? AND session = ?",
                                (memory, session)).fetchone()
                total = int(row[0]) if row else 0
                first = total - turns + 1 if turns else 1
                rows = c.execute("SELECT seq, turn, role, content, run_id, created, extra FROM messages "
                                 "WHERE memory = ? AND session = ? AND turn >= ? ORDER BY seq",
                                 (memory, session, first)).fetchall()
            finally:
                c.execute("COMMIT")
            return total, [_message(r) for r in rows]
        return self._run("cannot read", q)

    def turns_between(self, memory: str, session: str, after: int, upto: int) -> list[StoredMessage]:
        """Messages of turns ``after`` < turn <= ``upto`` (for summarising older turns)."""
        def q(c: sqlite3.Connection):
            rows = c.execute("SELECT seq, turn, role, content, run_id, created, extra FROM messages "
                             "WHERE memory = ? AND session = ? AND turn > ? AND turn <= ? ORDER BY seq",
                             (memory, session, after, upto)).fetchall()
            return [_message(r) for r in rows]
        return self._run("cannot read", q)

    def messages(self, session: str, memory: str | None = None, limit_turns: int | None = None) -> list[StoredMessage]:
        """A session's messages (of one memory, or of the first memory that has any), oldest first."""
        if memory is None:
            names = self._memories_of(session)
            if not names:
                return []
            memory = names[0]
        return self.recent(memory, session, limit_turns)[1]

    def summary(self, memory: str, session: str) -> tuple[int, str]:
        """(the last turn the summary covers, its text); (0, "") when there is none."""
        def q(c: sqlite3.Connection):
            row = c.execute("SELECT upto_turn, text FROM summaries WHERE memory = ? AND session = ?",
                            (memory, session)).fetchone()
            return (int(row[0]), str(row[1])) if row else (0, "")
        return self._run("cannot read", q)

    def _memories_of(self, session: str) -> list[str]:
        def q(c: sqlite3.Connection):
            return [r[0] for r in c.execute("SELECT memory FROM sessions WHERE session = ? ORDER BY memory",
                                            (session,))]
        return self._run("cannot read", q)

    def sessions(self) -> list[SessionInfo]:
        """Every session of the flow, most recently used first."""
        def q(c: sqlite3.Connection):
            rows = c.execute(
                "SELECT session, group_concat(memory, char(31)), max(turns), min(created), max(updated) "
                "FROM sessions GROUP BY session").fetchall()
            costs = {r[0]: r[1:] for r in c.execute(
                "SELECT session, sum(cost_usd), count(cost_usd), sum(tokens_in), sum(tokens_out) FROM runs "
                "GROUP BY session")}
            out = []
            for session, mems, turns, created, updated in rows:
                cost = costs.get(session)
                out.append(SessionInfo(session, tuple(sorted(str(mems).split(chr(31)))), int(turns), float(created),
                                       float(updated), (float(cost[0]) if cost and cost[1] else None),
                                       int(cost[2] or 0) if cost else 0, int(cost[3] or 0) if cost else 0))
            for session in set(costs) - {r[0] for r in rows}:  # a session whose turns ran without memory
                cost = costs[session]
                out.append(SessionInfo(session, (), 0, 0.0, 0.0, float(cost[0]) if cost[1] else None,
                                       int(cost[2] or 0), int(cost[3] or 0)))
            out.sort(key=lambda s: (-s.updated, s.session))
            return out
        return self._run("cannot read", q)

    def run_costs(self, session: str) -> dict[str, tuple[float | None, int, int]]:
        """run id -> (cost in USD or None when unknown, tokens in, tokens out) for a session's recorded runs."""
        def q(c: sqlite3.Connection):
            return {r[0]: (r[1], int(r[2]), int(r[3])) for r in c.execute(
                "SELECT run_id, cost_usd, tokens_in, tokens_out FROM runs WHERE session = ?", (session,))}
        return self._run("cannot read", q)

    # -- writing ----------------------------------------------------------------

    def append_turn(self, memory: str, session: str, messages: Sequence[Mapping[str, Any]],
                    run_id: str | None = None) -> int:
        """Append one turn's messages (the user's, the reply) atomically; returns the turn number."""
        if not messages:
            raise ValueError("a turn has at least one message")
        rows = [_row(m) for m in messages]
        now = time.time()

        def tx(c: sqlite3.Connection) -> int:
            c.execute("BEGIN IMMEDIATE")
            try:
                c.execute("INSERT INTO sessions (memory, session, turns, created, updated) VALUES (?, ?, 1, ?, ?) "
                          "ON CONFLICT (memory, session) DO UPDATE SET turns = turns + 1, updated = excluded.updated",
                          (memory, session, now, now))
                turn = c.execute("SELECT turns FROM sessions WHERE memory = ? AND session = ?",
                                 (memory, session)).fetchone()[0]
                c.executemany("INSERT INTO messages (memory, session, turn, role, content, extra, run_id, created) "
                              "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                              [(memory, session, turn, role, content, extra, run_id, now)
                               for role, content, extra in rows])
                c.execute("COMMIT")
                return int(turn)
            except BaseException:
                if c.in_transaction:
                    c.execute("ROLLBACK")
                raise
        return self._run("cannot write to", tx)

    def save_summary(self, memory: str, session: str, upto_turn: int, text: str) -> None:
        """Keep a summary of turns 1..upto_turn (a later, wider summary wins over a narrower one)."""
        def tx(c: sqlite3.Connection) -> None:
            c.execute("INSERT INTO summaries (memory, session, upto_turn, text) VALUES (?, ?, ?, ?) "
                      "ON CONFLICT (memory, session) DO UPDATE SET upto_turn = excluded.upto_turn, text = excluded.text "
                      "WHERE excluded.upto_turn > summaries.upto_turn", (memory, session, upto_turn, text))
        self._run("cannot write to", tx)

    def record_run(self, run_id: str, session: str, cost_usd: float | None, tokens_in: int, tokens_out: int) -> None:
        """Note what one chat turn's run cost, for per-session totals (front ends call this)."""
        def tx(c: sqlite3.Connection) -> None:
            c.execute("INSERT OR REPLACE INTO runs (run_id, session, cost_usd, tokens_in, tokens_out, created) "
                      "VALUES (?, ?, ?, ?, ?, ?)", (run_id, session, cost_usd, tokens_in, tokens_out, time.time()))
        self._run("cannot write to", tx)

    def clear_session(self, session: str) -> int:
        """Forget a session's messages, summaries and run costs; returns how many messages went."""
        return self.delete_sessions([session])

    def delete_sessions(self, sessions: Iterable[str]) -> int:
        names = list(sessions)

        def tx(c: sqlite3.Connection) -> int:
            c.execute("BEGIN IMMEDIATE")
            try:
                n = 0
                for s in names:
                    n += c.execute("DELETE FROM messages WHERE session = ?", (s,)).rowcount
                    for table in ("sessions", "summaries", "runs"):
                        c.execute(f"DELETE FROM {table} WHERE session = ?", (s,))
                c.execute("COMMIT")
                return n
            except BaseException:
                if c.in_transaction:
                    c.execute("ROLLBACK")
                raise
        return self._run("cannot write to", tx)

    def delete_older_than(self, days: float) -> list[str]:
        """Delete sessions not used for ``days`` days; returns their names."""
        cutoff = time.time() - days * 86400.0
        old = [s.session for s in self.sessions() if s.updated and s.updated < cutoff]
        if old:
            self.delete_sessions(old)
        return old

    def rename_session(self, old: str, new: str) -> None:
        if not new or new == old:
            return

        def tx(c: sqlite3.Connection) -> None:
            c.execute("BEGIN IMMEDIATE")
            try:
                taken = c.execute("SELECT 1 FROM sessions WHERE session = ? UNION SELECT 1 FROM runs WHERE session = ?",
                                  (new, new)).fetchone()
                if taken:
                    raise ConversationStoreError(f"there is already a session called {new!r}")
                for table in ("sessions", "messages", "summaries", "runs"):
                    c.execute(f"UPDATE {table} SET session = ? WHERE session = ?", (new, old))
                c.execute("COMMIT")
            except BaseException:
                if c.in_transaction:
                    c.execute("ROLLBACK")
                raise
        self._run("cannot write to", tx)


class _NoWait:
    def __init__(self, store: ConversationStore):
        self.store = store

    def __enter__(self) -> ConversationStore:
        self.store._conn()  # opening (and creating the schema) may wait; that is not the fast path
        self.store._local.no_wait = True
        return self.store

    def __exit__(self, *exc: Any) -> None:
        self.store._local.no_wait = False


def _row(message: Mapping[str, Any]) -> tuple[str, str, str | None]:
    role = str(message.get("role") or "user")
    content = message.get("content")
    text = content if isinstance(content, str) else ("" if content is None else json.dumps(content, ensure_ascii=False))
    extra = {k: v for k, v in message.items() if k not in ("role", "content")}
    return role, text, (json.dumps(extra, ensure_ascii=False, default=str) if extra else None)


def _message(row: tuple) -> StoredMessage:
    seq, turn, role, content, run_id, created, extra = row
    return StoredMessage(int(seq), int(turn), role, content, run_id, float(created),
                         json.loads(extra) if extra else None)


__all__ = ["ConversationStore", "ConversationStoreError", "StoreBusy", "SessionInfo", "StoredMessage", "memory_dir", "open_store", "store_path"]
