"""Turning litellm's exceptions into the two kinds the executor acts on.

Why: the executor retries RetryableError (honouring ``retry_after``) and shows NodeFailure
to the user; it must never need to know litellm's dozens of classes. Rules:

- retry: 429 (with the provider's Retry-After), 5xx, timeouts, connection refused or
  dropped (also mid-stream), a reply that is not valid JSON;
- say what happened, not what litellm's class is: a connection problem names the URL
  and the cause ("cannot reach http://127.0.0.1:9/v1: connection refused"), a stream
  broken off mid-body or ended without the provider's finish_reason is "cut off"
  (``StreamTruncated``), a body that is not JSON says so -- none of them is "failed (500)";
- fail with a message the user can act on: a rejected key (401/403), an unknown model
  (404), a bad request (400/422), a prompt longer than the model's context, a content
  policy refusal.
"""

from __future__ import annotations

import email.utils
import json
import re
import socket
import ssl
import time
from typing import Any, Iterator

from studio.core.errors import NodeFailure, RetryableError

from .runtime import litellm

_PREFIX_RE = re.compile(r"^(?:litellm\.\w+:\s*|\w+(?:Error|Exception)\s*[:\-]\s*|\w+Exception - )+")
MAX_RETRY_AFTER_S = 600.0


def clean_message(exc: BaseException) -> str:
    """litellm's message without its class-name prefixes, on one short line."""
    text = str(getattr(exc, "message", None) or exc) or type(exc).__name__
    text = _PREFIX_RE.sub("", text.strip())
    text = " ".join(text.split())
    return text[:500]


def retry_after_of(exc: BaseException) -> float | None:
    """Seconds the provider asked us to wait (Retry-After / retry-after-ms), if it said."""
    for headers in (getattr(exc, "litellm_response_headers", None),
                    getattr(getattr(exc, "response", None), "headers", None),
                    getattr(exc, "headers", None)):
        if not headers:
            continue
        try:
            lowered = {str(k).lower(): str(v) for k, v in dict(headers).items()}
        except Exception:
            continue
        if "retry-after-ms" in lowered:
            try:
                return _cap(float(lowered["retry-after-ms"]) / 1000.0)
            except ValueError:
                pass
        value = lowered.get("retry-after")
        if value:
            try:
                return _cap(float(value))
            except ValueError:
                try:
                    when = email.utils.parsedate_to_datetime(value)
                except (TypeError, ValueError):
                    continue
                return _cap(when.timestamp() - time.time())
    return None


def _cap(seconds: float) -> float:
    return max(0.0, min(seconds, MAX_RETRY_AFTER_S))


class StreamTruncated(RetryableError):
    """An answer that stopped before the provider said it was complete: retried, and the
    partial text is never taken as the node's output."""


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen and len(seen) < 12:
        seen.add(id(e))
        yield e
        e = e.__cause__ or e.__context__


# what a body broken off mid-transfer raises, in aiohttp, httpx and http.client
_CUT_TYPES = frozenset({"ClientPayloadError", "TransferEncodingError", "ContentLengthError", "RemoteProtocolError",
                        "IncompleteRead", "ReadError"})
_CUT_TEXT = ("payload is not completed", "incomplete chunked read", "peer closed connection without sending complete")
_JSON_TEXT = ("Expecting value", "Expecting property name", "Unterminated string", "Expecting ',' delimiter",
              "Extra data", "Invalid control character")


def stream_cut(exc: BaseException) -> str | None:
    """What broke the body off mid-transfer (the deepest cause says it best), or None."""
    found = None
    for e in _chain(exc):
        text = str(e)
        if type(e).__name__ in _CUT_TYPES or any(t in text for t in _CUT_TEXT):
            found = e
    if found is None:
        return None
    detail = clean_message(found)[:160]
    return f"{type(found).__name__}: {detail}" if detail and detail != type(found).__name__ else type(found).__name__


def not_json(exc: BaseException) -> str | None:
    """Why the body was not JSON (the parser's own words), or None."""
    found = None
    for e in _chain(exc):
        if isinstance(e, json.JSONDecodeError):
            return f"{e.msg} at character {e.pos}"
        if any(t in str(e) for t in _JSON_TEXT):
            found = e
    if found is None:
        return None
    text = clean_message(found)
    hit = min((text.find(t) for t in _JSON_TEXT if t in text), default=0)
    return text[hit:][:160]


