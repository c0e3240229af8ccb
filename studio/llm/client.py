"""One model call through litellm: key lookup, provider slot, streaming, usage, cost.

Why one function: every node that talks to a model (LLM, Agent, Branch in model mode)
needs the same care -- the key from the keyring or environment, a bounded number of
calls per provider, usage even when streaming, cost from the price map with overrides,
and provider errors mapped to RetryableError / NodeFailure. Retries are not done here:
litellm's and the OpenAI SDK's own retries are switched off so the executor's policy
(attempts, backoff, Retry-After, events) is the only one.
"""

from __future__ import annotations

import re
import time
from typing import Any, Callable, Mapping, Sequence

from studio.core.userdata import credentials
from studio.core.errors import RetryableError

from .errors import StreamTruncated, map_error
from .limits import semaphore as provider_semaphore
from .pricing import cost_of
from .providers import needs_key, provider_of
from .runtime import litellm
from .types import Completion, ToolCall

TokenCallback = Callable[[str], None]

# sent to OpenAI-compatible servers that need no key (the SDK refuses an empty one)
_NO_KEY = "no-key-needed"


def resolve_key(model: str, api_base: str | None) -> tuple[str | None, str]:
    """(key, source) for ``model``: keyring, then environment; raises CredentialsMissing.

    Providers that need no key (local ones, any custom ``api_base``) get None, or a
    placeholder for OpenAI-compatible servers, when no key is stored.
    """
    provider = provider_of(model)
    if not provider:
        return None, "none"  # litellm will say the model is unknown; nothing to look up
    key, source = credentials.find_key(provider)
    if key:
        return key, source
    if needs_key(provider, api_base):
        raise credentials.missing_error(provider)
    if api_base and provider == "openai":
        return _NO_KEY, "none"
    return None, "none"


