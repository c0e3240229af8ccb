"""A loopback OpenAI-compatible server for tests and benchmarks (aiohttp, 127.0.0.1 only).

Why: the LLM layer must be tested through real litellm and the real HTTP stack, with every
failure a provider can throw at us reproduced on demand and counted. Nothing here is
mocked inside litellm; litellm talks to this server exactly as to api.openai.com.

What it serves at ``/v1/chat/completions``:

- completions with ``usage`` (deterministic token counts: words of the prompt, words of the
  reply), streaming as SSE with a final usage chunk when ``stream_options.include_usage``,
  tool calls (streamed or not), JSON mode (``response_format`` json_object / json_schema:
  the default reply is a JSON object);
- on demand, per request (``enqueue``) or per model (``on_model``): 429 with Retry-After,
  500, a hang, a malformed (non-JSON) body, a dropped connection (before the reply, or
  mid-stream), a stream truncated with connection-close or chunked framing, set latency, a pause between streamed pieces, a fixed reply or tool calls,
  fixed usage;
- ``requests`` keeps every request body (and its Authorization header), so tests can
  count calls; ``max_in_flight`` is the most requests it served at once.

Use it in a test through the ``mock_openai`` fixture (tests/conftest.py), from a thread
with ``MockOpenAIThread`` (benchmarks), or as a process:
``python -m tests.support.mock_openai --latency 0.1`` prints its base URL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

from aiohttp import web


@dataclass
class Reply:
    """What the server does for one request. Defaults: an echo of the last user message."""

    content: str | None = None
    tool_calls: list[dict[str, Any]] | None = None  # [{"name": ..., "arguments": {...} | "raw json"}]
    status: int = 200
    retry_after: float | None = None
    error_message: str = ""
    hang: bool = False
    malformed: bool = False
    drop: bool = False  # close the connection: before replying, or mid-stream when streaming
    # a stream cut short, as two kinds of servers do it (streaming requests only):
    # "close"   -- framed by connection close (no chunked encoding, no length): the client
    #              sees a clean end of the body, with no finish_reason and no [DONE];
    # "chunked" -- chunked encoding broken off mid-body (no terminating chunk).
    truncate: str | None = None
    not_sse: bool = False  # answer a streaming request with a plain JSON body (a misbehaving proxy)
    latency: float | None = None
    token_delay: float | None = None  # seconds between streamed pieces (default: the server's)
    usage: tuple[int, int] | None = None  # (prompt_tokens, completion_tokens)

    # -- readable constructors -------------------------------------------------
    @classmethod
    def text(cls, content: str, **kw: Any) -> "Reply":
        return cls(content=content, **kw)

    @classmethod
    def tools(cls, *calls: tuple[str, Any], content: str | None = None, **kw: Any) -> "Reply":
        return cls(content=content, tool_calls=[{"name": n, "arguments": a} for n, a in calls], **kw)

    @classmethod
    def rate_limited(cls, retry_after: float | None = 1.0) -> "Reply":
        return cls(status=429, retry_after=retry_after, error_message="Rate limit reached for requests")

    @classmethod
    def server_error(cls, status: int = 500) -> "Reply":
        return cls(status=status, error_message="The server had an error while processing your request.")

    @classmethod
    def unauthorized(cls) -> "Reply":
        return cls(status=401, error_message="Incorrect API key provided.")

    @classmethod
    def bad_request(cls, message: str = "Invalid request.") -> "Reply":
        return cls(status=400, error_message=message)

    @classmethod
    def hanging(cls) -> "Reply":
        return cls(hang=True)

    @classmethod
    def malformed_body(cls) -> "Reply":
        return cls(malformed=True)

    @classmethod
    def dropped(cls) -> "Reply":
        return cls(drop=True)

    @classmethod
    def truncated(cls, how: str = "close", content: str = "one two three four five six") -> "Reply":
        """A streamed answer cut off after a few words ("close" or "chunked" framing)."""
        return cls(content=content, truncate=how)


@dataclass
class SeenRequest:
    body: dict[str, Any]
    authorization: str | None
    at: float = field(default_factory=time.monotonic)

    @property
    def model(self) -> str:
        return str(self.body.get("model", ""))


def _words(text: str) -> int:
    return len(text.split())


def _message_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def _skeleton(schema: dict[str, Any]) -> Any:
    """A small value that satisfies a simple JSON schema (the default JSON-mode reply)."""
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = kind[0]
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {k: _skeleton(v) for k, v in props.items()}
    return {"string": "text", "number": 1.5, "integer": 1, "boolean": True, "array": [], "null": None}.get(kind, "text")


class MockOpenAI:
    """The server. ``await start()`` on the loop that will use it; ``await close()`` after."""

    def __init__(self, latency: float = 0.0, require_key: str | None = None, token_delay: float = 0.0):
        self.latency = latency
        self.token_delay = token_delay
        self.require_key = require_key
        self.requests: list[SeenRequest] = []
        self.model_list_auth: list[str | None] = []  # Authorization of each GET /v1/models
        self._queue: deque[Reply] = deque()
        self._by_model: dict[str, Reply | Callable[[SeenRequest], Reply]] = {}
        self._runner: web.AppRunner | None = None
        self._hangs: set[asyncio.Future] = set()
        self.port: int = 0
        self.in_flight = 0
        self.max_in_flight = 0  # the most requests handled at once (for concurrency limits)

    # -- control -----------------------------------------------------------------
    def enqueue(self, *replies: Reply | str) -> None:
        """Replies for the next requests, in order (strings are text replies)."""
        for r in replies:
            self._queue.append(Reply.text(r) if isinstance(r, str) else r)

    def on_model(self, model: str, reply: Reply | Callable[[SeenRequest], Reply]) -> None:
        """A standing behaviour for every request naming ``model`` (after the queue is empty)."""
        self._by_model[model] = reply

    @property
    def count(self) -> int:
        return len(self.requests)

    def count_for(self, model: str) -> int:
        return sum(1 for r in self.requests if r.model == model)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # -- lifecycle ---------------------------------------------------------------
    async def start(self, port: int = 0) -> str:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self.base_url

    async def close(self) -> None:
        for fut in list(self._hangs):
            fut.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- handlers ----------------------------------------------------------------
    async def _models(self, request: web.Request) -> web.Response:
        # the cheap authenticated request a key test makes (Settings -> Test)
        auth = request.headers.get("Authorization")
        self.model_list_auth.append(auth)
        if self.require_key is not None and auth != f"Bearer {self.require_key}":
            return web.json_response({"error": {"message": "Incorrect API key provided.", "type": "invalid_request_error"}},
                                     status=401)
        return web.json_response({"object": "list", "data": [{"id": "gpt-4o-mini", "object": "model"}]})

    def _pick(self, seen: SeenRequest) -> Reply:
        if self._queue:
            return self._queue.popleft()
        standing = self._by_model.get(seen.model)
        if standing is not None:
            return standing(seen) if callable(standing) else standing
        return Reply()

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._chat_inner(request)
        finally:
            self.in_flight -= 1

    async def _chat_inner(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = json.loads(raw)
        except ValueError:
            return web.json_response({"error": {"message": "body is not JSON", "type": "invalid_request_error"}}, status=400)
        seen = SeenRequest(body, request.headers.get("Authorization"))
        self.requests.append(seen)
        reply = self._pick(seen)

        latency = self.latency if reply.latency is None else reply.latency
        if latency:
            await asyncio.sleep(latency)
        if self.require_key is not None and seen.authorization != f"Bearer {self.require_key}":
            reply = Reply.unauthorized()
        if reply.hang:
            fut = asyncio.get_running_loop().create_future()
            self._hangs.add(fut)
            try:
                await asyncio.wait_for(fut, 3600)
            finally:
                self._hangs.discard(fut)
        if reply.status != 200:
            headers = {}
            if reply.retry_after is not None:
                headers["Retry-After"] = f"{reply.retry_after:g}"
            kind = {429: "rate_limit_error", 401: "invalid_api_key", 400: "invalid_request_error"}.get(reply.status, "server_error")
            return web.json_response(
                {"error": {"message": reply.error_message or f"error {reply.status}", "type": kind, "code": kind}},
                status=reply.status,
                headers=headers,
            )
        stream = bool(body.get("stream"))
        if reply.drop and not stream:
            request.transport.close()  # type: ignore[union-attr]
            return web.Response(status=200)  # never reaches the client
        if reply.not_sse and stream:
            return web.json_response({"error": None, "note": "this proxy does not stream"})
        if reply.malformed and stream:
            resp = web.StreamResponse(status=200, headers={"Content-Type": "text/event-stream"})
            await resp.prepare(request)
            await resp.write(b'data: {"id": "chatcmpl-broken", "object": "chat.completion.chunk", "choices": [\n\n')
            await resp.write(b"data: [DONE]\n\n")
            await resp.write_eof()
            return resp
        if reply.malformed:
            return web.Response(status=200, text='{"id": "chatcmpl-broken", "choices": [', content_type="application/json")

        content, tool_calls = self._answer(body, reply)
        prompt_tokens = sum(_words(_message_text(m)) for m in body.get("messages", [])) + 1
        completion_tokens = max(1, _words(content or "") + sum(_words(c["function"]["arguments"]) + 1 for c in tool_calls))
        if reply.usage is not None:
            prompt_tokens, completion_tokens = reply.usage
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                 "total_tokens": prompt_tokens + completion_tokens}
        model = body.get("model", "gpt-4o-mini")
        finish = "tool_calls" if tool_calls else "stop"
        if reply.truncate == "close":
            return self._cut_by_close(request, model, content or "", stream)
        if reply.truncate == "chunked":
            if not stream:
                return await self._chunked_cut(request)
            reply.drop = True  # the chunked stream broken off mid-body
        if stream:
            delay = self.token_delay if reply.token_delay is None else reply.token_delay
            return await self._stream(request, body, model, content, tool_calls, usage, finish, reply.drop, delay)
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if tool_calls:
            message["tool_calls"] = tool_calls
        return web.json_response({
            "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": usage,
        })

    def _answer(self, body: dict[str, Any], reply: Reply) -> tuple[str | None, list[dict[str, Any]]]:
        tool_calls = []
        for i, call in enumerate(reply.tool_calls or []):
            args = call["arguments"]
            tool_calls.append({
                "id": f"call_{uuid.uuid4().hex[:10]}_{i}",
                "type": "function",
                "function": {"name": call["name"], "arguments": args if isinstance(args, str) else json.dumps(args)},
            })
        if reply.content is not None or tool_calls:
            return reply.content, tool_calls
        last_user = next((_message_text(m) for m in reversed(body.get("messages", [])) if m.get("role") == "user"), "")
        fmt = body.get("response_format") or {}
        if fmt.get("type") == "json_schema":
            schema = (fmt.get("json_schema") or {}).get("schema") or {}
            return json.dumps(_skeleton(schema)), []
        if fmt.get("type") == "json_object":
            return json.dumps({"echo": last_user}), []
        return f"echo: {last_user}", []

    def _cut_by_close(self, request: web.Request, model: str, content: str, stream: bool) -> web.StreamResponse:
        """Half an answer (an event stream, or a JSON body), HTTP/1.1 framed by closing the
        connection, written raw (aiohttp would chunk it): to the client the body simply ends."""
        cid = f"chatcmpl-{uuid.uuid4().hex[:12]}"
        words = content.split(" ")
        if stream:
            events = [{"role": "assistant", "content": ""}] + [{"content": w + " "} for w in words[: max(1, len(words) // 2)]]
            body = b"".join(
                f"data: {json.dumps({'id': cid, 'object': 'chat.completion.chunk', 'created': int(time.time()), 'model': model, 'choices': [{'index': 0, 'delta': d, 'finish_reason': None}]})}\n\n".encode()
                for d in events)
            kind = b"text/event-stream"
        else:
            whole = json.dumps({"id": cid, "object": "chat.completion", "created": int(time.time()), "model": model,
                                "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                             "finish_reason": "stop"}]}).encode()
            body, kind = whole[: len(whole) // 2], b"application/json"
        head = b"HTTP/1.1 200 OK\r\nContent-Type: " + kind + b"\r\nConnection: close\r\n\r\n"
        transport = request.transport
        assert transport is not None
        transport.write(head + body)
        transport.close()
        return web.Response(status=200)  # never reaches the client: the connection is closed

    async def _chunked_cut(self, request: web.Request) -> web.StreamResponse:
        """A chunked JSON body broken off after its first chunk."""
        resp = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        await resp.write(b'{"id": "chatcmpl-cut", "object": "chat.completion", "choices": [{"index": 0, ')
        request.transport.close()  # type: ignore[union-attr]
        return resp

    async def _stream(self, request, body, model, content, tool_calls, usage, finish, drop,
                      delay: float = 0.0) -> web.StreamResponse:
        resp = web.StreamResponse(status=200, headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await resp.prepare(request)
        cid = f"chatcmpl-{uuid.uuid4().hex[:12]}"
        created = int(time.time())

        def chunk(delta: dict[str, Any] | None, finish_reason: str | None = None, usage_part=None) -> bytes:
            data: dict[str, Any] = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                                    "choices": [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish_reason}]}
            if usage_part is not None:
                data["usage"] = usage_part
            return f"data: {json.dumps(data)}\n\n".encode()

        await resp.write(chunk({"role": "assistant", "content": ""}))
        pieces = []
        if content:
            words = content.split(" ")
            pieces = [w if i == len(words) - 1 else w + " " for i, w in enumerate(words)]
        for n, piece in enumerate(pieces):
            if delay and n:
                await asyncio.sleep(delay)
            await resp.write(chunk({"content": piece}))
            if drop and n >= min(2, len(pieces) - 1):
                request.transport.close()  # type: ignore[union-attr]
                return resp
        if drop and not pieces:
            request.transport.close()  # type: ignore[union-attr]
            return resp
        for i, call in enumerate(tool_calls):
            await resp.write(chunk({"tool_calls": [{"index": i, "id": call["id"], "type": "function",
                                                    "function": {"name": call["function"]["name"], "arguments": ""}}]}))
            args = call["function"]["arguments"]
            half = len(args) // 2
            for part in (args[:half], args[half:]):
                await resp.write(chunk({"tool_calls": [{"index": i, "function": {"arguments": part}}]}))
        await resp.write(chunk({}, finish))
        if (body.get("stream_options") or {}).get("include_usage"):
            await resp.write(chunk(None, usage_part=usage))
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp


class MockOpenAIThread:
    """The server on its own event loop in a daemon thread (benchmarks, manual runs)."""

    def __init__(self, latency: float = 0.0, port: int = 0, token_delay: float = 0.0, require_key: str | None = None):
        self.server = MockOpenAI(latency=latency, token_delay=token_delay, require_key=require_key)
        self._port = port
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="mock-openai", daemon=True)

    def __enter__(self) -> MockOpenAI:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(self._port), self._loop).result(10)
        return self.server

    def __exit__(self, *exc: Any) -> None:
        asyncio.run_coroutine_threadsafe(self.server.close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - manual use
    parser = argparse.ArgumentParser(description="Serve a loopback OpenAI-compatible API for trying flows offline.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each reply")
    parser.add_argument("--token-delay", type=float, default=0.0, help="seconds between streamed pieces")
    args = parser.parse_args(argv)
    with MockOpenAIThread(latency=args.latency, port=args.port, token_delay=args.token_delay) as server:
        print(server.base_url, flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":  # pragma: no cover
    main()
