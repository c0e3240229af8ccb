"""Turning litellm's exceptions into the two kinds the executor acts on.

Why: the executor retries RetryableError (honouring ``retry_after``) and shows NodeFailure
to the user; it must never need to know litellm's dozens of classes. Rules:

- retry: 429 (with the provider's Retry-After), 5xx, timeouts, connection refused or
  dropped (also mid-stream), a reply that is not valid JSON;
- fail with a message the user can act on: a rejected key (401/403), an unknown model
  (404), a bad request (400/422), a prompt longer than the model's context, a content
  policy refusal.
"""

from __future__ import annotations

import email.utils
import re
import time
from typing import Any

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


def map_error(exc: BaseException, model: str, provider: str = "") -> BaseException:
    """The exception to raise instead of ``exc`` (``exc`` itself when it is not a provider error)."""
    if isinstance(exc, (RetryableError, NodeFailure)):
        return exc
    ll = litellm()
    msg = clean_message(exc)
    who = provider or "the provider"
    status = getattr(exc, "status_code", None)

    if isinstance(exc, ll.RateLimitError):
        after = retry_after_of(exc)
        wait = f"; it asked to wait {after:g} s" if after is not None else ""
        return RetryableError(f"{model}: rate limited by {who} (429){wait}: {msg}", retry_after=after)
    if isinstance(exc, ll.Timeout):
        return RetryableError(f"{model}: no answer from {who} in time: {msg}")
    if isinstance(exc, ll.AuthenticationError):
        fix = (f" Check the key: `orchestra keys set {provider}` or the environment variable."
               if provider else "")
        return NodeFailure(f"{model}: {who} rejected the API key (401): {msg}.{fix}")
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