async def complete(
    model: str,
    messages: Sequence[Mapping[str, Any]],
    *,
    temperature: float | None = None,
    max_tokens: int | None = None,
    response_format: Mapping[str, Any] | None = None,
    tools: Sequence[Mapping[str, Any]] | None = None,
    tool_choice: str | Mapping[str, Any] | None = None,
    stream: bool = False,
    on_token: TokenCallback | None = None,
    api_base: str | None = None,
    api_key: str | None = None,
    timeout: float | None = None,
    pricing: Mapping[str, Any] | None = None,
    provider_limits: Mapping[str, int] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Completion:
    """Call ``model`` once and return its text, tool calls, usage and cost.

    ``on_token`` receives each streamed text piece. ``pricing`` is the flow's override
    table. Raises RetryableError, NodeFailure or CredentialsMissing (never a litellm class).
    """
    ll = litellm()
    provider = provider_of(model)
    if api_key is None:
        api_key, _ = resolve_key(model, api_base)
    kwargs: dict[str, Any] = {
        "model": model,
        "messages": list(messages),
        "max_retries": 0,  # the executor retries, with backoff and events
        "num_retries": 0,
    }
    if api_key:
        kwargs["api_key"] = api_key
    if api_base:
        kwargs["api_base"] = api_base
    if temperature is not None:
        kwargs["temperature"] = temperature
    if max_tokens:
        kwargs["max_tokens"] = int(max_tokens)
    if response_format:
        kwargs["response_format"] = dict(response_format)
    if tools:
        kwargs["tools"] = list(tools)
        # Our tools are plain functions, never MCP servers. litellm 1.106.2 otherwise imports
        # its MCP gateway for any call with tools, which needs the optional `mcp` package.
        kwargs["_skip_mcp_handler"] = True
        if tool_choice is not None:
            kwargs["tool_choice"] = tool_choice
    if timeout:
        kwargs["timeout"] = float(timeout)
    if stream:
        kwargs["stream"] = True
        kwargs["stream_options"] = {"include_usage": True}
    if extra:
        kwargs.update(extra)

    started = time.perf_counter()
    # the semaphore itself, not provider_slot(): a generator-based context manager per
    # call is measurable in a 500-call fan-out, and this is the same slot
    async with provider_semaphore(provider or "other", provider_limits):
        try:
            if stream:
                result = await _streamed(ll, kwargs, on_token)
            else:
                result = _from_response(await ll.acompletion(**kwargs))
        except Exception as exc:
            mapped = map_error(exc, model, provider, api_base, stream=stream)
            if mapped is exc:
                raise
            raise mapped from exc

    text, calls, finish, usage, tokens_in, tokens_out, reported = result
    # model output is text: a lone surrogate (a provider's "\\ud800" escape) is replaced
    # by U+FFFD here, so no later step (trace, terminal, next prompt) fails on it
    text = _valid_text(text)
    calls = [ToolCall(c.id, _valid_text(c.name), _valid_text(c.arguments)) for c in calls] if calls else calls
    estimated = False
    if usage is None:  # a stream from a server that does not report usage: count ourselves
        tokens_in = _count(ll, model, messages=list(messages))
        tokens_out = _count(ll, model, text=text + "".join(c.arguments for c in calls))
        estimated = True
        reported = None
    return Completion(
        text=text,
        model=model,
        tool_calls=calls,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        cost_usd=cost_of(model, tokens_in, tokens_out, pricing, usage=usage, reported=reported),
        finish_reason=finish,
        tokens_estimated=estimated,
        latency_s=time.perf_counter() - started,
    )


_SURROGATE = re.compile("[\ud800-\udfff]")


def _valid_text(text: str) -> str:
    return _SURROGATE.sub("\ufffd", text) if text and _SURROGATE.search(text) else text


def _from_response(resp: Any):
    choice = resp.choices[0] if resp.choices else None
    message = getattr(choice, "message", None)
    text = (getattr(message, "content", None) or "") if message is not None else ""
    calls = []
    for i, tc in enumerate(getattr(message, "tool_calls", None) or []):
        fn = tc.function
        calls.append(ToolCall(tc.id or f"call_{i}", fn.name or "", fn.arguments or "{}"))
    usage = getattr(resp, "usage", None)
    tokens_in = int(getattr(usage, "prompt_tokens", 0) or 0)
    tokens_out = int(getattr(usage, "completion_tokens", 0) or 0)
    # litellm prices every response it returns (None when the model is not in its map)
    hidden = getattr(resp, "_hidden_params", None)
    reported = hidden.get("response_cost") if isinstance(hidden, dict) else None
    return text, calls, getattr(choice, "finish_reason", None), usage, tokens_in, tokens_out, reported


async def _streamed(ll: Any, kwargs: dict[str, Any], on_token: TokenCallback | None):
    """Consume a stream: pass text pieces on, assemble tool calls, keep the final usage."""
    pieces: list[str] = []
    calls: dict[int, dict[str, str]] = {}
    finish = None
    usage = None
    response = await ll.acompletion(**kwargs)
    async for chunk in response:
        u = getattr(chunk, "usage", None)
        if u is not None and getattr(u, "prompt_tokens", None) is not None:
            usage = u
        if not chunk.choices:
            continue
        choice = chunk.choices[0]
        if choice.finish_reason:
            finish = choice.finish_reason
        delta = choice.delta
        if delta is None:
            continue
        piece = getattr(delta, "content", None)
        if piece:
            pieces.append(piece)
            if on_token is not None:
                on_token(piece)
        for tc in getattr(delta, "tool_calls", None) or []:
            index = getattr(tc, "index", None)
            slot = calls.setdefault(index if index is not None else len(calls), {"id": "", "name": "", "arguments": ""})
            if getattr(tc, "id", None):
                slot["id"] = tc.id
            fn = getattr(tc, "function", None)
            if fn is not None:
                if getattr(fn, "name", None):
                    slot["name"] = fn.name
                if getattr(fn, "arguments", None):
                    slot["arguments"] += fn.arguments
    if usage is None and not pieces and not calls:
        # nothing usable arrived (a body that was not an event stream, or a cut connection);
        # litellm makes up a finish_reason for such streams, so only text, tools or usage count
        raise RetryableError(f"{kwargs['model']}: the reply stream ended before any answer arrived")
    # complete only when the provider said so: litellm invents finish_reason "stop" for a
    # stream that simply ends (a connection closed mid-answer, framed by the close)
    said = getattr(response, "received_finish_reason", finish) or getattr(response, "intermittent_finish_reason", None)
    if not said:
        got = sum(map(len, pieces)) + sum(len(c["arguments"]) for c in calls.values())
        raise StreamTruncated(f"{kwargs['model']}: the answer stream ended before the provider said it was complete "
                              f"(no finish_reason); the {got} characters that arrived are discarded")
    tool_calls = [ToolCall(c["id"] or f"call_{i}", c["name"], c["arguments"] or "{}")
                  for i, c in sorted(calls.items())]
    tokens_in = int(getattr(usage, "prompt_tokens", 0) or 0)
    tokens_out = int(getattr(usage, "completion_tokens", 0) or 0)
    # litellm prices the final usage chunk of a stream as ``usage.cost`` (absent when unknown)
    reported = getattr(usage, "cost", None) if usage is not None else None
    return "".join(pieces), tool_calls, finish, usage, tokens_in, tokens_out, reported


def _count(ll: Any, model: str, **kw: Any) -> int:
    try:
        return int(ll.token_counter(model=model, **kw))
    except Exception:
        text = kw.get("text") or " ".join(str(m.get("content") or "") for m in kw.get("messages") or [])
        return max(1, len(text) // 4)


def count_tokens(model: str, *, messages: Sequence[Mapping[str, Any]] | None = None, text: str | None = None,
                 tools: Sequence[Mapping[str, Any]] | None = None) -> int:
    """Tokens as ``model``'s tokenizer counts them (litellm's counter; a rough guess if it fails)."""
    ll = litellm()
    kw: dict[str, Any] = {}
    if messages is not None:
        kw["messages"] = list(messages)
    if text is not None:
        kw["text"] = text
    if tools:
        kw["tools"] = list(tools)
    return _count(ll, model, **kw)
