"""Mock mode: answers without a provider, priced as if the real model had answered.

Why: every example flow must run with no key and no network (the embedded default), and
a mock run should double as a cost estimate. So a mock answer is the node's configured
mock response -- or a placeholder that clearly says it is one -- with tokens counted by
litellm's counter for the real model and the cost from the real model's price.

A mock response may be text, any JSON value (sent as JSON text, for JSON mode), or for
agents ``{"tool_calls": [{"name": "calculator", "arguments": {...}}], "content": "..."}``
so tool-calling flows can be exercised offline too.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Callable, Mapping, Sequence

from .client import count_tokens
from .pricing import cost_of
from .types import Completion, ToolCall

NO_MOCK: Any = object()  # "no configured response": answer with the placeholder


def placeholder_text(model: str) -> str:
    return (f"[mock response from {model}: no mock response is set on this node, so this stands in "
            "for the model's answer]")


def pick(responses: Sequence[Any] | None, index: int) -> Any:
    """The response for call/iteration ``index`` (0-based); the last one repeats; NO_MOCK if none."""
    if not responses:
        return NO_MOCK
    return responses[min(max(index, 0), len(responses) - 1)]


def skeleton(schema: Mapping[str, Any] | None) -> Any:
    """A minimal value of a JSON schema's shape, so a JSON-mode placeholder still validates."""
    if not isinstance(schema, Mapping):
        return {}
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    for key in ("anyOf", "oneOf", "allOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            return skeleton(schema[key][0])
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), kind[0] if kind else None)
    if kind == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        return {k: skeleton(v) for k, v in props.items()}
    if kind == "array":
        n = int(schema.get("minItems") or 0)
        return [skeleton(schema.get("items") or {}) for _ in range(n)]
    if kind == "string":
        return "mock"
    if kind in ("number", "integer"):
        lo = schema.get("minimum")
        return lo if lo is not None else 0
    if kind == "boolean":
        return False
    return None


def _as_answer(response: Any, model: str, json_mode: bool, schema: Mapping[str, Any] | None) -> tuple[str, list[ToolCall]]:
    if response is NO_MOCK:
        if json_mode:
            value = skeleton(schema) if schema else {"mock": True, "note": placeholder_text(model)}
            return json.dumps(value, ensure_ascii=False), []
        return placeholder_text(model), []
    if isinstance(response, Mapping) and "tool_calls" in response:
        calls = []
        for i, c in enumerate(response.get("tool_calls") or []):
            args = c.get("arguments", {})
            calls.append(ToolCall(f"mock_call_{uuid.uuid4().hex[:8]}_{i}", str(c.get("name", "")),
                                  args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)))
        content = response.get("content")
        return ("" if content is None else str(content)), calls
    if isinstance(response, str):
        return response, []
    return json.dumps(response, ensure_ascii=False), []


def mock_complete(
    model: str,
    messages: Sequence[Mapping[str, Any]],
    response: Any = NO_MOCK,
    *,
    tools: Sequence[Mapping[str, Any]] | None = None,
    response_format: Mapping[str, Any] | None = None,
    pricing: Mapping[str, Any] | None = None,
    on_token: Callable[[str], None] | None = None,
) -> Completion:
    """A Completion as if ``model`` had answered ``response``, with counted tokens and estimated cost."""
    fmt = response_format or {}
    json_mode = fmt.get("type") in ("json_object", "json_schema")
    schema = (fmt.get("json_schema") or {}).get("schema") if fmt.get("type") == "json_schema" else None
    text, calls = _as_answer(response, model, json_mode, schema)
    if on_token is not None and text:
        words = text.split(" ")
        for i, w in enumerate(words):
            on_token(w if i == len(words) - 1 else w + " ")
    tokens_in = count_tokens(model, messages=messages, tools=tools)
    tokens_out = count_tokens(model, text=text + "".join(c.name + c.arguments for c in calls)) if (text or calls) else 0
    return Completion(
        text=text,
        model=model,
        tool_calls=calls,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        cost_usd=cost_of(model, tokens_in, tokens_out, pricing),
        finish_reason="tool_calls" if calls else "stop",
        mock=True,
        tokens_estimated=True,
    )
