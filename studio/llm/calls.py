"""A model call as a node makes it: budget, fallbacks, streaming progress, cost, mock mode.

Why here and not in each node: LLM, Agent and Branch (model mode) must all check the
budget before every paid call, report each billed call's cost exactly once, stream tokens
as progress, try fallback models in order within one attempt, and answer from mocks in
mock mode. Doing it once keeps those promises uniform.

Fallback rule: a model that fails -- provider error, missing key, or a reply ``accept``
rejects (e.g. invalid JSON) -- hands over to the next. When all fail, the error is
retryable if any failure was (so the executor's next attempt starts again with the
first model), else a NodeFailure listing each model's reason.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable, Mapping, Sequence

from studio.core.catalogue.context import CostReport
from studio.core.errors import BudgetExceeded, CredentialsMissing, NodeFailure, RetryableError

from .client import complete
from .mock import NO_MOCK, mock_complete
from .types import Completion

Accept = Callable[[Completion], Any]


def model_list(primary: str, fallbacks: Any) -> list[str]:
    """The primary model then the fallbacks, blanks and repeats dropped."""
    out: list[str] = []
    for m in [primary, *(fallbacks or [])]:
        m = str(m or "").strip()
        if m and m not in out:
            out.append(m)
    return out


def run_settings(ctx: Any, api_base: str | None = None) -> dict[str, Any]:
    """api_base (the run-wide override wins over the node's), pricing and provider limits."""
    settings = getattr(ctx, "settings", None) or {}
    return {
        "api_base": (settings.get("api_base") or api_base or None),
        "pricing": settings.get("pricing") or None,
        "provider_limits": settings.get("provider_limits") or None,
    }


async def call_model(
    ctx: Any,
    models: Sequence[str],
    messages: Sequence[Mapping[str, Any]],
    *,
    temperature: float | None = None,
    max_tokens: int | None = None,
    response_format: Mapping[str, Any] | None = None,
    tools: Sequence[Mapping[str, Any]] | None = None,
    tool_choice: str | Mapping[str, Any] | None = None,
    stream: bool = False,
    api_base: str | None = None,
    timeout: float | None = None,
    mock_response: Any = NO_MOCK,
    accept: Accept | None = None,
) -> tuple[Completion, Any]:
    """Call the first model that answers acceptably; returns (completion, accept's value)."""
    if not models:
        raise NodeFailure("no model is set")
    opts = run_settings(ctx, api_base)
    failures: list[tuple[str, BaseException]] = []
    for i, model in enumerate(models):
        ctx.ensure_budget()  # raises BudgetExceeded: no new paid call once the budget is spent
        streamed = [False]

        def on_token(piece: str, _model: str = model) -> None:
            streamed[0] = True
            ctx.progress(kind="token", text=piece, model=_model)

        try:
            if ctx.mock:
                completion = mock_complete(model, messages, mock_response, tools=tools, response_format=response_format,
                                           pricing=opts["pricing"], on_token=on_token if stream else None)
            else:
                completion = await complete(
                    model, messages, temperature=temperature, max_tokens=max_tokens, response_format=response_format,
                    tools=tools, tool_choice=tool_choice, stream=stream, on_token=on_token if stream else None,
                    api_base=opts["api_base"], timeout=timeout, pricing=opts["pricing"],
                    provider_limits=opts["provider_limits"],
                )
            # billed (or, in mock mode, estimated): reported once, whatever happens next
            ctx.report_cost(CostReport(completion.cost_usd, completion.tokens_in, completion.tokens_out, model))
            value = accept(completion) if accept is not None else None
            return completion, value
        except BudgetExceeded:
            raise
        except (RetryableError, NodeFailure, CredentialsMissing) as exc:
            failures.append((model, exc))
            if streamed[0]:
                ctx.progress(kind="stream_reset", model=model, reason=str(exc))
            if i + 1 < len(models):
                ctx.progress(kind="fallback", model=model, next=models[i + 1], error=str(exc))
    raise _combined(failures)


def _combined(failures: list[tuple[str, BaseException]]) -> BaseException:
    if len(failures) == 1:
        return failures[0][1]
    detail = "; ".join(f"{m}: {e}" for m, e in failures)
    retryable = [e for _, e in failures if isinstance(e, RetryableError)]
    if retryable:
        waits = [e.retry_after for e in retryable if e.retry_after is not None]
        return RetryableError(f"every model failed -- {detail}", retry_after=min(waits) if waits else None)
    if all(isinstance(e, CredentialsMissing) for _, e in failures):
        return CredentialsMissing(f"no model could be called -- {detail}")
    return NodeFailure(f"every model failed -- {detail}")


# -- JSON replies --------------------------------------------------------------------

_FENCE_RE = re.compile(r"^\s*```(?:json|JSON)?\s*\n(.*?)\n?```\s*$", re.DOTALL)


WRAPPER_KEY = "value"


def needs_wrapper(schema: Any) -> bool:
    """True when a reply schema's root is not an object (a list of sub-topics, say).

    OpenAI's structured outputs refuse such a schema with a 400 ("schema must be a JSON
    Schema of 'type: object'") and its JSON mode always answers an object, so these
    schemas are sent wrapped as ``{"value": <schema>}`` and the reply is unwrapped.
    """
    return isinstance(schema, Mapping) and bool(schema) and schema.get("type") != "object"


def json_format(schema: Any) -> dict[str, Any]:
    """The response_format for JSON mode, with a schema when one is given (wrapped in an
    object when its root is not one, see ``needs_wrapper``)."""
    if isinstance(schema, Mapping) and schema:
        sent = dict(schema)
        if needs_wrapper(schema):
            sent = {"type": "object", "properties": {WRAPPER_KEY: sent}, "required": [WRAPPER_KEY],
                    "additionalProperties": False}
        return {"type": "json_schema", "json_schema": {"name": "output", "schema": sent}}
    return {"type": "json_object"}


def parse_json_reply(text: str, schema: Any = None, model: str = "") -> Any:
    """The reply as JSON (a ```json fence is tolerated), checked against ``schema``.

    Invalid JSON or a schema mismatch is a RetryableError whose message shows the raw
    text, so the executor retries and, when it gives up, the user sees what came back.
    """
    raw = text or ""
    m = _FENCE_RE.match(raw)
    body = m.group(1) if m else raw
    who = f"{model} " if model else "the model "
    try:
        value = json.loads(body)
    except ValueError as exc:
        raise RetryableError(f"{who}did not return valid JSON ({exc}). Raw text: {_clip(raw)}") from None
    if needs_wrapper(schema) and isinstance(value, dict) and list(value) == [WRAPPER_KEY]:
        value = value[WRAPPER_KEY]  # sent wrapped (json_format); a bare reply is taken as it is
    if isinstance(schema, Mapping) and schema:
        import jsonschema

        try:
            jsonschema.validate(value, dict(schema))
        except jsonschema.ValidationError as exc:
            where = "/".join(str(p) for p in exc.absolute_path) or "the top level"
            raise RetryableError(f"{who}returned JSON that does not match the schema at {where}: "
                                 f"{exc.message}. Raw text: {_clip(raw)}") from None
        except jsonschema.SchemaError as exc:
            raise NodeFailure(f"the JSON schema itself is invalid: {exc.message}") from None
    return value


def _clip(text: str, limit: int = 2000) -> str:
    return text if len(text) <= limit else text[:limit] + f"... ({len(text) - limit} more characters)"
