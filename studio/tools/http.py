"""http_request: one HTTP call with httpx (method, headers, body, timeout).

Why these limits: the model or the flow chooses the URL, so only http(s) is allowed,
the body read is capped, and network trouble (timeouts, refused or dropped connections)
is a RetryableError so the executor's retry policy applies. An HTTP error status is
not an exception: the status is part of the answer, for the flow or the agent to judge.
"""

from __future__ import annotations

import json
from typing import Any

from studio.core.errors import NodeFailure, RetryableError

from .base import Tool, ToolContext

MAX_BODY = 1_000_000


async def _request(args: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
    import httpx

    url = str(args["url"]).strip()
    if not url.lower().startswith(("http://", "https://")):
        raise NodeFailure(f"http_request: only http:// and https:// URLs are allowed, not {url[:80]!r}")
    method = str(args.get("method") or "GET").upper()
    headers = {str(k): str(v) for k, v in (args.get("headers") or {}).items()}
    body = args.get("body")
    content: bytes | None = None
    if body is not None and body != "":
        if isinstance(body, str):
            content = body.encode("utf-8")
        else:
            content = json.dumps(body, ensure_ascii=False).encode("utf-8")
            headers.setdefault("Content-Type", "application/json")
    timeout = float(args.get("timeout_s") or 30)
    try:
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=bool(args.get("follow_redirects", True))) as client:
            async with client.stream(method, url, headers=headers, content=content) as resp:
                chunks: list[bytes] = []
                size = 0
                truncated = False
                async for chunk in resp.aiter_bytes():
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > MAX_BODY:
                        truncated = True
                        break
                raw = b"".join(chunks)[:MAX_BODY]
                status, resp_headers, encoding = resp.status_code, dict(resp.headers), resp.encoding or "utf-8"
    except httpx.TimeoutException:
        raise RetryableError(f"http_request: {method} {url} got no answer within {timeout:g} s") from None
    except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
        raise RetryableError(f"http_request: {method} {url} failed: {type(exc).__name__}: {exc}") from None
    except httpx.InvalidURL as exc:
        raise NodeFailure(f"http_request: invalid URL {url!r}: {exc}") from None
    except httpx.HTTPError as exc:
        raise NodeFailure(f"http_request: {method} {url} failed: {type(exc).__name__}: {exc}") from None
    text = raw.decode(encoding, errors="replace")
    result: dict[str, Any] = {"status": status, "ok": 200 <= status < 300, "headers": resp_headers, "text": text}
    if truncated:
        result["truncated"] = True
    if "json" in resp_headers.get("content-type", "").lower() and not truncated:
        try:
            result["json"] = json.loads(text)
        except ValueError:
            pass
    return result


TOOL = Tool(
    "http_request",
    "Make an HTTP request and return status, headers and body text (and parsed JSON when the reply is JSON).",
    {
        "type": "object",
        "properties": {
            "url": {"type": "string", "description": "http:// or https:// URL."},
            "method": {"type": "string", "enum": ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"], "default": "GET"},
            "headers": {"type": "object", "additionalProperties": {"type": "string"}, "default": {}},
            "body": {"description": "Text, or a JSON value sent as application/json.", "default": None},
            "timeout_s": {"type": "number", "exclusiveMinimum": 0, "maximum": 600, "default": 30},
            "follow_redirects": {"type": "boolean", "default": True},
        },
        "required": ["url"],
        "additionalProperties": False,
    },
    _request,
)
