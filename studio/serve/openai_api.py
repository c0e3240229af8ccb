"""The OpenAI-compatible endpoints: every served flow with a chat interface is a "model".

``GET /v1/models`` lists them; ``POST /v1/chat/completions`` runs one turn: the last user
message goes to the flow's chat input (``studio.core.document.interface``, the same
choice the Chat panel and ``orchestra chat`` make), the chat output is the assistant's
reply, and tokens and cost come from the run's totals. With ``"stream": true`` the reply
arrives as ``chat.completion.chunk`` events (the streamed tokens of the node(s) that feed
the reply, looking through Merge nodes), ending with ``data: [DONE]``, as the official SDKs
expect; a failure mid-stream is an ``{"error": ...}`` event, which they raise.

Conversation memory: when the flow has Memory nodes, the session is the request's ``user``
field, or the ``X-Orchestra-Session`` header (which wins), else ``"default"``; the flow
keeps the history, so only the newest user message is sent into it. A flow without Memory
nodes sees only that message too: it has no input for the earlier turns. Extra inputs
(the chat interface's other inputs) may be given as ``"inputs": {...}`` in the body (the
SDKs' ``extra_body``).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from sse_starlette.sse import EventSourceResponse
from starlette.requests import Request
from starlette.routing import Route

from studio.serve.catalogue import ServedFlow
from studio.serve.documents import HTTP_STATUS, encode, json_response
from studio.serve.launcher import Launcher, Refused
from studio.serve.registry import ServedRun
from studio.serve.runs_api import SESSION_HEADER, cancel_and_settle, read_json, run_unless_gone

# Sampling options (temperature, max_tokens, ...) and whatever else a client sends are
# accepted and ignored -- the flow's nodes decide those -- so SDKs and LangChain's
# ChatOpenAI work unchanged. Tool definitions are refused: a flow is not a tool-calling model.
REFUSED = ("tools", "functions")


def _launcher(request: Request) -> Launcher:
    return request.app.state.launcher


def chat_flows(launcher: Launcher) -> list[ServedFlow]:
    return [f for f in launcher.catalogue.all() if f.chat is not None]


async def list_models(request: Request):
    data = [{"id": f.name, "object": "model", "created": int(f.mtime_ns // 1_000_000_000), "owned_by": "orchestra"}
            for f in chat_flows(_launcher(request))]
    return json_response({"object": "list", "data": data})


def last_user_text(messages: Any) -> str:
    if not isinstance(messages, list) or not messages:
        raise Refused(422, "invalid_input", "messages must be a non-empty list", field="messages", reason="empty or not a list")
    for m in reversed(messages):
        if not isinstance(m, dict):
            raise Refused(422, "invalid_input", "each message must be an object", field="messages", reason="not an object")
        if m.get("role") != "user":
            continue
        content = m.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            parts = [p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text"]
            if parts:
                return "\n".join(str(p) for p in parts)
        raise Refused(422, "invalid_input", "the last user message has no text", field="messages", reason="no text content")
    raise Refused(422, "invalid_input", "messages has no user message", field="messages", reason="no user message")


# node types that hand a text on unchanged, and from which input port (None: any of them).
# A reply that comes through one of these was streamed by the node before it.
PASS_THROUGH: dict[str, str | None] = {"merge": None, "memory_save": "reply"}


def reply_sources(flow: ServedFlow) -> frozenset[str]:
    """Nodes whose streamed tokens are the reply: the chat output's feeders, looking through
    nodes that pass the text on unchanged (Merge, Remember)."""
    assert flow.chat is not None
    plan = flow.plan
    out: set[str] = set()
    todo = list(flow.chat.reply_nodes)
    seen: set[str] = set()
    while todo:
        nid = todo.pop()
        if nid in seen or nid not in plan.nodes:
            continue
        seen.add(nid)
        spec = plan.nodes[nid]
        if spec.type_id in PASS_THROUGH:
            port = PASS_THROUGH[spec.type_id]
            todo.extend(e.src for e in spec.in_edges if port is None or e.port == port)
        else:
            out.add(nid)
    return frozenset(out)


def reply_text(flow: ServedFlow, served: ServedRun) -> str:
    assert flow.chat is not None and served.result is not None
    value = served.result.outputs.get(flow.chat.output, "")
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=repr)


def usage(served: ServedRun) -> dict[str, int]:
    t = served.result.totals if served.result is not None else {}
    tin, tout = int(t.get("tokens_in", 0) or 0), int(t.get("tokens_out", 0) or 0)
    return {"prompt_tokens": tin, "completion_tokens": tout, "total_tokens": tin + tout}


def orchestra_part(served: ServedRun) -> dict[str, Any]:
    t = served.result.totals if served.result is not None else {}
    return {"run_id": served.id, "status": served.result.status if served.result else "running",
            "cost_usd": t.get("cost_usd"), "links": {"run": f"/runs/{served.id}", "trace": f"/runs/{served.id}/trace"}}


def failure(served: ServedRun) -> Refused:
    result = served.result
    assert result is not None
    status = HTTP_STATUS.get(result.status, 500)
    code = {"failed": "run_failed", "budget_exceeded": "budget_exceeded", "cancelled": "run_cancelled"}.get(result.status, "run_failed")
    where = f" at {result.error_node}" if result.error_node else ""
    return Refused(status, code, f"the flow's run {result.status}{where}: {result.error or result.status}", run_id=served.id)


async def chat_completions(request: Request):
    launcher = _launcher(request)
    body = await read_json(request)
    for key in REFUSED:
        if body.get(key):
            raise Refused(422, "invalid_input", f"{key}: a served flow answers in text and calls no client tools",
                          field=key, reason="not supported by a served flow")
    name = body.get("model")
    if not isinstance(name, str) or not name:
        raise Refused(422, "invalid_input", "model: the served flow's name", field="model", reason="required")
    flow = launcher.catalogue.get(name)
    if flow is None or flow.chat is None:
        raise Refused(404, "model_not_found", f"the model {name!r} does not exist (GET /v1/models lists the chat flows)",
                      param="model")
    if body.get("n", 1) not in (1, None):
        raise Refused(422, "invalid_input", "n: a flow gives one reply", field="n", reason="only 1 is supported")
    message = last_user_text(body.get("messages"))
    extra = body.get("inputs") or {}
    if not isinstance(extra, dict):
        raise Refused(422, "invalid_input", "inputs must be an object", field="inputs", reason="not an object")
    session = request.headers.get(SESSION_HEADER) or body.get("user")
    if session is not None and not isinstance(session, str):
        raise Refused(422, "invalid_input", "user must be a string", field="user", reason="not a string")
    inputs = flow.chat.run_inputs(message, extra)
    served = launcher.launch(flow, inputs, session if flow.chat.has_memory else None)
    created = int(time.time())
    if body.get("stream"):
        opts = body.get("stream_options") or {}
        return await stream_chat(launcher, flow, served, created, bool(isinstance(opts, dict) and opts.get("include_usage")))
    await run_unless_gone(request, launcher, served)
    if served.result is None or served.result.status != "succeeded":
        raise failure(served)
    return json_response({
        "id": f"chatcmpl-{served.id}", "object": "chat.completion", "created": created, "model": flow.name,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": reply_text(flow, served)},
                     "finish_reason": "stop", "logprobs": None}],
        "usage": usage(served), "system_fingerprint": None, "orchestra": orchestra_part(served),
    })


async def stream_chat(launcher: Launcher, flow: ServedFlow, served: ServedRun, created: int, include_usage: bool):
    events = served.run.events()
    await events.__anext__()  # run started: the queue is in place before anything else happens
    launcher.start(served)
    sources = reply_sources(flow)
    cid = f"chatcmpl-{served.id}"

    def chunk(delta: dict[str, Any], finish: str | None = None, **more: Any) -> dict[str, str]:
        doc = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": flow.name,
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}], **more}
        return {"data": encode(doc).decode("utf-8")}

    async def gone() -> None:
        await cancel_and_settle(served)

    async def body():
        streamed: list[str] = []
        try:
            yield chunk({"role": "assistant", "content": ""})
            async for event in events:
                if (event.type == "node_progress" and event.node in sources and not event.scope
                        and event.data.get("kind") == "token" and isinstance(event.data.get("text"), str)):
                    streamed.append(event.data["text"])
                    yield chunk({"content": event.data["text"]})
            assert served.task is not None
            await asyncio.wait({served.task})  # never raises, even for a run cancelled before it began
            served.settle()
            if served.result is None or served.result.status != "succeeded":
                err = failure(served)
                yield {"data": encode({"error": {"message": err.message, "type": err.code, "code": err.code,
                                                 **err.extra}}).decode("utf-8")}
                return
            reply, sent = reply_text(flow, served), "".join(streamed)
            if reply != sent:
                # the reply did not stream (a template or a tool made it), or only its start did:
                # send what is missing. (Text already sent cannot be taken back: after a model
                # fell back mid-stream the client has both attempts' text, as with any proxy.)
                rest = reply[len(sent):] if reply.startswith(sent) else ""
                if rest:
                    yield chunk({"content": rest})
            final = {"orchestra": orchestra_part(served)}
            yield chunk({}, "stop", **final)
            if include_usage:
                doc = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": flow.name,
                       "choices": [], "usage": usage(served)}
                yield {"data": encode(doc).decode("utf-8")}
            yield {"data": "[DONE]"}
        finally:
            if not served.done:
                await cancel_and_settle(served)

    return EventSourceResponse(body(), ping=15, client_close_handler_callable=lambda _msg: gone())


ROUTES = [
    Route("/v1/models", list_models, methods=["GET"]),
    Route("/v1/chat/completions", chat_completions, methods=["POST"]),
]