def connection_cause(exc: BaseException) -> tuple[str | None, str | None]:
    """(cause, "host:port") of a failed connection, each None when not found."""
    chain = list(_chain(exc))
    where = next((f"{e.host}:{e.port}" for e in chain if getattr(e, "host", None) and getattr(e, "port", None)), None)
    for e in chain:  # the specific causes first, wherever they sit in the chain
        if isinstance(e, ConnectionRefusedError):
            return "connection refused (nothing is listening there)", where
        if isinstance(e, ConnectionResetError):
            return "connection reset by the server", where
        if isinstance(e, socket.gaierror):
            return f"host name not found ({e.strerror or e})", where
        if isinstance(e, ssl.SSLError):
            return f"TLS failed ({getattr(e, 'reason', None) or e})", where
        if type(e).__name__ == "ServerDisconnectedError":
            return "the server closed the connection without answering", where
    for e in reversed(chain):  # else the deepest operating-system error
        if isinstance(e, OSError) and e.errno is not None:
            return (e.strerror or str(e)).lower(), where
    return None, where


def map_error(exc: BaseException, model: str, provider: str = "", url: str | None = None,
              stream: bool = False) -> BaseException:
    """The exception to raise instead of ``exc`` (``exc`` itself when it is not a provider error).

    ``url`` is where the call went (the api_base), named in connection errors.
    """
    if isinstance(exc, (RetryableError, NodeFailure)):
        return exc
    ll = litellm()
    msg = clean_message(exc)
    who = provider or "the provider"
    status = getattr(exc, "status_code", None)

    if not isinstance(exc, (ll.RateLimitError, ll.AuthenticationError, ll.PermissionDeniedError, ll.NotFoundError,
                            ll.BadRequestError)):
        cut = stream_cut(exc)
        if cut:
            return StreamTruncated(f"{model}: the answer from {who} was cut off{' mid-stream' if stream else ''} "
                                   f"({cut}); the partial answer is discarded")
        cause, where = connection_cause(exc)
        if cause:
            target = url or (f"{where}" if where else f"{who}'s endpoint")
            return RetryableError(f"{model}: cannot reach {who} at {target}: {cause}")
        bad_json = not_json(exc)
        if bad_json:
            return RetryableError(f"{model}: {who} answered with a body that is not valid JSON ({bad_json})")

    if isinstance(exc, ll.RateLimitError):
        after = retry_after_of(exc)
        wait = f"; it asked to wait {after:g} s" if after is not None else ""
        return RetryableError(f"{model}: rate limited by {who} (429){wait}: {msg}", retry_after=after)
    if isinstance(exc, ll.Timeout):
        return RetryableError(f"{model}: no answer from {who}{' at ' + url if url else ''} in time: {msg}")
    if isinstance(exc, ll.AuthenticationError):
        fix = (f" Check the key: `orchestra keys set {provider}` or the environment variable."
               if provider else "")
        return NodeFailure(f"{model}: {who} rejected the API key (401): {msg.rstrip('.')}.{fix}")
    if isinstance(exc, ll.PermissionDeniedError):
        return NodeFailure(f"{model}: {who} refused access (403): {msg}")
    if isinstance(exc, ll.NotFoundError):
        return NodeFailure(f"{model}: {who} does not know this model or endpoint (404): {msg}")
    if isinstance(exc, ll.ContextWindowExceededError):
        return NodeFailure(f"{model}: the prompt is longer than the model's context window: {msg}")
    if isinstance(exc, ll.ContentPolicyViolationError):
        return NodeFailure(f"{model}: {who} refused the content (policy): {msg}")
    if isinstance(exc, (ll.BadRequestError, ll.UnprocessableEntityError)):
        if "LLM Provider NOT provided" in str(exc):
            return NodeFailure(f"{model}: unknown model or provider; write it as provider/model, "
                               "e.g. openai/gpt-4o-mini, anthropic/claude-haiku-4-5, ollama/llama3.2")
        return NodeFailure(f"{model}: {who} rejected the request ({status or 400}): {msg}")
    if isinstance(exc, (ll.APIConnectionError, ll.InternalServerError, ll.ServiceUnavailableError,
                        ll.BadGatewayError, ll.APIResponseValidationError)):
        return RetryableError(f"{model}: {who} failed ({status or 'connection'}): {msg}",
                              retry_after=retry_after_of(exc))
    if isinstance(exc, ll.APIError) or type(exc).__module__.startswith(("openai", "httpx", "aiohttp")):
        if status is None or (isinstance(status, int) and (status >= 500 or status in (408, 409, 425))):
            return RetryableError(f"{model}: {who} failed ({status or 'connection'}): {msg}",
                                  retry_after=retry_after_of(exc))
        return NodeFailure(f"{model}: {who} failed ({status}): {msg}")
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return RetryableError(f"{model}: connection problem: {type(exc).__name__}: {exc}")
    return exc


def classify(exc: Any) -> str:
    """"retry", "fail" or "bug" -- for logs and the run panel."""
    if isinstance(exc, RetryableError):
        return "retry"
    if isinstance(exc, NodeFailure):
        return "fail"
    return "bug"
