"""The native endpoints: list flows, start runs (wait, stream or detach), read and steer runs.

* ``GET /flows`` -- every served flow: name, description, interface as JSON Schema.
* ``POST /flows/{name}/runs`` -- body ``{"inputs": {...}, "session": "..."}``; waits and
  answers the run's document (HTTP 200 succeeded, 500 failed, 429 budget spent, 503
  cancelled); ``?stream=true`` sends the run's events as server-sent events ending with a
  ``result`` event; ``?wait=false`` answers 202 with the run id at once.
* ``GET /runs`` (the newest runs), ``GET /runs/{id}``, ``GET /runs/{id}/trace`` (the redacted trace as JSON events),
  ``POST /runs/{id}/approvals/{node}`` (approve, edit or reject a waiting Approval node),
  ``POST /runs/{id}/cancel``; ``GET /server`` (runs going, slots, the day's spending).

A client that goes away -- a dropped stream or a waiting request whose connection closes
-- cancels its run: nobody would read the result, and it would keep spending.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import anyio
import orjson
from sse_starlette.sse import EventSourceResponse
from starlette.requests import Request
from starlette.routing import Route

from studio.core.catalogue.context import ApprovalDecision
from studio.core.running.events import encode_event
from studio.serve.documents import HTTP_STATUS, encode, json_response, links, redact_bytes
from studio.serve.launcher import Launcher, Refused
from studio.serve.registry import ServedRun

SESSION_HEADER = "x-orchestra-session"
CANCEL_WAIT_S = 2.0


def _launcher(request: Request) -> Launcher:
    return request.app.state.launcher


async def read_json(request: Request, allowed: set[str] | None = None) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Refused(422, "invalid_json", f"the body is not JSON: {exc}", field="body", reason="not JSON") from None
    if not isinstance(body, dict):
        raise Refused(422, "invalid_json", "the body must be a JSON object", field="body", reason="not an object")
    if allowed is not None:
        extra = sorted(set(body) - allowed)
        if extra:
            hint = ' (inputs go under "inputs")' if "inputs" in allowed else ""
            raise Refused(422, "invalid_input", f"unknown field {extra[0]!r}{hint}", field=extra[0],
                          reason=f"unknown field; allowed: {', '.join(sorted(allowed))}")
    return body


def query_flag(request: Request, name: str, default: bool) -> bool:
    if not request.scope.get("query_string"):  # the usual request: nothing to parse
        return default
    raw = request.query_params.get(name)
    if raw is None:
        return default
    low = raw.strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise Refused(422, "invalid_input", f"?{name}= takes true or false", field=name, reason="expected true or false")


async def list_flows(request: Request):
    flows = _launcher(request).catalogue.all()
    return json_response({"flows": [f.listing() for f in flows]})


async def start_run(request: Request):
    launcher = _launcher(request)
    flow = launcher.flow(request.path_params["name"])
    stream = query_flag(request, "stream", False)
    wait = query_flag(request, "wait", True)
    body = await read_json(request, {"inputs", "session"})
    session = body.get("session", request.headers.get(SESSION_HEADER))
    if session is not None and not isinstance(session, str):
        raise Refused(422, "invalid_input", "session must be a string", field="session", reason="not a string")
    served = launcher.launch(flow, body.get("inputs", {}), session)
    if stream:
        return await stream_run(launcher, served)
    if not wait:
        launcher.start(served)
        return json_response({"run_id": served.id, "flow": served.flow, "status": "running", "links": links(served.id)}, 202)
    await run_unless_gone(request, launcher, served)
    doc = served.document
    return json_response(doc, HTTP_STATUS.get(doc["status"], 500), headers={"Server-Timing": server_timing(request, served)})


def server_timing(request: Request, served: ServedRun) -> str:
    """``app``: from the request reaching the app to the answer; ``run``: the run's own wall time.
    The difference is what serving added (HTTP handling, checks, bookkeeping, waiting for the loop)."""
    t0 = request.scope.get("orchestra.t0")
    app_ms = (time.perf_counter() - t0) * 1000 if t0 is not None else 0.0
    run_ms = float((served.result.totals if served.result else {}).get("wall_s", 0.0)) * 1000
    return f"app;dur={app_ms:.3f}, run;dur={run_ms:.3f}"


async def run_unless_gone(request: Request, launcher: Launcher, served: ServedRun) -> None:
    """Run in this request's own task, so it starts at once and the answer goes out in the
    loop iteration it ends in; cancel it if the client disconnects meanwhile (a cancelled
    request cancels it too: the run is in the request's task).

    The disconnect watcher is a task started only once the run first waits: a run that
    never gives the loop up (templates and mock calls) cannot be cancelled by anything
    else meanwhile, so a watcher would only cost it a task and two loop steps."""
    watcher: list[asyncio.Task] = []

    def watch() -> None:
        watcher.append(asyncio.get_running_loop().create_task(cancel_when_gone(request, served)))

    try:
        await OnFirstWait(launcher.run_here(served), watch)
    finally:
        for task in watcher:
            task.cancel()


class OnFirstWait:
    """Await a coroutine in the calling task, calling ``on_wait()`` the first time it
    suspends (gives the loop up): the same as ``await coro`` otherwise -- what it waits
    on goes up to the task, what the task sends or throws in goes down to it."""

    __slots__ = ("_coro", "_on_wait")

    def __init__(self, coro, on_wait) -> None:
        self._coro, self._on_wait = coro, on_wait

    def __await__(self):
        coro = self._coro
        try:
            waiting = coro.send(None)
        except StopIteration as stop:
            return stop.value
        self._on_wait()
        while True:
            try:
                sent = yield waiting
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # a cancellation, thrown in by the task
                try:
                    waiting = coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    waiting = coro.send(sent)
                except StopIteration as stop:
                    return stop.value


async def cancel_when_gone(request: Request, served: ServedRun) -> None:
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            served.run.cancel()
            return


async def cancel_and_settle(served: ServedRun) -> None:
    """Cancel the run and wait (shielded, briefly) until nothing of it is left running."""
    served.run.cancel()
    task = served.task
    if task is None:
        return
    with anyio.CancelScope(shield=True):
        with anyio.move_on_after(CANCEL_WAIT_S):
            await asyncio.gather(task, return_exceptions=True)
    served.settle()


def sse_event(event) -> dict[str, str]:
    return {"event": event.type, "data": redact_bytes(encode_event(event)).decode("utf-8").rstrip("\n")}


async def stream_run(launcher: Launcher, served: ServedRun) -> EventSourceResponse:
    events = served.run.events()
    first = await events.__anext__()  # starts the run, with the event queue already in place
    launcher.start(served)

    async def gone() -> None:
        await cancel_and_settle(served)

    async def body():
        try:
            yield sse_event(first)
            async for event in events:
                yield sse_event(event)
            assert served.task is not None
            await asyncio.wait({served.task})  # never raises, even for a run cancelled before it began
            served.settle()
            yield {"event": "result", "data": encode(served.document).decode("utf-8")}
        finally:
            if not served.done:
                await cancel_and_settle(served)

    return EventSourceResponse(body(), ping=15, client_close_handler_callable=lambda _msg: gone())


def _served(request: Request) -> ServedRun:
    served = _launcher(request).registry.get(request.path_params["run_id"])
    if served is None:
        raise Refused(404, "run_not_found", "no run of this server has this id (finished runs are kept for a while)")
    return served


async def list_runs(request: Request):
    """The newest runs first (running ones included), at most 100: id, flow, status."""
    runs = _launcher(request).registry.recent(100)
    return json_response({"runs": [{"run_id": r.id, "flow": r.flow, "status": r.result.status if r.result else "running",
                                    "waiting_for_approval": sorted({p.node for p in r.approvals}), "links": links(r.id)}
                                   for r in runs]})


async def get_run(request: Request):
    return json_response(_served(request).status_document())


async def get_trace(request: Request):
    served = _served(request)
    path = served.trace_path
    if path is None:
        raise Refused(404, "no_trace", "this run keeps no trace")

    def read() -> list[Any]:
        try:
            return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
        except (OSError, orjson.JSONDecodeError):
            return []

    events = await asyncio.to_thread(read)
    return json_response({"run_id": served.id, "complete": served.done, "events": events})


async def answer_approval(request: Request):
    served = _served(request)
    node = request.path_params["node"]
    body = await read_json(request, {"action", "value", "reason"})
    action = body.get("action", "approve")
    if action not in ("approve", "edit", "reject"):
        raise Refused(422, "invalid_input", "action must be approve, edit or reject", field="action",
                      reason="expected approve, edit or reject")
    if action == "edit" and "value" not in body:
        raise Refused(422, "invalid_input", "an edit needs the new value", field="value", reason="required for edit")
    reason = body.get("reason", "")
    if not isinstance(reason, str):
        raise Refused(422, "invalid_input", "reason must be text", field="reason", reason="not a string")
    decision = ApprovalDecision("reject" if action == "reject" else "approve",
                                body.get("value") if action == "edit" else None, reason, by="api")
    pending = served.answer(node, decision)
    if pending is None:
        waiting = sorted({p.node for p in served.approvals})
        raise Refused(409, "no_pending_approval",
                      f"nothing waits for approval at {node!r}" + (f" (waiting: {', '.join(waiting)})" if waiting else ""))
    return json_response({"run_id": served.id, "node": node, "action": action, "scope": [list(s) for s in pending.scope]})


async def server_status(request: Request):
    """Runs going, slots, the day's spending and how many asyncio tasks are alive (operators; tests)."""
    launcher = _launcher(request)
    budget = launcher.budget
    return json_response({
        "runs_active": len(launcher.registry.active()),
        "run_slots": {"limit": launcher.slots.limit, "taken": launcher.slots.active},
        "draining": launcher.draining,
        "spent_today_usd": round(budget.spent_usd, 8),
        "budget_per_day_usd": budget.limit_usd,
        "run_tasks": sum(1 for t in asyncio.all_tasks() if t.get_name().startswith("orchestra-run-")),
        "tasks": len(asyncio.all_tasks()),
    })


async def cancel_run(request: Request):
    served = _served(request)
    if not served.done:
        await cancel_and_settle(served)
    return json_response(served.status_document(), 202 if not served.done else 200)


ROUTES = [
    Route("/flows", list_flows, methods=["GET"]),
    Route("/server", server_status, methods=["GET"]),
    Route("/flows/{name}/runs", start_run, methods=["POST"]),
    Route("/runs", list_runs, methods=["GET"]),
    Route("/runs/{run_id}", get_run, methods=["GET"]),
    Route("/runs/{run_id}/trace", get_trace, methods=["GET"]),
    Route("/runs/{run_id}/approvals/{node}", answer_approval, methods=["POST"]),
    Route("/runs/{run_id}/cancel", cancel_run, methods=["POST"]),
]
