"""The run host: a child process that runs flows for the studio, so runs never hold its GIL.

Why a process and not a thread: litellm costs ~5 ms of CPU per call (13 ms streaming).
With the executor on a thread of the studio's own process, a 500-call fan-out kept the
GIL so busy that every Python ``paint()`` and event handler of the window queued behind
it, and the window stalled for hundreds of milliseconds at a time. In its own process the
run has its own interpreter; the studio only decodes events and paints.

The protocol is JSON lines over the child's stdin and a private copy of its stdout (fd 1
itself is pointed at stderr, so a tool or plugin that prints cannot corrupt it):

studio -> host
    {"op": "run", "run": ID, "flow": DOC, "base_dir": PATH|null, "env": {...},
     "options": {inputs, concurrency, budget_usd, mock, pinned, settings, trace, secrets}}
    {"op": "cancel", "run": ID}
    {"op": "approval", "run": ID, "node": N, "scope": [[s, i], ...], "decision": {...}}
    {"op": "exit"}
host -> studio
    {"t": "ready", "pid": PID}
    {"t": "events", "run": ID, "events": [EVENT, ...]}     (events as the trace holds them)
    {"t": "finished", "run": ID, "result": {...}}           (RunResult as JSON)
    {"t": "error", "run": ID, "error": TEXT}                (the run could not start)

Events are batched: the first event into an empty buffer schedules a flush ``BATCH_S``
later on the host's loop, so the studio receives at most a few hundred lines a second
however busy the run. The flow travels as its file document and is loaded and compiled
again in the host (a snapshot: editing during a run cannot disturb it).

``HostClient`` is the studio side (pure Python: a reader thread hands parsed messages to a
callback). Nothing here imports Qt.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

import orjson

from studio.core.running import events as ev

BATCH_S = 0.008


# -- RunResult <-> JSON ---------------------------------------------------------------------


def result_to_json(result) -> dict[str, Any]:
    return {
        "run_id": result.run_id, "status": result.status, "outputs": ev.jsonable(result.outputs),
        "error": result.error, "error_node": result.error_node, "error_scope": [list(s) for s in result.error_scope],
        "totals": ev.jsonable(result.totals), "trace_path": str(result.trace_path) if result.trace_path else None,
        "results": [ev.jsonable(asdict(r)) for r in result.results.values()],
    }


def result_from_json(doc: dict[str, Any]):
    from studio.core.running.executor import NodeResult, RunResult

    results = {}
    for r in doc.get("results", ()):
        scope = tuple((s, i) for s, i in r.get("scope", ()))
        nr = NodeResult(**{**r, "scope": scope})
        results[(nr.node, scope)] = nr
    return RunResult(
        run_id=doc["run_id"], status=doc["status"], outputs=ev.unjson(doc.get("outputs", {})),
        error=doc.get("error"), error_node=doc.get("error_node"),
        error_scope=tuple((s, i) for s, i in doc.get("error_scope", ())),
        totals=doc.get("totals", {}), trace_path=Path(doc["trace_path"]) if doc.get("trace_path") else None,
        results=results)


def decision_to_json(decision) -> dict[str, Any]:
    return ev.jsonable(asdict(decision))


def decision_from_json(doc: dict[str, Any]):
    from studio.core.catalogue.context import ApprovalDecision

    return ApprovalDecision(action=str(doc.get("action", "reject")), value=ev.unjson(doc.get("value")),
                            reason=str(doc.get("reason", "")), by=str(doc.get("by", "human")))


# -- the host (child side) ------------------------------------------------------------------


class _Host:
    def __init__(self, out, loop: asyncio.AbstractEventLoop):
        self.out = out
        self.loop = loop
        self.runs: dict[str, Any] = {}
        self.warming: dict[str, asyncio.Task] = {}  # run id -> its warm-up, which Stop cuts short
        # a Stop that arrives with its Run (one read can hold both) finds no run yet: it is
        # kept here and applied the moment the run exists
        self.starting: set[str] = set()
        self.stop_asked: set[str] = set()
        self.approvals: dict[tuple[str, str, tuple], asyncio.Future] = {}
        self.buffers: dict[str, list[bytes]] = {}
        self.redactors: dict[str, object] = {}  # run id -> the Redactor its events pass through
        self.write_lock = threading.Lock()

    def send(self, doc: dict[str, Any]) -> None:
        self.write_raw(ev.json_line(doc))

    def write_raw(self, data: bytes) -> None:
        with self.write_lock:
            try:
                self.out.write(data)
                self.out.flush()
            except (BrokenPipeError, ValueError, OSError):
                os._exit(0)  # the studio is gone

    # events: batched per run, flushed BATCH_S after the first of a batch
    def listener(self, run_id: str, secrets=()) -> Callable[[ev.Event], None]:
        from studio.core.userdata.redaction import Redactor

        buf: list[bytes] = []
        self.buffers[run_id] = buf
        redactor = self.redactors[run_id] = Redactor(secrets)  # the studio shows what the trace holds

        def listen(e: ev.Event) -> None:
            if not buf:
                self.loop.call_later(BATCH_S, self.flush, run_id)
            buf.append(redactor.bytes(ev.encode_event(e)).rstrip(b"\n"))

        return listen

    def flush(self, run_id: str) -> None:
        buf = self.buffers.get(run_id)
        if not buf:
            return
        head = b'{"t":"events","run":' + orjson.dumps(run_id) + b',"events":['
        data = head + b",".join(buf) + b"]}\n"
        buf.clear()
        self.write_raw(data)

    def handle(self, msg: dict[str, Any]) -> None:
        op = msg.get("op")
        if op == "run":
            self.starting.add(msg.get("run"))
            self.loop.create_task(self.start(msg))
        elif op == "cancel":
            run = self.runs.get(msg.get("run"))
            if run is not None:
                run.cancel()  # asked during the warm-up, the run starts cancelled
            elif msg.get("run") in self.starting:
                self.stop_asked.add(msg.get("run"))
            warming = self.warming.get(msg.get("run"))
            if warming is not None:
                warming.cancel()
        elif op == "approval":
            key = (msg.get("run"), msg.get("node"), tuple((s, i) for s, i in msg.get("scope", ())))
            fut = self.approvals.get(key)
            if fut is not None and not fut.done():
                fut.set_result(decision_from_json(msg.get("decision") or {}))
        elif op == "exit":
            for run in self.runs.values():
                run.cancel()
            self.loop.call_later(0.05 if self.runs else 0, self.loop.stop)

    async def start(self, msg: dict[str, Any]) -> None:
        from studio.core.running.executor import RunOptions, start_run
        from studio.core.document.flowfile import model_from_document
        from studio.core.running.plan import compile_plan

        run_id = msg["run"]
        try:
            env = msg.get("env")
            if isinstance(env, dict):
                os.environ.clear()
                os.environ.update({str(k): str(v) for k, v in env.items()})
                os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # litellm may be importing now
            from studio.core.userdata.credentials import forget_cached

            forget_cached()  # keys may have changed in the studio's Settings since the last run
            base = msg.get("base_dir")
            model = model_from_document(msg["flow"], base_dir=Path(base) if base else None)
            plan = compile_plan(model)
            o = msg.get("options") or {}
            secrets = set(o.get("secrets") or ())
            try:
                from studio.core.userdata.credentials import known_secrets

                secrets |= known_secrets()  # keyring keys too: asked here, never on the studio's GUI thread
            except Exception:  # noqa: BLE001 - no keyring: the environment's keys are in already
                pass
            options = RunOptions(
                inputs=ev.unjson(o.get("inputs") or {}), concurrency=int(o.get("concurrency", 16)),
                budget_usd=o.get("budget_usd"), mock=bool(o.get("mock")), pinned=ev.unjson(o.get("pinned") or {}),
                settings=o.get("settings") or {}, trace=o.get("trace", True), secrets=sorted(secrets),
                run_id=run_id, approval_handler=self.approval_handler(run_id))
            if isinstance(options.trace, str):
                options.trace = Path(options.trace)
            run = start_run(plan, options)
        except Exception as exc:  # noqa: BLE001 - reported to the studio, the host lives on
            self.starting.discard(run_id)
            self.stop_asked.discard(run_id)
            self.send({"t": "error", "run": run_id, "error": f"{type(exc).__name__}: {exc}"})
            return
        run.add_listener(self.listener(run_id, options.secrets))
        self.runs[run_id] = run  # from here Stop reaches the run, also during the warm-up
        self.starting.discard(run_id)
        stopped = run_id in self.stop_asked  # Stop came before the run existed
        if stopped:
            self.stop_asked.discard(run_id)
            run.cancel()
        try:
            # the first run may arrive while litellm is still importing (seconds): pay that
            # and the tokenizers here, before the run starts, so no node's latency includes
            # them; the studio shows "starting…" until the run_started event (issue 14, item 7)
            from studio.llm.warm import warm_up_before_run

            if not stopped:
                warming = self.warming[run_id] = self.loop.create_task(warm_up_before_run(plan))
                try:
                    await asyncio.wait({warming})  # returns when done or cut short by Stop
                finally:
                    self.warming.pop(run_id, None)
            result = await run.wait()
            from studio.core.userdata.credentials import redact

            redactor = self.redactors.get(run_id)
            payload = {"t": "finished", "run": run_id,
                       "result": redact(result_to_json(result), redactor.values()) if redactor else result_to_json(result)}
        except BaseException as exc:  # noqa: BLE001
            payload = {"t": "error", "run": run_id, "error": f"{type(exc).__name__}: {exc}"}
        finally:
            self.runs.pop(run_id, None)
        self.flush(run_id)
        self.buffers.pop(run_id, None)
        self.redactors.pop(run_id, None)
        self.send(payload)

    def approval_handler(self, run_id: str):
        async def ask(req):
            fut = self.loop.create_future()
            key = (run_id, req.node_id, tuple(req.scope))
            self.approvals[key] = fut
            try:
                return await fut
            finally:
                self.approvals.pop(key, None)

        return ask


def host_main() -> int:
    """``python -m studio.host.runhost``: serve runs until stdin closes or "exit"."""
    proto_out = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)  # print() in tools and plugins goes to stderr, never into the protocol
    sys.stdout = sys.stderr
    proto_in = os.fdopen(os.dup(0), "rb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    host = _Host(proto_out, loop)

    def read() -> None:
        for line in proto_in:
            line = line.strip()
            if not line:
                continue
            try:
                msg = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            loop.call_soon_threadsafe(host.handle, msg)
        loop.call_soon_threadsafe(host.handle, {"op": "exit"})  # the studio closed our stdin

    threading.Thread(target=read, name="runhost-stdin", daemon=True).start()
    if os.environ.get("ORCHESTRA_RUNHOST_WARM", "1") != "0":
        try:
            from studio.llm import warm_up

            warm_up()  # litellm's 4 s import, on a thread of ours, while nothing runs yet
        except Exception:  # noqa: BLE001 - the first LLM call imports it then
            pass
    host.send({"t": "ready", "pid": os.getpid()})
    try:
        loop.run_forever()
    finally:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for t in pending:
            t.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()
    return 0


# -- the client (studio side) ---------------------------------------------------------------


class HostGone(RuntimeError):
    """The run host process ended (crashed, killed, or could not start)."""


class HostClient:
    """Starts the host process and talks to it; ``on_message`` is called on a reader thread.

    On EOF (the host died) ``on_message({"t": "gone", "code": N})`` is called once; the next
    ``send`` starts a new host.
    """

    def __init__(self, on_message: Callable[[dict[str, Any]], None]):
        self.on_message = on_message
        self.proc: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self.ready = threading.Event()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        with self._lock:
            if self.alive:
                return
            env = dict(os.environ)
            env.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
            root = str(Path(__file__).resolve().parents[2])
            env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
            self.ready.clear()
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "studio.host.runhost"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                env=env, cwd=root, bufsize=0, close_fds=True)
            proc = self.proc
        threading.Thread(target=self._read, args=(proc,), name="runhost-reader", daemon=True).start()

    def _read(self, proc: subprocess.Popen) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                msg = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if msg.get("t") == "ready":
                self.ready.set()
            self.on_message(msg)
        code = proc.wait()
        if proc is self.proc:
            self.on_message({"t": "gone", "code": code})

    def send(self, msg: dict[str, Any]) -> None:
        if not self.alive:
            self.start()
        proc = self.proc
        assert proc is not None and proc.stdin is not None
        data = ev.json_line(msg)
        try:
            with self._lock:
                proc.stdin.write(data)
        except (BrokenPipeError, OSError) as exc:
            raise HostGone(f"the run host stopped (exit code {proc.poll()})") from exc

    def close(self, timeout: float = 3.0) -> None:
        proc = self.proc
        if proc is None:
            return
        self.proc = None
        try:
            if proc.poll() is None and proc.stdin is not None:
                proc.stdin.write(b'{"op":"exit"}\n')
                proc.stdin.close()
            proc.wait(timeout)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait(2)


if __name__ == "__main__":
    sys.exit(host_main())
